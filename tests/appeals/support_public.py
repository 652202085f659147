"""Shared by the public-board tests (API and pages): a disclosed case with planted personal data."""
from __future__ import annotations

from tests.appeals.support_actions import ensure_grades, payload
from yingshang.appeals import actions

PHONE, LANDLINE, ID_NO = "13987654321", "0394-8231234", "11010519491231002X"
EMAIL, CARD, NAME = "wang.fang@example.com", "6222021234567890128", "王芳"


def planted(org) -> list[str]:
    """Every item of personal data and identity that must never reach the public."""
    return [PHONE, LANDLINE, ID_NO, EMAIL, CARD, NAME, "13812345678", org.enterprise.name, org.enterprise.uscc]


def routed(org, appeal):
    """A case the dispatcher has graded and dispatched: only those appear on the public board."""
    actions.do_grade(org.users["dispatcher"], appeal, "normal")
    return actions.do_dispatch(org.users["dispatcher"], appeal, org.market.code, [])


def leaky_case(org, **over):
    """A disclosed, answered and rated case with personal data planted in its title, content (with and
    without a '联系人:' cue), reply, contact note and rating comment."""
    ensure_grades()
    ent, h = org.users["enterprise"], org.users["handler"]
    content = (f"{org.enterprise.name}({org.enterprise.uscc})反映:请联系{NAME},手机 {PHONE},座机 {LANDLINE},"
               f"身份证 {ID_NO},邮箱 {EMAIL},退款请打到 {CARD}。联系人:{NAME}")
    data = payload(org, title=f"用电增容 {NAME} {PHONE}", content=content, contact_name=NAME, **over)
    appeal = routed(org, actions.do_submit_appeal(ent, data))
    actions.do_sign(h, appeal)
    actions.do_contact(h, appeal, f"已联系{NAME} {PHONE}")
    actions.do_reply(h, appeal, "resolved", f"已与{NAME}({PHONE},{EMAIL},{ID_NO})沟通,{org.enterprise.name}问题已解决")
    actions.do_rate(ent, appeal, True, "satisfied", f"感谢,联系人:{NAME} 电话 {PHONE} 卡号 {CARD}")
    return appeal
