"""The appeals part of the demo seed: about 300 诉求 over the last six months, written through the real
actions so that events, audit rows, notifications, deadlines and escalations are what the platform itself
would have produced.

How: every case gets a *story* (its fate: closed and rated, closed by the rating window, reopened,
回头看 passed or failed, extended, paused, returned and arbitrated, co-handled, answered late, merged,
referred out, or still open at any step). The story's steps are planned backwards from today so that the
last one has happened; all steps of all cases run in time order with the clock shifted to the step's
moment (``shifted_clock``), and the periodic jobs (escalation sweep, rating window, 回头看 sampling) run
every few simulated hours in between. Finally the sweep runs once more for the present.

Deterministic for a given ``seed`` and ``as_of``; written only once (a second run finds the seeded cases
and changes nothing). Users the stories need and the seed lacks (a handler per department, an enterprise
user per enterprise) are created without a usable password, like the policy history's applicants.
"""
from __future__ import annotations

import datetime as dt
import heapq
import itertools
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from yingshang.core.errors import Conflict, NotFound, ValidationFailed

CASES = {"small": 60, "city": 300, "province": 300}
DAYS = 182  # six months of history
KEY = "demo-appeal-{seed}-{i}"  # idempotency key of the i-th seeded case
# The periodic jobs run once a simulated day, just after midnight: every escalation time is a midnight
# (clock.py), so a nightly sweep fires each step at the moment it fell due.
JOB_TIME = dt.time(0, 5)
STEP_ERRORS = (Conflict, ValidationFailed, PermissionDenied, NotFound)
CITY = "411600"

# ---------------------------------------------------------------- text
# (category, factor kind, title, content, departments (city suffixes), reply)
TOPICS = [
    ("factor_supply", "power", "厂区用电增容申请迟迟未办理",
     "我公司因新上生产线需将变压器容量由400千伏安增至800千伏安,{month}提交申请至今未接电,影响订单交付。",
     ["GDGS", "FGW"], "已协调供电公司现场勘察,新增变压器已于本周安装送电。"),
    ("factor_supply", "water", "新建厂房供水管网接入困难",
     "{place}新建厂房距市政供水管网约300米,接入方案多次修改仍未确定,工人生活用水靠水车运送。",
     ["ZLS", "ZJJ"], "自来水公司已确定接入方案并完成管网铺设,已正常供水。"),
    ("factor_supply", "land", "项目用地土地证办理进度缓慢",
     "我公司在{place}的扩建项目已缴清土地出让金,不动产权证书三个月未办出,影响银行抵押贷款。",
     ["ZRZY", "XZSP"], "经核查材料已补正,不动产权证书已办结,企业已领取。"),
    ("factor_supply", "finance", "申请创业担保贷款被拖延",
     "我公司申请创业担保贷款100万元,合作银行以额度不足为由一直未放款,企业流动资金紧张。",
     ["JRJ", "RSJ"], "已协调合作银行调剂额度,贷款已于近日发放。"),
    ("factor_supply", "labour", "招工难,希望组织专场招聘",
     "我公司年底订单增加,缺少熟练缝纫工约80人,希望人社部门帮助对接劳务资源。",
     ["RSJ"], "已将企业纳入专场招聘会,首批到岗42人,后续持续对接。"),
    ("government_service", "", "食品经营许可证延续审批超时",
     "我店食品经营许可证到期前提交延续申请,窗口称系统故障,已超过承诺时限仍未办结。",
     ["XZSP", "SCJG"], "系统故障已排除,许可证已延续并邮寄到店。"),
    ("government_service", "", "施工许可证办理要求重复提交材料",
     "我公司办理施工许可时被要求重复提交已在线上传的图审合格书等材料,来回跑了三趟。",
     ["ZJJ", "XZSP"], "已将图审结果共享至审批系统,企业无需再次提交,许可证已核发。"),
    ("policy_redemption", "", "稳岗返还资金未到账",
     "我公司符合稳岗返还条件,公示名单中有我公司,但资金至今未拨付到账。",
     ["RSJ", "CZJ"], "经核对为银行账户信息有误导致退票,已更正并重新拨付。"),
    ("policy_redemption", "", "高新技术企业认定奖励未兑现",
     "我公司去年通过高新技术企业认定,按政策应获奖励20万元,申报后一直没有结果。",
     ["KJJ", "CZJ"], "奖励资金已纳入本批次拨付计划,近期到账。"),
    ("enforcement", "", "同一事项多部门重复检查",
     "本月内市场监管、应急、消防等部门先后到我公司检查同一仓储安全事项,影响正常生产。",
     ["SCJG", "YJJ"], "已纳入“综合查一次”联合检查清单,同一事项不再重复检查。"),
    ("enforcement", "", "轻微违规被顶格处罚",
     "我店因价签不规范被处以罚款,属于首次轻微违法,希望按包容审慎监管要求复核。",
     ["SCJG", "SFJ"], "经复核属于首违不罚情形,已撤销处罚决定,给予提示指导。"),
    ("arrears", "", "政府项目工程款拖欠",
     "我公司承建的{place}道路改造工程已竣工验收一年,尚有工程款380万元未支付。",
     ["CZJ", "JTJ", "GXJ"], "已制定还款计划,首期款150万元已支付,余款年内付清。"),
    ("fair_competition", "", "招标文件设置排斥性条件",
     "某项目招标文件要求投标人须在本地设立分公司,我公司认为属于排斥外地企业的不合理条件。",
     ["GGZY", "SCJG"], "已责令招标人修改招标文件,删除该限制性条款。"),
    ("ip", "", "商标被他人恶意抢注",
     "我公司使用多年的品牌商标被他人抢注,并以此向我公司索要高额转让费。",
     ["SCJG", "SFJ"], "已指导企业提出商标无效宣告申请,并提供法律援助。"),
    ("other", "", "园区道路破损影响货车通行",
     "{place}园区主干道路面破损严重,雨天积水,大货车无法进出,已多次反映。",
     ["CGJ", "JTJ"], "已完成路面修复和排水改造,道路恢复通行。"),
]
EXPLAINED = "经研究,该事项涉及规划调整,暂时无法解决,已向企业说明情况并提出替代方案。"
COMMENTS = {"satisfied": ["办理及时,非常感谢!", "问题已解决,服务态度好。", ""],
            "basically_satisfied": ["基本解决,希望后续跟进。", "时间稍长,总体满意。"],
            "unsatisfied": ["问题没有实质解决。", "答复敷衍,仍未落实。"]}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林高罗"
GIVEN = ["建国", "海燕", "志强", "丽娟", "国庆", "秀英", "晓东", "红梅", "永刚", "春华", "明亮", "桂兰"]


def resident_id(rng: np.random.Generator, county: str) -> str:
    """A well-formed 18-digit resident ID number (valid check digit) — planted personal data."""
    born = dt.date(1965, 1, 1) + dt.timedelta(days=int(rng.integers(0, 12000)))
    body = f"{county[:6]}{born:%Y%m%d}{int(rng.integers(100, 999))}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]


def bank_card(rng: np.random.Generator) -> str:
    """A 19-digit card number passing the Luhn check — planted personal data."""
    digits = [6, 2, 2, 2, 0, 2] + [int(d) for d in rng.integers(0, 10, size=12)]
    total = sum((d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d for i, d in enumerate(reversed(digits)))
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def person(rng: np.random.Generator) -> str:
    return SURNAMES[int(rng.integers(0, len(SURNAMES)))] + GIVEN[int(rng.integers(0, len(GIVEN)))]


def mobile(rng: np.random.Generator) -> str:
    return f"1{int(rng.choice([35, 37, 38, 39, 52, 58, 86, 89]))}{int(rng.integers(0, 10**8)):08d}"


def planted(rng: np.random.Generator, county: str, money: bool = False) -> tuple[str, list[str]]:
    """A sentence with personal data the public board must redact, and the planted values (a bank card
    only where money is owed: arrears, subsidies)."""
    name, phone, pid = person(rng), mobile(rng), resident_id(rng, county)
    mail, card = f"zk{int(rng.integers(1000, 9999))}@163.com", bank_card(rng)
    forms = [(f"联系人:{name},电话{phone},身份证号{pid}。", [phone, pid]),
             (f"具体情况可致电{phone}或发邮件至{mail}。", [phone, mail])]
    if money:
        forms.append((f"请将款项支付至我公司账户{card},经办人:{name},手机{phone}。", [card, phone]))
    return forms[int(rng.integers(0, len(forms)))]


# ---------------------------------------------------------------- the clock
class SimClock:
    """The moment the actions see as now while the history is written."""

    def __init__(self, start: dt.datetime):
        self.at = start

    def __call__(self) -> dt.datetime:
        return self.at


@contextmanager
def shifted_clock(clock: Callable[[], dt.datetime]) -> Iterator[None]:
    """Make ``django.utils.timezone.now`` (which the actions call through the module) and every model
    field defaulting to it (``created_at``, the audit log's ``at``…) answer ``clock()``; background jobs
    are not kicked meanwhile (the history's notifications were delivered back then)."""
    from yingshang import jobs

    real = timezone.now
    fields = [f for m in apps.get_models() for f in m._meta.concrete_fields if f.default is real]
    saved = [(f, f.__dict__.get("_get_default")) for f in fields]
    real_enqueue, timezone.now, jobs.enqueue_on_commit = jobs.enqueue_on_commit, clock, lambda *a, **k: None
    for f in fields:
        f.__dict__["_get_default"] = clock  # Field.get_default() reads this cached property
    try:
        yield
    finally:
        timezone.now, jobs.enqueue_on_commit = real, real_enqueue
        for f, old in saved:
            if old is None:
                f.__dict__.pop("_get_default", None)
            else:
                f.__dict__["_get_default"] = old


# ---------------------------------------------------------------- who acts
class Cast:
    """The users the stories need, created (without a usable password) where the seed has none."""

    def __init__(self):
        from django.contrib.auth.hashers import make_password

        from yingshang.core.models import User

        self.users = {u.username: u for u in User.objects.filter(is_demo=True)}
        self.dispatcher = self.users.get("dispatcher")
        self.unusable = make_password(None)
        self.handlers: dict[str, User] = {}
        self.enterprise_users: dict[int, User] = {}

    def handler(self, dept):
        """A handler of ``dept``: the demo account where there is one, else a seeded 经办人."""
        if dept.code not in self.handlers:
            from yingshang.core.models import Role, User

            found = User.objects.filter(department=dept, role=Role.HANDLER, is_active=True).order_by("id").first()
            self.handlers[dept.code] = found or User.objects.create(
                username=f"jb-{dept.code}", role=Role.HANDLER, department=dept, is_demo=True,
                password=self.unusable, display_name=f"{dept.short_name or dept.name}经办人"[:64])
        return self.handlers[dept.code]

    def enterprise_user(self, enterprise):
        """The enterprise's user (the demo ``enterprise`` account for the demo enterprise)."""
        if enterprise.pk not in self.enterprise_users:
            from yingshang.core.models import Role, User

            found = User.objects.filter(enterprise=enterprise, role=Role.ENTERPRISE).order_by("id").first()
            self.enterprise_users[enterprise.pk] = found or User.objects.create(
                username=f"qy-{enterprise.uscc}", role=Role.ENTERPRISE, enterprise=enterprise, is_demo=True,
                password=self.unusable, display_name=(enterprise.contact_name or enterprise.name)[:64])
        return self.enterprise_users[enterprise.pk]


# ---------------------------------------------------------------- stories
# fate → relative weight; ``plan`` turns a fate into timed steps.
FATES = {
    "rated": 30, "unsatisfied": 5, "defaulted": 8, "reopened": 4, "review_pass": 4, "review_fail": 3,
    "extended": 5, "extension_rejected": 2, "extension_pending": 2, "paused_resumed": 3, "paused": 3,
    "arbitrated": 3, "returned": 2, "co_handled": 6, "late": 6, "overdue_unsigned": 3, "overdue_working": 4,
    "submitted": 2, "graded": 2, "dispatched": 2, "signed": 2, "in_progress": 3, "replied": 4,
    "referred": 2, "merged": 2,
}
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


@dataclass
class Case:
    i: int
    fate: str
    channel: str
    enterprise: object
    region: str
    topic: tuple
    department: object
    co: object = None
    submitter: object = None
    rater: object = None
    disclose: bool = False
    appeal_id: int | None = None


def plan(fate: str, rng) -> list[tuple[dt.timedelta, str]]:
    """The steps of a story and the wait before each (the first is the submission)."""
    r = lambda lo, hi, unit=H: unit * float(rng.uniform(lo, hi))  # noqa: E731
    head = [(r(0, 1), "submit"), (r(0.5, 4), "grade"), (r(0.5, 6), "dispatch")]
    work = [(r(1, 20), "sign"), (r(1, 12), "contact")]
    answer = [(r(1, 4, D), "reply"), (r(0.3, 5, D), "rate")]
    stories = {
        "submitted": head[:1], "graded": head[:2], "dispatched": head, "signed": head + work[:1],
        "in_progress": head + work, "replied": head + work + answer[:1],
        "rated": head + work + answer, "unsatisfied": head + work + answer,
        "defaulted": head + work + answer[:1] + [(r(7.5, 9, D), "wait")],
        "reopened": head + work + answer + [(r(1, 6, D), "reopen"), *work, *answer],
        "review_pass": head + work + answer + [(r(31, 40, D), "review_pass")],
        "review_fail": head + work + answer + [(r(31, 40, D), "review_fail"), *work, *answer],
        "extended": head + work + [(r(1, 2, D), "extend"), (r(2, 20), "approve"), (r(3, 7, D), "reply"), answer[1]],
        "extension_rejected": head + work + [(r(1, 2, D), "extend"), (r(2, 20), "reject"), *answer],
        "extension_pending": head + work + [(r(0.2, 1, D), "extend")],
        "paused_resumed": head + work + [(r(1, 2, D), "pause"), (r(3, 8, D), "resume"), *answer],
        "paused": head + work + [(r(1, 2, D), "pause")],
        "arbitrated": head + [(r(2, 20), "return"), (r(2, 20), "arbitrate"), *work, *answer],
        "returned": head + [(r(2, 20), "return")],
        "co_handled": head + [(r(1, 10), "co_sign"), (r(0.5, 2, D), "co_reply"), *work, *answer],
        "late": head + work + [(r(8, 20, D), "reply"), answer[1]],
        "overdue_unsigned": head + [(r(8, 25, D), "wait")],
        "overdue_working": head + work + [(r(8, 25, D), "wait")],
        "referred": head[:1] + [(r(1, 8), "refer")],
        "merged": head[:1] + [(r(1, 8), "merge")],
    }
    return stories[fate]


def _grade_for(fate: str, rng) -> str:
    if fate in ("extended", "extension_rejected", "extension_pending", "paused_resumed", "paused", "late"):
        return "complex" if rng.random() < 0.5 else "complaint"
    return str(rng.choice(["urgent", "normal", "normal", "complex"]))


# ---------------------------------------------------------------- casting the cases
def _fates(n: int, rng) -> list[str]:
    """Every fate at least once (so that each status shows at the small size), the rest by weight."""
    names = list(FATES)
    weights = np.array([FATES[f] for f in names], dtype=float)
    rest = rng.choice(names, size=max(0, n - len(names)), p=weights / weights.sum()).tolist()
    return (names + rest)[:n]


def _departments():
    from yingshang.core.models import Department

    return {d.code: d for d in Department.objects.filter(code__startswith=CITY[:4], is_active=True)}


def _route(topic, enterprise_region: str, depts: dict, rng):
    """The lead department: the topic's city department, or (a third of the time) the county's
    市场监管局 / the township government of the enterprise."""
    county, street = enterprise_region[:6], enterprise_region if len(enterprise_region) > 6 else ""
    local = [c for c in (f"{county}-SCJG", f"{street}-ZF") if c in depts and not c.startswith(CITY)]
    if local and rng.random() < 0.33:
        return depts[str(rng.choice(local))]
    suffixes = [s for s in topic[4] if f"{CITY}-{s}" in depts]
    return depts[f"{CITY}-{rng.choice(suffixes)}"] if suffixes else depts[f"{CITY}-SCJG"]


def _pool(rng, n: int):
    """Active enterprises of the demo city the cases come from (the demo enterprise first)."""
    from yingshang.enterprises.models import Enterprise
    from yingshang.seeding.org import demo_enterprise

    ids = list(Enterprise.objects.filter(status="active", region__code__startswith=CITY[:4])
               .order_by("id").values_list("id", flat=True)[:20000])
    picked = rng.choice(ids, size=min(len(ids), max(10, n // 3)), replace=False).tolist() if ids else []
    demo = demo_enterprise()
    found = {e.pk: e for e in Enterprise.objects.filter(pk__in=picked)}
    return demo, [found[i] for i in picked if i in found and (demo is None or i != demo.pk)]


def cast(n: int, seed: int, cast_: Cast) -> list[Case]:
    """Decide each case's fate, channel, enterprise, topic and departments."""
    rng = np.random.default_rng([seed, 20260])
    depts, (demo, pool) = _departments(), _pool(rng, n)
    supervisor, steward = cast_.users.get("supervisor"), cast_.users.get("steward")
    cases, counties = [], _counties()
    for i, fate in enumerate(_fates(n, rng)):
        channel = str(rng.choice(["portal"] * 5 + ["hotline_12345"] * 2 + ["deputy", "observer", "steward",
                                                                          "roundtable", "media"]))
        if i % 25 == 3 and demo is not None:
            channel = "portal"
        elif i % 25 == 7 and supervisor is not None:
            channel = "supervisor"
        enterprise = demo if (i % 25 == 3 and demo) else (pool[int(rng.integers(0, len(pool)))] if pool else demo)
        if channel in ("deputy", "observer", "supervisor", "media") and rng.random() < 0.4:
            enterprise = None
        region = enterprise.region_id if enterprise else str(rng.choice(counties))
        topic = TOPICS[int(rng.integers(0, len(TOPICS)))]
        case = Case(i, fate, channel, enterprise, region, topic, _route(topic, region, depts, rng))
        if fate == "co_handled" or (fate in ("rated", "late") and rng.random() < 0.2):
            others = [d for c, d in depts.items() if c.startswith(f"{CITY}-") and d.pk != case.department.pk
                      and c.split("-")[1] in topic[4]] or [depts[f"{CITY}-FGW"]]
            case.co = others[int(rng.integers(0, len(others)))]
        case.submitter, case.rater = _people(case, cast_, supervisor, steward)
        case.disclose = rng.random() < 0.45
        cases.append(case)
    return cases


def _counties() -> list[str]:
    from yingshang.core.models import Region

    return list(Region.objects.filter(code__startswith=CITY[:4], level="county").values_list("code", flat=True))


def _people(case: Case, cast_: Cast, supervisor, steward):
    """Who submits the case and who may rate it (None: nobody — the rating window closes it)."""
    if case.channel in ("deputy", "observer", "supervisor", "media") and supervisor is not None:
        return supervisor, supervisor
    rater = cast_.enterprise_user(case.enterprise) if case.enterprise is not None else None
    if case.channel == "portal" and rater is not None:
        return rater, rater
    if case.channel == "steward" and steward is not None:
        return steward, rater
    return cast_.dispatcher, (None if case.channel == "hotline_12345" else rater)


# ---------------------------------------------------------------- the steps
@dataclass
class AppealSeedResult:
    created: int = 0
    statuses: dict = field(default_factory=dict)
    stopped: int = 0  # stories cut short because a step was refused (e.g. an extension asked too late)
    seconds: float = 0.0
    skipped: bool = False  # the cases were already there


# What each step does: (case, runner, dispatcher, handler of the lead department) → one action.
def _steps(a) -> dict[str, Callable]:
    return {
        "grade": lambda c, r, d, h: a.do_grade(d, c.appeal_id, _grade_for(c.fate, r.rng)),
        "dispatch": lambda c, r, d, h: a.do_dispatch(d, c.appeal_id, c.department.code,
                                                     [c.co.code] if c.co else None),
        "sign": lambda c, r, d, h: a.do_sign(h, c.appeal_id),
        "contact": lambda c, r, d, h: a.do_contact(h, c.appeal_id, "已电话联系企业负责人,了解诉求详情并约定现场核查时间。"),
        "reply": lambda c, r, d, h: r.reply(c, h),
        "pause": lambda c, r, d, h: a.do_pause(h, c.appeal_id, "等待企业补充提交相关证明材料"),
        "resume": lambda c, r, d, h: a.do_resume(h, c.appeal_id),
        "return": lambda c, r, d, h: a.do_return(h, c.appeal_id, "该事项不属于本单位职责范围,建议交由属地政府牵头办理。"),
        "arbitrate": lambda c, r, d, h: a.do_arbitrate(d, c.appeal_id, c.department.code,
                                                       "经营商办研究,该事项由原单位牵头办理。"),
        "extend": lambda c, r, d, h: a.do_request_extension(h, c.appeal_id, int(r.rng.integers(3, 11)),
                                                            "涉及多个部门会商,需延期办理。"),
        "approve": lambda c, r, d, h: a.do_approve_extension(d, _pending_extension(c), "情况属实,同意延期。"),
        "reject": lambda c, r, d, h: a.do_reject_extension(d, _pending_extension(c), "事项不复杂,请在原期限内办结。"),
        "co_sign": lambda c, r, d, h: a.do_sign_task(r.cast.handler(c.co), c.appeal_id),
        "co_reply": lambda c, r, d, h: a.do_reply_task(r.cast.handler(c.co), c.appeal_id,
                                                       "经核查,已提出协办意见供主办单位答复。"),
        "rate": lambda c, r, d, h: r.rate(c) if c.rater is not None else None,
        "reopen": lambda c, r, d, h: (a.do_reopen(c.rater, c.appeal_id, "问题仍未得到实质解决,申请重新办理。")
                                      if c.rater is not None else None),
        "review_pass": lambda c, r, d, h: a.do_review(d, c.appeal_id, True, "电话回访,企业确认问题已解决。"),
        "review_fail": lambda c, r, d, h: a.do_review(d, c.appeal_id, False, "回访发现问题反弹,重新交办原单位办理。"),
        "refer": lambda c, r, d, h: a.do_refer(d, c.appeal_id, "属于企业间民事合同纠纷,已告知企业通过司法途径解决。"),
        "merge": lambda c, r, d, h: r.merge(c, d),
        "wait": lambda c, r, d, h: None,
    }


def _pending_extension(case: Case):
    from yingshang.appeals.models import AppealExtension, ExtensionStatus

    found = AppealExtension.objects.filter(appeal_id=case.appeal_id, status=ExtensionStatus.PENDING).first()
    if found is None:
        raise NotFound("没有待审批的延期申请")
    return found


class Runner:
    """Runs the steps of the cast cases through the actions, at the moments the clock is set to."""

    def __init__(self, cases: list[Case], cast_: Cast, seed: int):
        from yingshang.appeals import actions

        self.cases, self.cast, self.seed, self.steps = cases, cast_, seed, _steps(actions)
        self.rng = np.random.default_rng([seed, 20261])
        self.ratings: Counter = Counter()

    def run(self, case: Case, step: str) -> None:
        """One step of ``case`` (raises the action's error when it is refused)."""
        from yingshang.appeals import actions

        county = self.cast.users.get("fugou_dispatcher")
        d = county if county is not None and case.region.startswith("411621") else self.cast.dispatcher
        if step == "submit":
            key = KEY.format(seed=self.seed, i=case.i)
            case.appeal_id = actions.do_submit_appeal(case.submitter, self.submission(case), key).pk
        else:
            self.steps[step](case, self, d, self.cast.handler(case.department))

    def reply(self, case: Case, h) -> None:
        from yingshang.appeals import actions

        explained = self.rng.random() < 0.12
        actions.do_reply(h, case.appeal_id, "explained" if explained else "resolved",
                         EXPLAINED if explained else case.topic[5])

    def merge(self, case: Case, d) -> None:
        """Into an earlier case (same category and county if possible) that is neither merged nor referred."""
        from yingshang.appeals import actions
        from yingshang.appeals.models import Appeal, Status

        ids = [c.appeal_id for c in self.cases if c.appeal_id and c.i != case.i]
        same = [c.appeal_id for c in self.cases if c.appeal_id and c.i != case.i and c.topic[0] == case.topic[0]]
        alive = Appeal.objects.exclude(status__in=[Status.MERGED, Status.REFERRED_OUT]).order_by("-created_at")
        found = (alive.filter(pk__in=same, region__code__startswith=case.region[:6]).first()
                 or alive.filter(pk__in=ids, region__code__startswith=case.region[:6]).first()
                 or alive.filter(pk__in=ids).first())
        if found is not None:
            actions.do_merge(d, case.appeal_id, found.pk, "与已受理诉求反映同一问题,合并办理。")

    def rate(self, case: Case) -> None:
        from yingshang.appeals import actions

        self.ratings[case.i] += 1
        doubtful = case.fate == "unsatisfied" or (case.fate == "reopened" and self.ratings[case.i] == 1)
        satisfaction = "unsatisfied" if doubtful else str(self.rng.choice(["satisfied"] * 4 + ["basically_satisfied"]))
        comments = COMMENTS[satisfaction]
        actions.do_rate(case.rater, case.appeal_id, not doubtful, satisfaction,
                        comments[int(self.rng.integers(0, len(comments)))])

    def submission(self, case: Case) -> dict:
        """The submitted fields: topic text, the enterprise, contact data, planted data when disclosed."""
        rng, ent = self.rng, case.enterprise
        place = (ent.address or "园区")[:30] if ent is not None else "当地产业集聚区"
        content = case.topic[3].format(month=f"{int(rng.integers(1, 10))}月", place=place)
        if ent is not None:
            content = f"{ent.name}反映:{content}"
        if case.disclose:
            content += planted(rng, case.region, case.topic[0] in ("arrears", "policy_redemption"))[0]
        phone = ent.contact_phone if ent is not None and _valid_phone(ent.contact_phone) else mobile(rng)
        today = timezone.localdate()
        return {"title": case.topic[2], "content": content, "category": case.topic[0], "factor_kind": case.topic[1],
                "region_code": case.region, "enterprise_uscc": ent.uscc if ent is not None else "",
                "contact_name": (ent.contact_name if ent is not None and ent.contact_name else person(rng)),
                "contact_phone": phone, "channel": case.channel, "disclose": case.disclose,
                "external_ref": f"ZK12345-{today:%Y%m%d}-{case.i:04d}" if case.channel == "hotline_12345" else ""}


def _valid_phone(phone: str) -> bool:
    from yingshang.core.phones import is_phone

    return bool(phone) and is_phone(phone.replace(" ", ""))


# ---------------------------------------------------------------- time
OPEN_FATES = {"submitted", "graded", "dispatched", "signed", "in_progress", "replied", "returned", "paused",
           "extension_pending", "overdue_unsigned", "overdue_working"}
STAFF_DAY = (dt.time(8, 30), dt.time(17, 30))


def _office_hours(moment: dt.datetime) -> dt.datetime:
    """The moment, or the next morning when it falls outside office hours (staff act by day)."""
    local = timezone.localtime(moment)
    if local.time() < STAFF_DAY[0]:
        return local.replace(hour=8, minute=30 + local.minute % 30)
    if local.time() > STAFF_DAY[1]:
        return (local + D).replace(hour=8, minute=30 + local.minute % 30)
    return local


def schedule(fate: str, steps, now: dt.datetime, rng) -> list[dt.datetime]:
    """The moment of each step: open stories end just before ``now``, finished ones anywhere in the six
    months (whole days earlier when the story would otherwise reach into the future)."""
    span = sum((w for w, _ in steps), dt.timedelta())
    if fate in OPEN_FATES:
        margin = D * float(rng.uniform(0.05, 0.6))
    else:
        margin = D * float(rng.uniform(1, max(1.5, DAYS - span / D)))
    moments, at = [], now - span - margin
    for wait, step in steps:
        at = at + wait if step == "submit" else _office_hours(at + wait)
        moments.append(at)
    overflow = moments[-1] - (now - dt.timedelta(minutes=30))
    if overflow > dt.timedelta():
        back = D * (overflow // D + 1)
        moments = [m - back for m in moments]
    return moments


# ---------------------------------------------------------------- the run
def _has_demo_org() -> bool:
    """The seeded organisation the stories need: the city dispatcher and the city's departments."""
    from yingshang.core.models import Department, User

    return (User.objects.filter(username="dispatcher", is_demo=True).exists()
            and Department.objects.filter(code=f"{CITY}-SCJG").exists())


def already_seeded() -> bool:
    from yingshang.appeals.models import Appeal

    return Appeal.objects.filter(idempotency_key__contains=":demo-appeal-").exists()


def seed_appeals(size: str = "city", seed: int = 1, *, as_of: dt.date | None = None, count: int | None = None,
                 progress: Callable[[str], None] | None = None) -> AppealSeedResult:
    """Write the appeal history (see the module docstring); nothing when it is already there."""
    say, started, result = progress or (lambda message: None), time.perf_counter(), AppealSeedResult()
    if already_seeded() or not _has_demo_org():
        result.skipped = True
        say("诉求演示数据已存在(或缺少演示单位和账号),跳过")
        return result
    now = timezone.now() if as_of is None else timezone.make_aware(dt.datetime.combine(as_of, dt.time(18)))
    with transaction.atomic():
        cast_ = Cast()
        cases = cast(count or CASES.get(size, CASES["city"]), seed, cast_)
        runner = Runner(cases, cast_, seed)
        result.stopped = _simulate(runner, now, np.random.default_rng([seed, 20262]))
        _present(now)
        _settle_history(now)
    result.created = sum(1 for c in cases if c.appeal_id)
    result.statuses = _status_counts()
    result.seconds = time.perf_counter() - started
    say(f"诉求演示数据:{result.created} 件({_counts_text(result.statuses)}),用时 {result.seconds:.1f} 秒")
    return result


def _simulate(runner: Runner, now: dt.datetime, rng) -> int:
    """Run every story's steps in time order with the clock shifted; the periodic jobs run in between.
    Returns how many stories were cut short."""
    queue, seq, stopped = [], itertools.count(), 0
    for case in runner.cases:
        steps = plan(case.fate, rng)
        moments = schedule(case.fate, steps, now, rng)
        heapq.heappush(queue, (moments[0], next(seq), case, list(zip(moments, (s for _, s in steps)))))
    clock = SimClock(queue[0][0] if queue else now)
    next_jobs = _next_night(clock.at)
    with shifted_clock(clock):
        while queue:
            at, _, case, rest = heapq.heappop(queue)
            while next_jobs <= at:
                clock.at = next_jobs
                _jobs(next_jobs)
                next_jobs = _next_night(next_jobs)
            clock.at = at
            try:
                with transaction.atomic():
                    runner.run(case, rest[0][1])
            except STEP_ERRORS:
                stopped += 1
                continue
            if len(rest) > 1:
                heapq.heappush(queue, (rest[1][0], next(seq), case, rest[1:]))
        while next_jobs <= now:
            clock.at = next_jobs
            _jobs(next_jobs)
            next_jobs = _next_night(next_jobs)
    return stopped


def _next_night(moment: dt.datetime) -> dt.datetime:
    """The first JOB_TIME after ``moment``."""
    local = timezone.localtime(moment)
    night = timezone.make_aware(dt.datetime.combine(local.date(), JOB_TIME))
    return night if night > local else timezone.make_aware(dt.datetime.combine(local.date() + D, JOB_TIME))


def _jobs(now: dt.datetime) -> None:
    """The nightly jobs as they would have run at ``now``: escalations, the rating window, 回头看 sampling."""
    from yingshang.appeals import escalation
    from yingshang.appeals.actions_followup import close_unrated_due, sample_reviews
    from yingshang.appeals.models import Appeal

    if Appeal.objects.escalation_due(now).exists():
        escalation.sweep_all(now=now)
    close_unrated_due(now)
    if timezone.localtime(now).weekday() == 6:  # weekly: the sample's look-back window covers the week
        sample_reviews(now)


def _present(now: dt.datetime) -> None:
    """The escalation sweep and the rating window for the present (the real clock)."""
    from yingshang.appeals import escalation
    from yingshang.appeals.actions_followup import close_unrated_due

    escalation.sweep_all(now=now)
    close_unrated_due(now)


def _settle_history(now: dt.datetime) -> None:
    """The history's e-mails and text messages went out back then, and old inbox items have been read:
    the demo must not send them again at start, nor greet its users with months of unread messages."""
    from django.db.models import F

    from yingshang.core.models import Notification, OutboxMessage, OutboxStatus

    OutboxMessage.objects.filter(key__startswith="appeal", status=OutboxStatus.PENDING).update(
        status=OutboxStatus.SENT, sent_at=F("created_at"), attempts=1)
    Notification.objects.filter(key__startswith="appeal", read_at__isnull=True,
                                created_at__lt=now - 14 * D).update(read_at=F("created_at") + H)


def _status_counts() -> dict:
    from django.db.models import Count

    from yingshang.appeals.models import Appeal

    rows = (Appeal.objects.filter(idempotency_key__contains=":demo-appeal-").values_list("status")
            .annotate(n=Count("id")).order_by())
    return dict(rows)


def _counts_text(counts: dict) -> str:
    return "、".join(f"{k} {v}" for k, v in sorted(counts.items())) or "无"


__all__ = ["seed_appeals", "AppealSeedResult", "shifted_clock", "planted"]
