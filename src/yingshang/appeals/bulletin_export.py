"""The 通报 draft as a page context, an XLSX workbook (a sheet per section) and an A4 PDF (WeasyPrint);
``do_export_bulletin`` is the audited export action the page and the API call."""
from __future__ import annotations

import io
from typing import NamedTuple
from urllib.parse import quote

from django.db import transaction
from django.template.loader import render_to_string

from yingshang.appeals.bulletin import COMPOSITE_TEXT, PRAISE_TEXT, Bulletin, RankedUnit, bulletin_for
from yingshang.appeals.kpi_report import pct
from yingshang.core import audit
from yingshang.core.errors import ValidationFailed
from yingshang.core.models import AuditAction

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_TEMPLATE = "appeals/kpis/bulletin_pdf.html"
UNRANKED = "不参与排名(样本不足)"


class Export(NamedTuple):
    filename: str
    content_type: str
    content: bytes


# ---------------------------------------------------------------- rows shared by the page, the PDF and the XLSX
def unit_row(u: RankedUnit) -> dict:
    """One department of the ranking with its rates in per cent."""
    return {"rank": u.rank, "key": u.key, "label": u.label, "score": u.score, "rounds": u.rounds,
            "on_time_pct": pct(u.on_time), "on_time": u.on_time, "satisfied_pct": pct(u.satisfied),
            "satisfied": u.satisfied}


def context(b: Bulletin) -> dict:
    """Template context of the draft (the HTML page and the PDF render the same body)."""
    praised = {u.key for u in b.praised}
    return {"b": b, "headline": b.headline, "composite_text": COMPOSITE_TEXT, "praise_rule": PRAISE_TEXT,
            "ranking": [{**unit_row(u), "praised": u.key in praised} for u in b.ranking],
            "unranked": [unit_row(u) for u in b.unranked], "praised": [unit_row(u) for u in b.praised]}


# ---------------------------------------------------------------- XLSX
def _sheet(book, title: str, headers: list[str], rows: list[list], widths: list[int], formats: dict | None = None):
    """A sheet with a bold, frozen header row, set column widths and per-column number formats."""
    from openpyxl.styles import Alignment, Font

    sheet = book.create_sheet(title)
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
    for column, fmt in (formats or {}).items():
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = fmt
    for (cell,) in sheet.iter_rows(min_row=2, min_col=2, max_col=2):
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    return sheet


def _rate(ratio) -> float | None:
    return ratio.rate


def _count(ratio) -> str:
    return f"{ratio.numerator:g}/{ratio.denominator}"


def _ranking_rows(b: Bulletin) -> list[list]:
    rows = [[u.rank, u.label, u.score, _rate(u.on_time), _count(u.on_time), _rate(u.satisfied), _count(u.satisfied)]
            for u in b.ranking]
    return rows + [[UNRANKED, u.label, u.score, _rate(u.on_time), _count(u.on_time), _rate(u.satisfied),
                    _count(u.satisfied)] for u in b.unranked]


def _late_rows(cases, with_reply: bool) -> list[list]:
    return [[c.number, c.round, c.title, c.department, c.due_date, *([c.replied_on] if with_reply else []),
             c.overdue_workdays]
            for c in cases]


DATE, PERCENT = "yyyy-mm-dd", "0.0%"


def _overview_sheets(book, b: Bulletin) -> None:
    """总体情况 (title, summary, rules, headline figures), 单位排名 and 表扬."""
    stamp = b.cutoff.strftime("%Y-%m-%d %H:%M") + (" (本月尚未结束,数据为临时数据)" if b.provisional else "")
    overview = [["标题", b.title], ["概述", b.summary], ["排名规则", COMPOSITE_TEXT], ["表扬规则", PRAISE_TEXT],
                ["数据截至", stamp]]
    _sheet(book, "总体情况", ["项目", "内容"], overview + [list(r) for r in b.headline], [24, 90])
    _sheet(book, "单位排名", ["名次", "单位", "综合得分", "按期办结率", "按期办结/应办结", "满意率", "满意/评价"],
           _ranking_rows(b), [22, 36, 10, 12, 16, 10, 12], {4: PERCENT, 6: PERCENT})
    _sheet(book, "表扬", ["名次", "单位", "综合得分", "按期办结率", "满意率"],
           [[u.rank, u.label, u.score, _rate(u.on_time), _rate(u.satisfied)] for u in b.praised],
           [8, 36, 10, 12, 10], {4: PERCENT, 5: PERCENT})


def _criticism_sheets(book, b: Bulletin) -> None:
    """超期未办结, 逾期答复, 不满意诉求 and 督办约谈: one row per case (number and title only)."""
    _sheet(book, "超期未办结", ["编号", "轮次", "标题", "主办单位", "办理期限", "超期工作日"],
           _late_rows(b.open_overdue, False), [20, 6, 48, 30, 12, 12], {5: DATE})
    _sheet(book, "逾期答复", ["编号", "轮次", "标题", "主办单位", "办理期限", "答复日期", "超期工作日"],
           _late_rows(b.late_replies, True), [20, 6, 48, 30, 12, 12, 12], {5: DATE, 6: DATE})
    _sheet(book, "不满意诉求", ["编号", "标题", "承办单位", "评价日期", "企业认为已解决"],
           [[c.number, c.title, c.department, c.rated_on, "是" if c.resolved else "否"] for c in b.unsatisfied],
           [20, 48, 30, 12, 14], {4: DATE})
    _sheet(book, "督办约谈", ["编号", "标题", "单位", "级别", "启动日期"],
           [[e.number, e.title, e.department, e.level_label, e.fired_on] for e in b.escalations],
           [20, 48, 30, 12, 12], {5: DATE})


def to_xlsx(b: Bulletin) -> bytes:
    """The draft as a workbook: 总体情况, 单位排名, 表扬, 超期未办结, 逾期答复, 不满意诉求, 督办约谈."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    _overview_sheets(book, b)
    _criticism_sheets(book, b)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- PDF
def to_pdf(b: Bulletin) -> bytes:
    """The draft as an A4 PDF with page numbers (Noto CJK fonts)."""
    from weasyprint import HTML  # heavy: loaded only when a PDF is asked for

    html = render_to_string(PDF_TEMPLATE, context(b))
    return HTML(string=html).write_pdf()


# ---------------------------------------------------------------- the audited export
FORMATS = {"xlsx": (XLSX_TYPE, to_xlsx), "pdf": ("application/pdf", to_pdf)}


def do_export_bulletin(user, period: str, fmt: str) -> Export:
    """Build the reader's 通报 draft of ``period`` as ``fmt`` (xlsx or pdf) and audit the export."""
    if fmt not in FORMATS:
        raise ValidationFailed(f"导出格式「{str(fmt)[:10]}」无效", fields={"format": "可选 xlsx 或 pdf"})
    b = bulletin_for(user, period)
    content_type, render = FORMATS[fmt]
    content = render(b)
    with transaction.atomic():
        audit.record(user, AuditAction.EXPORT, None, object_type="appeals.bulletin",
                     object_id=f"{b.prefix or '*'}:{b.period}", object_repr=b.title,
                     changes={"format": fmt, "period": b.period, "scope": b.prefix}, reason=f"导出通报({fmt.upper()})")
    return Export(f"{b.title}.{fmt}", content_type, content)


def disposition(export: Export) -> str:
    """Content-Disposition with an ASCII fallback and the Chinese file name (RFC 6266 / 5987)."""
    fallback = f"bulletin.{export.filename.rsplit('.', 1)[-1]}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(export.filename)}"


__all__ = ["Export", "context", "to_xlsx", "to_pdf", "do_export_bulletin", "disposition"]
