"""惠企政策直达: the policy library, eligibility rules, matching, push, applications and 兑现 (redemption)."""
