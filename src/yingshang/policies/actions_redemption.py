"""免申即享 兑现: redemption records created by the matcher, confirmed in bulk within the budget, paid, received.

Budget rule: for an item with a budget, the committed amount (confirmed/paid/received redemptions plus
approved/paid/received applications) never exceeds it. Every write that commits money locks the item
row first (SELECT … FOR UPDATE on PostgreSQL; on SQLite the IMMEDIATE transaction already serialises
writers), so two departments' clerks confirming at once cannot both spend the same remainder.

Allocation when the remainder cannot cover every open (pending/short) claim of the item: the rule is
decided over ALL open claims, not only the ticked rows. 按符合条件先后: earlier claims are served first; a
selection whose later rows would go short while earlier, still-fundable claims are left unticked is
refused with a message naming them (we never confirm a row the clerk did not tick). 按比例: each open
claim's share is remainder × amount ÷ total of all open claims (rounded down to the fen); the ticked rows
are confirmed at their share, the others keep theirs for later.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from yingshang.core import audit
from yingshang.core.access import in_scope
from yingshang.core.bulk import db_adapter, insert_rows
from yingshang.core.errors import Conflict, NotFound, ValidationFailed
from yingshang.core.models import AuditAction, Role, STAFF_ROLES, User
from yingshang.enterprises.models import Enterprise
# The pure allocation lives in allocation.py; its names are re-exported for callers and tests.
from yingshang.policies.allocation import Allocation, Claim, _check_passed_over, allocate  # noqa: F401
from yingshang.policies.models import (Application, ApplicationStatus, PolicyItem, Redemption,
                                       RedemptionStatus as RS)

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
CHUNK = 500  # enterprises loaded per query when creating redemptions
REDEMPTION_COMMITTED = (RS.CONFIRMED, RS.PAID, RS.RECEIVED)
APPLICATION_COMMITTED = (ApplicationStatus.APPROVED, ApplicationStatus.PAID, ApplicationStatus.RECEIVED)
CONFIRMABLE = (RS.PENDING, RS.SHORT)
MANAGER_ROLES = (Role.POLICY_OFFICER, Role.DEPT_LEADER)
MAX_REF = 64
REDEMPTION_LINK = "/policies/redemption/mine/"
EACH_LIMIT = 200  # above this many rows, notifications go set-based with a common text
MAX_ID = 2**63 - 1  # ids are 64-bit: a bigger number is a client's mistake, not a 500
MAX_SELECTION = 10000
INELIGIBLE_FLAG = "企业已不再符合条件,请核实后决定是否取消"
# Marks a cancellation made by the matcher (not by a clerk): such a record reopens if the enterprise qualifies again.
AUTO_CANCEL_MARK = "【系统】"


# ---------------------------------------------------------------- access
def access_manage(user, item: PolicyItem) -> None:
    """Raise PermissionDenied unless ``user`` may confirm, review and pay out ``item`` (the library's rule)."""
    from yingshang.policies.access import access_redemption

    access_redemption(user, item)


def can_manage(user, item: PolicyItem) -> bool:
    try:
        access_manage(user, item)
    except PermissionDenied:
        return False
    return True


def access_record_read(user, record) -> None:
    """Raise unless ``user`` may read a redemption or application: its enterprise, or staff in scope."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied("请先登录")
    if user.is_superuser or user.role == Role.ADMIN:
        return
    if user.role == Role.ENTERPRISE:
        if user.enterprise_id != record.enterprise_id:
            raise PermissionDenied("企业用户只能查看本企业的申报与兑现")
        return
    if user.role in STAFF_ROLES and (user.department_id and user.department_id == record.item.department_id
                                     or in_scope(user, record.enterprise.region_id)):
        return
    raise PermissionDenied("该记录不在您的管辖范围内")


def visible_records(user, qs: QuerySet) -> QuerySet:
    """The part of a Redemption or Application queryset ``user`` may read (same rule as access_record_read)."""
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_superuser or user.role == Role.ADMIN:
        return qs
    if user.role == Role.ENTERPRISE:
        return qs.filter(enterprise_id=user.enterprise_id) if user.enterprise_id else qs.none()
    if user.role not in STAFF_ROLES:
        return qs.none()
    where = Q(enterprise__region__code__startswith=user.scope_prefix)
    if user.department_id:
        where |= Q(item__department_id=user.department_id)
    return qs.filter(where)


def access_enterprise_user(user, record, what: str) -> None:
    """Raise unless ``user`` is an enterprise user of the record's enterprise."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied("请先登录")
    if user.role != Role.ENTERPRISE or user.enterprise_id != record.enterprise_id:
        raise PermissionDenied(f"只有本企业用户可以{what}")


# ---------------------------------------------------------------- amounts and budget
def estimate_amount(item: PolicyItem, enterprise: Enterprise, as_of: dt.date | None = None) -> Decimal | None:
    """The estimated amount (元) of ``item`` for ``enterprise`` by the item's formula, floor and cap."""
    if not item.amount_formula:
        return None  # nothing to compute: skip loading the enterprise's facts
    from yingshang.policies import engine_db
    from yingshang.policies.engine import amounts

    as_of = as_of or timezone.localdate()
    facts = engine_db.facts_for(enterprise, on=as_of)
    return amounts.estimate(item.amount_formula, item.amount_floor, item.amount_cap, facts, item.params or {}, as_of)


# Derived variables of formulas and rules and the register figures they rest on.
DERIVED_FIGURES = {"rd_ratio": ("rd_expense", "operating_revenue")}
SELF_REPORTED = "企业自报"


def item_figures(item: PolicyItem) -> frozenset[str]:
    """The register figures (FIGURE_FIELDS) the item's amount formula and rule use."""
    from yingshang.enterprises.models import FIGURE_FIELDS

    names = set(re.findall(r"[A-Za-z_]\w*", item.amount_formula or "")) | _rule_fields(item.rule)
    for name, parts in DERIVED_FIGURES.items():
        if name in names:
            names.update(parts)
    return frozenset(names) & frozenset(FIGURE_FIELDS)


def _rule_fields(node) -> set[str]:
    if isinstance(node, dict):
        own = {node["field"]} if isinstance(node.get("field"), str) else set()
        return own.union(*(_rule_fields(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_rule_fields(v) for v in node))
    return set()


def self_reported_figures(figures: frozenset[str], figure_sources: dict | None) -> list[str]:
    """Which of ``figures`` the enterprise reported itself (source 企业自报), as Chinese labels."""
    from yingshang.enterprises.models import FIGURE_LABELS

    sources = figure_sources or {}
    return [FIGURE_LABELS.get(f, f) for f in sorted(figures)
            if isinstance(sources.get(f), dict) and sources[f].get("source") == SELF_REPORTED]


def committed_amount(item_id: int) -> Decimal:
    """Money committed on an item: confirmed/paid/received redemptions + approved/paid/received applications."""
    red = Redemption.objects.filter(item_id=item_id, status__in=REDEMPTION_COMMITTED).aggregate(
        s=Sum("amount_confirmed"))["s"]
    app = Application.objects.filter(item_id=item_id, status__in=APPLICATION_COMMITTED).aggregate(
        s=Sum("amount_approved"))["s"]
    return (red or ZERO) + (app or ZERO)


def remaining_budget(item: PolicyItem) -> Decimal | None:
    """Budget not yet committed (never below 0); None when the item has no budget."""
    if item.budget is None:
        return None
    return max(item.budget - committed_amount(item.pk), ZERO)


def budget_summary(item: PolicyItem) -> dict:
    """预算 / 已确认 / 剩余 plus what is waiting (pending and short) for the workbench's budget bar."""
    committed = committed_amount(item.pk)
    waiting = Redemption.objects.filter(item=item, status__in=CONFIRMABLE).aggregate(s=Sum("amount_estimated"))["s"]
    remaining = None if item.budget is None else max(item.budget - committed, ZERO)
    pct = None
    if item.budget is not None:
        pct = 100.0 if item.budget <= 0 else min(100.0, round(float(committed / item.budget) * 100, 1))
    return {"budget": item.budget, "committed": committed, "remaining": remaining, "waiting": waiting or ZERO,
            "committed_pct": pct}


def lock_item(item: PolicyItem) -> PolicyItem:
    """Re-read ``item`` holding its row lock for the rest of the transaction (serialises budget writers)."""
    return PolicyItem.objects.select_for_update().get(pk=item.pk)


# ---------------------------------------------------------------- notifications
def _enterprise_users(enterprise_ids) -> QuerySet:
    return User.objects.filter(role=Role.ENTERPRISE, enterprise_id__in=enterprise_ids)


def department_officers(item: PolicyItem) -> QuerySet:
    """The users the item's department handles policies with (policy officers and the department head)."""
    return User.objects.filter(department_id=item.department_id, role__in=MANAGER_ROLES)


def _notify(users: QuerySet, key: str, title: str, body: str = "", link: str = REDEMPTION_LINK) -> None:
    from yingshang.core.notify import do_notify

    do_notify(users, key=key, title=title, body=body, link=link, category="policy")


def _notify_each(rows: list[Redemption], stage: str, title: str, body, generic: str = "") -> None:
    """One notification per redemption (key ``redemption:<id>:<stage>``) to its enterprise's users; above
    EACH_LIMIT rows one set-based call per item with a common text (keys stay one per item and user)."""
    from yingshang.core.notify import do_notify

    if len(rows) > EACH_LIMIT:
        by_item: dict[int, set[int]] = {}
        for r in rows:
            by_item.setdefault(r.item_id, set()).add(r.enterprise_id)
        for item_id, ents in by_item.items():
            do_notify(_enterprise_users(ents), key=f"redemption-item:{item_id}:{stage}", title=title,
                      body=generic, link=REDEMPTION_LINK, category="policy")
        return
    users_by_ent: dict[int, list[User]] = {}
    for user in _enterprise_users({r.enterprise_id for r in rows}).filter(is_active=True):
        users_by_ent.setdefault(user.enterprise_id, []).append(user)
    for r in rows:
        if users_by_ent.get(r.enterprise_id):
            do_notify(users_by_ent[r.enterprise_id], key=f"redemption:{r.pk}:{stage}", title=title,
                      body=body(r), link=REDEMPTION_LINK, category="policy")


# ---------------------------------------------------------------- creation (called by the matcher)
def _new_enterprise_ids(item: PolicyItem, ids: list[int]) -> list[int]:
    """Those of ``ids`` that exist and have no redemption of ``item`` yet."""
    taken = Redemption.objects.filter(item=item, enterprise_id__in=ids).values("enterprise_id")
    return sorted(Enterprise.objects.filter(pk__in=ids).exclude(pk__in=taken).values_list("pk", flat=True))


def _clear_ineligible_flags(item: PolicyItem, ids: list[int]) -> None:
    """A confirmed claim flagged "no longer eligible" loses the flag when its enterprise qualifies again."""
    for r in Redemption.objects.filter(item=item, enterprise_id__in=ids, status=RS.CONFIRMED,
                                       note__endswith=INELIGIBLE_FLAG):
        before = r.note
        r.note = ""
        r.save(update_fields=["note"])
        audit.record(None, AuditAction.UPDATE, r, changes={"note": [before, ""]}, reason="企业重新符合条件")


def _revive(item: PolicyItem, ids: list[int], as_of: dt.date, now: dt.datetime, known: dict | None) -> int:
    """Reopen redemptions the matcher cancelled when these enterprises stopped qualifying (never a clerk's
    cancellation): they qualify again, as of now, with a fresh estimate."""
    _clear_ineligible_flags(item, ids)
    rows = list(Redemption.objects.filter(item=item, enterprise_id__in=ids, status=RS.CANCELLED,
                                          note__startswith=AUTO_CANCEL_MARK))
    amounts = _chunk_amounts(item, [r.enterprise_id for r in rows], as_of, known) if rows else {}
    for r in rows:
        before = [r.status, r.note]
        r.status, r.note, r.eligible_at, r.shortfall = RS.PENDING, "", now, ZERO
        r.amount_estimated = amounts.get(r.enterprise_id)
        r.save(update_fields=["status", "note", "eligible_at", "shortfall", "amount_estimated"])
        audit.record(None, AuditAction.TRANSITION, r, changes={"status": [before[0], RS.PENDING.value],
                                                                "note": [before[1], ""]}, reason="企业重新符合条件")
    return len(rows)


def _chunk_amounts(item: PolicyItem, ids: list[int], as_of: dt.date, known: dict | None) -> dict:
    """{enterprise id: estimate}: taken from ``known`` (the matcher's), else computed from the enterprise's facts."""
    if not item.amount_formula:
        return {}  # nothing to compute: do not even load the enterprises
    todo = [i for i in ids if known is None or i not in known]
    out = {i: known[i] for i in ids if known is not None and i in known}
    out.update(estimate_amounts(item, todo, as_of) if todo else {})
    return out


def estimate_amounts(item: PolicyItem, ids: list[int], as_of: dt.date) -> dict[int, Decimal | None]:
    """{enterprise id: estimated amount} of many enterprises, from the matcher's register (no query each)."""
    from yingshang.policies import engine_db
    from yingshang.policies.engine import amounts

    return {ent_id: amounts.estimate(item.amount_formula, item.amount_floor, item.amount_cap, facts,
                                     item.params or {}, as_of)
            for ent_id, facts in engine_db.facts_for_many(ids, on=as_of).items()}


def _insert_chunk(item: PolicyItem, ids: list[int], as_of: dt.date, now: dt.datetime, known: dict | None) -> None:
    adapt = db_adapter()
    amounts = _chunk_amounts(item, ids, as_of, known)
    stamp, zero = adapt(now), adapt(ZERO)
    rows = [(item.pk, i, RS.PENDING.value, stamp, None if amounts.get(i) is None else adapt(amounts[i]), zero, "", "")
            for i in ids]
    insert_rows(Redemption, ["item_id", "enterprise_id", "status", "eligible_at", "amount_estimated", "shortfall",
                             "payout_ref", "note"], rows, ignore_conflicts=True)


def _audit_created(item: PolicyItem, now: dt.datetime) -> int:
    created = list(Redemption.objects.filter(item=item, eligible_at=now).values_list("pk", "amount_estimated"))
    audit.record_bulk("系统", AuditAction.CREATE, [
        ("policies.redemption", str(pk), f"{item.title} 兑现 #{pk}",
         {"status": [None, RS.PENDING.value], "amount_estimated": [None, None if a is None else str(a)]})
        for pk, a in created], reason="免申即享:企业新符合条件", at=now)
    return len(created)


def do_create_redemptions(item: PolicyItem, enterprise_ids, as_of: dt.date | None = None, *,
                          amounts: dict | None = None) -> int:
    """Create one pending redemption per newly eligible enterprise of a 免申即享 item (idempotent); returns how many.

    ``amounts`` ({enterprise id: Decimal | None}) may carry estimates the matcher already computed."""
    if not item.pays_out:  # tax/qualification/service benefits are applied by their own system
        return 0
    as_of, now = as_of or timezone.localdate(), timezone.now()
    ids = sorted({int(i) for i in enterprise_ids})
    with transaction.atomic():
        fresh = [i for start in range(0, len(ids), CHUNK) for i in _new_enterprise_ids(item, ids[start:start + CHUNK])]
        # Every estimate in one pass over one register (not one register refresh per chunk).
        known = _chunk_amounts(item, fresh, as_of, amounts) if fresh else {}
        for start in range(0, len(fresh), CHUNK):
            _insert_chunk(item, fresh[start:start + CHUNK], as_of, now, known)
        created = _audit_created(item, now) if ids else 0
        revived_at = timezone.now()  # after the creation stamp, so _audit_created never counts these
        created += sum(_revive(item, ids[start:start + CHUNK], as_of, revived_at, amounts)
                       for start in range(0, len(ids), CHUNK))
        if created:
            _notify(department_officers(item), f"redemption-new:{item.pk}:{now.timestamp():.6f}",
                    f"「{item.title}」新增 {created} 条免申即享兑现待确认", link=f"/policies/redemption/?item={item.pk}")
    return created


# ---------------------------------------------------------------- confirmation within the budget
def _one_id(raw, name: str) -> int:
    text = str(raw).strip() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if not re.fullmatch(r"[0-9]{1,19}", text) or not 1 <= int(text) <= MAX_ID:
        raise ValidationFailed(f"兑现记录编号应为 1 至 {MAX_ID} 之间的整数,收到「{str(raw)[:20]}」",
                               fields={name: "应为正整数编号"})
    return int(text)


def _clean_ids(ids, name: str = "ids") -> list[int]:
    if ids is None or isinstance(ids, (str, bytes, dict)) or not hasattr(ids, "__iter__"):
        raise ValidationFailed("兑现记录:应为兑现记录编号的列表", fields={name: "应为整数列表"})
    clean = sorted({_one_id(i, name) for i in ids})
    if not clean:
        raise ValidationFailed("请至少选择一条兑现记录", fields={name: "不能为空"})
    if len(clean) > MAX_SELECTION:
        raise ValidationFailed(f"一次最多处理 {MAX_SELECTION} 条兑现记录", fields={name: "过多"})
    return clean


def _stored_eligible(item: PolicyItem) -> np.ndarray | None:
    """The item's stored eligible enterprise ids (sorted), or None when the matcher stored no results yet."""
    from yingshang.policies.matching import matched_ids

    ids, as_of = matched_ids(item, "eligible")
    return None if as_of is None else ids


def _confirmable_rows(item: PolicyItem, ids: list[int], eligible) -> tuple[list[Redemption], int]:
    """The selected rows that can be confirmed (locked, in eligibility order) and how many were already done."""
    rows = list(Redemption.objects.select_for_update().filter(item=item, pk__in=ids).order_by("eligible_at", "id"))
    missing = sorted(set(ids) - {r.pk for r in rows})
    if missing:
        raise NotFound(f"兑现记录 {', '.join(map(str, missing[:10]))} 不存在或不属于事项「{item.title}」")
    cancelled = [r.pk for r in rows if r.status == RS.CANCELLED]
    if cancelled:
        raise Conflict(f"兑现记录 {', '.join(map(str, cancelled[:10]))} 已取消,不能确认")
    todo = [r for r in rows if r.status in CONFIRMABLE]
    unpriced = [r.pk for r in todo if r.amount_estimated is None]
    if unpriced:
        raise Conflict(f"兑现记录 {', '.join(map(str, unpriced[:10]))} 缺少测算金额(企业数据不全),请先补充数据或取消")
    if eligible is not None and todo:
        gone = [r.pk for r, ok in zip(todo, np.isin([r.enterprise_id for r in todo], eligible)) if not ok]
        if gone:
            raise Conflict(f"兑现记录 {', '.join(map(str, gone[:10]))} 的企业按最新匹配结果已不再符合条件,不能确认,"
                           "请取消这些记录")
    return todo, len(rows) - len(todo)


def _open_claims(item: PolicyItem, eligible) -> list[Claim]:
    """Every open, priced claim of the item (still eligible per the stored results), in eligibility order."""
    rows = (Redemption.objects.filter(item=item, status__in=CONFIRMABLE, amount_estimated__isnull=False)
            .order_by("eligible_at", "id").values_list("pk", "enterprise_id", "amount_estimated"))
    claims = [Claim(*r) for r in rows.iterator(chunk_size=5000)]
    if eligible is None or not claims:
        return claims
    keep = np.isin(np.fromiter((c.enterprise_id for c in claims), dtype=np.int64, count=len(claims)), eligible)
    return [c for c, ok in zip(claims, keep) if ok]


def capped_claims(item: PolicyItem, rows) -> list[Claim]:
    """The claims with their amounts clipped to the item's per-enterprise cap: an estimate stored before the
    cap was set (or lowered) is never confirmed above it."""
    cap = item.amount_cap
    return [Claim(r.pk, r.enterprise_id, r.amount_estimated if cap is None else min(r.amount_estimated, cap))
            for r in rows]


def _write_allocation(actor, item: PolicyItem, rows: list[Redemption], alloc: Allocation, now: dt.datetime) -> None:
    changed, log = [], []
    for r in rows:
        r.item = item  # the rows were read without their item; avoid one query per row
        amount, short, status = alloc.decided[r.pk]
        log.append(("policies.redemption", str(r.pk), f"{r.item.title} 兑现 #{r.pk}",
                    {"status": [r.status, status], "amount_confirmed": [None, None if amount is None else str(amount)],
                     "shortfall": [str(r.shortfall), str(short)]}))
        r.status, r.amount_confirmed, r.shortfall = status, amount, short
        r.confirmed_by, r.confirmed_at = (actor, now) if status == RS.CONFIRMED else (None, None)
        r.note = "预算不足,按比例核减" if status == RS.CONFIRMED and short > 0 else (
            "预算不足,待追加预算" if status == RS.SHORT else "")
        changed.append(r)
    Redemption.objects.bulk_update(changed, ["status", "amount_confirmed", "shortfall", "confirmed_by",
                                             "confirmed_at", "note"], batch_size=500)
    audit.record_bulk(actor, AuditAction.TRANSITION, log, reason="兑现确认", at=now)


def _notify_confirmation(item: PolicyItem, rows: list[Redemption], alloc: Allocation, now) -> None:
    done = [r for r in rows if r.status == RS.CONFIRMED]
    short = [r for r in rows if r.status == RS.SHORT]
    _notify_each(done, "confirmed", f"「{item.title}」兑现已确认",
                 lambda r: f"确认金额 {r.amount_confirmed} 元" + (f"(预算不足,核减 {r.shortfall} 元)" if r.shortfall else "")
                 + ",拨付后请确认到账。", "确认金额请在“我的申报与兑现”中查看,拨付后请确认到账。")
    _notify_each(short, "short", f"「{item.title}」预算暂不足",
                 lambda r: f"您符合条件的 {r.amount_estimated} 元因预算不足暂缓兑现,追加预算后将优先办理。",
                 "因预算不足暂缓兑现,追加预算后将优先办理。")
    _notify(department_officers(item), f"redemption-confirm:{item.pk}:{now.timestamp():.6f}",
            f"「{item.title}」确认兑现 {len(done)} 条,共 {alloc.confirmed_total} 元"
            + (f";预算不足 {len(short)} 条" if short else "") + (f";按比例核减 {alloc.reduced} 条" if alloc.reduced else ""),
            link=f"/policies/redemption/?item={item.pk}")


@dataclass
class ConfirmResult:
    confirmed: int
    short: int
    reduced: int
    skipped: int
    amount: Decimal
    remaining: Decimal | None


def do_confirm_redemptions(actor, item: PolicyItem, ids) -> ConfirmResult:
    """Confirm selected pending/short redemptions of an item; when the budget cannot cover every open claim
    of the item, its allocation rule is applied over all of them (see ``allocate``)."""
    access_manage(actor, item)
    ids = _clean_ids(ids)
    with transaction.atomic():
        item = lock_item(item)
        eligible = _stored_eligible(item)
        rows, skipped = _confirmable_rows(item, ids, eligible)
        if not rows:
            raise Conflict("所选兑现记录均已确认或已处理,无需重复确认")
        remaining = remaining_budget(item)
        pool = None if remaining is None else capped_claims(item, _open_claims(item, eligible))
        alloc = allocate(capped_claims(item, rows), remaining, item.allocation, pool)
        _check_passed_over(alloc)
        now = timezone.now()
        _write_allocation(actor, item, rows, alloc, now)
        _notify_confirmation(item, rows, alloc, now)
        remaining = remaining_budget(item)
    return ConfirmResult(alloc.count(RS.CONFIRMED), alloc.count(RS.SHORT), alloc.reduced, skipped,
                         alloc.confirmed_total, remaining)


def do_release_short(actor, item: PolicyItem) -> ConfirmResult:
    """Re-run the confirmation of an item's SHORT redemptions (after its budget was raised)."""
    access_manage(actor, item)
    ids = list(Redemption.objects.filter(item=item, status=RS.SHORT).values_list("pk", flat=True))
    if not ids:
        raise Conflict(f"事项「{item.title}」没有因预算不足待处理的兑现记录")
    return do_confirm_redemptions(actor, item, ids)


# ---------------------------------------------------------------- payout, receipt, cancellation
def _check_ref(payout_ref: str) -> str:
    ref = (payout_ref or "").strip()
    if not ref:
        raise ValidationFailed("请填写拨付凭证号", fields={"payout_ref": "不能为空"})
    if len(ref) > MAX_REF:
        raise ValidationFailed(f"拨付凭证号不能超过 {MAX_REF} 个字符", fields={"payout_ref": "过长"})
    return ref


def do_record_payout(actor, ids, payout_ref: str) -> int:
    """Record the payout of confirmed redemptions (→ paid) under one voucher; enterprises are asked to confirm."""
    ids, ref = _clean_ids(ids), _check_ref(payout_ref)
    with transaction.atomic():
        rows = list(Redemption.objects.select_for_update().filter(pk__in=ids).select_related("item"))
        missing = sorted(set(ids) - {r.pk for r in rows})
        if missing:
            raise NotFound(f"兑现记录 {', '.join(map(str, missing[:10]))} 不存在")
        for item in {r.item_id: r.item for r in rows}.values():
            access_manage(actor, item)
        wrong = [f"#{r.pk}({r.get_status_display()})" for r in rows if r.status != RS.CONFIRMED]
        if wrong:
            raise Conflict(f"只有已确认的兑现记录可以登记拨付:{', '.join(wrong[:10])}")
        now = timezone.now()
        Redemption.objects.filter(pk__in=ids).update(status=RS.PAID, paid_at=now, payout_ref=ref)
        audit.record_bulk(actor, AuditAction.TRANSITION, [
            ("policies.redemption", str(r.pk), f"{r.item.title} 兑现 #{r.pk}",
             {"status": [RS.CONFIRMED.value, RS.PAID.value], "payout_ref": ["", ref]}) for r in rows],
            reason="登记拨付", at=now)
        for r in rows:
            r.status, r.paid_at, r.payout_ref = RS.PAID, now, ref
        _notify_each(rows, "paid", "政策资金已拨付,请确认到账",
                     lambda r: f"「{r.item.title}」{r.amount_confirmed} 元已拨付(凭证号 {ref}),请在收到后确认到账。",
                     f"凭证号 {ref},请在收到后确认到账。")
    return len(rows)


def _transition(actor, redemption: Redemption, allowed, new_status: str, reason: str = "", **values) -> Redemption:
    """Move one locked redemption from one of ``allowed`` to ``new_status``; audited."""
    with transaction.atomic():
        row = Redemption.objects.select_for_update().select_related("item", "enterprise").get(pk=redemption.pk)
        if row.status not in allowed:
            raise Conflict(f"兑现记录当前状态为「{row.get_status_display()}」,不能改为「{RS(new_status).label}」")
        old = row.status
        row.status = new_status
        for name, value in values.items():
            setattr(row, name, value)
        row.save(update_fields=["status", *values])
        audit.record(actor, AuditAction.TRANSITION, row, changes={"status": [old, new_status]}, reason=reason)
    return row


def do_confirm_receipt(actor, redemption: Redemption) -> Redemption:
    """The enterprise confirms the money arrived (paid → received)."""
    access_enterprise_user(actor, redemption, "确认到账")
    row = _transition(actor, redemption, (RS.PAID,), RS.RECEIVED, received_at=timezone.now())
    _notify(department_officers(row.item), f"redemption:{row.pk}:received",
            f"{row.enterprise.name} 已确认「{row.item.title}」资金到账", link=f"/policies/redemption/?item={row.item_id}")
    return row


def do_cancel_redemption(actor, redemption: Redemption, reason: str) -> Redemption:
    """Cancel a redemption not yet paid (e.g. the enterprise no longer qualifies); frees its committed budget."""
    access_manage(actor, redemption.item)
    # The system mark is the matcher's alone: a clerk's cancellation must never be reopened automatically.
    reason = (reason or "").replace(AUTO_CANCEL_MARK, "").strip()
    if not reason:
        raise ValidationFailed("取消兑现必须说明理由", fields={"reason": "不能为空"})
    if len(reason) > 300:
        raise ValidationFailed("取消理由不能超过 300 个字符", fields={"reason": "过长"})
    with transaction.atomic():
        lock_item(redemption.item)
        row = _transition(actor, redemption, (RS.PENDING, RS.SHORT, RS.CONFIRMED), RS.CANCELLED, reason=reason,
                          note=reason)
        _notify_each([row], "cancelled", f"「{row.item.title}」兑现已取消", lambda r: f"原因:{reason}")
    return row



# ---------------------------------------------------------------- enterprises that no longer qualify
def _rows_of(item: PolicyItem, ids: list[int], statuses) -> list[Redemption]:
    """The item's redemptions of these enterprises in these statuses, locked (ids in chunks: IN-list limits)."""
    out = []
    for start in range(0, len(ids), CHUNK):
        out += Redemption.objects.select_for_update().filter(
            item=item, enterprise_id__in=ids[start:start + CHUNK], status__in=statuses).order_by("id")
    return out


def _cancel_open(item: PolicyItem, ids: list[int], reason: str, now: dt.datetime) -> list[Redemption]:
    rows = _rows_of(item, ids, CONFIRMABLE)
    for start in range(0, len(rows), CHUNK):
        Redemption.objects.filter(pk__in=[r.pk for r in rows[start:start + CHUNK]]).update(
            status=RS.CANCELLED, note=AUTO_CANCEL_MARK + reason, confirmed_by=None, confirmed_at=None)
    audit.record_bulk("系统", AuditAction.TRANSITION, [
        ("policies.redemption", str(r.pk), f"{item.title} 兑现 #{r.pk}",
         {"status": [r.status, RS.CANCELLED.value], "note": [r.note, AUTO_CANCEL_MARK + reason]}) for r in rows],
        reason=reason, at=now)
    for r in rows:
        r.status, r.note, r.item = RS.CANCELLED, AUTO_CANCEL_MARK + reason, item
    return rows


def _flag_confirmed(item: PolicyItem, ids: list[int], reason: str, now: dt.datetime) -> list[Redemption]:
    # Confirmed money is a department's decision: we do not undo it, we ask the department to look again.
    note = f"{reason}:{INELIGIBLE_FLAG}"[:300]
    rows = [r for r in _rows_of(item, ids, (RS.CONFIRMED,)) if r.note != note]  # idempotent on re-runs
    audit.record_bulk("系统", AuditAction.UPDATE, [
        ("policies.redemption", str(r.pk), f"{item.title} 兑现 #{r.pk}", {"note": [r.note, note]}) for r in rows],
        reason=reason, at=now)
    for r in rows:
        r.note = note
    Redemption.objects.bulk_update(rows, ["note"], batch_size=CHUNK)
    return rows


def do_cancel_ineligible_redemptions(item: PolicyItem, enterprise_ids, reason: str = "不再符合条件") -> int:
    """Cancel the pending/short redemptions of enterprises that no longer qualify (called by the matcher inside
    its transaction; frees their claim on the budget); confirmed ones are flagged and the department told,
    paid ones left alone. Returns how many were cancelled."""
    ids = sorted({int(i) for i in enterprise_ids})
    reason = ((reason or "").strip() or "不再符合条件")[:300]
    if not ids:
        return 0
    with transaction.atomic():
        lock_item(item)  # serialised with confirmations, which decide over all open claims
        now = timezone.now()
        cancelled = _cancel_open(item, ids, reason, now)
        flagged = _flag_confirmed(item, ids, reason, now)
        _notify_each(cancelled, "cancelled", f"「{item.title}」兑现已取消", lambda r: f"原因:{reason}",
                     f"原因:{reason}")
        _notify_ineligible(item, len(cancelled), len(flagged), reason, now)
    return len(cancelled)


def _notify_ineligible(item: PolicyItem, cancelled: int, flagged: int, reason: str, now: dt.datetime) -> None:
    parts = ([f"{cancelled} 条待确认兑现已自动取消"] if cancelled else []) + (
        [f"{flagged} 条已确认未拨付的兑现请核实后决定是否取消"] if flagged else [])
    if parts:
        _notify(department_officers(item), f"redemption-ineligible:{item.pk}:{now.timestamp():.6f}",
                f"「{item.title}」有企业{reason}:" + ";".join(parts), link=f"/policies/redemption/?item={item.pk}")

__all__ = ["do_create_redemptions", "do_confirm_redemptions", "do_release_short", "do_record_payout",
           "do_confirm_receipt", "do_cancel_redemption", "do_cancel_ineligible_redemptions", "allocate",
           "budget_summary", "committed_amount", "remaining_budget", "estimate_amount", "estimate_amounts", "access_manage", "access_record_read", "visible_records"]
