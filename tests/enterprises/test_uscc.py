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


def test_letter_authorities_of_gb32100_are_accepted():
    """GB 32100 authorities include letters (A 军队编制, N 农业, Y 其他); the code is still checked in full."""
    code = make_uscc("N", "2", "411602", "12345678")
    assert validate_uscc(code) == code
    with pytest.raises(UsccError) as err:
        validate_uscc(code[:17] + ("0" if code[17] != "0" else "1"))
    assert err.value.part == "check"


def test_the_shared_validator_uses_the_same_rules_as_validate_uscc():
    from yingshang.enterprises.validation import Invalid, check_uscc

    code = make_uscc("Y", "1", "411602", "87654321")
    assert check_uscc(code, None) == code
    with pytest.raises(Invalid, match="第1位登记管理部门代码"):
        check_uscc("B" + code[1:], None)
