"""The generator without a database: determinism and code validity."""
from __future__ import annotations

import collections

import numpy as np

from yingshang.enterprises.uscc import make_uscc, validate_uscc
from yingshang.seeding import uscc_bulk
from yingshang.seeding.generate import EnterpriseGenerator
from yingshang.seeding.run import generated_digest


def _usccs(seed: int) -> list[str]:
    return [u for chunk in EnterpriseGenerator("small", seed).chunks() for u in chunk.enterprises["uscc"]]


def test_same_seed_gives_identical_data_and_another_seed_different_data():
    assert generated_digest("small", 3) == generated_digest("small", 3)
    assert generated_digest("small", 3) != generated_digest("small", 4)
    assert _usccs(3) == _usccs(3)
    assert _usccs(3) != _usccs(4)


def test_small_size_has_about_two_thousand_unique_valid_codes():
    codes = _usccs(11)
    assert len(codes) == 2000
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert validate_uscc(code) == code


def test_vectorised_codes_equal_the_reference_implementation():
    rng = np.random.default_rng(5)
    n = 500
    bodies = np.concatenate([uscc_bulk.ma_bodies(rng.integers(0, uscc_bulk.MA_SPACE, n)),
                             uscc_bulk.numeric_bodies(rng.integers(0, uscc_bulk.NUMERIC_SPACE, n))])
    kinds = rng.choice(np.frombuffer(b"123", np.uint8), 2 * n)
    region = np.tile(np.frombuffer(b"411625", np.uint8), (2 * n, 1))
    codes = uscc_bulk.compose(np.full(2 * n, ord("9"), np.uint8), kinds, region, bodies)
    expected = [make_uscc("9", chr(k), "411625", bytes(b).decode()) for k, b in zip(kinds, bodies)]
    assert codes == expected


def test_scramble_is_a_bijection_on_the_first_million():
    index = np.arange(1_000_000)
    for space, (a, b) in ((uscc_bulk.MA_SPACE, (1_000_003, 17)), (uscc_bulk.NUMERIC_SPACE, (7_654_321, 3))):
        assert len(np.unique(uscc_bulk.scramble(index, space, a, b))) == len(index)


def test_names_are_unique_and_mix_of_forms_is_realistic():
    gen = EnterpriseGenerator("city", 2, total=20_000)
    rows = [chunk.enterprises for chunk in gen.chunks()]
    names = [n for r in rows for n in r["name"]]
    forms = collections.Counter(f for r in rows for f in r["legal_form"])
    statuses = collections.Counter(s for r in rows for s in r["status"])
    assert len(set(names)) == len(names)
    assert forms.most_common(1)[0][0] == "llc"
    assert statuses["active"] > 0.85 * len(names)
    assert all(n.endswith(("公司", "合作社", "(有限合伙)", "(普通合伙)", "中心", "商行", "经营部", "店", "场", "园",
                           "厂", "站", "超市", "百货", "大药房", "饭店", "加油站"))
               for n in names)
