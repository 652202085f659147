"""Redaction of personal data in public texts (DOMAIN §4): planted examples in realistic Chinese text
are masked; 文号, amounts, dates and 统一社会信用代码 survive."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from yingshang.core.redact import _ID_CHECK, _ID_WEIGHTS, luhn_ok, redact, redact_fields, redact_value


def resident_id(first17: str) -> str:
    """An ID number with its correct check character (computed, so the test can fail)."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS))
    return first17 + _ID_CHECK[total % 11]


def card_number(prefix: str) -> str:
    """``prefix`` plus the one digit that makes it pass the Luhn check."""
    return next(prefix + d for d in "0123456789" if luhn_ok(prefix + d))


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# ---------------------------------------------------------------- mobiles
@pytest.mark.parametrize("written", ["13800138000", "138-0013-8000", "138 0013 8000", "+86 13800138000",
                                     "+86-138-0013-8000", "+8613800138000", "008613800138000",
                                     "(+86)13800138000"])
def test_mobile_numbers_in_every_usual_spelling_are_masked(written):
    out = redact(f"如有疑问请拨打{written}咨询。")
    assert "13800138000" not in digits(out) and "0013" not in out
    assert out == "如有疑问请拨打138****8000咨询。"


def test_a_mobile_inside_a_longer_number_is_not_taken_for_one():
    assert redact("订单号 913800138000123") == "订单号 913800138000123"


# ---------------------------------------------------------------- landlines
@pytest.mark.parametrize("written,masked", [("0394-8231234", "0394-*******"), ("0394 82312345", "0394-********"),
                                            ("010-65123456", "010-********"), ("(0394)8231234", "0394-*******"),
                                            ("0394-8231234转801", "0394-*******-***"),
                                            ("0394-8231234、8231235", "0394-*******、*******")])
def test_landlines_with_area_code_and_extension_are_masked(written, masked):
    assert redact(f"咨询电话:{written}。") == f"咨询电话:{masked}。"


# ---------------------------------------------------------------- resident ID numbers
def test_resident_id_numbers_are_masked_including_x_check_character():
    plain, with_x = resident_id("41160219850315123"), resident_id("11010519491231002")
    assert with_x.endswith("X")
    out = redact(f"申请人身份证号{plain},共同申请人{with_x.lower()}。")
    assert plain not in out and with_x.lower() not in out
    assert out == f"申请人身份证号{plain[:3]}{'*' * 13}{plain[-2:]},共同申请人{with_x[:3]}{'*' * 13}{with_x[-2:].lower()}。"


def test_a_mistyped_id_with_a_plausible_birth_date_is_still_masked():
    real = resident_id("41160219850315123")
    typo = real[:17] + ("0" if real[17] != "0" else "1")
    assert typo not in redact(f"身份证:{typo}")


def test_eighteen_digit_numbers_that_are_not_ids_survive():
    uscc_digits = "914116021234567890"  # starts with 9: a 统一社会信用代码 of a company, no region code
    account = "411600000099887766"  # bad check digit, no valid birth date in positions 7–14
    assert resident_id(account[:17]) != account
    text = f"统一社会信用代码{uscc_digits},账户{account}"
    assert redact(text) == text


# ---------------------------------------------------------------- e-mail and bank cards
def test_email_addresses_are_masked():
    assert redact("材料发送至 zhang.san_01@163.com 或 kjj-zk@zhoukou.gov.cn。") == \
        "材料发送至 z***@163.com 或 k***@zhoukou.gov.cn。"


@pytest.mark.parametrize("sep", ["", " ", "-"])
@pytest.mark.parametrize("prefix", ["621700123456789012", "622202100112345"])
def test_bank_card_numbers_that_pass_luhn_are_masked(prefix, sep):
    number = card_number(prefix)
    written = sep.join(number[i:i + 4] for i in range(0, len(number), 4)) if sep else number
    out = redact(f"补贴将拨付至申请人银行卡{written},开户行中国建设银行。")
    assert number not in digits(out)
    assert out == f"补贴将拨付至申请人银行卡{number[:4]}{'*' * (len(number) - 8)}{number[-4:]},开户行中国建设银行。"


def test_long_numbers_failing_luhn_survive():
    number = card_number("621700123456789012")
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert redact(f"流水号{wrong}") == f"流水号{wrong}"


# ---------------------------------------------------------------- contact names
@pytest.mark.parametrize("text,expected", [
    ("联系人:张三", "联系人:张**"),
    ("联系人:欧阳娜娜,联系电话:0394-8231234", "联系人:欧**,联系电话:0394-*******"),
    ("联系人员:李四、王五", "联系人员:李**、王**"),
    ("经办人 赵六", "经办人 赵**"),
    ("负责人:孙七;", "负责人:孙**;"),
    ("联系人及电话:周八 13900139000", "联系人及电话:周** 139****9000"),
])
def test_contact_names_after_labels_keep_only_the_surname(text, expected):
    assert redact(text) == expected


def test_labels_followed_by_roles_are_not_names():
    text = "由企业负责人:法定代表人签字;负责人 签字盖章"
    assert redact(text) == text


# ---------------------------------------------------------------- what must survive
def test_policy_text_without_personal_data_is_unchanged():
    text = ("根据《财政部 税务总局公告2023年第12号》和国科发政〔2022〕16号,自2023年1月1日至2027年12月31日,"
            "对月销售额10万元以下的小规模纳税人免征增值税;年度预算5000万元,单个企业最高补助500,000.00元,"
            "统一社会信用代码91411602MA44XXXX1X,发文日期2024-03-15,第(二)项,网址 https://www.gov.cn/zhengce/。"
            "职工总数不超过500人、年销售收入不超过2亿元。")
    assert redact(text) == text


def test_a_realistic_notice_leaks_none_of_its_planted_data():
    pid, card = resident_id("41160219900101234"), card_number("621700123456789012")
    text = (f"五、联系方式\n市科技局高新科 联系人:刘洋,电话:0394-8219876,手机:186 3940 1234,"
            f"邮箱:liuyang1990@qq.com。\n经办人:陈静(身份证号{pid}),收款卡号{card}。\n"
            "本通知自印发之日起施行,财金〔2024〕3号同时废止。")
    out = redact(text)
    for planted in ("刘洋", "8219876", "18639401234", "liuyang1990", "陈静", pid, card):
        assert planted not in digits(out) and planted not in out, planted
    assert "财金〔2024〕3号" in out and "五、联系方式" in out


# ---------------------------------------------------------------- the general API
def test_redact_fields_masks_only_the_named_keys_and_leaves_the_input_alone():
    obj = {"title": "联系人:张三", "summary": "电话13800138000", "materials": [{"name": "授权书", "note": "经办人:李四"}],
           "budget": 100}
    out = redact_fields(obj, ["summary", "materials", "missing"])
    assert out == {"title": "联系人:张三", "summary": "电话138****8000",
                   "materials": [{"name": "授权书", "note": "经办人:李**"}], "budget": 100}
    assert obj["summary"] == "电话13800138000" and obj["materials"][0]["note"] == "经办人:李四"


def test_redact_accepts_empty_and_none():
    assert redact("") == "" and redact(None) == "" and redact_value(None) is None


@settings(max_examples=200, deadline=None)
@given(prefix=st.text(alphabet="政策补贴企业,。:的 ", max_size=12),
       mobile=st.from_regex(r"1[3-9]\d{9}", fullmatch=True), sep=st.sampled_from(["", " ", "-"]))
def test_no_mobile_survives_and_redaction_is_idempotent(prefix, mobile, sep):
    written = sep.join([mobile[:3], mobile[3:7], mobile[7:]])
    out = redact(f"{prefix}电话{written}")
    assert mobile not in digits(out)
    assert redact(out) == out
