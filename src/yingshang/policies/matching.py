"""The service between the eligibility engine and the database: preview, stored match results, the
政策计算器 and the enterprise lists of an item.

The rule matched for an item is ``all[item.rule…, region guard, region guard]`` where the guard is
"所在区划属于 <document region>" (when the document has a region). The guard appears twice on purpose:
by the near-miss algebra an ``all`` is one condition away only when exactly one child is, so an
enterprise outside the document's region can never be a near-miss ("one condition away: move to another
county" is not advice anyone wants). The guard conditions are hidden from the explanations.

Results are stored per (item, shard) in MatchResult as packed id arrays. A shard is a region-code prefix
(settings ``YINGSHANG_MATCH_SHARDS``, default one shard "" = everything); ``jobs.py`` fans shards out as
background jobs. Storing (``matching_store``) compares the new eligible ids with the stored ones in one
transaction: the newly eligible get a push (and, for 免申即享 items, redemption records), those gone lose
their open redemptions, and a result of an item revision that is no longer current is dropped, so a
retried, doubled or overtaken run changes nothing.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from yingshang.core.errors import ValidationFailed
from yingshang.enterprises.models import FIGURE_LABELS, Enterprise
from yingshang.policies.matching_store import (  # noqa: F401  (the storing half, re-exported)
    EMPTY,
    STATUSES,
    apply_rows,
    consequences,
    store_match,
    stored_ids,
)
from yingshang.policies.models import ItemStatus, MatchResult, MatchRun, PolicyItem
# Shards live in shards.py; re-exported for the jobs and tests that name them here.
from yingshang.policies.shards import reset_shard_registers, shard_of, shard_prefixes, shard_register  # noqa: F401

log = logging.getLogger("yingshang.policies")

STATUS_LABELS = {"eligible": "符合条件", "near_miss": "差一个条件", "unknown": "无法判断"}
EXTRA_FIGURE_LABELS = {"established_on": "成立日期", "size": "企业规模(由从业人员、营业收入、资产总额认定)"}


# ---------------------------------------------------------------- the rule of an item
def region_prefix_of(item: PolicyItem) -> str:
    """The region-code prefix of the item's document ('' = nationwide)."""
    region = item.document.region if item.document.region_id else None
    return region.prefix if region is not None else ""


def effective_rule(rule: dict | None, prefix: str) -> tuple[dict, frozenset[str]]:
    """(the rule restricted to the region prefix, the paths of the hidden guard conditions)."""
    rule = rule or {}
    if not prefix:
        return rule, frozenset()
    children = list(rule["all"]) if set(rule) == {"all"} else ([rule] if rule else [])
    guard = {"field": "region", "op": "in", "value": [prefix]}
    n = len(children)
    return {"all": [*children, guard, dict(guard)]}, frozenset({str(n + 1), str(n + 2)})


@dataclass(frozen=True)
class ItemRule:
    compiled: object  # engine.compiled.CompiledRule
    hidden: frozenset  # paths of the region guard conditions


_rule_cache: dict[tuple, ItemRule] = {}


def item_rule(item: PolicyItem, as_of: dt.date) -> ItemRule:
    """The compiled rule of an item for ``as_of`` (cached per item revision; raises RuleError)."""
    from yingshang.policies.engine import rules

    prefix = region_prefix_of(item)
    key = (item.pk, item.revision, item.updated_at, prefix, as_of)
    cached = _rule_cache.get(key)
    if cached is None:
        rules.check_rule(item.rule or {}, item.params or {})  # messages with the item's own positions
        rule, hidden = effective_rule(item.rule, prefix)
        cached = ItemRule(rules.compile_rule(rule, item.params or {}, as_of), hidden)
        if len(_rule_cache) > 20000:
            _rule_cache.clear()
        _rule_cache[key] = cached
    return cached


def published_items():
    return PolicyItem.objects.published().select_related("document__region", "department").order_by("id")


def in_force_on(items, day: dt.date):
    """Items whose document is in force on ``day``: from effective_from (published_on when empty; neither
    = always) up to expires_on inclusive (empty = no end)."""
    from django.db.models import Q
    from django.db.models.functions import Coalesce

    started = Coalesce("document__effective_from", "document__published_on")
    return items.annotate(_doc_start=started).filter(
        Q(_doc_start__isnull=True) | Q(_doc_start__lte=day),
        Q(document__expires_on__isnull=True) | Q(document__expires_on__gte=day))


def compiled_items(items, as_of: dt.date) -> tuple[dict[int, ItemRule], dict[int, str]]:
    """({item id: ItemRule}, {item id: error message}) — a broken rule skips its item, never the run."""
    from yingshang.policies.engine.rules import RuleError

    out, errors = {}, {}
    for item in items:
        try:
            out[item.pk] = item_rule(item, as_of)
        except RuleError as exc:
            errors[item.pk] = str(exc)
            log.error("政策事项 %s 的规则无法编译:%s", item.pk, exc)
    return out, errors


def preview(rule, params, *, as_of: dt.date | None = None, region_prefix: str = "") -> dict:
    """Counts (eligible, near_miss, unknown, ineligible) and the breakdown by county, size and industry
    section of a rule over the whole register, before publishing. Raises RuleError."""
    from yingshang.policies import engine_db
    from yingshang.policies.engine import columnar, rules

    as_of = as_of or timezone.localdate()
    rules.check_rule(rule or {}, params or {})
    effective, _ = effective_rule(rule, region_prefix)
    compiled = rules.compile_rule(effective, params or {}, as_of)
    register = engine_db.current_register()
    match = columnar.Matcher(register, as_of).match_one(compiled)
    return {"counts": _plain_counts(match.counts), "breakdown": match.breakdown(register)}


def _plain_counts(counts: dict) -> dict:
    return {getattr(k, "value", k): int(v) for k, v in counts.items()}


# ---------------------------------------------------------------- one item
def _as_date(value) -> dt.date:
    if value is None:
        return timezone.localdate()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def start_item_run(item: PolicyItem, as_of: dt.date, shards: list[str]) -> MatchRun:
    # Shards dropped from the configuration would otherwise keep answering with stale ids.
    MatchResult.objects.filter(item=item).exclude(shard__in=shards).delete()
    return MatchRun.objects.create(kind="item", item=item, as_of=as_of, shards_total=len(shards))


def run_item(item: PolicyItem | int, reason: str = "publish", as_of=None) -> MatchRun | None:
    """Match one published item over the register, shard by shard (inline with one shard, as background
    jobs ``policies.match_shard`` with several). Returns its MatchRun (None when not published)."""
    from yingshang import jobs

    item = _load_item(item)
    if item is None:
        return None
    as_of, shards = _as_date(as_of), shard_prefixes()
    run = start_item_run(item, as_of, shards)
    if len(shards) == 1:
        run_shard(item.pk, shards[0], reason, run.pk, as_of)
    else:
        for shard in shards:
            jobs.enqueue("policies.match_shard", item.pk, shard, reason, run.pk, as_of.isoformat())
    return run


def _load_item(item) -> PolicyItem | None:
    pk = item.pk if isinstance(item, PolicyItem) else int(item)
    found = PolicyItem.objects.select_related("document__region").filter(pk=pk).first()
    if found is None or found.status != ItemStatus.PUBLISHED:
        log.info("政策事项 %s 不存在或未发布,跳过匹配", pk)
        return None
    return found


def run_shard(item_id: int, shard: str, reason: str, run_id: int | None = None, as_of=None) -> dict:
    """Match one item over one shard and store the result (the body of job ``policies.match_shard``)."""
    from yingshang.policies.engine import columnar
    from yingshang.policies.engine.rules import RuleError

    as_of, item, started = _as_date(as_of), _load_item(item_id), time.perf_counter()
    if item is None:
        return _shard_done(run_id, shard, {"skipped": "未发布"})
    if not in_force_on(PolicyItem.objects.filter(pk=item.pk), as_of).exists():
        # Not yet (or no longer) in force: nothing is pushed or paid; the daily match picks it up on its date.
        return _shard_done(run_id, shard, {"skipped": "政策文件尚未生效或已失效"})
    try:
        rule = item_rule(item, as_of)
    except RuleError as exc:
        return _shard_done(run_id, shard, {"error": str(exc)}, error=str(exc))
    register = shard_register(shard)
    match = columnar.Matcher(register, as_of).match_one(rule.compiled)
    stats = store_match(item, shard, match, register, as_of, reason)
    stats["seconds"] = round(time.perf_counter() - started, 3)
    return _shard_done(run_id, shard, stats)


def _shard_done(run_id: int | None, shard: str, stats: dict, error: str = "") -> dict:
    """Count a finished shard on its MatchRun (an atomic increment: shards finish on different workers)."""
    if run_id is None:
        return stats
    MatchRun.objects.filter(pk=run_id).update(shards_done=F("shards_done") + 1)
    with transaction.atomic():
        run = MatchRun.objects.select_for_update().filter(pk=run_id).first()
        if run is not None:
            run.stats = {**(run.stats or {}), shard or "全部": stats}
            run.error = "\n".join(filter(None, [run.error, error]))
            if run.shards_done >= run.shards_total and run.finished_at is None:
                run.finished_at = timezone.now()
            run.save(update_fields=["stats", "error", "finished_at"])
    return stats


# ---------------------------------------------------------------- all items
def run_all(as_of=None) -> MatchRun:
    """Match every published item over the register (one Matcher per shard: atoms shared across items)
    and store the results; run daily (ages and certificate validity move with the date) and on demand."""
    from yingshang import jobs

    as_of, shards = _as_date(as_of), shard_prefixes()
    run = MatchRun.objects.create(kind="full", as_of=as_of, shards_total=len(shards))
    if len(shards) == 1:
        run_all_shard(shards[0], run.pk, as_of)
    else:
        for shard in shards:
            jobs.enqueue("policies.match_all_shard", shard, run.pk, as_of.isoformat())
    return run


def run_all_shard(shard: str, run_id: int | None = None, as_of=None) -> dict:
    """Every published item over one shard (the body of job ``policies.match_all_shard``)."""
    from yingshang.policies.engine import columnar

    as_of, started = _as_date(as_of), time.perf_counter()
    items = {item.pk: item for item in in_force_on(published_items(), as_of)}
    compiled, errors = compiled_items(items.values(), as_of)
    register = shard_register(shard)
    stats = {"items": len(compiled), "newly": 0, "errors": len(errors)}
    if compiled:
        matcher = columnar.Matcher(register, as_of)
        for item_id, match in matcher.iter_match({k: r.compiled for k, r in compiled.items()}):
            stats["newly"] += store_match(items[item_id], shard, match, register, as_of, "qualify")["newly"]
    stats["seconds"] = round(time.perf_counter() - started, 3)
    error = "\n".join(f"事项 {k}: {v}" for k, v in errors.items())
    return _shard_done(run_id, shard, stats, error=error)


# ---------------------------------------------------------------- changed enterprises
def _facts_by_id(ids: list[int], as_of: dt.date) -> dict[int, dict]:
    from yingshang.policies import engine_db
    from yingshang.policies.engine.register import row_facts

    if shard_prefixes() == [""]:
        return engine_db.facts_for_many(ids, on=as_of)
    # Sharded: load just these rows rather than the whole register facts_for_many caches.
    register = engine_db.load_register(ids=ids)
    return {int(ent): row_facts(register, r) for r, ent in enumerate(register.ids.tolist())}


def run_enterprises(ids, as_of=None) -> MatchRun | None:
    """Re-evaluate changed enterprises row by row against every published item and update the stored
    results in place; the newly eligible are pushed (and get redemptions for 免申即享 items)."""
    from yingshang.policies.engine import row

    ids, as_of = sorted({int(i) for i in ids}), _as_date(as_of)
    items = {item.pk: item for item in in_force_on(published_items(), as_of)}
    if not ids or not items:
        return None
    compiled, _ = compiled_items(items.values(), as_of)
    facts = {}
    for start in range(0, len(ids), 1000):
        facts.update(_facts_by_id(ids[start:start + 1000], as_of))
    evaluations = {ent: row.evaluate_many({k: r.compiled for k, r in compiled.items()}, f)
                   for ent, f in facts.items()}
    run = MatchRun.objects.create(kind="enterprises", as_of=as_of, shards_total=1)
    shards = shard_prefixes()
    homes = {ent: shard_of(f.get("region") or "", shards) for ent, f in facts.items()}
    newly_total, registers = 0, _RegisterCache()
    for item_id in compiled:
        item = items[item_id]
        status = {ent: _status_value(ev[item_id]) for ent, ev in evaluations.items()}
        status.update({ent: "ineligible" for ent in ids if ent not in facts})  # deleted enterprises
        newly_total += apply_rows(item, status, homes, as_of, registers,
                                  lambda ent, item=item: estimate(item, facts[ent], as_of))
    return _finish_run(run, {"enterprises": len(ids), "items": len(compiled), "newly": newly_total})


class _RegisterCache(dict):
    """Shard registers, cut once per run (for recounting the breakdown of the changed results)."""

    def __call__(self, shard: str):
        if shard not in self:
            self[shard] = shard_register(shard)
        return self[shard]


def _status_value(evaluation) -> str:
    return getattr(evaluation.status, "value", evaluation.status)


def _finish_run(run: MatchRun, stats: dict) -> MatchRun:
    run.stats, run.shards_done, run.finished_at = stats, run.shards_total, timezone.now()
    run.save(update_fields=["stats", "shards_done", "finished_at"])
    return run


# ---------------------------------------------------------------- amounts and explanations
def estimate(item: PolicyItem, facts: dict, as_of: dt.date) -> Decimal | None:
    """The estimated amount (元) of an item for one enterprise, None when it cannot be computed."""
    from yingshang.policies.engine import amounts
    from yingshang.policies.engine.rules import RuleError

    if not item.amount_formula:
        return None
    try:
        return amounts.estimate(item.amount_formula, item.amount_floor, item.amount_cap, facts, item.params or {},
                                as_of)
    except (RuleError, ArithmeticError) as exc:  # a formula that fails for this enterprise: no estimate
        log.warning("政策事项 %s 的金额公式无法计算:%s", item.pk, exc)
        return None


def figure_label(name: str) -> str:
    """The label of a figure to supply (register labels first, then the rule language's)."""
    from yingshang.policies.engine import rules

    if name in FIGURE_LABELS:
        return FIGURE_LABELS[name]
    if name in EXTRA_FIGURE_LABELS:
        return EXTRA_FIGURE_LABELS[name]
    spec = rules.FIELDS.get(name)
    return spec.label if spec else name


WINDOW_LABELS = {"open": "申报中", "not_yet": "尚未开始申报", "closed": "申报已截止"}


def window_state(item: PolicyItem, day: dt.date) -> str:
    """'open', 'not_yet' or 'closed': where ``day`` falls in the item's application window."""
    if item.window_start and day < item.window_start:
        return "not_yet"
    if item.window_end and day > item.window_end:
        return "closed"
    return "open"


TRUTH_NAMES = {0: "false", 1: "true", 2: "unknown"}


def reason_dict(condition) -> dict:
    return {"path": condition.path, "field": condition.field, "label": condition.label,
            "truth": TRUTH_NAMES.get(int(condition.truth), "unknown"), "sentence": condition.sentence}


@dataclass
class Entry:
    """One item in an enterprise's 政策计算器: its status, estimated amount and explanation."""

    item: PolicyItem
    status: str
    amount: Decimal | None
    evaluation: object  # engine.row.Evaluation
    hidden: frozenset = frozenset()
    as_of: dt.date | None = None

    @property
    def window(self) -> str:
        """The application window state on the evaluation date: open / not_yet / closed."""
        return window_state(self.item, self.as_of or timezone.localdate())

    @property
    def window_label(self) -> str:
        return WINDOW_LABELS[self.window]

    @property
    def reasons(self) -> list[dict]:
        """Per-condition reasons (the document-region guard left out)."""
        return [reason_dict(c) for c in self.evaluation.conditions if c.path not in self.hidden]

    @property
    def gaps(self) -> list[str]:
        """For a near-miss: the sentence of the one condition missing."""
        return [c.sentence for c in self.evaluation.gaps if c.path not in self.hidden]

    @property
    def missing(self) -> list[dict]:
        """For an undecidable item: the figures to supply, with their labels."""
        return [{"field": name, "label": figure_label(name)} for name in self.evaluation.missing]


@dataclass
class Calculator:
    eligible: list[Entry] = field(default_factory=list)
    near_miss: list[Entry] = field(default_factory=list)
    unknown: list[Entry] = field(default_factory=list)
    as_of: dt.date | None = None

    @property
    def total(self) -> Decimal:
        """The sum of the estimated amounts of the eligible items whose window has not closed (元)."""
        return sum((e.amount for e in self.eligible if e.amount is not None and e.window != "closed"),
                   Decimal("0.00"))


def _rank(entry: Entry) -> tuple:
    """Window-closed items last (still listed, marked 申报已截止); then amount descending (unknown amounts
    last), then the deadline soonest (no deadline last)."""
    end = entry.item.window_end
    return (entry.window == "closed", entry.amount is None, -(entry.amount or 0), end is None,
            end or dt.date.max, entry.item.pk)


_names_cache: dict = {"at": 0.0, "names": None}


def display_names() -> dict:
    """Region, industry and tag names for the explanation sentences (cached for ten minutes)."""
    from yingshang.core.models import Region
    from yingshang.enterprises.models import Industry, Tag

    if _names_cache["names"] is None or time.monotonic() - _names_cache["at"] > 600:
        regions = {}
        for code, prefix, name in Region.objects.values_list("code", "prefix", "name"):
            regions[code] = name
            regions.setdefault(prefix, name)  # rules name regions by prefix ("4116" = 周口市)
        _names_cache["names"] = {"region": regions, "industry": dict(Industry.objects.values_list("code", "name")),
                                 "tag": dict(Tag.objects.values_list("code", "name"))}
        _names_cache["at"] = time.monotonic()
    return _names_cache["names"]


# A near miss on where the enterprise is registered or what it does is not advice anyone wants ("move
# county", "change industry"): the calculator leaves those out; staff still see them in the match lists.
FIXED_FIELDS = frozenset({"region", "industry", "legal_form"})


def _actionable(evaluation) -> bool:
    """True when some gap of a near miss is on a figure or status the enterprise can change."""
    return any(gap.field not in FIXED_FIELDS for gap in evaluation.gaps)


def calculator(enterprise: Enterprise, as_of=None) -> Calculator:
    """Every published item whose document is in force on ``as_of``, for one enterprise: eligible (window
    open first, ranked by amount, then deadline), near-miss (with the gap) and undecidable (with the
    figures to supply)."""
    from yingshang.policies import engine_db
    from yingshang.policies.engine import row

    as_of = _as_date(as_of)
    items = {item.pk: item for item in in_force_on(published_items(), as_of)}
    compiled, _ = compiled_items(items.values(), as_of)
    facts = engine_db.facts_for(enterprise, on=as_of)
    evaluations = row.evaluate_many({k: r.compiled for k, r in compiled.items()}, facts, names=display_names())
    out = Calculator(as_of=as_of)
    for item_id, evaluation in evaluations.items():
        status = _status_value(evaluation)
        if status == "near_miss" and not _actionable(evaluation):
            continue
        if status in STATUSES:
            item = items[item_id]
            entry = Entry(item, status, estimate(item, facts, as_of), evaluation, compiled[item_id].hidden, as_of)
            getattr(out, status).append(entry)
    for name in STATUSES:
        getattr(out, name).sort(key=_rank)
    return out


# ---------------------------------------------------------------- the enterprises of an item
def matched_ids(item: PolicyItem, status: str) -> tuple[np.ndarray, dt.date | None]:
    """(all stored ids of this status over the item's shards, the evaluation date of the results)."""
    results = list(MatchResult.objects.filter(item=item, revision__gt=0))
    if not results:
        return EMPTY, None
    ids = np.unique(np.concatenate([stored_ids(r, status) for r in results]))
    return ids, max(r.as_of for r in results)


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise ValidationFailed(f"status 取值无效:“{status}”,可选 eligible(符合)、near_miss(差一个条件)、"
                               f"unknown(无法判断)", fields={"status": "应为 eligible、near_miss 或 unknown"})
    return status


def item_matches(item: PolicyItem, status: str, region_prefix: str = "", page: int = 1,
                 per_page: int = 50) -> tuple[list[dict], int]:
    """(rows of one page, total) of the enterprises with this status for an item, optionally in a region;
    each row has the enterprise, and for this page only its reasons and estimated amount."""
    check_status(status)
    ids, as_of = matched_ids(item, status)
    if region_prefix and len(ids):
        in_region = Enterprise.objects.in_region(region_prefix).values_list("id", flat=True)
        ids = np.intersect1d(ids, np.fromiter(in_region.iterator(chunk_size=20000), dtype=np.int64))
    total = int(len(ids))
    start = (max(page, 1) - 1) * per_page
    page_ids = [int(i) for i in ids[start:start + per_page]]
    return _match_rows(item, page_ids, status, as_of or timezone.localdate()), total


def _match_rows(item: PolicyItem, ids: list[int], status: str, as_of: dt.date) -> list[dict]:
    from yingshang.policies import engine_db
    from yingshang.policies.engine import row
    from yingshang.policies.engine.rules import RuleError

    if not ids:
        return []
    item = PolicyItem.objects.select_related("document__region").get(pk=item.pk)
    try:
        rule = item_rule(item, as_of)
    except RuleError:
        rule = None
    ents = Enterprise.objects.filter(pk__in=ids).select_related("region").order_by("id")
    out = []
    for ent in ents:
        facts = engine_db.facts_for(ent, on=as_of)
        entry = None
        if rule is not None:
            evaluation = row.evaluate(rule.compiled, facts, names=display_names())
            entry = Entry(item, _status_value(evaluation), estimate(item, facts, as_of), evaluation, rule.hidden)
        out.append({"enterprise": ent, "uscc": ent.uscc, "name": ent.name, "region": ent.region.name,
                    "region_code": ent.region_id, "size": ent.get_size_display() if ent.size else "",
                    "status": status, "current_status": entry.status if entry else status,
                    "current_label": STATUS_LABELS.get(entry.status, "不符合") if entry else "",
                    "amount": entry.amount if entry else None,
                    "reasons": entry.reasons if entry else [],
                    "gaps": entry.gaps if entry else [], "missing": entry.missing if entry else []})
    return out
