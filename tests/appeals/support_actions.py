"""Helpers shared by the appeal action tests: a submitted case and the steps that bring it along."""
from __future__ import annotations

from yingshang.appeals import actions
from yingshang.appeals.models import Grade

DEFAULT_GRADES = [("urgent", "紧急", 1), ("normal", "一般", 3), ("complex", "复杂", 5), ("complaint", "投诉", 15)]


def ensure_grades() -> None:
    """The default grades (a transactional test flushes the rows the data migration wrote)."""
    for code, name, days in DEFAULT_GRADES:
        Grade.objects.get_or_create(code=code, defaults={"name": name, "days": days})


def payload(org, **over) -> dict:
    data = dict(title="用电增容申请迟迟未办理", content="我公司三月申请电力增容,至今未有答复。", category="factor_supply",
                factor_kind="power", region_code=org.chuanhui.code, enterprise_uscc=org.enterprise.uscc,
                contact_name="张三", contact_phone="13812345678", channel="portal", disclose=True)
    data.update(over)
    return data


def submitted(org, **over):
    return actions.do_submit_appeal(org.users["enterprise"], payload(org, **over))


def dispatched(org, grade="normal", **over):
    ensure_grades()
    appeal = submitted(org, **over)
    d = org.users["dispatcher"]
    actions.do_grade(d, appeal, grade)
    return actions.do_dispatch(d, appeal, org.market.code, [])


def signed(org, **over):
    appeal = dispatched(org, **over)
    return actions.do_sign(org.users["handler"], appeal)


def replied(org, **over):
    appeal = signed(org, **over)
    h = org.users["handler"]
    actions.do_contact(h, appeal, "已电话联系企业负责人")
    return actions.do_reply(h, appeal, "resolved", "已协调供电公司完成增容。")


def closed(org, **over):
    appeal = replied(org, **over)
    return actions.do_rate(org.users["enterprise"], appeal, True, "satisfied", "")
