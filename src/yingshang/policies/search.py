"""Chinese keyword search over the policy library (jieba) and the list filters.

``PolicyItem.search_text`` holds the jieba search-mode tokens (``cut_for_search``) of the item's title,
keywords, summary and clause and of its document's title and 文号, space-separated and normalised
(NFKC, lower case). A query is cut in precise mode and an item matches when its ``search_text``
contains every query token (``icontains`` per token: the same SQL on SQLite and PostgreSQL, no
full-text extension needed at a library of thousands of items). Items whose title holds every token
come first.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from yingshang.core.chinese import jieba_with

# Words jieba's stock dictionary splits apart but a policy reader types as one.
DOMAIN_WORDS = ("免申即享", "即申即享", "专精特新", "小巨人", "高新技术企业", "科技型中小企业", "创新型中小企业",
                "研发费用", "加计扣除", "小微企业", "小型微利企业", "个体工商户", "稳岗", "稳岗返还", "以工代训",
                "贷款贴息", "创业担保贷款", "首台套", "规上企业", "规模以上", "纳税信用", "所得税", "增值税",
                "留抵退税", "社保补贴", "技改", "技术改造", "数字化转型", "政策兑现", "惠企政策")
# Tokens that carry no meaning on their own in a query.
STOPWORDS = frozenset("的 了 和 与 及 或 等 在 对 为 是 有 按 于 之 以 其 中 上 下 个 年 请 我 要 吗 呢 啊".split())
MAX_QUERY_TOKENS = 8  # each token is one LIKE: a pasted paragraph must not become 200 of them

def _tokenizer():
    """jieba with this module's domain words (loaded once, quietly: core.chinese)."""
    return jieba_with(DOMAIN_WORDS)


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC) and lower case, so 'ＡＢＣ' and 'abc' match."""
    return unicodedata.normalize("NFKC", text or "").lower()


def _meaningful(token: str) -> bool:
    token = token.strip()
    return bool(token) and token not in STOPWORDS and any(ch.isalnum() for ch in token)


def tokens(*texts: str) -> str:
    """The ``search_text`` for these texts: distinct search-mode tokens in first-seen order."""
    jieba = _tokenizer()
    seen: dict[str, None] = {}
    for text in texts:
        for token in jieba.cut_for_search(normalise(text)):
            token = token.strip()
            if _meaningful(token):
                seen.setdefault(token, None)
    return " ".join(seen)


def query_tokens(q: str) -> list[str]:
    """The tokens a query must all match (precise mode: '研发费用加计扣除' → 研发费用, 加计扣除)."""
    jieba = _tokenizer()
    out: list[str] = []
    for token in jieba.cut(normalise(q)):
        token = token.strip()
        if _meaningful(token) and token not in out:
            out.append(token)
    return out[:MAX_QUERY_TOKENS]


def item_text(item) -> str:
    """The ``search_text`` of a PolicyItem (its document must be loaded or loadable)."""
    doc = item.document
    return tokens(item.title, item.keywords, item.summary, item.clause, doc.title, doc.doc_number)


def search(qs: QuerySet, q: str) -> QuerySet:
    """Items containing every query token; title hits first, then newest published."""
    words = query_tokens(q)
    if not words:
        return qs
    for word in words:
        qs = qs.filter(search_text__icontains=word)
    in_title = Q()
    for word in words:
        in_title &= Q(title__icontains=word)
    rank = Case(When(in_title, then=Value(1)), default=Value(0), output_field=IntegerField())
    return qs.annotate(title_hit=rank).order_by("-title_hit", "-published_at", "-id")


# ---------------------------------------------------------------- filters
@dataclass
class Filters:
    """Parsed list filters; ``errors`` name the ones that were ignored and why."""

    q: str = ""
    department: str = ""
    benefit_type: str = ""
    mode: str = ""
    status: str = ""
    open_now: bool = False
    expiring_within: int | None = None
    region: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        """The non-empty values, for shareable URLs."""
        out = {k: str(getattr(self, k)) for k in ("q", "department", "benefit_type", "mode", "status", "region")
               if getattr(self, k)}
        if self.open_now:
            out["open_now"] = "1"
        if self.expiring_within is not None:
            out["expiring_within"] = str(self.expiring_within)
        return out


def _truthy(value) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "on", "yes")


def parse_filters(params, *, staff: bool) -> Filters:
    """Read and check filter values from a QueryDict/dict; invalid ones are dropped with a reason."""
    from yingshang.core.models import Department, Region
    from yingshang.policies.models import BenefitType, ItemStatus, Mode

    f = Filters(q=str(params.get("q") or "").strip()[:100])
    dept = str(params.get("department") or "").strip()
    if dept:
        match = Department.objects.filter(Q(code=dept) | Q(pk=int(dept) if dept.isdigit() and len(dept) < 18 else 0))
        if match.exists():
            f.department = dept
        else:
            f.errors["department"] = "单位不存在"
    f.benefit_type = _choice(params, "benefit_type", BenefitType, f.errors)
    f.mode = _choice(params, "mode", Mode, f.errors)
    if staff:
        f.status = _choice(params, "status", ItemStatus, f.errors)
    f.open_now = _truthy(params.get("open_now"))
    days = str(params.get("expiring_within") or "").strip()
    if days:
        if days.isdigit() and 0 <= int(days) <= 3660:
            f.expiring_within = int(days)
        else:
            f.errors["expiring_within"] = "应为 0–3660 之间的天数"
    region = str(params.get("region") or "").strip()
    if region:
        if Region.objects.filter(code=region).exists():
            f.region = region
        else:
            f.errors["region"] = "区划代码不存在"
    return f


def _choice(params, name: str, choices, errors: dict[str, str]) -> str:
    value = str(params.get(name) or "").strip()
    if value and value not in choices.values:
        errors[name] = "应为 " + "、".join(choices.values) + " 之一"
        return ""
    return value


def _region_q(code: str) -> Q:
    """Items that apply in region ``code``: nationwide documents, documents of an enclosing region,
    and documents of regions inside it."""
    from yingshang.core.models import Region

    region = Region.objects.get(code=code)
    enclosing = [c for c in {code[:2].ljust(6, "0"), code[:4].ljust(6, "0"), code[:6], code} if c]
    return (Q(document__region__isnull=True) | Q(document__region_id__in=enclosing)
            | Q(document__region__code__startswith=region.prefix))


def apply_filters(qs: QuerySet, f: Filters, today: dt.date | None = None) -> QuerySet:
    """Narrow a PolicyItem queryset by the parsed filters (the keyword search included)."""
    from django.utils import timezone

    today = today or timezone.localdate()
    if f.department:
        qs = qs.filter(Q(department__code=f.department) | Q(department_id=int(f.department) if f.department.isdigit()
                                                            and len(f.department) < 18 else 0))
    for name in ("benefit_type", "mode", "status"):
        if getattr(f, name):
            qs = qs.filter(**{name: getattr(f, name)})
    if f.open_now:
        qs = qs.open_on(today)
    if f.expiring_within is not None:
        qs = qs.expiring_within(today, f.expiring_within)
    if f.region:
        qs = qs.filter(_region_q(f.region))
    return search(qs, f.q) if f.q else qs
