"""The policy part of the demo seed: the shipped policy content, matching, and a 兑现 / 申报 history.

``seed_policies(size, seed)`` runs on a database that already holds the seeded organisation and
enterprises (``seeding.run.seed``):

1. loads ``policies/data/national.json`` and ``local.json`` as published items (``policies.content``)
   and dates their publication on the platform (the platform "went live" on 2026-03-02);
2. matches every published item over the register (``policies.matching.run_all``: pushes, and
   pending redemptions for the 免申即享 items that pay out — subsidies and loan interest
   (``PolicyItem.pays_out``));
3. writes a history for the demo city, deterministic for a given seed and ``as_of``: for the local
   免申即享 items with a budget, redemptions confirmed, paid and received in batches spread over the
   past months (through the redemption helper's actions, which apply the budget and allocation rule —
   the 研发费用后补助 item runs short and is cut pro rata, 扶沟县's item runs short in order of
   eligibility — with the timestamps moved back afterwards); for 申报 / 即申即享 items, applications in
   every status with review reasons, written with the ORM (the application actions need uploaded files
   and an open window, which a history of closed rounds cannot have) and audited in bulk.

Running it again changes nothing: content loading is idempotent, matching pushes nobody twice, and
the history is written only for items that have none yet. National 免申即享 tax items get no
redemption records at all: the tax system applies those benefits, so matching only pushes them to the
eligible enterprises.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

import zlib

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

PLATFORM_START = dt.date(2026, 3, 2)
CITY_PREFIX = "4116"
# 免申即享 items with a budget: how their redemptions are processed (shares of the rows, in eligibility order).
REDEMPTION_PLAN = {
    # code: (share confirmed in the first batch, share in the second batch, share of confirmed paid, of paid received)
    "ZK-2026-KJ-01": (0.4, 0.4, 0.8, 0.75),
    "ZK-2026-KJ-03": (0.8, 0.0, 0.85, 0.7),
    "ZK-2026-GX-01": (0.9, 0.0, 1.0, 0.7),
    "FG-2026-GY-01": (1.0, 0.0, 1.0, 0.8),
}
# 申报 / 即申即享 items: how many applications of each status (fewer when fewer enterprises qualify).
APPLICATION_PLAN = {
    "ZK-2026-KJ-02": {"submitted": 5, "approved": 3, "rejected": 2, "paid": 2, "received": 1, "withdrawn": 1},
    "ZK-2026-GX-02": {"submitted": 4, "approved": 3, "rejected": 3, "paid": 3, "received": 3},
    "ZK-2026-GX-03": {"approved": 2, "rejected": 4, "paid": 3, "received": 6, "withdrawn": 1},
    "ZK-2026-GX-04": {"rejected": 1, "paid": 1, "received": 2},
    "ZK-2026-RS-01": {"submitted": 6, "approved": 4, "rejected": 2, "paid": 6, "received": 10},
    "ZK-2026-RS-02": {"submitted": 3, "approved": 2, "rejected": 2, "paid": 2, "received": 3, "withdrawn": 1},
    "ZK-2026-JR-01": {"submitted": 4, "approved": 8, "rejected": 2},
    "CN-GKFH-2016-32-11": {"submitted": 3, "approved": 2, "rejected": 2},
    "CN-GKFZ-2017-115-06": {"submitted": 4, "approved": 6, "rejected": 1, "withdrawn": 1},
}
REJECT_REASONS = {
    "ZK-2026-KJ-02": ["高新技术企业证书不在有效期内,不符合奖励条件", "已享受过首次认定奖励,本次按重新认定申报材料不全"],
    "ZK-2026-GX-02": ["经统计部门核实,该企业2024年已纳入规上统计,不属于首次升规",
                      "未提供统计部门出具的首次纳入规模以上工业企业统计证明", "上年度财务报表与统计联网直报数据不一致"],
    "ZK-2026-GX-03": ["项目投入发票与实施方案内容不一致", "第三方验收报告缺失", "项目尚未完成验收,请在下一年度申报",
                      "项目投入不足50万元,未达到补助门槛"],
    "ZK-2026-GX-04": ["产品未列入首台(套)重大技术装备推广应用指导目录"],
    "ZK-2026-RS-01": ["上年度裁员率超过规定标准", "单位存在欠缴失业保险费情况"],
    "ZK-2026-RS-02": ["新招用人员社会保险缴费不足3个月,未达到条件", "借款合同不属于创业担保贷款"],
    "ZK-2026-JR-01": ["合作银行评估:企业近两年连续亏损,暂不予授信", "企业存在未结清的逾期贷款"],
    "CN-GKFH-2016-32-11": ["近三个会计年度研究开发费用专项审计报告缺失", "高新技术产品(服务)收入占比未达到60%"],
    "CN-GKFZ-2017-115-06": ["科技人员指标得分为0分,不符合评价条件"],
}
APPROVE_REASONS = ["材料齐全,符合申报条件,同意。", "经核验符合条件,按核定金额拨付。", "审核通过,请按要求留存相关资料备查。"]
# Items whose amount the formula cannot compute: plausible approved amounts (元) for the demo history.
APPROVED_AMOUNTS = {
    "ZK-2026-GX-03": [126000, 185000, 262000, 348000, 500000],
    "ZK-2026-GX-04": [380000, 650000, 1000000],
    "ZK-2026-RS-02": [3200, 8650, 15400, 26800, 41200],
}
UNEMPLOYMENT_PER_EMPLOYEE = Decimal(600)  # 元 a year: demo figure for 稳岗返还 approvals
NO_MONEY = ("qualification", "service")  # approvals without a payout
# What the demo enterprise account finds in “我的申报” (when it qualifies): money to confirm, a pending case.
DEMO_APPLICATIONS = {"ZK-2026-RS-01": "paid", "ZK-2026-RS-02": "submitted"}


@dataclass
class PolicySeedResult:
    loaded: object = None  # content.LoadResult
    matched: bool = False
    redemptions: dict = field(default_factory=dict)  # status → count (history items)
    applications: dict = field(default_factory=dict)  # status → count
    users_created: int = 0
    notes: list[str] = field(default_factory=list)


def seed_policies(size: str = "city", seed: int = 1, *, as_of: dt.date | None = None, match: bool = True,
                  progress: Callable[[str], None] | None = None) -> PolicySeedResult:
    """Load the policy content as published items, match them and write the demo history (see the module
    docstring); deterministic for a given ``seed`` and ``as_of`` (default today). ``match=False`` skips
    matching and the redemption history (the province data set: ~10 million pushes)."""
    from yingshang.policies import content

    say, as_of = progress or (lambda message: None), as_of or timezone.localdate()
    result = PolicySeedResult()
    actor = content.resolve_actor()
    result.loaded = content.load_all(actor, publish=True, match=False, today=as_of)
    say(f"政策内容:{result.loaded.summary()}")
    with transaction.atomic():
        _date_publication(result.loaded.codes, as_of)
    result.matched = _match(as_of, result, say) if match else False
    if result.matched:
        with transaction.atomic():
            _redemption_history(actor, seed, as_of, result)
    _application_history(actor, size, seed, as_of, result)
    say(f"兑现记录:{_counts_text(result.redemptions)};申报记录:{_counts_text(result.applications)}")
    return result


def item_rng(seed: int, key: str) -> np.random.Generator:
    """A generator of its own per item (or part): one item's history does not depend on the others'."""
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def _counts_text(counts: dict) -> str:
    return "、".join(f"{k} {v}" for k, v in sorted(counts.items())) or "无"


# ---------------------------------------------------------------- dates
def _aware(day: dt.date, minutes: int) -> dt.datetime:
    """A working-hours moment of ``day`` (08:30 + minutes) in the current time zone."""
    moment = dt.datetime.combine(day, dt.time(8, 30)) + dt.timedelta(minutes=int(minutes) % 540)
    return timezone.make_aware(moment)


def _clip(day: dt.date, low: dt.date, as_of: dt.date) -> dt.date:
    """``day`` kept within [low, as_of − 1]."""
    return max(low, min(day, as_of - dt.timedelta(days=1)))


def publish_day(item, as_of: dt.date) -> dt.date:
    """When the item went live on the platform: its document's date (not before the platform started),
    a few days' processing later, and at least a month before ``as_of``."""
    doc = item.document
    base = max(doc.published_on or PLATFORM_START, doc.effective_from or PLATFORM_START, PLATFORM_START)
    day = base + dt.timedelta(days=1 + zlib.crc32(item.code.encode()) % 5)
    return min(day, as_of - dt.timedelta(days=30))


def _date_publication(codes: list[str], as_of: dt.date) -> None:
    from yingshang.policies.models import ItemStatus, PolicyItem

    items = list(PolicyItem.objects.filter(code__in=codes, status__in=[ItemStatus.PUBLISHED, ItemStatus.EXPIRED])
                 .select_related("document"))
    for item in items:
        item.published_at = _aware(publish_day(item, as_of), 60 + zlib.crc32(item.code.encode()) % 420)
    PolicyItem.objects.bulk_update(items, ["published_at"], batch_size=500)


# ---------------------------------------------------------------- matching
def _match(as_of: dt.date, result: PolicySeedResult, say) -> bool:
    try:
        from yingshang.policies import matching

        with _uncapped_pushes():
            run = matching.run_all(as_of)
    except ImportError as exc:  # the matching or engine_db module is not there (yet)
        result.notes.append(f"未运行政策匹配({exc});未生成免申即享兑现记录")
        return False
    run.refresh_from_db()  # the shard runs wrote their figures to the row
    _backdate_pushes()
    say(f"政策匹配完成:{run.stats or {}}")
    return True


@contextmanager
def _uncapped_pushes():
    """The history's pushes went out over past months: today's per-enterprise cap must not hold them back."""
    saved = settings.YINGSHANG_PUSH_DAILY_CAP
    settings.YINGSHANG_PUSH_DAILY_CAP = 10**9
    try:
        yield
    finally:
        settings.YINGSHANG_PUSH_DAILY_CAP = saved


def _backdate_pushes() -> None:
    """Date each seeded push on its item's publication, so today's cap is free when the demo publishes."""
    from yingshang.policies.models import PolicyItem, PolicyPush

    for item_id, published_at in PolicyItem.objects.filter(published_at__isnull=False).values_list("pk", "published_at"):
        PolicyPush.objects.filter(item_id=item_id).update(
            created_at=published_at, sent_at=published_at, sent_on=timezone.localtime(published_at).date())


# ---------------------------------------------------------------- 免申即享 history
def _redemption_history(actor, seed: int, as_of: dt.date, result: PolicySeedResult) -> None:
    from yingshang.policies.models import PolicyItem, Redemption, RedemptionStatus as RS

    for code, plan in REDEMPTION_PLAN.items():
        item = PolicyItem.objects.select_related("document").filter(code=code).first()
        if item is None or Redemption.objects.filter(item=item).exclude(status=RS.PENDING).exists():
            continue
        rng = item_rng(seed, code)
        ids = _backdate_eligibility(item, rng, as_of)
        if ids:
            _process_redemptions(actor, item, ids, plan, rng, as_of)
    for status, n in _status_counts(Redemption, REDEMPTION_PLAN).items():
        result.redemptions[status] = n


def _backdate_eligibility(item, rng, as_of: dt.date) -> list[int]:
    """Give the item's redemptions eligibility moments after its publication (enterprises that only
    qualified when a parameter changed, on that date); returns their ids in eligibility order."""
    from yingshang.policies.models import Redemption

    rows = list(Redemption.objects.filter(item=item).select_related("enterprise").order_by("enterprise_id"))
    start = timezone.localtime(item.published_at).date()
    changed = _param_change_day(item, start, as_of)
    earlier = _qualified_on(item, [r.enterprise for r in rows], start) if changed else set()
    recent = int(len(rows) * 0.1)
    late = set(rng.choice(len(rows), size=recent, replace=False).tolist()) if recent else set()
    for i, row in enumerate(rows):
        day = start + dt.timedelta(days=int(rng.integers(0, 3)))
        if changed and row.enterprise_id not in earlier:
            day = changed + dt.timedelta(days=int(rng.integers(0, 3)))
        if i in late:  # newly registered figures: eligible in the last weeks, still pending
            day = as_of - dt.timedelta(days=int(rng.integers(2, 20)))
        row.eligible_at = _aware(_clip(day, start, as_of), int(rng.integers(0, 540)))
    Redemption.objects.bulk_update(rows, ["eligible_at"], batch_size=500)
    pending_late = {rows[i].pk for i in late}
    ordered = sorted(rows, key=lambda r: (r.eligible_at, r.pk))
    return [r.pk for r in ordered if r.pk not in pending_late]


def _param_change_day(item, start: dt.date, as_of: dt.date) -> dt.date | None:
    """The first parameter change after the item's publication (before ``as_of``), if any."""
    days = [dt.date.fromisoformat(e["from"]) for entries in (item.params or {}).values() for e in entries
            if e.get("from")]
    days = [d for d in days if start < d < as_of]
    return min(days) if days else None


def _qualified_on(item, enterprises: list, day: dt.date) -> set[int]:
    """The enterprises that already qualified under the parameters in force on ``day``."""
    return set(eligible_ids(item, facts_of(enterprises, day), day))


def item_rule(item) -> dict:
    """The item's rule restricted to its document's region (as the matcher does)."""
    rule = item.rule or {}
    if not item.document.region_id:
        return rule
    guard = {"field": "region", "op": "in", "value": [item.document.region.prefix]}
    return {"all": [rule, guard]} if rule else guard


def eligible_ids(item, facts: dict[int, dict], day: dt.date) -> list[int]:
    """The ids (of ``facts``) of the enterprises eligible for ``item`` on ``day`` (row evaluator)."""
    from yingshang.policies.engine import row, rules

    compiled = rules.compile_rule(item_rule(item), item.params or {}, day)
    return [i for i, f in sorted(facts.items()) if row.evaluate(compiled, f).status.value == "eligible"]


def _process_redemptions(actor, item, ids: list[int], plan, rng, as_of: dt.date) -> None:
    from django.db.models import Max

    from yingshang.policies import actions_redemption as red
    from yingshang.policies.models import Redemption

    first_share, second_share, paid_share, received_share = plan
    n1 = int(round(len(ids) * first_share))
    n2 = int(round(len(ids) * second_share))
    batches = [b for b in (ids[:n1], ids[n1:n1 + n2]) if b]
    start = timezone.localtime(item.published_at).date()
    for number, batch in enumerate(batches):
        red.do_confirm_redemptions(actor, item, batch)
        # A batch is confirmed some weeks after its last member became eligible.
        last = timezone.localtime(Redemption.objects.filter(pk__in=batch).aggregate(m=Max("eligible_at"))["m"]).date()
        planned = max(start + dt.timedelta(days=25 + 60 * number), last + dt.timedelta(days=7))
        confirmed_day = _clip(planned + dt.timedelta(days=int(rng.integers(0, 10))), last, as_of)
        _set_times(batch, "confirmed_at", "eligible_at", confirmed_day, rng, as_of, only_status="confirmed")
        _pay(actor, item, batch, paid_share, received_share, confirmed_day, rng, as_of, number)


def _pay(actor, item, batch: list[int], paid_share: float, received_share: float, confirmed_day: dt.date,
         rng, as_of: dt.date, number: int) -> None:
    from yingshang.policies import actions_redemption as red
    from yingshang.policies.models import Redemption, RedemptionStatus as RS

    confirmed = list(Redemption.objects.filter(pk__in=batch, status=RS.CONFIRMED).order_by("eligible_at", "id")
                     .values_list("pk", flat=True))
    paid = confirmed[:int(round(len(confirmed) * paid_share))]
    if not paid:
        return
    paid_day = _clip(confirmed_day + dt.timedelta(days=int(rng.integers(5, 20))), confirmed_day, as_of)
    red.do_record_payout(actor, paid, f"{item.department.code}-{paid_day:%Y%m}-{number + 1:04d}")
    _set_times(paid, "paid_at", "confirmed_at", paid_day, rng, as_of)
    received = paid[:int(round(len(paid) * received_share))]
    _receive(received, paid_day, rng, as_of)


def _set_times(ids: list[int], name: str, previous: str, day: dt.date, rng, as_of: dt.date,
               only_status: str | None = None) -> None:
    """Move the ``name`` moment of these redemptions to ``day`` (after their ``previous`` moment)."""
    from yingshang.policies.models import Redemption

    rows = list(Redemption.objects.filter(pk__in=ids, **({"status": only_status} if only_status else {}))
                .order_by("id"))
    for r in rows:
        setattr(r, name, _after(_aware(_clip(day, day, as_of), int(rng.integers(0, 540))), getattr(r, previous)))
    Redemption.objects.bulk_update(rows, [name], batch_size=500)


def _receive(ids: list[int], paid_day: dt.date, rng, as_of: dt.date) -> None:
    """The enterprises confirm receipt (written directly: the action needs each enterprise's own user)."""
    from yingshang.core import audit
    from yingshang.core.models import AuditAction
    from yingshang.policies.models import Redemption, RedemptionStatus as RS

    rows = list(Redemption.objects.filter(pk__in=ids, status=RS.PAID).select_related("item").order_by("id"))
    for r in rows:
        day = _clip(paid_day + dt.timedelta(days=int(rng.integers(1, 12))), paid_day, as_of)
        r.status, r.received_at = RS.RECEIVED, _after(_aware(day, int(rng.integers(0, 540))), r.paid_at)
    Redemption.objects.bulk_update(rows, ["status", "received_at"], batch_size=500)
    audit.record_bulk("系统", AuditAction.TRANSITION, [
        ("policies.redemption", str(r.pk), f"{r.item.title} 兑现 #{r.pk}", {"status": [RS.PAID.value, RS.RECEIVED.value]})
        for r in rows], reason="演示数据:企业确认到账(历史记录回填)")


def _status_counts(model, plan: dict) -> dict:
    from django.db.models import Count

    rows = model.objects.filter(item__code__in=list(plan)).values_list("status").annotate(n=Count("id")).order_by()
    return dict(rows)


# ---------------------------------------------------------------- facts (for eligibility and amounts)
def facts_of(enterprises, on: dt.date) -> dict[int, dict]:
    """Engine facts (see engine/compiled.py) of some enterprises, read in bulk."""
    from yingshang.enterprises.models import Certification, CreditListing, EnterpriseTag

    ids = [e.pk for e in enterprises]
    certs: dict[int, dict] = {}
    tags: dict[int, set] = {}
    credit: dict[int, list] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        for ent, kind, f, t in Certification.objects.filter(enterprise_id__in=chunk).values_list(
                "enterprise_id", "kind", "valid_from", "valid_to"):
            certs.setdefault(ent, {})[kind] = (f, t)
        for ent, code in EnterpriseTag.objects.filter(enterprise_id__in=chunk).values_list("enterprise_id", "tag__code"):
            tags.setdefault(ent, set()).add(code)
        for ent, kind, listed, removed in CreditListing.objects.filter(enterprise_id__in=chunk).values_list(
                "enterprise_id", "kind", "listed_on", "removed_on"):
            credit.setdefault(ent, []).append((kind, listed, removed))
    return {e.pk: _facts(e, certs.get(e.pk, {}), tags.get(e.pk, set()), credit.get(e.pk, [])) for e in enterprises}


def _facts(e, certs: dict, tags: set, credit: list) -> dict:
    return {"id": e.pk, "status": e.status, "employees": e.employees, "registered_capital": e.registered_capital,
            "operating_revenue": e.operating_revenue, "total_assets": e.total_assets, "rd_expense": e.rd_expense,
            "taxable_income": e.taxable_income, "established_on": e.established_on, "size": e.size,
            "tax_credit_rating": e.tax_credit_rating or None, "taxpayer_kind": e.taxpayer_kind or None,
            "legal_form": e.legal_form, "region": e.region_id, "industry": e.industry_code,
            "tags": frozenset(tags), "certifications": certs, "credit": tuple(credit)}


# ---------------------------------------------------------------- 申报 history
def _candidate_pool(rng, as_of: dt.date) -> tuple[list, dict[int, dict], int | None]:
    """Active enterprises of the demo city that applications are drawn from: every certified one, a
    deterministic sample of the others and the demo enterprise; with their facts."""
    from yingshang.enterprises.models import Certification, Enterprise
    from yingshang.seeding.org import demo_enterprise

    base = Enterprise.objects.active().in_region(CITY_PREFIX)
    certified = set(Certification.objects.filter(enterprise__in=base).values_list("enterprise_id", flat=True))
    others = np.array(sorted(set(base.values_list("id", flat=True)) - certified), dtype=np.int64)
    sample = rng.choice(others, size=min(len(others), 4000), replace=False).tolist() if len(others) else []
    demo = demo_enterprise()
    wanted = sorted(certified | set(sample) | ({demo.pk} if demo is not None else set()))
    enterprises = []
    for start in range(0, len(wanted), 900):
        enterprises += list(Enterprise.objects.filter(pk__in=wanted[start:start + 900]))
    enterprises.sort(key=lambda e: e.pk)
    return enterprises, facts_of(enterprises, as_of), demo.pk if demo is not None else None


def _application_history(actor, size: str, seed: int, as_of: dt.date, result: PolicySeedResult) -> None:
    from yingshang.policies.models import Application, PolicyItem

    items = list(PolicyItem.objects.filter(code__in=list(APPLICATION_PLAN)).select_related("document", "department")
                 .order_by("code"))
    items = [i for i in items if not Application.objects.filter(item=i).exists()]
    if not items:
        result.applications = _status_counts(Application, APPLICATION_PLAN)
        return
    enterprises, facts, demo_id = _candidate_pool(item_rng(seed, "pool"), as_of)
    by_id = {e.pk: e for e in enterprises}
    scale = 0.5 if size == "small" else 1.0
    with transaction.atomic():
        for item in items:
            rng = item_rng(seed, item.code)
            chosen = _applicants(item, facts, rng, as_of, scale, demo_id)
            _write_applications(actor, item, [(by_id[i], s) for i, s in chosen], facts, rng, as_of, result)
    result.applications = _status_counts(Application, APPLICATION_PLAN)


def _applicants(item, facts: dict, rng, as_of: dt.date, scale: float, demo_id: int | None) -> list[tuple[int, str]]:
    """(enterprise id, status) pairs: eligible enterprises drawn at random, statuses as planned; the demo
    enterprise gets its planned status on the items of DEMO_APPLICATIONS when it qualifies."""
    eligible = eligible_ids(item, facts, _round_day(item, as_of))
    statuses = [s for s, n in APPLICATION_PLAN[item.code].items() for _ in range(max(1, int(round(n * scale))))]
    if not eligible:
        return []
    picks = rng.choice(np.array(eligible), size=min(len(eligible), len(statuses)), replace=False).tolist()
    pairs = list(zip(picks, statuses))
    wanted = DEMO_APPLICATIONS.get(item.code)
    if wanted and demo_id in eligible and demo_id not in picks:
        slot = next((i for i, (_, s) in enumerate(pairs) if s == wanted), 0)
        pairs[slot] = (demo_id, wanted)
    return pairs


def _round_day(item, as_of: dt.date) -> dt.date:
    """The day applications of the item's round were judged: inside its window (as_of for open rounds)."""
    if item.window_end and item.window_end < as_of:
        return item.window_end
    return as_of


def _write_applications(actor, item, pairs: list, facts: dict, rng, as_of: dt.date,
                        result: PolicySeedResult) -> None:
    from yingshang.core import audit
    from yingshang.core.models import AuditAction
    from yingshang.policies.models import Application

    if not pairs:
        return
    users = _applicant_users([e for e, _ in pairs], result)
    reviewer = _reviewer(item, actor)
    apps = [_application(item, ent, status, users[ent.pk], reviewer, facts[ent.pk], rng, as_of, n)
            for n, (ent, status) in enumerate(pairs, 1)]
    Application.objects.bulk_create(apps)
    audit.record_bulk(actor, AuditAction.CREATE, [
        ("policies.application", str(a.pk or ""), f"{item.title} 申报 {a.enterprise.name}"[:200],
         {"status": [None, a.status], "amount_approved": [None, None if a.amount_approved is None else str(a.amount_approved)]})
        for a in apps], reason="演示数据:历史申报记录")


def _application(item, ent, status: str, applicant, reviewer, facts: dict, rng, as_of: dt.date, n: int):
    from yingshang.policies.engine import amounts
    from yingshang.policies.models import Application

    submitted, reviewed, paid, received = _timeline(item, status, rng, as_of)
    estimate = amounts.estimate(item.amount_formula, item.amount_floor, item.amount_cap, facts, item.params or {},
                                submitted.date())
    app = Application(item=item, enterprise=ent, applicant=applicant, status=status, submitted_at=submitted,
                      amount_estimated=estimate, note="演示数据:申报材料已通过窗口提交")
    if status == "withdrawn":
        app.note = "演示数据:企业撤回申报(材料需补充)"
    if reviewed is not None:
        app.reviewed_by, app.reviewed_at = reviewer, reviewed
        app.review_reason = _reason(item, status, rng)
        if status != "rejected" and item.benefit_type not in NO_MONEY:
            app.amount_approved = _approved_amount(item, estimate, facts, rng)
    if paid is not None:
        app.paid_at, app.payout_ref = paid, f"{item.department.code}-{paid:%Y%m}-A{n:03d}"
    app.received_at = received
    return app


STAGES = {"submitted": 0, "withdrawn": 0, "approved": 1, "rejected": 1, "paid": 2, "received": 3}
STAGE_GAPS = ((3, 12), (5, 15), (1, 8))  # days: submitted → reviewed → paid → received


def _timeline(item, status: str, rng, as_of: dt.date):
    """(submitted, reviewed, paid, received) moments of an application in ``status`` (None = not reached):
    waiting ones were submitted in the last weeks, decided ones early enough to have been processed;
    a closed round is reviewed after its deadline."""
    end = min(item.window_end or as_of, as_of - dt.timedelta(days=1))
    start = min(item.window_start or timezone.localtime(item.published_at).date(), end)
    stages = STAGES[status]
    if stages:  # decided: early enough to have been processed (a round opened lately: its first weeks)
        settled = as_of - dt.timedelta(days=35 if (as_of - start).days > 60 else 12)
        low, high = start, max(start, min(end, settled))
    else:
        low, high = max(start, end - dt.timedelta(days=20)), end
    day = low + dt.timedelta(days=int(rng.integers(0, (high - low).days + 1)))
    days: list[dt.date | None] = [day]
    if item.window_end and item.window_end < as_of:
        day = max(day, item.window_end)
    for gap_low, gap_high in STAGE_GAPS[:stages]:
        day = _clip(day + dt.timedelta(days=int(rng.integers(gap_low, gap_high))), day, as_of)
        days.append(day)
    moments: list[dt.datetime] = []
    for d in days:
        moment = _aware(d, int(rng.integers(0, 540)))
        moments.append(_after(moment, moments[-1]) if moments else moment)
    return tuple(moments) + (None,) * (3 - stages)


def _after(moment: dt.datetime, previous: dt.datetime | None) -> dt.datetime:
    """``moment``, or half an hour after ``previous`` when a clipped date made them the same day."""
    if previous is not None and moment <= previous:
        return previous + dt.timedelta(minutes=30)
    return moment


def _reason(item, status: str, rng) -> str:
    if status == "rejected":
        options = REJECT_REASONS.get(item.code, ["申报材料不符合要求"])
    else:
        options = APPROVE_REASONS
    return options[int(rng.integers(0, len(options)))]


def _approved_amount(item, estimate: Decimal | None, facts: dict, rng) -> Decimal | None:
    if item.code == "ZK-2026-KJ-02" and rng.random() < 0.3:
        return Decimal("100000.00")  # 重新认定: 10万元
    if item.code == "ZK-2026-RS-01" and facts.get("employees"):
        # 稳岗返还: 60% (large enterprises 30%) of last year's unemployment insurance, taken as a
        # demo figure of 600 元 per employee (the register holds no contribution data).
        share = Decimal("0.3") if facts.get("size") == "large" else Decimal("0.6")
        return (Decimal(facts["employees"]) * UNEMPLOYMENT_PER_EMPLOYEE * share).quantize(Decimal("0.01"))
    if estimate is not None:
        return estimate
    options = APPROVED_AMOUNTS.get(item.code)
    if options:
        return Decimal(options[int(rng.integers(0, len(options)))]).quantize(Decimal("0.01"))
    return None


def _reviewer(item, actor):
    """A policy officer (or the head) of the item's department; the loading administrator otherwise."""
    from yingshang.core.models import Role, User

    return (User.objects.filter(department_id=item.department_id, role__in=[Role.POLICY_OFFICER, Role.DEPT_LEADER],
                                is_active=True).order_by("id").first() or actor)


def _applicant_users(enterprises: list, result: PolicySeedResult) -> dict:
    """The enterprise user of each applying enterprise; demo accounts without a usable password are
    created for enterprises that have none (an application always has an applicant)."""
    from django.contrib.auth.hashers import make_password

    from yingshang.core.models import Role, User

    ids = [e.pk for e in enterprises]
    found = {}
    for user in User.objects.filter(role=Role.ENTERPRISE, enterprise_id__in=ids).order_by("id"):
        found.setdefault(user.enterprise_id, user)
    unusable = make_password(None)
    new = [User(username=f"qy-{e.uscc}", role=Role.ENTERPRISE, enterprise=e, is_demo=True, password=unusable,
                display_name=(e.contact_name or e.name)[:64]) for e in enterprises if e.pk not in found]
    if new:
        User.objects.bulk_create(new, ignore_conflicts=True)
        for user in User.objects.filter(username__in=[u.username for u in new]):
            found.setdefault(user.enterprise_id, user)
        result.users_created += len(new)
    return found


__all__ = ["seed_policies", "PolicySeedResult", "facts_of", "publish_day"]
