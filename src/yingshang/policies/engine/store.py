"""Compact storage of enterprise-id sets: sorted int64 ids, delta-encoded, zlib-compressed.

Format: one version byte (1), then zlib of little-endian int64 deltas (the first delta is the first id).
Deltas of dense id ranges are tiny and repeat, so a million ids of a region shrink to a few hundred KB.
"""
from __future__ import annotations

import zlib

import numpy as np

VERSION = b"\x01"


def pack_ids(ids) -> bytes:
    """Sorted, de-duplicated int64 ids → bytes (round-trips exactly through ``unpack_ids``)."""
    arr = np.unique(np.asarray(ids, dtype=np.int64))
    deltas = np.diff(arr, prepend=np.int64(0)) if len(arr) else arr
    return VERSION + zlib.compress(deltas.astype("<i8").tobytes(), 6)


def unpack_ids(data: bytes) -> np.ndarray:
    """Bytes from ``pack_ids`` → sorted int64 ids."""
    if not data:
        return np.zeros(0, dtype=np.int64)
    if data[:1] != VERSION:
        raise ValueError("unknown id-set format")
    deltas = np.frombuffer(zlib.decompress(data[1:]), dtype="<i8")
    return np.cumsum(deltas, dtype=np.int64)
