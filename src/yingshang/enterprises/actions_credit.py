"""Credit lists (严重失信主体名单, 经营异常名录): recording that an enterprise was listed and removed.

Staff who may write the register in the enterprise's region record listings; enterprise users never
do. Each change is audited on the enterprise (so it shows in its 变更记录), bumps ``updated_at`` (the
policy engine refreshes its register from it) and announces the change after commit, because policy
rules test "not on a 严重失信 list on the evaluation date".
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from yingshang.core import audit
from yingshang.core.access import access_register_write
from yingshang.core.errors import Conflict, ValidationFailed
from yingshang.core.models import AuditAction
from yingshang.enterprises import hooks
from yingshang.enterprises.models import CreditListing, CreditListKind, Enterprise
from yingshang.enterprises.validation import FOUNDING_OF_PRC, Invalid, _choice, _text, blank, parse_date

LABELS = {"kind": "名单", "listed_on": "列入日期", "removed_on": "移出日期", "authority": "列入机关", "reason": "列入事由"}
LIMITS = {"authority": 100, "reason": 300}


def _access(actor, enterprise: Enterprise) -> None:
    access_register_write(actor, enterprise.region_id)


def _fail(errors: dict[str, str]) -> ValidationFailed:
    return ValidationFailed("信用名单信息有误 — " + ";".join(f"{LABELS[k]}: {v}" for k, v in errors.items()),
                            fields=errors)


def _day(value: Any, label: str, today: dt.date) -> dt.date:
    if blank(value):
        raise Invalid("必填")
    day = parse_date(value)
    if day > today:
        raise Invalid(f"{label} {day} 晚于今天,不能是将来的日期")
    if day < FOUNDING_OF_PRC:
        raise Invalid(f"{label} {day} 过早,请核对")
    return day


def _text_field(value: Any, name: str) -> str:
    text = "" if value is None else _text(value)
    if len(text) > LIMITS[name]:
        raise Invalid(f"内容过长({len(text)}字),最多{LIMITS[name]}字")
    return text


def check_listing(kind: Any, listed_on: Any, authority: Any, reason: Any) -> dict[str, Any]:
    """Clean values of a new listing, or ValidationFailed naming every wrong field."""
    today, clean, errors = timezone.localdate(), {}, {}
    checks = {"kind": lambda: _choice(kind, CreditListKind, "名单"),
              "listed_on": lambda: _day(listed_on, "列入日期", today),
              "authority": lambda: _text_field(authority, "authority"),
              "reason": lambda: _text_field(reason, "reason")}
    for name, check in checks.items():
        try:
            if name == "kind" and blank(kind):
                raise Invalid("必填")
            clean[name] = check()
        except Invalid as exc:
            errors[name] = str(exc)
    if errors:
        raise _fail(errors)
    return clean


def describe(listing: CreditListing) -> str:
    """A listing in words, for the audit history."""
    parts = [listing.get_kind_display(), f"{listing.listed_on} 列入"]
    if listing.removed_on:
        parts.append(f"{listing.removed_on} 移出")
    parts += [p for p in (listing.authority, listing.reason) if p]
    return " · ".join(parts)


def _overlapping(ent: Enterprise, kind: str, listed_on: dt.date) -> CreditListing | None:
    """A listing of the same kind still open, or whose period contains ``listed_on``."""
    same = CreditListing.objects.filter(enterprise=ent, kind=kind)
    return same.filter(Q(removed_on__isnull=True) | Q(listed_on__lte=listed_on, removed_on__gt=listed_on)).first()


def _touch(ent: Enterprise) -> None:
    Enterprise.objects.filter(pk=ent.pk).update(updated_at=timezone.now())
    hooks.changed_on_commit([ent.pk])


def do_add_credit_listing(actor, enterprise: Enterprise, kind, listed_on, authority: str = "",
                          reason: str = "") -> CreditListing:
    """Record that the enterprise was put on a credit list on ``listed_on``; audited on the enterprise."""
    _access(actor, enterprise)
    clean = check_listing(kind, listed_on, authority, reason)
    with transaction.atomic():
        ent = Enterprise.objects.select_for_update().get(pk=enterprise.pk)
        clash = _overlapping(ent, clean["kind"], clean["listed_on"])
        if clash is not None:
            raise Conflict(f"该企业已在{clash.get_kind_display()}中({clash.listed_on} 列入"
                           f"{'' if clash.removed_on is None else f',{clash.removed_on} 移出'}),不能重复列入",
                           fields={"listed_on": "与已有的列入记录重叠"})
        listing = CreditListing.objects.create(enterprise=ent, **clean)
        audit.record(actor, AuditAction.UPDATE, ent, changes={"credit_listing": [None, describe(listing)]},
                     reason=f"列入{listing.get_kind_display()}")
        _touch(ent)
    return listing


def do_remove_credit_listing(actor, listing: CreditListing, removed_on) -> CreditListing:
    """Record that the enterprise was removed from the list on ``removed_on`` (≥ the listing date)."""
    _access(actor, listing.enterprise)
    try:
        day = _day(removed_on, "移出日期", timezone.localdate())
    except Invalid as exc:
        raise _fail({"removed_on": str(exc)}) from None
    with transaction.atomic():
        Enterprise.objects.select_for_update().filter(pk=listing.enterprise_id).first()
        listing = CreditListing.objects.select_related("enterprise").get(pk=listing.pk)
        if listing.removed_on is not None:
            raise Conflict(f"该记录已于 {listing.removed_on} 移出,不能再次移出")
        if day < listing.listed_on:
            raise _fail({"removed_on": f"移出日期 {day} 早于列入日期 {listing.listed_on}"})
        before = describe(listing)
        listing.removed_on = day
        listing.save(update_fields=["removed_on"])
        audit.record(actor, AuditAction.UPDATE, listing.enterprise,
                     changes={"credit_listing": [before, describe(listing)]},
                     reason=f"移出{listing.get_kind_display()}")
        _touch(listing.enterprise)
    return listing
