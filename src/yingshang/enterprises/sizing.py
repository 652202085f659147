"""Enterprise size per 统计上大中小微型企业划分办法(2017) (国统字〔2017〕213号). Pure Python.

X = employees (人), Y = operating revenue (万元), Z = total assets (万元). Each listed indicator
places the enterprise in a tier by its lower bounds (inclusive); the size is the lowest tier any
listed indicator reaches. A missing indicator makes the size unknown unless a known indicator
already reaches 微 (微 needs only one indicator below the 小 bound).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

LARGE, MEDIUM, SMALL, MICRO = "large", "medium", "small", "micro"
TIERS = (LARGE, MEDIUM, SMALL, MICRO)
SIZE_LABELS = {LARGE: "大型", MEDIUM: "中型", SMALL: "小型", MICRO: "微型"}
INDICATOR_LABELS = {"X": "从业人员", "Y": "营业收入", "Z": "资产总额"}


@dataclass(frozen=True)
class SizeRow:
    name: str
    bounds: dict[str, tuple[int, int, int]]  # indicator → lower bounds of (大, 中, 小)


ROWS = {
    "agriculture": SizeRow("农、林、牧、渔业", {"Y": (20000, 500, 50)}),
    "industry": SizeRow("工业", {"X": (1000, 300, 20), "Y": (40000, 2000, 300)}),
    "construction": SizeRow("建筑业", {"Y": (80000, 6000, 300), "Z": (80000, 5000, 300)}),
    "wholesale": SizeRow("批发业", {"X": (200, 20, 5), "Y": (40000, 5000, 1000)}),
    "retail": SizeRow("零售业", {"X": (300, 50, 10), "Y": (20000, 500, 100)}),
    "transport": SizeRow("交通运输业", {"X": (1000, 300, 20), "Y": (30000, 3000, 200)}),
    "warehousing": SizeRow("仓储业", {"X": (200, 100, 20), "Y": (30000, 1000, 100)}),
    "postal": SizeRow("邮政业", {"X": (1000, 300, 20), "Y": (30000, 2000, 100)}),
    "accommodation_catering": SizeRow("住宿业、餐饮业", {"X": (300, 100, 10), "Y": (10000, 2000, 100)}),
    "telecom": SizeRow("信息传输业", {"X": (2000, 100, 10), "Y": (100000, 1000, 100)}),
    "software": SizeRow("软件和信息技术服务业", {"X": (300, 100, 10), "Y": (10000, 1000, 50)}),
    "real_estate_development": SizeRow("房地产开发经营", {"Y": (200000, 1000, 100), "Z": (10000, 5000, 2000)}),
    "property_management": SizeRow("物业管理", {"X": (1000, 300, 100), "Y": (5000, 1000, 500)}),
    "leasing_business": SizeRow("租赁和商务服务业", {"X": (300, 100, 10), "Z": (120000, 8000, 100)}),
    "other": SizeRow("其他未列明行业", {"X": (300, 100, 10)}),
}

# The standard covers 15 sections (A–I, K–O, R) and division 85 社会工作 (办法第二条: "15个行业门类以及
# 社会工作行业大类"). Outside it: 金融业 (J, own standard), 教育 (P), 卫生 (84), 公共管理 (S), 国际组织
# (T), and within covered sections 铁路运输业 (53) and 自有房地产经营活动 (704). Size is not determined.
_OUT_OF_SCOPE_SECTIONS = {"J", "P", "S", "T"}
_OUT_OF_SCOPE_PREFIXES = ("53", "704", "84")
# Sections whose divisions fall under different rows of the table (批发/零售, 交通/仓储/邮政 …) or only
# partly inside the standard (Q: 85 社会工作 in, 84 卫生 out): a bare section letter cannot decide.
_SPLIT_SECTIONS = {"F", "G", "H", "I", "K", "Q"}


def size_row(section: str, code: str) -> str | None:
    """The size-table row for a GB/T 4754 code: ``section`` letter and numeric ``code`` ('' if none)."""
    if section in _OUT_OF_SCOPE_SECTIONS or code.startswith(_OUT_OF_SCOPE_PREFIXES):
        return None
    if section == "A":
        return "agriculture"
    if section in {"B", "C", "D"}:
        return "industry"
    if section == "E":
        return "construction"
    if section == "L":
        return "leasing_business"
    if not code:
        # A bare section letter decides the row only where the section has a single row.
        return None if section in _SPLIT_SECTIONS else "other"
    return _row_by_division(code)


def _row_by_division(code: str) -> str | None:
    division = code[:2]
    by_division = {"51": "wholesale", "52": "retail", "59": "warehousing", "60": "postal",
                   "61": "accommodation_catering", "62": "accommodation_catering",
                   "63": "telecom", "64": "telecom", "65": "software"}
    if division in by_division:
        return by_division[division]
    if "54" <= division <= "58":
        return "transport"
    if code.startswith("701"):
        return "real_estate_development"
    if code.startswith("702"):
        return "property_management"
    if division == "70" and len(code) == 2:
        return None  # 房地产业 without a group: the standard's rows differ by group, cannot decide
    return "other"


def _tier(value: Decimal | int, bounds: tuple[int, int, int]) -> int:
    """0 = 大, 1 = 中, 2 = 小, 3 = 微."""
    for index, bound in enumerate(bounds):
        if value >= bound:
            return index
    return 3


def classify(row: str | None, values: dict[str, Decimal | int | None]) -> str | None:
    """Size of an enterprise governed by ``row`` with indicator ``values`` (X, Y, Z); None = unknown."""
    if row is None:
        return None
    known, missing = [], False
    for indicator, bounds in ROWS[row].bounds.items():
        value = values.get(indicator)
        if value is None:
            missing = True
        else:
            known.append(_tier(value, bounds))
    worst = max(known, default=None)
    if worst == 3:
        return MICRO
    if missing or worst is None:
        return None
    return TIERS[worst]


def classify_enterprise(section: str, code: str, employees, revenue, assets) -> str | None:
    """Size for an enterprise given its industry and X/Y/Z figures (None when undetermined)."""
    return classify(size_row(section, code), {"X": employees, "Y": revenue, "Z": assets})


def explain(row: str | None) -> str:
    """A Chinese sentence naming the table row and its indicators, for the enterprise page."""
    if row is None:
        return "该行业不在《统计上大中小微型企业划分办法(2017)》适用范围内或行业代码不够细,规模无法判定"
    spec = ROWS[row]
    parts = [f"{INDICATOR_LABELS[k]} 大≥{b[0]}、中≥{b[1]}、小≥{b[2]}" for k, b in spec.bounds.items()]
    return f"按“{spec.name}”划分:" + ";".join(parts) + "(从业人员单位:人;金额单位:万元)"
