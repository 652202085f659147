"""GB/T 4754-2017 industry codes: the shipped table and code resolution. Pure Python."""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "gbt4754_2017.csv"
_CODE = re.compile(r"^(?:[A-T]|\d{2,4})$")


@dataclass(frozen=True)
class IndustryEntry:
    code: str
    name: str
    level: str
    parent: str


@lru_cache(maxsize=1)
def table() -> dict[str, IndustryEntry]:
    """Every shipped code (20 sections, 97 divisions, the real-estate groups and classes)."""
    with DATA.open(encoding="utf-8") as fh:
        return {r["code"]: IndustryEntry(r["code"], r["name"], r["level"], r["parent"]) for r in csv.DictReader(fh)}


@lru_cache(maxsize=1)
def division_sections() -> dict[str, str]:
    return {e.code: e.parent for e in table().values() if e.level == "division"}


class IndustryError(ValueError):
    pass


def resolve(code: str) -> tuple[str, str, str]:
    """``(normalised code, section, division)`` for a section, division, group or class code.

    Group and class codes are accepted when they lie under a known division."""
    code = (code or "").strip().upper()
    if not _CODE.match(code):
        raise IndustryError(f"行业代码“{code}”格式不正确,应为门类字母(A–T)或2–4位数字代码")
    if code.isalpha():
        return code, code, ""
    section = division_sections().get(code[:2])
    if section is None:
        raise IndustryError(f"行业代码“{code}”的大类“{code[:2]}”不在《国民经济行业分类》(GB/T 4754-2017)中")
    known = table().get(code[:3]) if len(code) >= 3 else None
    if code[:2] == "70" and len(code) >= 3 and known is None:
        raise IndustryError(f"行业代码“{code}”的中类“{code[:3]}”不在 GB/T 4754-2017 房地产业中")
    return code, section, code[:2]


def label(code: str) -> str:
    """Human name of a code: the exact entry if shipped, else its division's name."""
    entries = table()
    entry = entries.get(code) or entries.get(code[:3]) or entries.get(code[:2])
    return f"{code} {entry.name}" if entry else code
