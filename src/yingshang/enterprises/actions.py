"""Writes to the enterprise register: create, update (PATCH), manual tags and file imports.

Every write runs under ``transaction.atomic``, keeps derived columns (industry section/division,
size) and computed tags in step, and appends audit rows. Personal fields are audited as "changed"
without their values, because the audit history is shown on the enterprise page. Every write that
changes what a policy rule can see announces the enterprises after commit (``hooks.changed_on_commit``).
"""
from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from yingshang.core import audit
from yingshang.core.bulk import db_adapter, db_value, insert_rows
from yingshang.core.access import access_enterprise, access_register_write, in_scope
from yingshang.core.errors import Conflict, Forbidden, ValidationFailed
from yingshang.core.models import AuditAction, Role
from yingshang.enterprises import certificates, hooks
from yingshang.enterprises import tags as tag_rules
from yingshang.enterprises.actions_steward import check_steward_assignment
from yingshang.enterprises.certificates import CertEntry
from yingshang.enterprises.models import Certification, Enterprise, EnterpriseTag, ImportJob, Tag, TagKind
from yingshang.enterprises.validation import PERSONAL, Context, field_label, missing_required, validate_enterprise

# Model attributes written from validated data (``region_code`` arrives as ``region_id``).
SCALAR_FIELDS = ("name", "legal_form", "status", "region_id", "industry_code", "established_on",
                 "registered_capital", "employees", "operating_revenue", "total_assets", "rd_expense",
                 "taxable_income", "tax_credit_rating", "taxpayer_kind", "steward_id", "figure_sources",
                 "legal_representative", "contact_name", "contact_phone", "address", "business_scope")
DERIVED_FIELDS = ("industry_section", "industry_division", "size")
# What an enterprise user may change in its own record; the rest is the register keepers' business.
# An enterprise may supply the figures a policy needs (taxable income, taxpayer kind) itself.
SELF_SERVICE_FIELDS = {"registered_capital", "employees", "operating_revenue", "total_assets", "rd_expense",
                       "taxable_income", "taxpayer_kind", "figure_sources", "source", "as_of", "legal_representative", "contact_name",
                       "contact_phone", "address", "business_scope"}
ENTERPRISE_TYPE = "enterprises.enterprise"
Progress = Callable[[str, int, int], None]


# ------------------------------------------------------------------ state and audit helpers
def plain(value: Any) -> Any:
    """A JSON value that compares equal exactly when the field values are equal."""
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return None if value == "" else value


def state(ent: Enterprise, certs: dict[str, CertEntry], manual_tags: Iterable[str]) -> dict[str, Any]:
    """The audited state of an enterprise: its fields, size, certifications (with number and
    validity, as 资质 cell texts) and manual tags."""
    out = {f: plain(getattr(ent, f)) for f in SCALAR_FIELDS}
    out["size"] = ent.size
    out["certifications"] = certificates.tokens(certs)
    out["tags"] = sorted(manual_tags)
    return out


def audit_changes(before: dict, after: dict) -> dict[str, list]:
    """Field diff for the audit log; personal fields show that they changed, not their values."""
    changes = audit.diff(before, after)
    for name in PERSONAL:
        if name in changes:
            changes[name] = ["(个人信息)" if changes[name][0] else None, "(个人信息,已修改)"]
    return changes


def mask_personal(values: dict[str, Any]) -> dict[str, Any]:
    """A new record's values for the audit log, personal fields replaced by a marker."""
    return {k: ("(个人信息)" if k in PERSONAL else v) for k, v in values.items()}


def apply_clean(ent: Enterprise, clean: dict[str, Any]) -> None:
    """Assign validated values to the model instance and recompute derived columns."""
    for key, value in clean.items():
        if key in ("uscc", "certifications", "tags"):
            continue
        if key == "figure_sources":
            value = {**(ent.figure_sources or {}), **value} if value else {}
        setattr(ent, "region_id" if key == "region_code" else key, value)
    ent.derive()


def _fail(errors: dict[str, str]) -> ValidationFailed:
    summary = ";".join(f"{field_label(k)}: {v}" for k, v in errors.items())
    return ValidationFailed(f"企业信息有误 — {summary}", fields=errors)


def _certs(ent: Enterprise) -> dict[str, CertEntry]:
    return {c.kind: certificates.entry_of(c) for c in ent.certifications.all()} if ent.pk else {}


def merged_certs(have: dict[str, CertEntry], clean: dict[str, Any], errors: dict[str, str]) -> dict[str, CertEntry]:
    """The certifications after applying the request; a validity that would end before it starts
    (a new end date before the recorded start) is an error."""
    merged = certificates.merge(have, clean.get("certifications"))
    bad = certificates.bad_ranges(merged)
    if bad:
        errors["certifications"] = f"{'、'.join(bad)}的有效期止早于有效期起,请同时填写起止日期"
    return merged


def _manual_tags(ent: Enterprise) -> set[str]:
    if not ent.pk:
        return set()
    return set(ent.tag_links.filter(tag__kind=TagKind.MANUAL).values_list("tag__code", flat=True))


def _sync_certs(ent: Enterprise, have: dict[str, CertEntry], want: dict[str, CertEntry]) -> None:
    ent.certifications.filter(kind__in=set(have) - set(want)).delete()
    Certification.objects.bulk_create([Certification(enterprise=ent, kind=k, certificate_no=e.certificate_no,
                                                     valid_from=e.valid_from, valid_to=e.valid_to)
                                       for k, e in sorted(want.items()) if k not in have])
    for kind, entry in want.items():
        if kind in have and have[kind] != entry:
            ent.certifications.filter(kind=kind).update(certificate_no=entry.certificate_no,
                                                        valid_from=entry.valid_from, valid_to=entry.valid_to)


def _sync_manual_tags(ent: Enterprise, have: set[str], want: set[str]) -> None:
    ent.tag_links.filter(tag__code__in=have - want, tag__kind=TagKind.MANUAL).delete()
    new = Tag.objects.filter(code__in=want - have, kind=TagKind.MANUAL)
    EnterpriseTag.objects.bulk_create([EnterpriseTag(enterprise=ent, tag=t) for t in new], ignore_conflicts=True)


# ------------------------------------------------------------------ single-record actions
def do_create_enterprise(actor, data: dict[str, Any]) -> Enterprise:
    """Create one enterprise from raw data (API field names or template headers)."""
    access_register_write(actor)
    checked = validate_enterprise(data, Context.load(actor))
    errors = {**missing_required(checked.clean), **checked.errors}
    certs = merged_certs({}, checked.clean, errors)
    if errors:
        raise _fail(errors)
    clean = checked.clean
    if "steward" in clean:
        check_steward_assignment(actor, clean["region_code"], clean["steward"])
    if Enterprise.objects.filter(uscc=clean["uscc"]).exists():
        raise Conflict(f"统一社会信用代码 {clean['uscc']} 已登记", fields={"uscc": "该统一社会信用代码已登记"})
    try:
        with transaction.atomic():
            return _create(actor, clean, certs)
    except IntegrityError:  # a concurrent create of the same code won the race
        raise Conflict(f"统一社会信用代码 {clean['uscc']} 已登记", fields={"uscc": "该统一社会信用代码已登记"}) from None


def _create(actor, clean: dict[str, Any], certs: dict[str, CertEntry]) -> Enterprise:
    ent = Enterprise(uscc=clean["uscc"])
    apply_clean(ent, clean)
    ent.created_at = ent.updated_at = timezone.now()
    ent.save(force_insert=True)
    manual = set(clean.get("tags", ()))
    _sync_certs(ent, {}, certs)
    _sync_manual_tags(ent, set(), manual)
    tag_rules.refresh_for([ent.pk])
    after = state(ent, certs, manual)
    given = {k: v for k, v in after.items() if v not in (None, [], {})}
    audit.record(actor, AuditAction.CREATE, ent, changes={k: [None, v] for k, v in mask_personal(given).items()})
    hooks.changed_on_commit([ent.pk])
    return ent


def do_update_enterprise(actor, enterprise: Enterprise, data: dict[str, Any], *, null_clears: bool = False
                         ) -> Enterprise:
    """Change the given fields of an enterprise (PATCH semantics; with ``null_clears`` a JSON null
    clears an optional field); audits the field diff."""
    access_enterprise(actor, enterprise, write=True)
    _check_self_service(actor, data)
    existing = {"rd_expense": enterprise.rd_expense, "operating_revenue": enterprise.operating_revenue}
    checked = validate_enterprise(data, Context.load(actor), existing=existing, null_clears=null_clears)
    errors = dict(checked.errors)
    if checked.clean.get("uscc", enterprise.uscc) != enterprise.uscc:
        errors["uscc"] = "统一社会信用代码不可修改"
    if errors:
        raise _fail(errors)
    if "steward" in checked.clean:
        check_steward_assignment(actor, checked.clean.get("region_code", enterprise.region_id), checked.clean["steward"])
    with transaction.atomic():
        ent = Enterprise.objects.select_for_update().get(pk=enterprise.pk)
        _update(actor, ent, checked.clean)
    return ent


def _check_self_service(actor, data: dict[str, Any]) -> None:
    if getattr(actor, "role", None) != Role.ENTERPRISE or actor.is_superuser:
        return
    from yingshang.enterprises.validation import field_name

    denied = {field_name(k) or k: "企业用户不能修改此项,请联系主管部门" for k in data
              if (field_name(k) or k) not in SELF_SERVICE_FIELDS}
    if denied:
        raise Forbidden("企业用户只能修改经营数据和联系信息", fields=denied)


def _update(actor, ent: Enterprise, clean: dict[str, Any]) -> None:
    certs, manual = _certs(ent), _manual_tags(ent)
    before = state(ent, certs, manual)
    errors: dict[str, str] = {}
    new_certs = merged_certs(certs, clean, errors)
    if errors:
        raise _fail(errors)
    apply_clean(ent, clean)
    _drop_steward_out_of_region(ent, clean)
    new_manual = set(clean.get("tags", manual))
    changes = audit_changes(before, state(ent, new_certs, new_manual))
    if not changes:
        return
    ent.updated_at = timezone.now()
    ent.save()
    _sync_certs(ent, certs, new_certs)
    _sync_manual_tags(ent, manual, new_manual)
    tag_rules.refresh_for([ent.pk])
    audit.record(actor, AuditAction.UPDATE, ent, changes=changes)
    hooks.changed_on_commit([ent.pk])


def _drop_steward_out_of_region(ent: Enterprise, clean: dict[str, Any]) -> None:
    """An enterprise moved out of its steward's area loses that steward (the diff shows it)."""
    if "region_code" in clean and "steward" not in clean and ent.steward_id and not in_scope(ent.steward, ent.region_id):
        ent.steward = None


def do_set_manual_tags(actor, enterprise: Enterprise, tags: list[str]) -> Enterprise:
    """Replace the manual tags of an enterprise (codes or names of manual tags)."""
    if getattr(actor, "role", None) == Role.ENTERPRISE and not actor.is_superuser:
        raise PermissionDenied("企业用户不能设置标签")
    return do_update_enterprise(actor, enterprise, {"tags": list(tags) or ["无"]})


# ------------------------------------------------------------------ file import
@dataclass
class Problem:
    row: int
    field: str
    reason: str


@dataclass
class ImportOutcome:
    """What an import found and did; ``written`` is False for dry runs and rejected files."""

    total: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"new": 0, "updated": 0, "unchanged": 0, "invalid": 0})
    problems: list[Problem] = field(default_factory=list)
    written: bool = False

    @property
    def invalid_rows(self) -> int:
        return len({p.row for p in self.problems})


@dataclass
class _Planned:
    row: int
    ent: Enterprise
    certs: dict[str, CertEntry]
    manual: set[str]
    old_certs: dict[str, CertEntry]
    old_manual: set[str]
    changes: dict[str, list]
    is_new: bool
    clean: dict[str, Any] | None = None  # the file's validated values (updates only, for the re-diff)
    columns: tuple[str, ...] = ()  # enterprise columns this row really changes (updates only)


def do_import_enterprises(actor, rows: Iterable[tuple[int, dict[str, Any]]], *, accept_valid: bool = False,
                          dry_run: bool = False, progress: Progress | None = None, total: int = 0,
                          filename: str = "", finalize: Callable[[ImportOutcome], None] | None = None
                          ) -> ImportOutcome:
    """Upsert enterprises by USCC from ``(row number, raw values)`` pairs: all-or-nothing unless
    ``accept_valid``; unchanged rows are neither written nor audited; ``dry_run`` writes nothing.
    ``actor`` is a user (scope-checked) or a string naming a trusted operator such as「命令行」.
    ``finalize`` runs inside the write transaction after the writes; raising there undoes them all."""
    from yingshang.enterprises.importer import plan_import

    user = actor if hasattr(actor, "role") else None
    if user is not None:
        access_register_write(user)
    outcome = ImportOutcome()
    collecting = gc.isenabled()
    gc.disable()  # ~100,000 live model instances make every cyclic collection walk them all
    try:
        plans = plan_import(user, rows, outcome, progress=progress, total=total)
        outcome.counts["invalid"] = outcome.invalid_rows
        if dry_run or (outcome.problems and not accept_valid):
            return outcome
        with transaction.atomic():
            _write_plans(actor, plans, outcome, progress)
            audit.record(actor, AuditAction.IMPORT, None, object_type="enterprises.register",
                         object_id=filename[:64], object_repr=f"导入企业档案 {filename}",
                         changes={"counts": dict(outcome.counts)})
            outcome.written = True
            if finalize is not None:
                finalize(outcome)
    except BaseException:
        outcome.written = False
        raise
    finally:
        if collecting:
            gc.enable()
    return outcome


def _write_plans(actor, plans: list[_Planned], outcome: ImportOutcome, progress: Progress | None) -> None:
    now = timezone.now()
    new = [p for p in plans if p.is_new]
    updated = _refresh_updates([p for p in plans if not p.is_new], outcome)
    plans = new + updated
    _insert_enterprises(new, now, progress, len(plans))
    _bulk_update(updated, now, progress, len(new), len(plans))
    _write_links(plans)
    _write_computed_tags(plans)
    _audit_rows(actor, AuditAction.CREATE, new, now)
    _audit_rows(actor, AuditAction.UPDATE, updated, now)
    hooks.changed_on_commit(p.ent.pk for p in plans)


def _report(progress: Progress | None, phase: str, done: int, total: int) -> None:
    if progress is not None:
        progress(phase, done, total)


_ENTERPRISE_COLUMNS = ("uscc",) + SCALAR_FIELDS + DERIVED_FIELDS + ("created_at", "updated_at")
_ADAPTED = {"established_on", "registered_capital", "operating_revenue", "total_assets", "rd_expense",
            "taxable_income"}


def _insert_enterprises(new: list[_Planned], now, progress, total: int) -> None:
    adapt, json_prep = db_adapter(), Enterprise._meta.get_field("figure_sources").get_db_prep_save
    stamp = adapt(now)
    plain_cols = _ENTERPRISE_COLUMNS[:-2]
    adapted = [i for i, f in enumerate(plain_cols) if f in _ADAPTED]
    json_at = plain_cols.index("figure_sources")
    for start in range(0, len(new), 5000):
        batch = new[start:start + 5000]
        rows = []
        for p in batch:
            e = p.ent
            e.created_at = e.updated_at = now
            values = [e.__dict__[f] for f in plain_cols]
            for i in adapted:
                values[i] = adapt(values[i])
            values[json_at] = json_prep(e.figure_sources or {}, connection)
            rows.append((*values, stamp, stamp))
        insert_rows(Enterprise, list(_ENTERPRISE_COLUMNS), rows)
        ids = dict(Enterprise.objects.filter(uscc__in=[p.ent.uscc for p in batch]).values_list("uscc", "pk"))
        for p in batch:
            p.ent.pk = ids[p.ent.uscc]
            p.ent._state.adding = False
        _report(progress, "写入", start + len(batch), total)


def _audit_rows(actor, action: str, plans: list[_Planned], now) -> None:
    rows = [(ENTERPRISE_TYPE, str(p.ent.pk), p.ent.name, p.changes) for p in plans]
    audit.record_bulk(actor, action, rows, reason="文件导入", at=now)


_DIFF_COLUMNS = SCALAR_FIELDS + DERIVED_FIELDS


def _refresh_updates(updated: list[_Planned], outcome: ImportOutcome) -> list[_Planned]:
    """Re-read the rows to update inside the write transaction (locked on PostgreSQL; SQLite's
    IMMEDIATE transaction already excludes other writers) and re-apply only what the file changes,
    so an edit made while the file was being validated survives and the audit diffs against it."""
    from yingshang.enterprises.importer import load_existing

    current = load_existing([p.ent.uscc for p in updated], lock=True)
    kept = []
    for p in updated:
        if _reapply(p, *current[p.ent.uscc]):
            kept.append(p)
        else:  # a concurrent edit already made this row's change
            outcome.counts["updated"] -= 1
            outcome.counts["unchanged"] += 1
    return kept


def _reapply(p: _Planned, ent: Enterprise, certs: dict[str, CertEntry], manual: set[str]) -> bool:
    before, old = state(ent, certs, manual), {f: ent.__dict__[f] for f in _DIFF_COLUMNS}
    apply_clean(ent, {k: v for k, v in p.clean.items() if ("region_id" if k == "region_code" else k) in p.changes})
    p.certs = certificates.merge(certs, p.clean.get("certifications")) if "certifications" in p.changes else certs
    p.manual = p.manual if "tags" in p.changes else manual
    p.ent, p.old_certs, p.old_manual = ent, certs, manual
    p.changes = audit_changes(before, state(ent, p.certs, p.manual))
    p.columns = tuple(f for f in _DIFF_COLUMNS if ent.__dict__[f] != old[f])
    return bool(p.changes)


def _bulk_update(updated: list[_Planned], now, progress, done: int, total: int) -> None:
    """Write each row's own changed columns only: rows are grouped by their set of changed columns,
    so no row rewrites a column it does not change (which could undo a concurrent edit)."""
    groups: dict[tuple[str, ...], list[Enterprise]] = {}
    for p in updated:
        p.ent.updated_at = now
        groups.setdefault(p.columns, []).append(p.ent)
    for columns, ents in groups.items():
        for start in range(0, len(ents), 500):
            Enterprise.objects.bulk_update(ents[start:start + 500], [*columns, "updated_at"])
            done += len(ents[start:start + 500])
            _report(progress, "写入", done, total)


def _write_links(plans: list[_Planned]) -> None:
    """Certifications and manual tags: add what is new, remove what the file dropped."""
    tag_ids = dict(Tag.objects.filter(kind=TagKind.MANUAL).values_list("code", "pk"))
    new_certs, new_tags, stamp, adapt = [], [], db_value(timezone.now()), db_adapter()
    for p in plans:
        eid = p.ent.pk
        new_certs += [(eid, k, e.certificate_no, adapt(e.valid_from), adapt(e.valid_to), "")
                      for k, e in sorted(p.certs.items()) if k not in p.old_certs]
        new_tags += [(eid, tag_ids[c], stamp) for c in sorted(p.manual - p.old_manual)]
        if set(p.old_certs) - set(p.certs):
            Certification.objects.filter(enterprise_id=eid, kind__in=set(p.old_certs) - set(p.certs)).delete()
        for kind, e in p.certs.items():  # number or validity changed: few rows, one UPDATE each
            if kind in p.old_certs and p.old_certs[kind] != e:
                Certification.objects.filter(enterprise_id=eid, kind=kind).update(
                    certificate_no=e.certificate_no, valid_from=e.valid_from, valid_to=e.valid_to)
        if p.old_manual - p.manual:
            EnterpriseTag.objects.filter(enterprise_id=eid, tag_id__in=[tag_ids[c] for c in p.old_manual - p.manual]
                                         ).delete()
    insert_rows(Certification, ["enterprise_id", "kind", "certificate_no", "valid_from", "valid_to", "source"],
                new_certs, ignore_conflicts=True)
    insert_rows(EnterpriseTag, ["enterprise_id", "tag_id", "created_at"], new_tags, ignore_conflicts=True)


def _write_computed_tags(plans: list[_Planned]) -> None:
    tags = tag_rules.computed_tags()
    if not tags or not plans:
        return
    tag_ids = [t.pk for t in tags]
    updated_ids = [p.ent.pk for p in plans if not p.is_new]
    have: set[tuple[int, int]] = set()
    for start in range(0, len(updated_ids), 2000):
        have |= set(EnterpriseTag.objects.filter(enterprise_id__in=updated_ids[start:start + 2000],
                                                 tag_id__in=tag_ids).values_list("enterprise_id", "tag_id"))
    today = timezone.localdate()
    want = {(p.ent.pk, t) for p in plans for t in tag_rules.wanted_tags(p.ent, p.certs, tags, today)}
    tag_rules.apply_links(want - have, have - want)


def check_existing_scope(actor, ent: Enterprise) -> str | None:
    """Reason an existing enterprise may not be updated by this actor through an import, or None."""
    if actor is None or in_scope(actor, ent.region_id):
        return None
    return f"该企业已登记在区划 {ent.region_id},不在您的管辖范围内,不能通过导入修改"


__all__ = ["do_create_enterprise", "do_update_enterprise", "do_set_manual_tags", "do_import_enterprises",
           "ImportOutcome", "Problem"]


# ------------------------------------------------------------------ uploaded files (UI)
def do_start_import(actor, upload) -> ImportJob:
    """Store an uploaded register file, create its ImportJob and queue the validation preview."""
    import uuid
    from pathlib import Path

    from django.conf import settings

    from yingshang.enterprises.importer import check_file
    from yingshang.jobs import enqueue_on_commit

    access_register_write(actor)
    suffix = check_file(upload.name, upload.size)
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    # The file is written only once its job row exists, and removed if the row is not committed: an
    # upload holds personal data, and only files with a job are ever cleaned up by the import sweep.
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(created_by=actor, filename=Path(upload.name).name[:200], path=str(path),
                                           size_bytes=upload.size, phase="校验")
            with path.open("wb") as fh:
                for chunk in upload.chunks():
                    fh.write(chunk)
            enqueue_on_commit("enterprises.import_preview", job.pk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return job


def do_confirm_import(actor, job, *, accept_valid: bool) -> ImportJob:
    """Confirm a previewed import (all rows, or with ``accept_valid`` only the valid ones) and queue it."""
    from yingshang.enterprises.models import ImportStatus
    from yingshang.jobs import enqueue_on_commit

    access_register_write(actor)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.created_by_id != actor.pk:
            raise PermissionDenied("只能确认自己上传的导入")
        if job.status != ImportStatus.PREVIEWED:
            raise Conflict(f"该导入当前状态为“{job.get_status_display()}”,不能确认")
        if job.counts.get("invalid") and not accept_valid:
            raise ValidationFailed("文件中有错误行:请修正后重新上传,或选择“仅导入有效行”")
        if not (job.counts.get("new") or job.counts.get("updated")):
            raise ValidationFailed("没有需要新增或更新的行")
        job.status, job.accept_valid, job.phase, job.processed_rows = ImportStatus.IMPORTING, accept_valid, "校验", 0
        job.claimed_at, job.heartbeat_at = None, timezone.now()  # queued again: the import task claims it
        job.save(update_fields=["status", "accept_valid", "phase", "processed_rows", "claimed_at", "heartbeat_at"])
        enqueue_on_commit("enterprises.import_run", job.pk)
    return ImportJob.objects.get(pk=job.pk)
