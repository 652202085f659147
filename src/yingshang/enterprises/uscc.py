"""统一社会信用代码 (GB 32100-2015) validation that says which part is wrong.

python-stdnum checks the length, alphabet and the final check character; the embedded 9-character
organisation code carries its own GB 11714 check character, which stdnum does not verify.
Pure Python: no Django imports.
"""
from __future__ import annotations

from stdnum.cn import uscc as stdnum_uscc

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z

# 登记管理部门代码 → its 机构类别代码 (GB 32100-2015 表 1 and the codes issued since).
AUTHORITIES: dict[str, tuple[str, set[str]]] = {
    "1": ("机构编制", {"1", "2", "3", "9"}),
    "2": ("外交", {"1", "9"}),
    "3": ("司法行政", {"1", "2", "3", "4", "5", "9"}),
    "4": ("文化", {"1", "9"}),
    "5": ("民政", {"1", "2", "3", "9"}),
    "6": ("旅游", {"1", "2", "9"}),
    "7": ("宗教", {"1", "2", "9"}),
    "8": ("工会", {"1", "9"}),
    "9": ("市场监管(工商)", {"1", "2", "3"}),
    "A": ("中央军委改革和编制办公室", {"1", "9"}),
    "N": ("农业", {"1", "2", "3", "9"}),
    "Y": ("其他", {"1"}),
}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


class UsccError(ValueError):
    """Invalid code; ``part`` names the offending part (length, alphabet, authority, type, region,
    organisation_code, check)."""

    def __init__(self, part: str, message: str):
        super().__init__(message)
        self.part = part
        self.message = message


def org_code_check_char(body: str) -> str:
    """GB 11714 check character for the first 8 characters of an organisation code."""
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def uscc_check_char(first17: str) -> str:
    """GB 32100 check character for the first 17 characters (python-stdnum)."""
    return stdnum_uscc.calc_check_digit(first17)


def _check_parts(code: str) -> None:
    authority, kind, region, org = code[0], code[1], code[2:8], code[8:17]
    if authority not in AUTHORITIES:
        raise UsccError("authority", f"第1位登记管理部门代码“{authority}”不存在")
    name, kinds = AUTHORITIES[authority]
    if kind not in kinds:
        raise UsccError("type", f"第2位机构类别代码“{kind}”不适用于登记管理部门“{name}”")
    if not region.isdigit():
        raise UsccError("region", f"第3–8位登记管理机关行政区划码“{region}”应为6位数字")
    if not all(c.isdigit() or c.isupper() for c in org[:8]) or not (org[8].isdigit() or org[8] == "X"):
        raise UsccError("organisation_code", f"第9–17位组织机构代码“{org}”格式不正确")
    expected = org_code_check_char(org[:8])
    if org[8] != expected:
        raise UsccError("organisation_code",
                        f"第9–17位组织机构代码“{org}”的校验码应为“{expected}”,实际为“{org[8]}”")


def validate_uscc(raw: str) -> str:
    """Return the compact code or raise UsccError with a Chinese message naming the wrong part.

    stdnum compacts the input and computes the final check character; its ``validate`` is not used
    because it wrongly requires the first 8 characters to be digits (GB 32100 authorities A, N, Y)."""
    code = stdnum_uscc.compact(raw or "")
    if len(code) != 18:
        raise UsccError("length", f"统一社会信用代码应为18位,实际为{len(code)}位")
    bad = [c for c in code if c not in ALPHABET]
    if bad:
        raise UsccError("alphabet", f"统一社会信用代码含有不允许的字符“{''.join(dict.fromkeys(bad))}”"
                                    "(只能使用数字和除 I、O、S、V、Z 以外的大写字母)")
    _check_parts(code)
    expected = stdnum_uscc.calc_check_digit(code[:17])
    if code[17] != expected:
        raise UsccError("check", f"第18位校验码不符:按前17位计算应为“{expected}”,实际为“{code[17]}”"
                                 "(请核对各位是否有录入错误)")
    return code


def make_uscc(authority: str, kind: str, region: str, org_body: str) -> str:
    """Compose a valid code from its parts (org_body = the 8 characters before the org check)."""
    org = org_body + org_code_check_char(org_body)
    first17 = authority + kind + region + org
    return first17 + uscc_check_char(first17)
