"""REST endpoints: 政策匹配 — an enterprise's 政策计算器, the enterprises matched by an item, push settings.

Paths carry their own prefixes (the router is mounted at "/"): ``/enterprises/{uscc}/policies`` and
``/enterprises/{uscc}/policy-subscription`` do not clash with the register's ``/enterprises/{uscc}``,
whose path parameter never spans a "/". Amounts are in 元, as decimal strings.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Optional

from ninja import Field, Path, Query, Router, Schema
from pydantic import ConfigDict

from yingshang.core.access import access_enterprise, access_staff, scope_prefix
from yingshang.core.errors import Forbidden, NotFound, ValidationFailed, shorten
from yingshang.core.i18n_errors import ERRORS
from yingshang.core.redact import redact
from yingshang.core.models import Region
from yingshang.enterprises.models import Enterprise
from yingshang.policies import matching
from yingshang.policies.actions_matching import access_subscription, do_update_subscription, subscription_of
from yingshang.policies.models import PolicyItem

router = Router(tags=["政策匹配"])
MAX_ID = 2**63 - 1
PER_PAGE = 50


# ---------------------------------------------------------------- schemas
class Reason(Schema):
    path: str = Field(description="条件位置,如 2.1")
    field: str
    label: str
    truth: str = Field(description="true | false | unknown")
    sentence: str = Field(description="中文说明,如 研发费用占营业收入比例 2.1%,需 ≥ 3%")


class Figure(Schema):
    field: str
    label: str


class PolicyEntry(Schema):
    id: int
    code: str
    title: str
    mode: str
    mode_label: str
    benefit_type: str
    benefit_type_label: str
    status: str
    amount: Optional[str] = Field(None, description="测算金额(元),无法测算时为 null")
    amount_note: str = ""
    window_end: Optional[str] = None
    window: str = Field("open", description="评估日期的申报窗口:open(申报中)、not_yet(尚未开始)、closed(已截止)")
    window_label: str = ""
    reasons: list[Reason]
    gaps: list[str] = Field(description="差一个条件时:所差的条件")
    missing: list[Figure] = Field(description="无法判断时:需补充的数据")


class CalculatorOut(Schema):
    uscc: str
    name: str
    as_of: str
    total_amount: str = Field(description="可享受事项测算金额合计(元)")
    eligible: list[PolicyEntry]
    near_miss: list[PolicyEntry]
    unknown: list[PolicyEntry]


class MatchRow(Schema):
    uscc: str
    name: str
    region: str
    region_name: str
    size: str
    amount: Optional[str] = None
    reasons: list[Reason]
    gaps: list[str]
    missing: list[Figure]


class MatchPage(Schema):
    item_id: int
    status: str
    region: str
    total: int
    page: int
    pages: int
    per_page: int
    items: list[MatchRow]


class SubscriptionOut(Schema):
    uscc: str
    opted_out: bool
    sms: bool
    email: bool
    benefit_types: list[str]


class SubscriptionIn(Schema):
    model_config = ConfigDict(extra="forbid")
    opted_out: Optional[bool] = Field(None, description="true = 退订全部政策推送")
    sms: Optional[bool] = Field(None, description="接收短信")
    email: Optional[bool] = Field(None, description="接收电子邮件")
    benefit_types: Optional[list[str]] = Field(None, description="关注的支持方式(空列表 = 全部)")


# ---------------------------------------------------------------- helpers
def parse_as_of(text: str) -> dt.date | None:
    """The evaluation date of ?as_of=YYYY-MM-DD (None when not given); a clear 400 otherwise."""
    if not text:
        return None
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"as_of 日期格式有误:“{shorten(text)}”,应为 YYYY-MM-DD(如 2025-06-30)",
                               fields={"as_of": "应为 YYYY-MM-DD 格式的有效日期"}) from None


def enterprise_by_uscc(uscc: str) -> Enterprise:
    ent = Enterprise.objects.select_related("region").filter(uscc=uscc.strip().upper()).first()
    if ent is None:
        raise NotFound(f"未找到统一社会信用代码为 {shorten(uscc)} 的企业")
    return ent


def money_text(amount) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def entry_out(entry: matching.Entry) -> dict:
    item = entry.item
    return {"id": item.pk, "code": item.code, "title": item.title, "mode": item.mode,
            "mode_label": item.get_mode_display(), "benefit_type": item.benefit_type,
            "benefit_type_label": item.get_benefit_type_display(), "status": entry.status,
            "amount": money_text(entry.amount), "amount_note": redact(item.amount_note),
            "window_end": item.window_end.isoformat() if item.window_end else None,
            "window": entry.window, "window_label": entry.window_label,
            "reasons": entry.reasons, "gaps": entry.gaps, "missing": entry.missing}


def region_filter(user, code: str) -> str:
    """The region prefix to list: the given region (inside the user's scope) or the whole scope."""
    scope = scope_prefix(user)
    if not code:
        return scope
    region = Region.objects.filter(code=code.strip()).first()
    if region is None:
        raise ValidationFailed(f"区划代码 {shorten(code)} 不存在", fields={"region": "区划代码不存在"})
    if scope and not region.prefix.startswith(scope):
        raise Forbidden(f"区划 {region.name} 不在您的管辖范围内", fields={"region": "超出管辖范围"})
    return region.prefix


# ---------------------------------------------------------------- endpoints
@router.get("/enterprises/{uscc}/policies", response={200: CalculatorOut, **ERRORS},
            summary="政策计算器:企业可享受、差一个条件、无法判断的政策事项")
def enterprise_policies(request, uscc: str, as_of: str = ""):
    """Only items whose document is in force on as_of; eligible items with an open window first, ranked by
    estimated amount (high first), then by deadline (soonest first); closed windows last (window=closed)."""
    day = parse_as_of(as_of)
    ent = enterprise_by_uscc(uscc)
    access_enterprise(request.auth, ent)
    calc = matching.calculator(ent, day)
    return {"uscc": ent.uscc, "name": ent.name, "as_of": calc.as_of.isoformat(), "total_amount": f"{calc.total:.2f}",
            **{name: [entry_out(e) for e in getattr(calc, name)] for name in matching.STATUSES}}


@router.get("/policy-items/{item_id}/matches", response={200: MatchPage, **ERRORS},
            summary="政策事项的匹配企业(符合、差一个条件、无法判断),按区划筛选,分页")
def item_match_list(request, item_id: int = Path(..., ge=1, le=MAX_ID), status: str = "eligible",
                    region: str = "", page: int = Query(1, ge=1, le=10**6),
                    per_page: int = Query(PER_PAGE, ge=1, le=200)):
    access_staff(request.auth)
    item = PolicyItem.objects.select_related("document__region").filter(pk=item_id).first()
    if item is None:
        raise NotFound(f"政策事项 {item_id} 不存在")
    matching.check_status(status)
    prefix = region_filter(request.auth, region)
    rows, total = matching.item_matches(item, status, prefix, page, per_page)
    items = [{"uscc": r["uscc"], "name": r["name"], "region": r["region_code"], "region_name": r["region"],
              "size": r["size"], "amount": money_text(r["amount"]), "reasons": r["reasons"], "gaps": r["gaps"],
              "missing": r["missing"]} for r in rows]
    return {"item_id": item.pk, "status": status, "region": prefix, "total": total, "page": page,
            "pages": max(1, math.ceil(total / per_page)), "per_page": per_page, "items": items}


def subscription_out(ent: Enterprise) -> dict:
    sub = subscription_of(ent)
    return {"uscc": ent.uscc, "opted_out": sub.opted_out, "sms": sub.sms, "email": sub.email,
            "benefit_types": list(sub.benefit_types or [])}


@router.get("/enterprises/{uscc}/policy-subscription", response={200: SubscriptionOut, **ERRORS},
            summary="企业的政策推送订阅设置")
def get_policy_subscription(request, uscc: str):
    ent = enterprise_by_uscc(uscc)
    access_enterprise(request.auth, ent)
    return subscription_out(ent)


@router.put("/enterprises/{uscc}/policy-subscription", response={200: SubscriptionOut, **ERRORS},
            summary="修改政策推送订阅设置(未给出的项保持不变)")
def put_policy_subscription(request, uscc: str, payload: SubscriptionIn):
    ent = enterprise_by_uscc(uscc)
    access_subscription(request.auth, ent)
    current = subscription_out(ent)
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    merged = {**current, **data}
    do_update_subscription(request.auth, ent, merged["opted_out"], merged["sms"], merged["email"],
                           merged["benefit_types"])
    return subscription_out(ent)
