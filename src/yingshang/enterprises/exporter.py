"""XLSX export of the register (same columns as the import, so an export re-imports unchanged) and the
downloadable import template."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from django.db.models import QuerySet

from yingshang.enterprises import certificates
from yingshang.enterprises.models import (FIGURE_FIELDS, Certification, CertificationKind, Enterprise, EnterpriseTag,
                                          EnterpriseStatus, LegalForm, TagKind, TaxpayerKind)
from yingshang.enterprises.uscc import make_uscc
from yingshang.enterprises.models import PERSONAL_FIELDS
from yingshang.enterprises.validation import HEADERS

SHEET = "企业档案"
# Import columns in template order; personal columns only when asked for.
COLUMNS = [f for f in HEADERS]
READ_ONLY = {"size": "企业规模(自动计算)", "computed_tags": "计算标签(自动计算)"}
TEXT_COLUMNS = {"uscc", "region_code", "industry_code", "contact_phone"}  # keep leading zeros and 18 digits
_CERT_NAMES = {k: str(v) for k, v in CertificationKind.choices}
_FORM_NAMES = {k: str(v) for k, v in LegalForm.choices}
_STATUS_NAMES = {k: str(v) for k, v in EnterpriseStatus.choices}
_TAXPAYER_NAMES = {k: str(v) for k, v in TaxpayerKind.choices}
_SIZE_NAMES = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}


def export_columns(include_personal: bool) -> list[str]:
    return [c for c in COLUMNS if include_personal or c not in PERSONAL_FIELDS]


def _number(value: Decimal | None) -> Any:
    if value is None:
        return None
    # Exact text would be safest, but numbers are what users sum in Excel; 4 decimals survive a float.
    return int(value) if value == value.to_integral_value() else float(value)


def _shared_source(sources: dict) -> tuple[str, str]:
    """The row's 数据来源/数据日期: the value shared by its figures (the latest one when they differ)."""
    entries = [e for e in (sources or {}).values() if isinstance(e, dict)]
    if not entries:
        return "", ""
    latest = max(entries, key=lambda e: e.get("as_of") or "")
    return latest.get("source") or "", latest.get("as_of") or ""


def row_values(ent: Enterprise, certs: list[certificates.CertEntry], manual: list[str], computed: list[str],
               columns: list[str]) -> list[Any]:
    source, as_of = _shared_source(ent.figure_sources)
    value = {
        "uscc": ent.uscc, "name": ent.name, "legal_form": _FORM_NAMES.get(ent.legal_form, ent.legal_form),
        "status": _STATUS_NAMES.get(ent.status, ent.status), "region_code": ent.region_id,
        "industry_code": ent.industry_code, "established_on": ent.established_on,
        "registered_capital": _number(ent.registered_capital), "employees": ent.employees,
        "operating_revenue": _number(ent.operating_revenue), "total_assets": _number(ent.total_assets),
        "rd_expense": _number(ent.rd_expense), "taxable_income": _number(ent.taxable_income),
        "tax_credit_rating": ent.tax_credit_rating or None,
        "taxpayer_kind": _TAXPAYER_NAMES.get(ent.taxpayer_kind) if ent.taxpayer_kind else None,
        "certifications": "、".join(certificates.tokens({c.kind: c for c in certs}, names=True)) or None,
        "tags": "、".join(sorted(manual)) or None, "source": source or None, "as_of": as_of or None,
    }
    out = [value[c] if c in value else (getattr(ent, c) or None) for c in columns]
    return out + [_SIZE_NAMES.get(ent.size or "", ""), "、".join(sorted(computed))]


def _chunks(qs: QuerySet, size: int = 2000) -> Iterator[list[Enterprise]]:
    """Keyset pages by id (descending, the register's order) — no OFFSET over a million rows."""
    last = None
    while True:
        page = qs.order_by("-id")
        if last is not None:
            page = page.filter(id__lt=last)
        batch = list(page[:size])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


def _links(ids: list[int]) -> tuple[dict, dict, dict]:
    certs: dict[int, list] = {}
    rows = Certification.objects.filter(enterprise_id__in=ids).values_list("enterprise_id", "kind", "certificate_no",
                                                                          "valid_from", "valid_to")
    for eid, kind, number, start, end in rows:
        certs.setdefault(eid, []).append(certificates.CertEntry(kind, number or "", start, end))
    manual: dict[int, list] = {}
    computed: dict[int, list] = {}
    rows = EnterpriseTag.objects.filter(enterprise_id__in=ids).values_list("enterprise_id", "tag__name",
                                                                           "tag__code", "tag__kind")
    for eid, name, code, kind in rows:
        (manual if kind == TagKind.MANUAL else computed).setdefault(eid, []).append(code if kind == TagKind.MANUAL
                                                                                    else name)
    return certs, manual, computed


def export_enterprises(qs: QuerySet, target: str | Path | BinaryIO, *, include_personal: bool = False,
                       progress=None) -> int:
    """Write the enterprises of ``qs`` to an XLSX file; returns the number of rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET)
    columns = export_columns(include_personal)
    bold = Font(bold=True)
    titles = [HEADERS[c] for c in columns] + list(READ_ONLY.values())
    sheet.append([_styled(WriteOnlyCell(sheet, value=t), font=bold) for t in titles])
    text_at = {i for i, c in enumerate(columns) if c in TEXT_COLUMNS}
    count = 0
    for batch in _chunks(qs):
        certs, manual, computed = _links([e.pk for e in batch])
        for ent in batch:
            values = row_values(ent, certs.get(ent.pk, []), manual.get(ent.pk, []), computed.get(ent.pk, []), columns)
            sheet.append([_text_cell(sheet, v) if i in text_at else v for i, v in enumerate(values)])
        count += len(batch)
        if progress:
            progress("导出", count, count)
    book.save(target)
    return count


def _styled(cell, **style):
    for key, value in style.items():
        setattr(cell, key, value)
    return cell


def _text_cell(sheet, value):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = "@"
    return cell


# ------------------------------------------------------------------ the import template
EXPLANATIONS = {
    "uscc": ("必填", "18位统一社会信用代码(GB 32100-2015),请设为文本格式,否则 Excel 会丢失末几位"),
    "name": ("新建时必填", "企业登记名称,最多200字"),
    "legal_form": ("选填", "可填: " + "、".join(_FORM_NAMES.values()) + ";默认 有限责任公司"),
    "status": ("选填", "可填: " + "、".join(_STATUS_NAMES.values()) + ";默认 存续"),
    "region_code": ("新建时必填", "所在县区(6位)或乡镇街道(9位)行政区划代码,须为平台已有且在您的管辖范围内"),
    "industry_code": ("新建时必填", "GB/T 4754-2017 行业代码:门类字母(A–T)、大类(2位)、中类(3位)或小类(4位)"),
    "established_on": ("选填", "YYYY-MM-DD;不能晚于今天,不能早于1949-10-01"),
    "registered_capital": ("选填", "万元,≥0,最多4位小数"),
    "employees": ("选填", "人,整数,≥0;用于划分企业规模"),
    "operating_revenue": ("选填", "万元,≥0,最多4位小数;用于划分企业规模"),
    "total_assets": ("选填", "万元,≥0,最多4位小数;用于划分企业规模"),
    "rd_expense": ("选填", "万元,≥0,最多4位小数;不能大于营业收入"),
    "taxable_income": ("选填", "上一纳税年度企业所得税年度申报的应纳税所得额,万元,≥0(亏损填0),最多4位小数;"
                              "用于判断小型微利企业等政策(年应纳税所得额不超过300万元)"),
    "tax_credit_rating": ("选填", "A、B、M、C、D 之一"),
    "taxpayer_kind": ("选填", "增值税纳税人类型:一般纳税人 或 小规模纳税人(也可填 general / small_scale)"),
    "certifications": ("选填", "资质认定,多个用“、”分隔;每项写作 类别[:有效期起~有效期止][:证书编号],如 "
                              "“高新技术企业:2024-01-01~2026-12-31:GR202441000123”。类别可填: "
                              + "、".join(_CERT_NAMES.values()) + "。起止日期可只填一端(“2024-01-01~”表示长期有效);"
                              "只写类别则保留已登记的证书编号和有效期;未列出的资质将被删除;填“无”表示清空。"
                              "政策按“评估日在有效期内”判断是否持有资质"),
    "tags": ("选填", "人工标签的代码或名称,多个用“、”分隔;填“无”表示清空。规则计算的标签自动生成,不必填写"),
    "source": ("选填", "本行各项数据的来源,如 统计局年报、税务、企业自报"),
    "as_of": ("选填", "本行数据的截止日期 YYYY-MM-DD,不能晚于今天"),
    "legal_representative": ("选填", "个人信息:仅授权人员可查看,查看会被记录"),
    "contact_name": ("选填", "个人信息:仅授权人员可查看,查看会被记录"),
    "contact_phone": ("选填", "11位手机号(1[3-9]开头)或固定电话(如 0394-8888888)"),
    "address": ("选填", "住所,最多200字"),
    "business_scope": ("选填", "经营范围"),
}
EXAMPLE = {"uscc": make_uscc("9", "1", "411602", "MA000000"), "name": "示例科技有限公司(示例行,导入前请删除)",
           "legal_form": "有限责任公司", "status": "存续", "region_code": "411602", "industry_code": "6513",
           "established_on": dt.date(2015, 6, 1), "registered_capital": 500, "employees": 45,
           "operating_revenue": 1200.5, "total_assets": 860, "rd_expense": 96, "taxable_income": 85.5,
           "tax_credit_rating": "A", "taxpayer_kind": "一般纳税人",
           "certifications": "高新技术企业:2024-01-01~2026-12-31:GR202441000123、科技型中小企业",
           "tags": None, "source": "统计局年报",
           "as_of": "2024-12-31", "legal_representative": "张三", "contact_name": "李四",
           "contact_phone": "0394-8888888", "address": "周口市川汇区示例路1号", "business_scope": "软件开发"}


def write_template(target: str | Path | BinaryIO) -> None:
    """The import template: header row, one example row, and a sheet explaining each column."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append([HEADERS[c] for c in COLUMNS])
    sheet.append([EXAMPLE.get(c) for c in COLUMNS])
    for index, name in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = max(12, len(HEADERS[name]) * 2 + 2)
        if name in TEXT_COLUMNS:
            for row in range(2, 1002):  # text format so codes keep every digit
                sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "说明"])
    for name in COLUMNS:
        notes.append([HEADERS[name], *EXPLANATIONS[name]])
    notes.append([])
    notes.append(["说明", "", "按统一社会信用代码新增或更新;已登记企业的空白单元格表示“不修改”。"
                              "有错误的文件整体不导入,可在预览后选择“仅导入有效行”。"])
    notes.column_dimensions["A"].width, notes.column_dimensions["C"].width = 18, 90
    book.save(target)


assert set(EXPLANATIONS) == set(COLUMNS), "every template column needs an explanation"
assert set(FIGURE_FIELDS) <= set(COLUMNS)
