"""Fixtures for the enterprise-register tests: a context for the validator, file builders."""
from __future__ import annotations

import csv
import io


import itertools

from yingshang.enterprises.uscc import make_uscc

# tests.factories.fresh_uscc truncates its serial to the same 8 characters for 100 calls in a row, so
# this package makes its own unique codes.
_serial = itertools.count(200000)


def fresh_uscc(region: str = "411602") -> str:
    """A valid USCC not used elsewhere in the test run."""
    return make_uscc("9", "1", region, f"MA{next(_serial):06d}")


def xlsx_bytes(rows: list[list], headers: list[str]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list], headers: list[str], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(headers)
    w.writerows(rows)
    return out.getvalue().encode(encoding)


BASIC_HEADERS = ["统一社会信用代码", "企业名称", "所在区划代码", "行业代码", "成立日期", "从业人员(人)",
                 "营业收入(万元)", "资产总额(万元)", "研发费用(万元)", "纳税信用等级", "资质", "数据来源", "数据日期"]


def basic_row(uscc=None, name="周口示例制造有限公司", region="411602", industry="3311", **kw) -> list:
    values = {"成立日期": "2018-05-20", "从业人员(人)": 120, "营业收入(万元)": 5000, "资产总额(万元)": 3000,
              "研发费用(万元)": 200, "纳税信用等级": "A", "资质": "高新技术企业", "数据来源": "统计局年报",
              "数据日期": "2024-12-31"}
    values.update(kw)
    return [uscc or fresh_uscc(), name, region, industry] + [values[h] for h in BASIC_HEADERS[4:]]


def api_headers(user) -> dict:
    """Request headers with a fresh bearer token of ``user``."""
    from yingshang.core import actions as core_actions

    return {"HTTP_AUTHORIZATION": f"Bearer {core_actions.do_issue_token(None, user)}"}
