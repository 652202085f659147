"""Computed tags: a small rule format, evaluated per enterprise in Python and over the whole register in SQL.

Rule format: ``{"all"|"any": [{"field": F, "op": OP, "value": V}, …]}`` (conditions may nest as
further ``{"all"|"any": …}`` objects). Fields: age_years, employees, operating_revenue (万元),
total_assets (万元), rd_expense (万元), rd_ratio (a fraction: 0.03 = 3 %), size (large|medium|small|micro),
industry_section (A–T), tax_credit_rating (A/B/M/C/D), certification (a CertificationKind code).
Ops: ``>= <= > < == != in``. A missing figure never satisfies a condition, not even ``!=``.
For ``certification``, ``==`` means "holds", ``!=`` "does not hold", ``in`` "holds any of", where
holding means a certification valid on the evaluation date (missing dates do not limit validity).
Recomputation announces the enterprises whose tags changed (``hooks.changed_on_commit``): policy rules
test tags.
"""
from __future__ import annotations

import datetime as dt
import operator
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, lookups
from django.utils import timezone

from yingshang.enterprises import certificates, hooks
from yingshang.enterprises.models import (Certification, CertificationKind, Enterprise, EnterpriseTag, Size, Tag,
                                          TagKind, TaxCreditRating)

FIELDS = ("age_years", "employees", "operating_revenue", "total_assets", "rd_expense", "rd_ratio", "size",
          "industry_section", "tax_credit_rating", "certification")
NUMERIC = {"age_years", "employees", "operating_revenue", "total_assets", "rd_expense", "rd_ratio"}
OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq,
       "!=": operator.ne}
_CHOICES = {"size": set(Size.values), "tax_credit_rating": set(TaxCreditRating.values),
            "certification": set(CertificationKind.values),
            "industry_section": set("ABCDEFGHIJKLMNOPQRST")}


class RuleError(ValueError):
    """The rule is malformed; the message (Chinese) says where."""


# ------------------------------------------------------------------ checking a rule
def check_rule(rule: Any) -> None:
    """Raise RuleError unless ``rule`` is a well-formed rule."""
    if not isinstance(rule, dict) or len(rule) != 1 or next(iter(rule)) not in ("all", "any"):
        raise RuleError('规则应为 {"all": [...]} 或 {"any": [...]}')
    items = next(iter(rule.values()))
    if not isinstance(items, list) or not items:
        raise RuleError("规则的条件列表不能为空")
    for item in items:
        if isinstance(item, dict) and set(item) <= {"all", "any"}:
            check_rule(item)
        else:
            _check_condition(item)


def _check_condition(cond: Any) -> None:
    if not isinstance(cond, dict) or set(cond) != {"field", "op", "value"}:
        raise RuleError('条件应为 {"field": …, "op": …, "value": …}')
    name, op, value = cond["field"], cond["op"], cond["value"]
    if name not in FIELDS:
        raise RuleError(f"未知字段“{name}”,可选: {'、'.join(FIELDS)}")
    if op not in OPS and op != "in":
        raise RuleError(f"未知运算符“{op}”,可选: >= <= > < == != in")
    values = value if op == "in" else [value]
    if op == "in" and (not isinstance(value, list) or not value):
        raise RuleError("运算符 in 的取值应为非空列表")
    for v in values:
        _check_value(name, op, v)


def _check_value(name: str, op: str, value: Any) -> None:
    if name in NUMERIC:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise RuleError(f"字段 {name} 的取值应为数字")
        try:
            Decimal(str(value))
        except ArithmeticError:
            raise RuleError(f"字段 {name} 的取值“{value}”不是数字") from None
        if name == "age_years" and Decimal(str(value)) != int(Decimal(str(value))):
            raise RuleError("age_years 的取值应为整数(周岁)")
    else:
        if op in (">=", "<=", ">", "<"):
            raise RuleError(f"字段 {name} 只能用 == != in 比较")
        if value not in _CHOICES[name]:
            raise RuleError(f"字段 {name} 的取值“{value}”无效,可选: {'、'.join(sorted(_CHOICES[name]))}")


# ------------------------------------------------------------------ evaluation in Python
def facts(enterprise: Enterprise, certifications, on: dt.date | None = None) -> dict[str, Any]:
    """The values a rule can look at for one enterprise (None = missing); ``certifications`` is
    {kind: CertEntry} (validity checked on ``on``) or an iterable of kinds held."""
    on = on or timezone.localdate()
    return {"age_years": enterprise.age_years(on), "employees": enterprise.employees,
            "operating_revenue": enterprise.operating_revenue, "total_assets": enterprise.total_assets,
            "rd_expense": enterprise.rd_expense, "rd_ratio": enterprise.rd_ratio, "size": enterprise.size or None,
            "industry_section": enterprise.industry_section or None,
            "tax_credit_rating": enterprise.tax_credit_rating or None, "certification": certificates.held_on(certifications, on)}


def evaluate(rule: dict, fact: dict[str, Any]) -> bool:
    """True when the enterprise described by ``fact`` satisfies ``rule``."""
    (mode, items), = rule.items()
    results = (evaluate(i, fact) if set(i) <= {"all", "any"} else _holds(i, fact) for i in items)
    return all(results) if mode == "all" else any(results)


def _holds(cond: dict, fact: dict) -> bool:
    name, op, value = cond["field"], cond["op"], cond["value"]
    actual = fact.get(name)
    if name == "certification":
        held = actual or set()
        if op == "in":
            return bool(held & set(value))
        return (value in held) if op == "==" else (value not in held)
    if actual is None:
        return False
    if name in NUMERIC:
        actual = Decimal(str(actual))
        if op == "in":
            return any(actual == Decimal(str(v)) for v in value)
        return OPS[op](actual, Decimal(str(value)))
    return actual in value if op == "in" else OPS[op](actual, value)


# ------------------------------------------------------------------ the same rule as a SQL filter
def rule_q(rule: dict, on: dt.date | None = None) -> Q:
    """A Q over Enterprise equivalent to ``evaluate`` (used for bulk recomputation)."""
    on = on or timezone.localdate()
    (mode, items), = rule.items()
    parts = [rule_q(i, on) if set(i) <= {"all", "any"} else _condition_q(i, on) for i in items]
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if mode == "all" else combined | part
    return combined


def _condition_q(cond: dict, on: dt.date) -> Q:
    name, op, value = cond["field"], cond["op"], cond["value"]
    if name == "certification":
        kinds = value if op == "in" else [value]
        held = Exists(valid_certifications(on).filter(enterprise=OuterRef("pk"), kind__in=kinds))
        return ~Q(held) if op == "!=" else Q(held)
    if name == "age_years":
        return _age_q(op, value, on)
    if name == "rd_ratio":
        return _ratio_q(op, value)
    present = Q(**{f"{name}__isnull": False}) & (~Q(**{name: ""}) if name in _CHOICES else Q())
    if op == "in":
        return present & Q(**{f"{name}__in": value})
    if op == "==":
        return present & Q(**{name: value})
    if op == "!=":
        return present & ~Q(**{name: value})
    lookup = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}[op]
    return present & Q(**{f"{name}__{lookup}": value})


def valid_certifications(on: dt.date):
    """Certification rows valid on ``on`` (a missing date does not limit validity)."""
    return Certification.objects.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on),
                                        Q(valid_to__isnull=True) | Q(valid_to__gte=on))


def years_before(on: dt.date, years: int) -> dt.date:
    """The date ``years`` years before ``on`` (29 Feb → 28 Feb in common years)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return on.replace(year=on.year - years, day=28)


def _age_q(op: str, value, on: dt.date) -> Q:
    def at_least(n: int) -> Q:  # age_years >= n  ⇔  established on or before the n-th anniversary date
        return Q(established_on__lte=years_before(on, n)) if n > 0 else Q(established_on__isnull=False)

    def below(n: int) -> Q:
        return Q(established_on__isnull=False) & ~at_least(n)

    if op == "in":
        combined = Q(pk__in=[])
        for v in value:
            combined |= at_least(int(v)) & below(int(v) + 1)
        return combined
    n = int(value)
    return {">=": lambda: at_least(n), ">": lambda: at_least(n + 1), "<": lambda: below(n),
            "<=": lambda: below(n + 1), "==": lambda: at_least(n) & below(n + 1),
            "!=": lambda: Q(established_on__isnull=False) & ~(at_least(n) & below(n + 1))}[op]()


def _ratio_q(op: str, value) -> Q:
    present = Q(rd_expense__isnull=False, operating_revenue__gt=0)
    values = value if op == "in" else [value]
    combined = Q(pk__in=[])
    for v in values:
        # rd / revenue OP p/q  ⇔  rd·q OP revenue·p (revenue > 0): integer factors keep SQLite's
        # floating-point arithmetic exact at the boundary (3 / 100 is exactly 3 %).
        p, q = Decimal(str(v)).as_integer_ratio()
        lookup = _LOOKUPS.get(op, lookups.Exact)
        combined |= Q(lookup(F("rd_expense") * q, F("operating_revenue") * p))
    return present & (~combined if op == "!=" else combined)


_LOOKUPS = {">=": lookups.GreaterThanOrEqual, "<=": lookups.LessThanOrEqual, ">": lookups.GreaterThan,
            "<": lookups.LessThan}


# ------------------------------------------------------------------ keeping EnterpriseTag rows in step
def computed_tags() -> list[Tag]:
    return [t for t in Tag.objects.filter(kind=TagKind.COMPUTED) if t.rule]


def wanted_tags(enterprise: Enterprise, certifications, tags: list[Tag],
                on: dt.date | None = None) -> set[int]:
    """Ids of the computed tags this enterprise should carry."""
    fact = facts(enterprise, certifications, on)
    return {t.pk for t in tags if evaluate(t.rule, fact)}


def refresh_for(enterprise_ids: list[int], on: dt.date | None = None) -> int:
    """Bring the computed tags of these enterprises up to date; returns the number of links changed."""
    tags = computed_tags()
    if not tags or not enterprise_ids:
        return 0
    changed = 0
    for start in range(0, len(enterprise_ids), 2000):
        chunk = enterprise_ids[start:start + 2000]
        changed += _refresh_chunk(chunk, tags, on)
    return changed


def _refresh_chunk(ids: list[int], tags: list[Tag], on) -> int:
    certs: dict[int, set[str]] = {}
    held = valid_certifications(on or timezone.localdate()).filter(enterprise_id__in=ids)
    for eid, kind in held.values_list("enterprise_id", "kind"):
        certs.setdefault(eid, set()).add(kind)
    tag_ids = [t.pk for t in tags]
    have: set[tuple[int, int]] = set(EnterpriseTag.objects.filter(enterprise_id__in=ids, tag_id__in=tag_ids)
                                     .values_list("enterprise_id", "tag_id"))
    want = {(e.pk, t) for e in Enterprise.objects.filter(pk__in=ids) for t in wanted_tags(e, certs.get(e.pk, ()), tags, on)}
    return apply_links(want - have, have - want)


def apply_links(add: set[tuple[int, int]], remove: set[tuple[int, int]]) -> int:
    """Insert and delete (enterprise id, tag id) links; callers compute both sets inside one transaction."""
    from yingshang.core.bulk import db_value, insert_rows

    stamp = db_value(timezone.now())
    insert_rows(EnterpriseTag, ["enterprise_id", "tag_id", "created_at"], [(e, t, stamp) for e, t in sorted(add)],
                ignore_conflicts=True)
    by_tag: dict[int, list[int]] = {}
    for e, t in remove:
        by_tag.setdefault(t, []).append(e)
    for t, eids in by_tag.items():
        for start in range(0, len(eids), 2000):
            EnterpriseTag.objects.filter(tag_id=t, enterprise_id__in=eids[start:start + 2000]).delete()
    return len(add) + len(remove)


def recompute_computed_tags(on: dt.date | None = None) -> dict[str, dict[str, int]]:
    """Recompute every computed tag over the whole register in SQL; returns {tag: {added, removed}}."""
    on = on or timezone.localdate()
    report = {}
    for tag in computed_tags():
        with transaction.atomic():
            report[tag.code] = _recompute_tag(tag, on)
    # Links of tags that are no longer computed (rule removed or turned manual) are left to their new owner.
    return report


def _recompute_tag(tag: Tag, on: dt.date) -> dict[str, int]:
    matching = Enterprise.objects.filter(rule_q(tag.rule, on))
    linked = EnterpriseTag.objects.filter(tag=tag)
    # Ids first (to announce them), then deleted by id; materialised because SQLite cannot write a
    # table while a cursor over it is open.
    stale = list(linked.exclude(enterprise_id__in=matching.values("pk")).values_list("enterprise_id", flat=True))
    for start in range(0, len(stale), 2000):
        linked.filter(enterprise_id__in=stale[start:start + 2000]).delete()
    missing = list(matching.exclude(pk__in=EnterpriseTag.objects.filter(tag=tag).values("enterprise_id"))
                   .values_list("pk", flat=True))
    now, added, batch = timezone.now(), 0, []
    for eid in missing:
        batch.append(EnterpriseTag(enterprise_id=eid, tag=tag, created_at=now))
        if len(batch) >= 5000:
            added += len(EnterpriseTag.objects.bulk_create(batch, ignore_conflicts=True))
            batch = []
    added += len(EnterpriseTag.objects.bulk_create(batch, ignore_conflicts=True))
    _touch(stale + missing, now)
    return {"added": added, "removed": len(stale)}


def _touch(ids: list[int], now) -> None:
    """Mark the enterprises changed: ``updated_at`` (the policy register refreshes from it) and the
    after-commit announcement."""
    for start in range(0, len(ids), 2000):
        Enterprise.objects.filter(pk__in=ids[start:start + 2000]).update(updated_at=now)
    hooks.changed_on_commit(ids)
