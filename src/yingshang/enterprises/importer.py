"""Reading register files (XLSX, CSV) and planning an import: validation, duplicates, diff with the register.

``open_table`` checks the file (type, size, required columns) and streams its rows; ``plan_import``
validates every row and works out what would change, without writing. ``import_file`` ties both to
``actions.do_import_enterprises`` and returns the outcome with a per-row report.
"""
from __future__ import annotations

import csv
import importlib.util
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from django.conf import settings

from yingshang.core.errors import ValidationFailed
from yingshang.enterprises import certificates
from yingshang.enterprises.models import Certification, Enterprise, EnterpriseTag, TagKind
from yingshang.enterprises.validation import (HEADERS, REQUIRED_FOR_NEW, Context, cross_check, field_name,
                                              missing_required, validate_enterprise)

SUPPORTED = (".xlsx", ".csv")
# Columns written by the export for reading only; the import ignores them silently.
READ_ONLY_HEADERS = {"企业规模", "企业规模(自动计算)", "计算标签", "计算标签(自动计算)", "成立年限"}
# Fields the validator knows that a file may not set: per-figure sources (the row has 数据来源/数据日期)
# and the steward (assigned on the enterprise page by a dispatcher).
NOT_IMPORTED = {"figure_sources", "steward"}
PROGRESS_EVERY = 1000
# python-calamine (a Rust reader) is ~50× faster than openpyxl on large sheets; openpyxl's
# read-only mode is the fallback when it is not installed.
USE_CALAMINE = importlib.util.find_spec("python_calamine") is not None
MAX_REPORTED = 1000


class FileRejected(ValidationFailed):
    """The whole file is unusable (type, size, encoding, columns); nothing was read into the register."""


@dataclass
class Table:
    """An opened register file: its header mapping and a stream of ``(row number, {field: value})``."""

    filename: str
    columns: dict[int, str]  # column index → field
    headers: dict[str, str]  # field → header text as written in the file
    ignored: list[str]
    total: int
    _rows: Any

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for number, values in self._rows:
            if not any(v is not None and str(v).strip() for v in values):
                continue  # blank lines between blocks of data are not errors
            yield number, {f: values[i] if i < len(values) else None for i, f in self.columns.items()}

    def column_of(self, field: str) -> str:
        return self.headers.get(field) or HEADERS.get(field, field)


def _human_size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def check_file(filename: str, size: int) -> str:
    """The file's type (``.xlsx``/``.csv``) or FileRejected with a precise reason."""
    suffix = Path(filename).suffix.lower()
    limit = settings.YINGSHANG_MAX_IMPORT_BYTES
    if suffix == ".xls":
        raise FileRejected("不支持旧版 Excel 97-2003 (.xls) 文件,请在 Excel 中“另存为” .xlsx 后再导入",
                           fields={"file": "文件类型不支持"})
    if suffix not in SUPPORTED:
        raise FileRejected(f"文件类型“{suffix or '无扩展名'}”不支持,只能导入 .xlsx 或 .csv 文件",
                           fields={"file": "文件类型不支持"})
    if size > limit:
        raise FileRejected(f"文件大小 {_human_size(size)} 超过上限 {_human_size(limit)},请拆分后分批导入",
                           fields={"file": "文件过大"})
    if size == 0:
        raise FileRejected("文件是空的", fields={"file": "空文件"})
    return suffix


def open_table(source: str | Path | BinaryIO, filename: str | None = None) -> Table:
    """Open a register file (a path or a binary file object) after checking type, size and headers."""
    if isinstance(source, (str, Path)):
        filename = filename or Path(source).name
        size = Path(source).stat().st_size
        handle: BinaryIO = open(source, "rb")  # noqa: SIM115 - kept open while rows stream
    else:
        handle = source
        handle.seek(0, io.SEEK_END)
        size = handle.tell()
        handle.seek(0)
    suffix = check_file(filename or "", size)
    header, rows, total = _open_xlsx(handle) if suffix == ".xlsx" else _open_csv(handle)
    return _map_headers(filename or "", header, rows, total)


def _open_xlsx(handle: BinaryIO):
    if handle.read(4) != b"PK\x03\x04":
        raise FileRejected("文件内容不是有效的 Excel (.xlsx) 文件(可能是改了扩展名的其他文件)",
                           fields={"file": "文件内容与类型不符"})
    handle.seek(0)
    return _open_xlsx_calamine(handle) if USE_CALAMINE else _open_xlsx_openpyxl(handle)


def _open_xlsx_calamine(handle: BinaryIO):
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(handle)
        name = "企业档案" if "企业档案" in book.sheet_names else book.sheet_names[0]
        sheet = book.get_sheet_by_name(name)
        rows = sheet.to_python(skip_empty_area=False)
    except (CalamineError, IndexError, ValueError, OSError):
        raise FileRejected("无法读取 Excel 文件:文件已损坏或不是 .xlsx 格式", fields={"file": "文件已损坏"}) from None
    if not rows:
        raise FileRejected("工作表是空的,没有表头行", fields={"file": "空表"})
    return list(rows[0]), enumerate(rows[1:], start=2), len(rows) - 1


def _open_xlsx_openpyxl(handle: BinaryIO):
    from openpyxl import load_workbook

    try:
        book = load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise FileRejected("无法读取 Excel 文件:文件已损坏或不是 .xlsx 格式", fields={"file": "文件已损坏"}) from None
    sheet = book["企业档案"] if "企业档案" in book.sheetnames else book.worksheets[0]
    stream = enumerate(sheet.iter_rows(values_only=True), start=1)
    first = next(stream, None)
    if first is None:
        raise FileRejected("工作表是空的,没有表头行", fields={"file": "空表"})
    total = max((sheet.max_row or 1) - 1, 0)
    return list(first[1]), stream, total


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRejected("CSV 文件编码无法识别,请保存为 UTF-8 或 GB18030 编码", fields={"file": "编码无法识别"})


def _open_csv(handle: BinaryIO):
    data = handle.read()
    if data[:4] == b"PK\x03\x04" or b"\x00" in data[:4096]:
        raise FileRejected("文件内容不是 CSV 文本(可能是改了扩展名的 Excel 或其他文件)",
                           fields={"file": "文件内容与类型不符"})
    text = _decode(data)
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        raise FileRejected("CSV 文件是空的,没有表头行", fields={"file": "空表"})
    return lines[0], enumerate(lines[1:], start=2), len(lines) - 1


def _map_headers(filename: str, header: list, rows, total: int) -> Table:
    columns, headers, ignored = {}, {}, []
    for index, cell in enumerate(header):
        text = str(cell).strip() if cell is not None else ""
        if not text:
            continue
        name = field_name(text) if text not in READ_ONLY_HEADERS else None
        if name is None or name in NOT_IMPORTED:
            ignored += [] if text in READ_ONLY_HEADERS else [text]
            continue
        if name in headers:
            raise FileRejected(f"表头“{text}”与“{headers[name]}”重复", fields={"file": "表头重复"})
        columns[index], headers[name] = name, text
    missing = [HEADERS[f] for f in REQUIRED_FOR_NEW if f not in headers]
    if missing:
        raise FileRejected(f"缺少必需的列: {'、'.join(missing)}(表头应在第1行,可下载导入模板对照)",
                           fields={"file": "缺少必需的列"})
    return Table(filename, columns, headers, ignored, total, rows)


# ------------------------------------------------------------------ planning (no writes)
def plan_import(actor, rows, outcome, *, progress=None, total: int = 0) -> list:
    """Validate every row and diff it with the register; fills ``outcome`` and returns the plans."""
    ctx = Context.load(actor, all_regions=True)
    checked = _validate_rows(rows, ctx, outcome, progress, total)
    existing = load_existing([clean["uscc"] for _, clean in checked])
    return _diff_rows(actor, checked, existing, outcome, progress)


def _validate_rows(rows, ctx, outcome, progress, total):
    from yingshang.enterprises.actions import Problem

    checked, seen = [], {}
    for number, raw in rows:
        outcome.total += 1
        result = validate_enterprise(raw, ctx)
        uscc = result.clean.get("uscc")
        if uscc is None and "uscc" not in result.errors:
            result.errors["uscc"] = "必填"
        if _excel_number(raw.get("uscc")):
            result.errors["uscc"] = "统一社会信用代码被 Excel 存成了数字(末几位已丢失),请把该列设为“文本”格式后重新填写"
        if uscc in seen:
            result.errors["uscc"] = f"与第{seen[uscc]}行的统一社会信用代码重复"
        elif uscc:
            seen[uscc] = number
        outcome.problems += [Problem(number, f, r) for f, r in result.errors.items()]
        if not result.errors:
            checked.append((number, result.clean))
        if progress and outcome.total % PROGRESS_EVERY == 0:
            progress("校验", outcome.total, max(total, outcome.total))
    return checked


def _excel_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def load_existing(usccs: list[str], *, lock: bool = False) -> dict[str, tuple]:
    """uscc → (enterprise, {kind: CertEntry}, manual tag codes) for codes already registered;
    ``lock`` (inside a transaction) locks the enterprise rows where the database can."""
    found: dict[str, tuple] = {}
    rows = Enterprise.objects.select_for_update(of=("self",)).order_by("pk") if lock else Enterprise.objects
    for start in range(0, len(usccs), 2000):
        chunk = usccs[start:start + 2000]
        ents = {e.pk: e for e in rows.filter(uscc__in=chunk)}
        if not ents:
            continue
        certs: dict[int, dict] = {pk: {} for pk in ents}
        rows_of_certs = Certification.objects.filter(enterprise_id__in=ents).values_list(
            "enterprise_id", "kind", "certificate_no", "valid_from", "valid_to")
        for eid, kind, number, start, end in rows_of_certs:
            certs[eid][kind] = certificates.CertEntry(kind, number or "", start, end)
        tags: dict[int, set] = {pk: set() for pk in ents}
        links = EnterpriseTag.objects.filter(enterprise_id__in=ents, tag__kind=TagKind.MANUAL)
        for eid, code in links.values_list("enterprise_id", "tag__code"):
            tags[eid].add(code)
        found.update({e.uscc: (e, certs[pk], tags[pk]) for pk, e in ents.items()})
    return found


def _diff_rows(actor, checked, existing, outcome, progress) -> list:
    from yingshang.enterprises.actions import (Problem, _Planned, apply_clean, audit_changes, check_existing_scope,
                                               mask_personal, merged_certs, state)

    plans = []
    for index, (number, clean) in enumerate(checked, start=1):
        found = existing.get(clean["uscc"])
        ent, old_certs, old_manual = found or (Enterprise(uscc=clean["uscc"]), {}, set())
        errors = missing_required(clean) if found is None else {}
        reason = check_existing_scope(actor, ent) if found is not None else None
        if reason:
            errors["uscc"] = reason
        cross_check(clean, errors, {"rd_expense": ent.rd_expense, "operating_revenue": ent.operating_revenue})
        certs = merged_certs(old_certs, clean, errors)
        if errors:
            outcome.problems += [Problem(number, f, r) for f, r in errors.items()]
            continue
        before = state(ent, old_certs, old_manual) if found else {}
        apply_clean(ent, clean)
        manual = set(clean.get("tags", old_manual))
        after = state(ent, certs, manual)
        if found is None:
            after = {k: v for k, v in after.items() if v not in (None, [], {})}
        # A new row's changes are its non-empty values; diffing against {} would do the same, slower.
        changes = audit_changes(before, after) if found else {k: [None, v] for k, v in mask_personal(after).items()}
        if found is not None and not changes:
            outcome.counts["unchanged"] += 1
        else:
            outcome.counts["new" if found is None else "updated"] += 1
            plans.append(_Planned(number, ent, certs, manual, old_certs, old_manual, changes, found is None,
                                  clean=clean if found else None))
        if progress and index % PROGRESS_EVERY == 0:
            progress("比对", index, len(checked))
    return plans


# ------------------------------------------------------------------ file → register
def report_rows(outcome, table: Table | None = None, limit: int = MAX_REPORTED) -> list[dict[str, Any]]:
    """The per-row report: ``[{row, column, reason}]`` sorted by row, at most ``limit`` entries."""
    problems = sorted(outcome.problems, key=lambda p: p.row)[:limit]
    column = table.column_of if table else (lambda f: HEADERS.get(f, f))
    return [{"row": p.row, "column": column(p.field), "reason": p.reason} for p in problems]


def import_file(actor, source, filename: str | None = None, *, dry_run: bool = False, accept_valid: bool = False,
                progress=None):
    """Read, validate and (unless ``dry_run`` or rows are invalid) import a file; returns (table, outcome)."""
    from yingshang.enterprises.actions import do_import_enterprises

    table = open_table(source, filename)
    outcome = do_import_enterprises(actor, table.rows(), accept_valid=accept_valid, dry_run=dry_run,
                                    progress=progress, total=table.total, filename=table.filename)
    return table, outcome
