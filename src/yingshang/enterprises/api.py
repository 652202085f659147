"""``/api/v1/enterprises``: create, read, update (PATCH) and list the enterprise register, and its
credit-list records (``/{uscc}/credit-listings``).

Amounts are in 万元. In requests they may be JSON numbers or strings (``1200.5`` or ``"1200.5"``,
at most 4 decimals); in answers they are always strings (``"1200.5"``), so no precision is lost.
Personal contact fields may be written but are never returned here (staff read them through an
audited action in the web UI).
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Optional, Union

from django.db.models import Prefetch, Q
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from yingshang.core.access import access_enterprise, access_role, visible_enterprises
from yingshang.core.errors import NotFound, ValidationFailed, shorten
from yingshang.core.i18n_errors import ERRORS, ErrorOut
from yingshang.core.models import STAFF_ROLES, Region, Role
from yingshang.enterprises import industries
from yingshang.enterprises.actions import (
    do_create_enterprise,
    do_update_enterprise,
    plain,
)
from yingshang.enterprises.actions_credit import do_add_credit_listing, do_remove_credit_listing
from yingshang.enterprises.models import (
    CertificationKind,
    CreditListing,
    CreditListKind,
    Enterprise,
    EnterpriseTag,
    Size,
    Tag,
    TaxpayerKind,
)

router = Router(tags=["企业档案"])
AMOUNTS_NOTE = ("金额单位为万元:请求中可写 JSON 数字或字符串(如 1200.5 或 \"1200.5\",最多4位小数),"
                "应答中一律为十进制字符串,以免精度损失。联系人等个人信息可写入,但不在应答中返回。")


def _number_or_text(value: Any) -> Any:
    """Let a JSON number or string through to the shared validator, which parses and bounds it;
    ``true``/``false``, objects and lists are refused here (pydantic would turn ``true`` into 1)."""
    if value is None or (isinstance(value, (int, float, str)) and not isinstance(value, bool)):
        return value
    raise PydanticCustomError("number_or_text", "应为数字或数字字符串")


Number = Annotated[Any, PlainValidator(_number_or_text),
                   WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "null"}]})]
Count = Annotated[Any, PlainValidator(_number_or_text),
                  WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]})]


def _text_not_null(value: Any) -> Any:
    """Required register fields: PATCH may leave them out, but never set them to null."""
    if value is None:
        raise PydanticCustomError("not_null", "不能为空")
    if not isinstance(value, str):
        raise PydanticCustomError("text_type", "应为文本")
    return value


Text = Annotated[Any, PlainValidator(_text_not_null), WithJsonSchema({"type": "string", "minLength": 1})]
UserRef = Annotated[Any, PlainValidator(_number_or_text),
                    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]})]
MAX_LIMIT = 200
_USCC_LIKE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2,18}$")
_CURSOR = re.compile(r"^[1-9][0-9]{0,17}$")  # an id as printed in next_cursor (ASCII digits, fits in bigint)


class FigureSource(Schema):
    model_config = ConfigDict(extra="forbid")  # a misspelt "asof" must not vanish silently
    source: str = Field("", description="数据来源,如 统计局年报")
    as_of: Optional[str] = Field(None, description="数据日期 YYYY-MM-DD")


class CertificationIn(Schema):
    """A certification with details; a key left out keeps what is on record, null/"" clears it."""

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(..., description="资质代码或中文名,如 high_tech / 高新技术企业")
    certificate_no: Optional[str] = Field(None, description="证书编号")
    valid_from: Optional[str] = Field(None, description="有效期起 YYYY-MM-DD")
    valid_to: Optional[str] = Field(None, description="有效期止 YYYY-MM-DD(null 表示长期有效)")


class EnterpriseIn(Schema):
    """Fields of an enterprise for PATCH: any subset; an explicit null (or empty text) clears an
    optional field. The shared validator checks every value (``validation.validate_enterprise``)."""

    model_config = ConfigDict(extra="forbid")
    uscc: Text = Field(None, description="统一社会信用代码(18位;不可修改)")
    name: Text = Field(None, description="企业名称")
    legal_form: Text = Field(None, description="组织形式代码或中文名,如 llc / 有限责任公司")
    status: Text = Field(None, description="登记状态代码或中文名,如 active / 存续")
    region_code: Text = Field(None, description="所在区划代码(须在您的管辖范围内)")
    industry_code: Text = Field(None, description="GB/T 4754-2017 门类、大类、中类或小类代码")
    established_on: Optional[str] = Field(None, description="成立日期 YYYY-MM-DD")
    registered_capital: Number = Field(None, description="注册资本,万元(数字或字符串)")
    employees: Count = Field(None, description="从业人员,人(整数或数字字符串)")
    operating_revenue: Number = Field(None, description="营业收入,万元(数字或字符串)")
    total_assets: Number = Field(None, description="资产总额,万元(数字或字符串)")
    rd_expense: Number = Field(None, description="研发费用,万元(数字或字符串)")
    taxable_income: Number = Field(None, description="应纳税所得额(上一纳税年度),万元(数字或字符串)")
    tax_credit_rating: Optional[str] = Field(None, description="纳税信用等级 A/B/M/C/D")
    taxpayer_kind: Optional[str] = Field(None, description="纳税人类型: " + " / ".join(
        f"{k}({v})" for k, v in TaxpayerKind.choices) + ",也可写中文名")
    steward: UserRef = Field(None, description="服务管家的用户名或用户编号(仅营商办调度员和管理员可改;null 表示取消)")
    certifications: Optional[list[Union[str, CertificationIn]]] = Field(
        None, description="资质(替换全部资质):代码或“类别:起~止:证书编号”文本,或对象;代码: "
                          + ", ".join(CertificationKind.values))
    tags: Optional[list[str]] = Field(None, description="人工标签代码(替换原有人工标签)")
    figure_sources: Optional[dict[str, FigureSource]] = Field(None, description="各项数据的来源与日期")
    legal_representative: Optional[str] = Field(None, description="法定代表人(只写,不在应答中返回)")
    contact_name: Optional[str] = Field(None, description="联系人(只写)")
    contact_phone: Optional[str] = Field(None, description="联系电话(只写)")
    address: Optional[str] = None
    business_scope: Optional[str] = None


class EnterpriseCreate(EnterpriseIn):
    """A new enterprise: uscc, name, region_code and industry_code are required."""

    uscc: Text = Field(..., description="统一社会信用代码(18位)")
    name: Text = Field(..., description="企业名称")
    region_code: Text = Field(..., description="所在区划代码(须在您的管辖范围内)")
    industry_code: Text = Field(..., description="GB/T 4754-2017 门类、大类、中类或小类代码")


class CertificationOut(Schema):
    kind: str
    certificate_no: str
    valid_from: Optional[str]
    valid_to: Optional[str]
    valid_today: bool


class StewardOut(Schema):
    id: int
    username: str
    name: str


class EnterpriseOut(Schema):
    uscc: str
    name: str
    legal_form: str
    status: str
    region_code: str
    industry_code: str
    industry_section: str
    industry_division: str
    established_on: Optional[str]
    age_years: Optional[int]
    registered_capital: Optional[str] = Field(description="万元,十进制字符串")
    employees: Optional[int]
    operating_revenue: Optional[str] = Field(description="万元,十进制字符串")
    total_assets: Optional[str] = Field(description="万元,十进制字符串")
    rd_expense: Optional[str] = Field(description="万元,十进制字符串")
    taxable_income: Optional[str] = Field(description="应纳税所得额,万元,十进制字符串")
    tax_credit_rating: Optional[str]
    taxpayer_kind: Optional[str] = Field(description="general|small_scale|null")
    size: Optional[str] = Field(description="large|medium|small|micro|null(数据不全或不适用时为 null)")
    certifications: list[str] = Field(description="持有的资质代码(不论是否在有效期内)")
    certification_details: list[CertificationOut]
    credit_lists: list[str] = Field(description="今天仍在其中的信用名单: serious_dishonest / abnormal_operation")
    steward: Optional[StewardOut] = Field(None, description="服务管家(仅对政府工作人员返回)")
    tags: list[str] = Field(description="标签代码(规则计算的和人工的)")
    figure_sources: dict[str, Any]
    updated_at: str


class EnterprisePage(Schema):
    items: list[EnterpriseOut]
    next_cursor: Optional[str] = Field(description="下一页的 cursor;为 null 表示没有更多")
    count: Optional[int] = Field(None, description="总数(仅当 with_count=true 时计算)")


def _with_links(qs):
    return qs.select_related("steward").prefetch_related(
        "certifications", Prefetch("tag_links", queryset=EnterpriseTag.objects.select_related("tag")),
        Prefetch("credit_listings", queryset=CreditListing.objects.in_force(), to_attr="listed_now"))


def _cert_out(cert, today) -> dict[str, Any]:
    return {"kind": cert.kind, "certificate_no": cert.certificate_no, "valid_from": plain(cert.valid_from),
            "valid_to": plain(cert.valid_to), "valid_today": (cert.valid_from is None or cert.valid_from <= today)
            and (cert.valid_to is None or today <= cert.valid_to)}


def _steward_out(ent: Enterprise, user) -> dict[str, Any] | None:
    if ent.steward_id is None or user is None or getattr(user, "role", None) not in STAFF_ROLES:
        return None
    return {"id": ent.steward.pk, "username": ent.steward.username, "name": ent.steward.display_name}


def serialize(ent: Enterprise, user=None) -> dict[str, Any]:
    """The API representation of an enterprise (no personal fields; the steward for staff only)."""
    today = timezone.localdate()
    certs = sorted(ent.certifications.all(), key=lambda c: c.kind)
    return {
        "uscc": ent.uscc, "name": ent.name, "legal_form": ent.legal_form, "status": ent.status,
        "region_code": ent.region_id, "industry_code": ent.industry_code, "industry_section": ent.industry_section,
        "industry_division": ent.industry_division, "established_on": plain(ent.established_on),
        "age_years": ent.age_years(), "registered_capital": plain(ent.registered_capital),
        "employees": ent.employees, "operating_revenue": plain(ent.operating_revenue),
        "total_assets": plain(ent.total_assets), "rd_expense": plain(ent.rd_expense),
        "taxable_income": plain(ent.taxable_income), "tax_credit_rating": ent.tax_credit_rating or None,
        "taxpayer_kind": ent.taxpayer_kind or None, "size": ent.size or None,
        "certifications": [c.kind for c in certs], "certification_details": [_cert_out(c, today) for c in certs],
        "credit_lists": sorted({c.kind for c in (ent.listed_now if hasattr(ent, "listed_now")
                                                  else ent.credit_listings.in_force(today))}),
        "steward": _steward_out(ent, user),
        "tags": sorted(link.tag.code for link in ent.tag_links.all()),
        "figure_sources": ent.figure_sources or {}, "updated_at": ent.updated_at.isoformat(),
    }


def _get(uscc: str) -> Enterprise:
    ent = _with_links(Enterprise.objects.filter(uscc=uscc.strip().upper())).first()
    if ent is None:
        raise NotFound(f"未找到统一社会信用代码为 {shorten(uscc)} 的企业")
    return ent


def _reload(ent: Enterprise) -> Enterprise:
    return _with_links(Enterprise.objects.filter(pk=ent.pk)).get()


@router.post("", response={201: EnterpriseOut, **ERRORS, 409: ErrorOut}, summary="新增企业", description=AMOUNTS_NOTE)
def create_enterprise(request, payload: EnterpriseCreate):
    ent = do_create_enterprise(request.auth, payload.model_dump(exclude_unset=True))
    return Status(201, serialize(_reload(ent), request.auth))


@router.get("/{uscc}", response={200: EnterpriseOut, **ERRORS}, summary="企业详情")
def get_enterprise(request, uscc: str):
    ent = _get(uscc)
    access_enterprise(request.auth, ent)
    return serialize(ent, request.auth)


@router.patch("/{uscc}", response={200: EnterpriseOut, **ERRORS}, summary="修改企业(只改给出的字段)",
              description=AMOUNTS_NOTE + "给出 null 表示清空该项(必填项除外)。")
def patch_enterprise(request, uscc: str, payload: EnterpriseIn):
    ent = _get(uscc)
    ent = do_update_enterprise(request.auth, ent, payload.model_dump(exclude_unset=True), null_clears=True)
    return serialize(_reload(ent), request.auth)


@router.get("", response={200: EnterprisePage, **ERRORS}, summary="企业列表(按 id 倒序,游标分页)")
def list_enterprises(request, region: str = "", industry: str = "", size: str = "", tag: str = "",
                     certification: str = "", q: str = "", limit: int = 50, cursor: str = "",
                     with_count: bool = False):
    """Filters combine with AND. ``size=unknown`` selects enterprises whose size is undetermined.
    Pass the answer's ``next_cursor`` as ``cursor`` for the next page."""
    user = request.auth
    access_role(user, *STAFF_ROLES, Role.ENTERPRISE)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit 应在 1–{MAX_LIMIT} 之间", fields={"limit": f"应在 1–{MAX_LIMIT} 之间"})
    qs = _filtered(_visible(user), region=region.strip(),
                   industry=industry.strip(), size=size.strip(), tag=tag.strip(),
                   certification=certification.strip(), q=q.strip())
    count = qs.count() if with_count else None
    page = qs.order_by("-id")
    if cursor:
        if not _CURSOR.match(cursor):
            raise ValidationFailed("cursor 无效,请使用上一页应答中的 next_cursor", fields={"cursor": "无效"})
        page = page.filter(id__lt=int(cursor))
    rows = list(_with_links(page)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [serialize(e, user) for e in rows], "next_cursor": str(rows[-1].pk) if more else None,
            "count": count}


def _visible(user):
    return visible_enterprises(user, Enterprise.objects.all())


def _filtered(qs, *, region: str, industry: str, size: str, tag: str, certification: str, q: str):
    errors: dict[str, str] = {}
    if region:
        found = Region.objects.filter(code=region).values_list("prefix", flat=True).first()
        if found is None:
            errors["region"] = f"区划代码“{shorten(region)}”不存在"
        else:
            qs = qs.in_region(found)
    if industry:
        try:
            if len(industry) > 8:
                raise industries.IndustryError(f"行业代码“{shorten(industry)}”过长,应为门类字母或2–4位数字")
            qs = qs.in_industry(industries.resolve(industry)[0])
        except industries.IndustryError as exc:
            errors["industry"] = str(exc)
    if size:
        if size == "unknown":
            qs = qs.filter(size__isnull=True)
        elif size in Size.values:
            qs = qs.filter(size=size)
        else:
            errors["size"] = "应为 large、medium、small、micro 或 unknown"
    if tag:
        if not Tag.objects.filter(code=tag).exists():
            errors["tag"] = f"标签“{shorten(tag)}”不存在"
        qs = qs.with_tag(tag)
    if certification:
        if certification not in CertificationKind.values:
            errors["certification"] = "应为 " + "、".join(CertificationKind.values) + " 之一"
        qs = qs.with_certification(certification)
    if errors:
        raise ValidationFailed("查询条件有误 — " + ";".join(f"{k}: {v}" for k, v in errors.items()), fields=errors)
    if q:
        match = Q(name__contains=q)
        if _USCC_LIKE.match(q.upper()):
            match |= Q(uscc__startswith=q.upper())
        qs = qs.filter(match)
    return qs


# ------------------------------------------------------------------ credit lists
class CreditListingOut(Schema):
    id: int
    kind: str = Field(description="serious_dishonest(严重失信主体名单)| abnormal_operation(经营异常名录)")
    kind_label: str
    authority: str
    reason: str
    listed_on: str
    removed_on: Optional[str]
    in_force: bool = Field(description="今天是否仍在名单中")


class CreditListingIn(Schema):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(..., description="名单代码或中文名: " + " / ".join(f"{k}({v})" for k, v in CreditListKind.choices))
    listed_on: str = Field(..., description="列入日期 YYYY-MM-DD(不能晚于今天)")
    authority: str = Field("", description="列入机关")
    reason: str = Field("", description="列入事由")


class CreditRemovalIn(Schema):
    model_config = ConfigDict(extra="forbid")
    removed_on: str = Field(..., description="移出日期 YYYY-MM-DD(不早于列入日期,不晚于今天)")


def listing_out(listing: CreditListing) -> dict[str, Any]:
    today = timezone.localdate()
    return {"id": listing.pk, "kind": listing.kind, "kind_label": listing.get_kind_display(),
            "authority": listing.authority, "reason": listing.reason, "listed_on": plain(listing.listed_on),
            "removed_on": plain(listing.removed_on),
            "in_force": listing.listed_on <= today and (listing.removed_on is None or listing.removed_on > today)}


@router.get("/{uscc}/credit-listings", response={200: list[CreditListingOut], **ERRORS},
            summary="企业的信用名单记录(含已移出的)")
def list_credit_listings(request, uscc: str):
    ent = _get(uscc)
    access_enterprise(request.auth, ent)
    return [listing_out(c) for c in ent.credit_listings.all()]


@router.post("/{uscc}/credit-listings", response={201: CreditListingOut, **ERRORS, 409: ErrorOut},
             summary="记录列入信用名单(工作人员)")
def add_credit_listing(request, uscc: str, payload: CreditListingIn):
    ent = _get(uscc)
    listing = do_add_credit_listing(request.auth, ent, payload.kind, payload.listed_on, payload.authority,
                                    payload.reason)
    return Status(201, listing_out(listing))


@router.post("/{uscc}/credit-listings/{listing_id}/remove", response={200: CreditListingOut, **ERRORS, 409: ErrorOut},
             summary="记录移出信用名单(工作人员)")
def remove_credit_listing(request, uscc: str, listing_id: int, payload: CreditRemovalIn):
    ent = _get(uscc)
    listing = CreditListing.objects.filter(pk=listing_id, enterprise=ent).first()
    if listing is None:
        access_enterprise(request.auth, ent)  # a stranger learns nothing about the enterprise's records
        raise NotFound(f"该企业没有编号为 {listing_id} 的信用名单记录")
    return listing_out(do_remove_credit_listing(request.auth, listing, payload.removed_on))
