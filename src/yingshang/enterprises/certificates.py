"""Certifications with their certificate number and validity, as written in a 资质 cell or sent by the API.

Cell syntax, one entry per certification, entries separated by “、” (or , ; and spaces)::

    类别[:有效期起~有效期止][:证书编号]

``类别`` is the Chinese name or the code (``高新技术企业`` / ``high_tech``); either date of the range may
be left out (``2024-01-01~`` = no end date, ``~2026-12-31`` = start unknown); the colon may be full-width.
Examples: ``高新技术企业:2024-01-01~2026-12-31:GR202441000123``, ``科技型中小企业``.
An entry without details keeps the number and dates already on record (the old plain list still works);
an entry with a range sets both dates, an entry with a number sets the number.

The API and the edit form send objects instead: ``{"kind": …, "certificate_no": …, "valid_from": …,
"valid_to": …}``; a key left out keeps the value on record, an empty one clears it.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from yingshang.enterprises.models import CertificationKind

NAMES = {k: str(v) for k, v in CertificationKind.choices}
DETAIL_KEYS = ("certificate_no", "valid_from", "valid_to")
_COLON = re.compile(r"\s*[::]\s*")
_RANGE = re.compile(r"\s*[~~至]\s*")
_CERT_NO = re.compile(r"^[0-9A-Za-z\-_/()()\[\]【】〔〕第号\u4e00-\u9fff]{1,64}$")


@dataclass(frozen=True)
class CertEntry:
    """A certification as stored: kind, certificate number, validity (None = not recorded / no end)."""

    kind: str
    certificate_no: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def token(self, *, names: bool = False) -> str:
        """The cell text of this entry (codes by default, Chinese names with ``names``)."""
        parts = [NAMES.get(self.kind, self.kind) if names else self.kind]
        if self.valid_from or self.valid_to:
            parts.append(f"{_iso(self.valid_from)}~{_iso(self.valid_to)}")
        if self.certificate_no:
            parts.append(self.certificate_no)
        return ":".join(parts)

    def valid_on(self, day: dt.date) -> bool:
        """Held and valid on ``day`` (a missing date does not limit validity)."""
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class CertPatch:
    """One requested certification: its kind and the details given (absent keys keep what is on record)."""

    kind: str
    changes: dict[str, Any] = field(default_factory=dict)

    def apply(self, old: CertEntry | None) -> CertEntry:
        return replace(old or CertEntry(self.kind), **self.changes)


def _iso(day: dt.date | None) -> str:
    return day.isoformat() if day else ""


def split_cell(text: str) -> list[str]:
    """The entries of a 资质 cell; spaces around “:” and “~” do not split an entry."""
    text = _RANGE.sub("~", _COLON.sub(":", text))
    return [p for p in re.split(r"[、,,;;\s]+", text) if p]


def parse_entry(text: str, kind_of, parse_day) -> CertPatch:
    """One cell entry → CertPatch; ``kind_of``/``parse_day`` raise the validator's Invalid."""
    head, *details = text.split(":")
    kind = kind_of(head)
    changes: dict[str, Any] = {}
    for part in details:
        if "~" in part:
            if "valid_from" in changes:
                raise ValueError(f"资质“{head}”写了两个有效期")
            start, _, end = part.partition("~")
            changes["valid_from"] = parse_day(start) if start else None
            changes["valid_to"] = parse_day(end) if end else None
        elif part:
            if "certificate_no" in changes:
                raise ValueError(f"资质“{head}”写了两个证书编号(有效期请用“~”连接起止日期)")
            changes["certificate_no"] = check_number(part)
    return CertPatch(kind, changes)


def check_number(text: str) -> str:
    if len(text) > 64:
        raise ValueError(f"证书编号过长({len(text)}字),最多64字")
    if not _CERT_NO.match(text):
        raise ValueError(f"证书编号“{text[:40]}”含有不允许的字符")
    return text


def check_range(patch: CertPatch) -> None:
    """Raise ValueError when the given start date is after the given end date."""
    start, end = patch.changes.get("valid_from"), patch.changes.get("valid_to")
    if start and end and start > end:
        raise ValueError(f"{NAMES.get(patch.kind, patch.kind)}的有效期起 {start} 晚于有效期止 {end}")


def merge(have: dict[str, CertEntry], patches: Iterable[CertPatch] | None) -> dict[str, CertEntry]:
    """The certifications after a request: exactly the requested kinds (None = unchanged), details
    taken from the request where given and from the record otherwise."""
    if patches is None:
        return dict(have)
    return {p.kind: p.apply(have.get(p.kind)) for p in patches}


def bad_ranges(entries: dict[str, CertEntry]) -> list[str]:
    """Kinds whose merged validity ends before it starts (a new end date before the recorded start)."""
    return [NAMES.get(e.kind, e.kind) for e in entries.values()
            if e.valid_from and e.valid_to and e.valid_from > e.valid_to]


def tokens(entries: dict[str, CertEntry], *, names: bool = False) -> list[str]:
    """Sorted cell texts (the audited and exported form)."""
    return [entries[k].token(names=names) for k in sorted(entries)]


def entry_of(cert) -> CertEntry:
    """A Certification row (or any object with the same attributes) as a CertEntry."""
    return CertEntry(cert.kind, cert.certificate_no or "", cert.valid_from, cert.valid_to)


def held_on(certifications, day: dt.date) -> set[str]:
    """Kinds valid on ``day``: from a {kind: CertEntry} dict, or every kind of a plain iterable."""
    if isinstance(certifications, dict):
        return {k for k, e in certifications.items() if e.valid_on(day)}
    return set(certifications)
