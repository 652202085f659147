"""Reading a holiday notice from a file (JSON or CSV) into a ``NoticeInput``; errors name the line/field.

JSON: ``{"year", "title", "document_number", "published_on", "holidays": [{"name", "start", "end"}],
"workdays": [{"date", "name"}]}``. CSV: header ``date,type,name``, type 休 (holiday) or 班 (adjusted
working day); consecutive 休 days with the same name become one holiday range.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

from yingshang.core.errors import ValidationFailed, shorten
from yingshang.workcal.actions import NoticeInput

MAX_FILE_BYTES = 1024 * 1024
HOLIDAY_MARKS = {"休", "假", "holiday"}
WORKDAY_MARKS = {"班", "work", "workday"}


def parse_date(value, where: str) -> dt.date:
    """An ISO date, or ValidationFailed naming ``where``."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(f"{where}: “{shorten(str(value))}”不是有效日期,应为 YYYY-MM-DD", fields={where: "日期格式不正确"})


def _decode(data: bytes, name: str) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed(f"文件 {name} 超过 1 MB,节假日通知文件不应这么大", fields={"file": "文件过大"})
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed(f"文件 {name} 无法按 UTF-8 或 GB18030 解码", fields={"file": "编码无法识别"})


def _field(obj: dict, key: str, where: str, required: bool = True):
    value = obj.get(key)
    if required and (value is None or str(value).strip() == ""):
        raise ValidationFailed(f"{where}.{key}: 缺少必填字段“{key}”", fields={f"{where}.{key}": "必填"})
    return value


def parse_json(text: str) -> NoticeInput:
    """A notice from the JSON format."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"JSON 格式错误: 第 {exc.lineno} 行第 {exc.colno} 列附近 ({exc.msg})",
                               fields={"file": f"第 {exc.lineno} 行 JSON 格式错误"})
    if not isinstance(obj, dict):
        raise ValidationFailed("JSON 顶层应为对象 {…}", fields={"file": "顶层应为对象"})
    year = _field(obj, "year", "通知")
    if not isinstance(year, int) or isinstance(year, bool):
        raise ValidationFailed(f"通知.year: “{year}”应为整数年份", fields={"year": "应为整数"})
    published = obj.get("published_on")
    notice = NoticeInput(year=year, title=str(_field(obj, "title", "通知")),
                         document_number=str(obj.get("document_number") or ""),
                         published_on=parse_date(published, "published_on") if published else None)
    for key in ("holidays", "workdays"):
        if not isinstance(obj.get(key, []), list):
            raise ValidationFailed(f"{key}: 应为列表 […]", fields={key: "应为列表"})
    for i, h in enumerate(obj.get("holidays", [])):
        where = f"holidays[{i}]"
        if not isinstance(h, dict):
            raise ValidationFailed(f"{where}: 应为对象 {{name, start, end}}", fields={where: "应为对象"})
        notice.holidays.append((parse_date(_field(h, "start", where), f"{where}.start"),
                                parse_date(_field(h, "end", where), f"{where}.end"), str(_field(h, "name", where))))
    for i, w in enumerate(obj.get("workdays", [])):
        where = f"workdays[{i}]"
        if not isinstance(w, dict):
            raise ValidationFailed(f"{where}: 应为对象 {{date, name}}", fields={where: "应为对象"})
        notice.workdays.append((parse_date(_field(w, "date", where), f"{where}.date"), str(w.get("name") or "")))
    return notice


def parse_csv(text: str, *, title: str = "", document_number: str = "",
              published_on: dt.date | None = None) -> NoticeInput:
    """A notice from ``date,type,name`` rows; the year is that of the dates (one year per file)."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip().lower() for c in rows[0][:3]] != ["date", "type", "name"]:
        raise ValidationFailed("CSV 第 1 行应为表头 date,type,name", fields={"file": "缺少表头 date,type,name"})
    holidays: dict[dt.date, str] = {}
    workdays: list[tuple[dt.date, str]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) < 2:
            raise ValidationFailed(f"CSV 第 {line} 行: 至少需要 date 和 type 两列", fields={f"line {line}": "列数不足"})
        day = parse_date(row[0], f"CSV 第 {line} 行 date 列")
        mark, name = row[1].strip(), (row[2].strip() if len(row) > 2 else "")
        if mark in HOLIDAY_MARKS:
            if not name:
                raise ValidationFailed(f"CSV 第 {line} 行: 放假日期 {day} 缺少节日名称(name 列)",
                                       fields={f"line {line}": "缺少节日名称"})
            if day in holidays:
                raise ValidationFailed(f"CSV 第 {line} 行: 日期 {day} 重复", fields={f"line {line}": "日期重复"})
            holidays[day] = name
        elif mark in WORKDAY_MARKS:
            workdays.append((day, name))
        else:
            raise ValidationFailed(f"CSV 第 {line} 行 type 列: “{mark}”应为“休”或“班”",
                                   fields={f"line {line}": "type 应为 休 或 班"})
    return NoticeInput(year=_csv_year(holidays, workdays), title=title, document_number=document_number,
                       published_on=published_on, holidays=_ranges(holidays), workdays=workdays)


def _csv_year(holidays: dict, workdays: list) -> int:
    years = {d.year for d in holidays} | {d.year for d, _ in workdays}
    if not holidays:
        raise ValidationFailed("CSV 中没有任何放假(休)日期", fields={"file": "没有放假日期"})
    # A notice may reach into the previous December; its year is the latest year named.
    return max(years)


def _ranges(days: dict[dt.date, str]) -> list[tuple[dt.date, dt.date, str]]:
    from yingshang.workcal.seed import holiday_ranges

    return holiday_ranges(days)


def parse_notice_file(name: str, data: bytes, **csv_meta) -> NoticeInput:
    """Dispatch on the file extension (.json or .csv)."""
    suffix = Path(name).suffix.lower()
    if suffix not in (".json", ".csv"):
        raise ValidationFailed(f"不支持的文件类型“{suffix or name}”:请上传 .json 或 .csv 文件", fields={"file": "文件类型不支持"})
    text = _decode(data, name)
    notice = parse_json(text) if suffix == ".json" else parse_csv(text, **csv_meta)
    if not notice.title:
        notice.title = f"国务院办公厅关于{notice.year}年部分节假日安排的通知"
    return notice
