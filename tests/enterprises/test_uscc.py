"""USCC validation against real published codes and single-part mutations of each."""
import pytest

from yingshang.enterprises.uscc import UsccError, make_uscc, org_code_check_char, uscc_check_char, validate_uscc

# Real codes published on the enterprises' own disclosures / the national credit system.
REAL = ["91110000600037341L", "91350100M000100Y43", "91110108551385082Q", "914403001922038216"]


@pytest.mark.parametrize("code", REAL)
def test_real_codes_are_valid(code):
    assert validate_uscc(code) == code


@pytest.mark.parametrize("code", REAL)
def test_lowercase_and_spaces_are_compacted(code):
    assert validate_uscc(" " + code.lower()[:9] + " " + code.lower()[9:]) == code


def _fix_checks(code17_body: str) -> str:
    """Recompute both check characters for a mutated code so only the mutated part is wrong."""
    org = code17_body[8:16] + org_code_check_char(code17_body[8:16])
    first17 = code17_body[:8] + org
    return first17 + uscc_check_char(first17)


def _error(code: str) -> UsccError:
    with pytest.raises(UsccError) as info:
        validate_uscc(code)
    return info.value


@pytest.mark.parametrize("code", REAL)
def test_wrong_authority_names_first_character(code):
    err = _error(_fix_checks("B" + code[1:16]))
    assert err.part == "authority" and "第1位" in err.message and "登记管理部门" in err.message


@pytest.mark.parametrize("code", REAL)
def test_wrong_type_for_authority_names_second_character(code):
    err = _error(_fix_checks(code[0] + "5" + code[2:16]))  # 市场监管 issues types 1, 2, 3 only
    assert err.part == "type" and "第2位" in err.message and "机构类别" in err.message


@pytest.mark.parametrize("code", REAL)
def test_non_digit_region_names_region_part(code):
    err = _error(_fix_checks(code[:4] + "A" + code[5:16]))
    assert err.part == "region" and "第3–8位" in err.message and "行政区划" in err.message


@pytest.mark.parametrize("code", REAL)
def test_wrong_organisation_check_char_names_org_code(code):
    wrong = "0" if code[16] != "0" else "1"
    first17 = code[:16] + wrong
    err = _error(first17 + uscc_check_char(first17))
    assert err.part == "organisation_code" and "第9–17位" in err.message and "校验码" in err.message
    assert f"应为“{code[16]}”" in err.message


@pytest.mark.parametrize("code", REAL)
def test_wrong_final_check_char_names_18th_character(code):
    wrong = "0" if code[17] != "0" else "1"
    err = _error(code[:17] + wrong)
    assert err.part == "check" and "第18位" in err.message and f"应为“{code[17]}”" in err.message


@pytest.mark.parametrize("letter", list("IOSVZ"))
@pytest.mark.parametrize("code", REAL)
def test_forbidden_letters(code, letter):
    err = _error(code[:10] + letter + code[11:])
    assert err.part == "alphabet" and letter in err.message


@pytest.mark.parametrize("code", REAL)
@pytest.mark.parametrize("cut", [1, -1])
def test_wrong_length(code, cut):
    bad = code[:-1] if cut == 1 else code + "0"
    err = _error(bad)
    assert err.part == "length" and "18位" in err.message and str(len(bad)) in err.message


def test_make_uscc_builds_valid_codes():
    code = make_uscc("9", "1", "411602", "MA44XY7R")
    assert validate_uscc(code) == code and code[2:8] == "411602"


def test_validator_fast_path_agrees_with_stdnum():
    """validation.check_uscc's own check-character arithmetic must match stdnum on every character."""
    import random

    from yingshang.enterprises.uscc import ALPHABET
    from yingshang.enterprises.validation import _final_check_char

    rng = random.Random(3)
    for code in REAL:
        assert _final_check_char(code[:17]) == code[17] == uscc_check_char(code[:17])
    for _ in range(3000):
        first17 = "".join(rng.choice(ALPHABET) for _ in range(17))
        assert _final_check_char(first17) == uscc_check_char(first17)
