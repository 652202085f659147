"""``bench appeals``: the generated cases as table columns for ``BulkWriter`` (appeals, tasks, events,
escalation steps, pauses, extensions), the texts included."""
from __future__ import annotations

import numpy as np

from yingshang.bench._appeals_cases import EPOCH_ORD, Cases, day_start, local_ord

# category → [(title, detail, factor kind)]
PROBLEMS = {
    "government_service": [("营业执照变更登记办理时间过长", "提交变更登记申请已两周仍未办结,影响投标", ""),
                           ("施工许可审批材料反复要求补正", "同一份材料被要求补正三次,每次意见不同", ""),
                           ("不动产登记需多次往返窗口", "办理厂房不动产登记往返窗口四次仍未办完", "")],
    "factor_supply": [("用电增容申请迟迟未办理", "三月申请用电增容至今没有答复,新生产线无法投产", "power"),
                      ("厂区供水管网压力不足", "夏季用水高峰厂区水压不足,锅炉无法正常运行", "water"),
                      ("项目用地手续办理缓慢", "签约项目用地组卷报批进度缓慢,开工时间一再推迟", "land"),
                      ("企业流动资金贷款审批难", "申请的流动资金贷款审批周期过长,原材料采购受影响", "finance"),
                      ("招工难,缺少熟练技术工人", "扩产后缺少熟练技术工人,希望对接职业院校", "labour")],
    "policy_redemption": [("稳岗补贴申请后迟迟未到账", "按要求提交稳岗补贴申请已三个月,资金仍未到账", ""),
                          ("研发费用加计扣除政策落实不到位", "申报研发费用加计扣除时被要求提供额外证明", "")],
    "enforcement": [("同一事项多部门重复检查", "一个月内被三个部门就同一事项上门检查", ""),
                    ("行政处罚裁量标准不统一", "同类轻微违法行为在不同县区处罚差别很大", "")],
    "arrears": [("政府工程项目款项被拖欠", "承建的市政道路项目已竣工验收,工程尾款至今未支付", ""),
                ("国有企业拖欠货款", "向某国有企业供货后,货款拖欠超过一年", "")],
    "fair_competition": [("招投标设置不合理门槛", "招标文件要求本地业绩,外地企业无法参与", "")],
    "ip": [("商标被他人恶意抢注", "我公司使用多年的商标被他人抢先注册", ""),
           ("产品外观专利被侵权", "市场上出现仿冒我公司外观专利产品", "")],
    "other": [("企业周边道路破损影响运输", "园区道路破损严重,货车通行困难", ""),
              ("园区公共交通不便", "员工上下班没有公交线路,招工受影响", "")],
}
REPLIES = {"resolved": "经协调,问题已解决,已电话告知企业。", "explained": "已向企业解释相关政策规定,暂不能解决的原因已说明。",
           "referred": "该事项已转有关单位办理,并告知企业办理进度查询方式。"}
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗")
REFERRAL_REASON = "属于司法程序事项,非政府职能"


class Cols:
    """Column builders in the form BulkWriter takes (polars Series; text for SQLite's datetimes and dates)."""

    def __init__(self, vendor: str):
        self.sqlite = vendor == "sqlite"

    @staticmethod
    def masked(s, mask):
        """``s`` with NULL where ``mask`` is False."""
        import polars as pl

        return s if mask is None else pl.select(pl.when(pl.Series(np.asarray(mask, dtype=bool))).then(s)).to_series()

    def ts(self, us, mask=None):
        """Aware timestamps of epoch microseconds."""
        import polars as pl

        s = self.masked(pl.Series(np.asarray(us, dtype=np.int64)).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
                        mask)
        return s.dt.strftime("%Y-%m-%d %H:%M:%S.%6f") if self.sqlite else s

    def date(self, ordinal, mask):
        """Dates of date ordinals."""
        import polars as pl

        s = self.masked(pl.Series((np.asarray(ordinal) - EPOCH_ORD).astype("datetime64[D]")), mask)
        return s.dt.strftime("%Y-%m-%d") if self.sqlite else s

    def ints(self, values, mask=None):
        """64-bit integers."""
        import polars as pl

        return self.masked(pl.Series(np.asarray(values, dtype=np.int64)), mask)

    @staticmethod
    def strs(values):
        """Text."""
        import polars as pl

        return pl.Series(list(values), dtype=pl.Utf8)

    @staticmethod
    def bools(values):
        """Booleans."""
        import polars as pl

        return pl.Series(np.asarray(values, dtype=bool))


# ---------------------------------------------------------------- the appeals table
def _contacts(rng, n: int) -> tuple[list, list, np.ndarray]:
    """Contact names and phones; the cue says whose text repeats them."""
    who = [f"{s}{'先生' if m else '女士'}" for s, m in zip(np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)],
                                                       rng.random(n) < 0.6)]
    phones = [f"1{a}{b:09d}" for a, b in zip(rng.integers(3, 10, n), rng.integers(0, 10**9, n))]
    return who, phones, rng.random(n) < 0.05


def _texts(cases: Cases, ids: np.ndarray) -> dict:
    """Titles, contents, contacts and replies (a few percent carry a phone number in the text)."""
    from yingshang.core.models import Region

    c = cases.c
    names = dict(Region.objects.values_list("code", "name"))
    probs = [PROBLEMS[cat][p % len(PROBLEMS[cat])] for cat, p in zip(c["category"], c["problem"])]
    who, phones, cue = _contacts(cases.rng, cases.n)
    content = [f"{names[r]}{'某企业' if e else '群众'}反映:{p[1]}。希望有关部门尽快协调解决。"
               + (f"联系人:{w},电话 {ph}。" if q else "")
               for r, e, p, w, ph, q in zip(c["region"], c["enterprise"], probs, who, phones, cue)]
    return {"title": [p[0] for p in probs], "content": content, "factor_kind": [p[2] for p in probs],
            "contact_name": who, "contact_phone": phones, "result": c["result"],
            "reply": [REPLIES.get(x, "") for x in c["result"]],
            "external_ref": [f"ZK12345-{i}" if ch == "hotline_12345" else "" for i, ch in zip(ids, c["channel"])]}


def _numbers(created_sorted: np.ndarray) -> list[str]:
    """SQ<yyyymmdd>-<serial> in creation order, the serial counting per local day."""
    day = local_ord(created_sorted)
    serial = np.arange(len(day)) - np.searchsorted(day, day, "left") + 1
    dates = np.char.replace(np.datetime_as_string((day - EPOCH_ORD).astype("datetime64[D]")), "-", "")
    return [f"SQ{d}-{s:04d}" for d, s in zip(dates.tolist(), serial.tolist())]


def _who_columns(cases: Cases, cols: Cols, ids: np.ndarray) -> dict:
    c, f = cases.c, cases.f
    grade_id = np.array([cases.org.grades[g].pk for g in c["grade"]])
    return {"id": cols.ints(ids), "category": cols.strs(c["category"]), "region_id": cols.strs(c["region"]),
            "enterprise_id": cols.ints(c["enterprise"], c["enterprise"] > 0), "channel": cols.strs(c["channel"]),
            "disclose": cols.bools(f["disclose"]), "status": cols.strs(c["status"]),
            "grade_id": cols.ints(grade_id, f["grade"]), "department_id": cols.ints(c["dept"], f["dispatch"])}


def _clock_columns(cases: Cases, cols: Cols) -> dict:
    c, f, t = cases.c, cases.f, cases.t
    closed = np.where(f["ended"], t["ended"], t["closed"])
    return {"dispatched_at": cols.ts(t["dispatched"], f["dispatch"]), "signed_at": cols.ts(t["signed"], f["sign"]),
            "first_contact_at": cols.ts(t["contact"], f["contact"]), "replied_at": cols.ts(t["replied"], f["reply"]),
            "closed_at": cols.ts(closed, f["ended"] | (c["status"] == "closed")),
            "rated_at": cols.ts(t["closed"], f["rated"]), "due_date": cols.date(t["due"], f["dispatch"]),
            "due_at": cols.ts(day_start(t["due"] + 1), f["dispatch"]),
            "due_provisional": cols.bools(f["dispatch"] & c["provisional"]), "escalation_level": cols.ints(c["level"]),
            "next_escalation_at": cols.ts(c["next"], c["next"] >= 0)}


def _outcome_columns(cases: Cases, cols: Cols, ids: np.ndarray) -> dict:
    c, f, n = cases.c, cases.f, cases.n
    survivors = ids[c["status"] != "merged"]
    return {"return_count": cols.ints(f["returned"]), "rated_resolved": cols.masked(cols.bools(c["resolved"]), f["rated"]),
            "satisfaction": cols.strs(c["satisfaction"]), "rating_defaulted": cols.bools(f["defaulted"]),
            "merged_into_id": cols.ints(survivors[cases.rng.integers(0, len(survivors), n)], c["status"] == "merged"),
            "referral_reason": cols.strs(np.where(c["status"] == "referred_out", REFERRAL_REASON, "")),
            "rating_comment": cols.strs([""] * n), "created_at": cols.ts(cases.created),
            "updated_at": cols.ts(cases.t["last"])}


def appeal_columns(cases: Cases, cols: Cols, ids: np.ndarray, order: np.ndarray) -> dict:
    """The appeals table in creation ``order`` (case numbers count per day in that order)."""
    text = _texts(cases, ids)  # first: the random draws keep their order
    out = {**_who_columns(cases, cols, ids), **_clock_columns(cases, cols), **_outcome_columns(cases, cols, ids)}
    out.update({k: cols.strs(v) for k, v in text.items()})
    out = {k: v[order] for k, v in out.items()}
    out["number"] = cols.strs(_numbers(cases.created[order]))
    return out


# ---------------------------------------------------------------- child tables
class Rows:
    """Rows of one child table gathered part by part (numpy arrays, scalars broadcast), then sorted by time."""

    def __init__(self, time_key: str):
        self.parts: list[dict] = []
        self.time_key = time_key

    def add(self, mask, **cols) -> None:
        """The rows of the cases in ``mask``: per-case arrays are indexed, scalars repeated."""
        idx = np.flatnonzero(mask)
        self.parts.append({k: (v[idx] if isinstance(v, np.ndarray) and v.shape[:1] == mask.shape
                               else np.full(len(idx), v, dtype=object if isinstance(v, str) else None))
                           for k, v in cols.items()})

    def columns(self) -> dict:
        """All parts concatenated, stably sorted by the time column."""
        out = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        order = np.argsort(out[self.time_key], kind="stable")
        return {k: v[order] for k, v in out.items()}

    def series(self, cols: Cols) -> dict:
        """BulkWriter columns: ``*_at``/``at`` are moments (-1 = NULL), ``*_id`` references (0 = NULL)."""
        return {name: _series(cols, name, v) for name, v in self.columns().items()}


def _series(cols: Cols, name: str, v: np.ndarray):
    if name == "at" or name.endswith("_at"):
        return cols.ts(v, v >= 0)
    if v.dtype == object or v.dtype.kind == "U":
        return cols.strs(v.tolist())
    if v.dtype == bool:
        return cols.bools(v)
    return cols.ints(v, v > 0 if name.endswith("_id") else None)


def task_rows(cases: Cases, ids: np.ndarray) -> Rows:
    """Lead tasks (the first one returned in 5 % of the cases), co-handling tasks."""
    f, t, c = cases.f, cases.t, cases.c
    rows, reply = Rows("dispatched_at"), np.where(f["reply"], REPLIES["resolved"], "").astype(object)
    none = np.full(cases.n, -1)
    first_dept = np.where(f["redispatch"], c["dept0"], c["dept"])
    for mask, dept, role, start, last in ((f["dispatch"], first_dept, "lead", t["dispatched"], ~f["redispatch"]),
                                          (f["redispatch"], c["dept"], "lead", t["redispatched"], f["redispatch"]),
                                          (f["co"], c["co_dept"], "co", t["dispatched"], f["co"])):
        rows.add(mask, appeal_id=ids, department_id=dept, role=role, dispatched_at=start,
                 returned_at=np.where(f["returned"] & (role == "lead") & (start == t["dispatched"]), t["returned"],
                                      none),
                 signed_at=np.where(last & f["sign"], t["signed"], none),
                 replied_at=np.where(last & f["reply"], t["replied"], none), content=np.where(last, reply, ""))
    return rows


class _Events:
    """The event table being built: one ``add`` per kind of step, in the order the actions write them."""

    def __init__(self, ids: np.ndarray):
        self.rows, self.ids = Rows("at"), ids

    def add(self, mask, at, action, frm, to, dept=0, reason="", data="{}", public=False, actor=0) -> None:
        """Events of the cases in ``mask``."""
        self.rows.add(mask, appeal_id=self.ids, at=at, action=action, from_status=frm, to_status=to,
                      department_id=dept, reason=reason, data=data, public=public, actor_id=actor)


def event_rows(cases: Cases, ids: np.ndarray) -> Rows:
    """The timeline of every case, as the actions write it (public flag as PUBLIC_ACTIONS)."""
    ev = _Events(ids)
    _intake_events(ev, cases)
    _work_events(ev, cases)
    _closing_events(ev, cases)
    _escalation_events(ev, cases)
    return ev.rows


def _intake_events(ev: _Events, cases: Cases) -> None:
    """Submission, grading, dispatch, return and dispatch again."""
    f, t, c, org = cases.f, cases.t, cases.c, cases.org
    disp, first = org.dispatcher, np.where(f["redispatch"], c["dept0"], c["dept"])
    code = np.array([org.dept_code[d] for d in c["dept"]], dtype=object)
    code0 = np.array([org.dept_code[d] for d in c["dept0"]], dtype=object)
    co = np.array([f', "co_departments": ["{org.dept_code[d]}"]' if x else ', "co_departments": []'
                   for d, x in zip(c["co_dept"], f["co"])], dtype=object)
    ev.add(np.ones(cases.n, bool), t["created"], "submit", "", "submitted",
           data='{"channel": "' + c["channel"] + '"}', public=True)
    ev.add(f["grade"], t["graded"], "grade", "submitted", "graded", actor=disp,
           data='{"grade": "' + c["grade"] + '", "days": ' + c["gdays"].astype(str).astype(object) + "}")
    ev.add(f["dispatch"], t["dispatched"], "dispatch", "graded", "dispatched", first, public=True, actor=disp,
           data='{"department": "' + np.where(f["redispatch"], code0, code) + '"' + co + ', "round": 1}')
    ev.add(f["returned"], t["returned"], "return", "dispatched", "returned", first, "不属于本单位职责范围",
           '{"round": 1}', actor=org.handler[first])
    ev.add(f["redispatch"], t["redispatched"], "dispatch", "returned", "dispatched", c["dept"], public=True,
           actor=disp, data='{"department": "' + code + '", "co_departments": [], "round": 1}')


def _work_events(ev: _Events, cases: Cases) -> None:
    """Signing, first contact, pause and resume, the extension asked and approved."""
    f, t, c, org = cases.f, cases.t, cases.c, cases.org
    hand, dept = org.handler[c["dept"]], c["dept"]
    worked = np.where(f["contact"], "in_progress", "signed").astype(object)
    ev.add(f["sign"], t["signed"], "sign", "dispatched", "signed", dept, actor=hand)
    ev.add(f["contact"], t["contact"], "contact", "signed", "in_progress", dept, "已电话联系企业负责人,了解诉求详情",
           actor=hand)
    ev.add(f["pause_open"] | f["pause_done"], t["paused"], "pause", worked, "paused", dept, "等待企业补充材料",
           actor=hand)
    ev.add(f["pause_done"], t["resumed"], "resume", "paused", worked, dept, actor=hand)
    ev.add(f["ext"], t["ext_req"], "request_extension", worked, worked, dept, "需协调多个部门", actor=hand,
           data='{"days": 5}')
    ev.add(f["ext"], t["ext_ok"], "approve_extension", worked, worked, dept, actor=org.dispatcher,
           data='{"days": 5}')


def _closing_events(ev: _Events, cases: Cases) -> None:
    """Reply, rating or default close, referral out and merge."""
    f, t, c, disp = cases.f, cases.t, cases.c, cases.org.dispatcher
    ev.add(f["reply"], t["replied"], "reply", "in_progress", "replied", c["dept"], public=True,
           actor=cases.org.handler[c["dept"]], data='{"result": "' + c["result"].astype(object) + '"}')
    ev.add(f["rated"], t["closed"], "rate", "replied", "closed", c["dept"], public=True,
           data='{"resolved": ' + np.where(c["resolved"], "true", "false").astype(object) + ', "satisfaction": "'
           + c["satisfaction"] + '"}')
    ev.add(f["defaulted"], t["closed"], "close", "replied", "closed", c["dept"], "评价期满未评价,按默认评价办结",
           public=True, actor=disp)
    ev.add(c["status"] == "referred_out", t["ended"], "refer", "submitted", "referred_out", reason=REFERRAL_REASON,
           public=True, actor=disp)
    ev.add(c["status"] == "merged", t["ended"], "merge", "submitted", "merged", reason="与已有诉求重复",
           public=True, actor=disp)


def _escalation_events(ev: _Events, cases: Cases) -> None:
    """One event per escalation level the sweep fired."""
    from yingshang.appeals.clock import LEVEL_LABELS

    f, c = cases.f, cases.c
    due = np.datetime_as_string((cases.t["due"] - EPOCH_ORD).astype("datetime64[D]")).astype(object)
    for lv in range(1, 5):
        ev.add(f["dispatch"] & (c["level"] >= lv), fired_at(cases, lv), "escalate", "", "", c["dept"],
               f"{LEVEL_LABELS[lv]}:办理期限 " + due, '{"level": ' + str(lv) + "}")


def other_rows(cases: Cases, ids: np.ndarray) -> dict:
    """Escalation steps, pauses and approved extensions."""
    from yingshang.appeals.models import AppealEscalation, AppealExtension, AppealPause

    f, t, c, org = cases.f, cases.t, cases.c, cases.org
    steps, pauses, exts = Rows("fired_at"), Rows("paused_at"), Rows("requested_at")
    for lv in range(1, 5):
        steps.add(f["dispatch"] & (c["level"] >= lv), appeal_id=ids, round=1, level=lv,
                  fired_at=fired_at(cases, lv), department_id=c["dept"])
    pauses.add(f["pause_open"] | f["pause_done"], appeal_id=ids, round=1, paused_at=t["paused"], reason="等待企业补充材料",
               resumed_at=np.where(f["pause_done"], t["resumed"], -1), paused_by_id=org.handler[c["dept"]])
    exts.add(f["ext"], appeal_id=ids, round=1, days=5, reason="需协调多个部门", status="approved",
             requested_by_id=org.handler[c["dept"]], requested_at=t["ext_req"], decided_by_id=org.dispatcher,
             decided_at=t["ext_ok"])
    return {AppealEscalation: steps, AppealPause: pauses, AppealExtension: exts}


def fired_at(cases: Cases, level: int) -> np.ndarray:
    """When the sweep fired a level: its timer plus the sweep's lag, never after the reference moment."""
    at = cases.ladder[:, level - 1]
    return at + np.minimum(cases.r["lag"], np.maximum(cases.ref - at, 0))
