"""``bench appeals``: the organisation and every case's attributes and timeline, generated as numpy arrays.

Times are UTC epoch microseconds, dates Asia/Shanghai date ordinals; the working-day arithmetic mirrors
``WorkCalendar`` and ``clock`` (checked on a sample after seeding, see ``_appeals_seed.check_clock``)."""
from __future__ import annotations

import datetime as dt

import numpy as np

US, DAY, TZ_OFF, EPOCH_ORD = 10**6, 86_400 * 10**6, 8 * 3_600 * 10**6, dt.date(1970, 1, 1).toordinal()
HOUR, MINUTE = 3_600 * 10**6, 60 * 10**6
# Open cases past intake; cases younger than INTAKE_AGE draw from INTAKE_MIX.
OPEN_MIX = {"dispatched": .10, "returned": .01, "signed": .20, "in_progress": .42, "paused": .04, "replied": .23}
INTAKE_MIX = {"submitted": .4, "graded": .2, "dispatched": .4}
RECENT_DAYS, RECENT_OPEN = 14, 0.75
CLOSED_MIX = {"closed": .95, "referred_out": .025, "merged": .025}
GRADE_MIX = {"urgent": .10, "normal": .45, "complex": .25, "complaint": .20}
CHANNEL_MIX = {"portal": .33, "hotline_12345": .45, "roundtable": .03, "deputy": .04, "observer": .03,
               "steward": .07, "media": .02, "supervisor": .03}
CATEGORY_MIX = {"government_service": .24, "factor_supply": .20, "policy_redemption": .14, "enforcement": .10,
                "arrears": .08, "fair_competition": .05, "ip": .04, "other": .15}
CITY = "411600"


# ---------------------------------------------------------------- the calendar as arrays
def local_ord(us):
    """Asia/Shanghai date ordinals of UTC epoch microseconds."""
    return (us + TZ_OFF) // DAY + EPOCH_ORD


def day_start(ordinal):
    """Epoch microseconds of 00:00 Asia/Shanghai of date ordinals."""
    return (ordinal - EPOCH_ORD) * DAY - TZ_OFF


def to_dt(us: int) -> dt.datetime:
    """The aware UTC datetime of epoch microseconds."""
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=int(us))


def _year(o):
    return (np.asarray(o) - EPOCH_ORD).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


class Days:
    """``WorkCalendar.add``/``between`` and the provisional rule on arrays of date ordinals (same semantics;
    checked against ``clock`` on a sample after seeding)."""

    def __init__(self, cal, first: dt.date, last: dt.date):
        ords = range(first.toordinal(), last.toordinal() + 1)
        self.work = np.array([o for o in ords if cal.is_workday(dt.date.fromordinal(o))], dtype=np.int64)
        self.official = np.array(sorted(cal.official_years), dtype=np.int64)

    def add(self, o, n):
        """``n`` working days after (before, when negative) each ordinal ``o``."""
        o, n = np.asarray(o, dtype=np.int64), np.asarray(n, dtype=np.int64)
        fwd = np.searchsorted(self.work, o, "right") + n - 1
        back = np.searchsorted(self.work, o, "left") + n
        got = self.work[np.clip(np.where(n > 0, fwd, back), 0, len(self.work) - 1)]
        return np.where(n == 0, o, got)

    def between(self, a, b):
        """Working days in (a, b] for a <= b."""
        return np.searchsorted(self.work, b, "right") - np.searchsorted(self.work, a, "right")

    def provisional(self, first, last):
        """Any year in [first, last + 7 days] without an official notice (WorkCalendar._span_provisional)."""
        y1, y2 = _year(first), _year(np.asarray(last) + 7)
        known = np.isin(y1, self.official) & np.isin(y2, self.official) & (y2 - y1 <= 1)
        return (np.asarray(first) <= np.asarray(last)) & ~known


# ---------------------------------------------------------------- the organisation around the cases
class Org:
    """Regions, departments, enterprises, grades and staff of the scratch database, as arrays."""

    def __init__(self):
        self._places()
        self._people()

    def _places(self) -> None:
        from yingshang.core.models import Department, Region
        from yingshang.enterprises.models import Enterprise
        from yingshang.seeding.regions import county_weights

        counties, weights = county_weights("city")
        self.counties = [c.code for c in counties]
        self.county_p = np.array(weights) / sum(weights)
        self.streets = {c: list(Region.objects.filter(parent_id=c).values_list("code", flat=True))
                        for c in self.counties}
        depts = list(Department.objects.values_list("id", "code", "region_id", "kind"))
        self.dept_code = {d[0]: d[1] for d in depts}
        self.city_depts = np.array([d[0] for d in depts if d[2] == CITY])
        self.county_depts = {c: np.array([d[0] for d in depts if d[2] == c]) for c in self.counties}
        self.street_dept = {d[2]: d[0] for d in depts if d[3] == "township"}
        ents = Enterprise.objects.filter(status="active").values_list("id", "region_id")
        self.ent_id, self.ent_region = map(np.array, zip(*ents))

    def _people(self) -> None:
        from yingshang.appeals.models import Grade
        from yingshang.core.models import Role, User

        self.grades = {g.code: g for g in Grade.objects.all()}
        self.dispatcher = User.objects.get(username="dispatcher").pk
        handlers = User.objects.filter(role=Role.HANDLER).order_by("id").values_list("department_id", "id")
        self.handler = np.zeros(max(self.dept_code) + 1, dtype=np.int64)
        for dept, user in reversed(list(handlers)):  # the department's first handler wins
            self.handler[dept] = user


# ---------------------------------------------------------------- generating the cases
def _pick(rng, mix: dict, n: int) -> np.ndarray:
    keys = list(mix)
    return np.array(keys, dtype=object)[rng.choice(len(keys), n, p=np.array(list(mix.values())) / sum(mix.values()))]


def _exp(rng, mean_days: float, n: int, cap_days: float) -> np.ndarray:
    return np.minimum(rng.exponential(mean_days * DAY, n), cap_days * DAY).astype(np.int64) + MINUTE


class Cases:
    """Every case's attributes and timeline as arrays (``c``), built from one random draw (``r``)."""

    def __init__(self, org: Org, cal, days: Days, n: int, k: int, now: int, seed: int, policy):
        self.org, self.cal, self.days, self.n, self.now, self.pol = org, cal, days, n, now, policy
        self.rng = rng = np.random.default_rng(seed)
        self.c = c = {}
        age = rng.uniform(0, 365 * DAY, n)  # a steady inflow over 12 months
        is_open = self._open(age, k)
        fresh = is_open & (age < 6 * HOUR)
        c["status"] = np.where(is_open, _pick(rng, OPEN_MIX, n), _pick(rng, CLOSED_MIX, n))
        c["status"] = np.where(fresh, _pick(rng, INTAKE_MIX, n), c["status"])
        self._flags()
        self._attributes()
        self._outcomes()
        self._draw()
        self.created = now - MINUTE - age.astype(np.int64)
        self._settle()

    def _open(self, age, k: int) -> np.ndarray:
        """K open cases: RECENT_OPEN of the last RECENT_DAYS' cases, the rest an even backlog of older ones (at
        ~2,700 new cases a day, 200,000 open ones are mostly weeks to months old: Little's law)."""
        rng, n = self.rng, self.n
        recent = np.flatnonzero(age < RECENT_DAYS * DAY)
        older = np.flatnonzero(age >= RECENT_DAYS * DAY)
        take = min(k, int(len(recent) * RECENT_OPEN))
        is_open = np.zeros(n, bool)
        is_open[rng.choice(recent, take, replace=False)] = True
        is_open[rng.choice(older, min(k - take, len(older)), replace=False)] = True
        return is_open

    def _flags(self) -> None:
        s, rng, n = self.c["status"], self.rng, self.n
        done = np.isin(s, ["replied", "closed"])
        f = self.f = {"grade": ~np.isin(s, ["submitted", "referred_out", "merged"])}
        f["dispatch"] = f["grade"] & (s != "graded")
        f["returned"] = (s == "returned") | (f["dispatch"] & (rng.random(n) < 0.05))
        f["redispatch"] = f["returned"] & (s != "returned")
        f["sign"] = np.isin(s, ["signed", "in_progress", "paused"]) | done
        f["contact"] = (s == "in_progress") | done | ((s == "paused") & (rng.random(n) < 0.8))
        f["pause_open"] = s == "paused"
        f["pause_done"] = f["sign"] & ~f["pause_open"] & (rng.random(n) < 0.02)
        f["ext"] = f["sign"] & (rng.random(n) < 0.015)
        f["reply"] = done
        f["rated"] = (s == "closed") & (rng.random(n) < 0.9)
        f["defaulted"] = (s == "closed") & ~f["rated"]
        f["ended"] = np.isin(s, ["referred_out", "merged"])
        f["co"] = f["dispatch"] & (rng.random(n) < 0.08)
        f["disclose"] = rng.random(n) < 0.10

    def _attributes(self) -> None:
        c, rng, n = self.c, self.rng, self.n
        c["grade"] = _pick(rng, GRADE_MIX, n)
        days = {g: self.org.grades[g].days for g in GRADE_MIX}
        c["gdays"] = np.array([days[g] for g in c["grade"]], dtype=np.int64)
        c["channel"] = _pick(rng, CHANNEL_MIX, n)
        c["category"] = _pick(rng, CATEGORY_MIX, n)
        c["problem"] = rng.integers(0, 1000, n)
        self._places()
        self._co_department()

    def _places(self) -> None:
        """Enterprise (65 % where the channel names one), region and lead department (first and current)."""
        c, rng, n, org = self.c, self.rng, self.n, self.org
        has_ent = (rng.random(n) < 0.65) & np.isin(c["channel"], ["portal", "hotline_12345", "steward", "roundtable"])
        pick = rng.integers(0, len(org.ent_id), n)
        c["enterprise"] = np.where(has_ent, org.ent_id[pick], 0)
        county = np.array(org.counties)[rng.choice(len(org.counties), n, p=org.county_p)]
        county = np.where(has_ent, org.ent_region[pick], county)
        street = np.array([s[i % len(s)] for s, i in zip((org.streets[x] for x in county), rng.integers(0, 99, n))])
        c["region"] = np.where(has_ent, county, street)
        c["dept"], c["dept0"] = self._department(county, street), self._department(county, street)

    def _co_department(self) -> None:
        """A city bureau other than the lead department."""
        city = self.org.city_depts
        pick = self.rng.integers(0, len(city), self.n)
        pick = np.where(city[pick] == self.c["dept"], (pick + 1) % len(city), pick)
        self.c["co_dept"] = city[pick]

    def _outcomes(self) -> None:
        c, f, rng, n = self.c, self.f, self.rng, self.n
        c["result"] = np.where(f["reply"], _pick(rng, {"resolved": .7, "explained": .22, "referred": .08}, n), "")
        c["satisfaction"] = np.where(f["rated"], _pick(
            rng, {"satisfied": .75, "basically_satisfied": .17, "unsatisfied": .08}, n), "").astype(object)
        c["resolved"] = np.where(c["result"] == "resolved", rng.random(n) < 0.92, rng.random(n) < 0.2)

    def _department(self, county, street) -> np.ndarray:
        """City bureaus (Zipf-weighted) 50 %, the county's offices 20 %, the township of the street 30 %."""
        rng, org, n = self.rng, self.org, self.n
        zipf = 1 / np.arange(1, len(org.city_depts) + 1) ** 0.8
        city = org.city_depts[rng.permutation(len(org.city_depts))][rng.choice(len(zipf), n, p=zipf / zipf.sum())]
        county_d = np.array([org.county_depts[c][i % len(org.county_depts[c])]
                             for c, i in zip(county, rng.integers(0, 9, n))])
        town = np.array([org.street_dept[s] for s in street])
        kind = rng.random(n)
        return np.where(kind < 0.5, city, np.where(kind < 0.7, county_d, town))

    def _draw(self) -> None:
        """Every random delay of the timeline, drawn once (the timeline is recomputed when cases are shifted)."""
        rng, n = self.rng, self.n
        r = self.r = {"g": _exp(rng, 0.25, n, 3), "ug": rng.uniform(0.2, 0.95, n), "ret": _exp(rng, 0.2, n, 1),
                      "redisp": _exp(rng, 0.2, n, 2), "sign": _exp(rng, 0.3, n, 1.5), "contact": _exp(rng, 0.3, n, 1),
                      "pause_at": _exp(rng, 0.3, n, 2), "pause_len": _exp(rng, 3, n, 10),
                      "ext_at": _exp(rng, 0.5, n, 1), "ext_wait": _exp(rng, 0.2, n, 1), "tod": rng.integers(
                          int(8.5 * HOUR), 18 * HOUR, n), "rate": _exp(rng, 1.5, n, 14), "close": _exp(rng, 1, n, 3)}
        late = rng.random(n) < 0.15
        r["w"] = np.where(late, self.c["gdays"] + rng.integers(1, 9, n),
                          rng.integers(1, self.c["gdays"] + 1)).astype(np.int64)
        r["ext_days"] = np.full(n, 5, dtype=np.int64)
        r["lag"] = rng.integers(0, 50 * US, n)

    def _settle(self) -> None:
        """Shift cases back until every milestone lies before the last sweep (a minute ago)."""
        for attempt in range(12):
            t = self._timeline(self.created)
            over = t["last"] > self.now - MINUTE
            if not over.any():
                break
            extra = HOUR if attempt < 3 else 2 * DAY  # then whole days: a reply lands on a working day
            self.created = np.where(over, self.created - (t["last"] - self.now) - extra, self.created)
        self.t = t
        self.c["provisional"] = t["provisional"]

    def _timeline(self, created) -> dict:
        t = self._handling(created)
        self._deadline(t)
        t["ended"] = created + self.r["g"]
        t["last"] = self._last(t)
        return t

    def _handling(self, created) -> dict:
        """Moments from submission to the extension, each its random delay after the step before."""
        f, r = self.f, self.r
        t = {"created": created, "graded": created + (r["g"] * r["ug"]).astype(np.int64),
             "dispatched": created + r["g"]}
        t["returned"] = t["dispatched"] + r["ret"]
        t["redispatched"] = t["returned"] + r["redisp"]
        t["signed"] = np.where(f["redispatch"], t["redispatched"], t["dispatched"]) + r["sign"]
        t["contact"] = t["signed"] + r["contact"]
        t["work_from"] = np.where(f["contact"], t["contact"], t["signed"])
        t["paused"] = t["work_from"] + r["pause_at"]
        t["resumed"] = t["paused"] + r["pause_len"]
        t["ext_req"] = t["work_from"] + r["ext_at"]
        t["ext_ok"] = t["ext_req"] + r["ext_wait"]
        return t

    def _deadline(self, t: dict) -> None:
        """Due date and provisional flag (a completed pause and an extension move it), the reply and close."""
        f, r, d = self.f, self.r, self.days
        dd, pd, rd = local_ord(t["dispatched"]), local_ord(t["paused"]), local_ord(t["resumed"])
        extra = np.where(f["pause_done"], d.between(pd, rd), 0) + np.where(f["ext"], r["ext_days"], 0)
        t["due"] = d.add(dd, self.c["gdays"] + extra)
        t["provisional"] = d.provisional(dd + 1, t["due"]) | (f["pause_done"] & d.provisional(pd + 1, rd))
        floor = np.maximum.reduce([t["work_from"], np.where(f["pause_done"], t["resumed"], 0),
                                   np.where(f["ext"], t["ext_ok"], 0)]) + 30 * MINUTE
        t["replied"] = np.maximum(day_start(d.add(dd, r["w"] + extra)) + r["tod"], floor)
        t["closed"] = np.where(f["rated"], t["replied"] + r["rate"], t["replied"] + 15 * DAY + r["close"])

    def _last(self, t) -> np.ndarray:
        f = self.f
        steps = [("graded", "grade"), ("dispatched", "dispatch"), ("returned", "returned"),
                 ("redispatched", "redispatch"), ("signed", "sign"), ("contact", "contact"), ("paused", "pause_open"),
                 ("resumed", "pause_done"), ("ext_ok", "ext"), ("replied", "reply"), ("closed", "rated"),
                 ("closed", "defaulted"), ("ended", "ended")]
        return np.maximum.reduce([t["created"]] + [np.where(f[flag], t[key], 0) for key, flag in steps])

    # ------------------------------------------------------------ the escalation ladder
    def timers(self) -> np.ndarray:
        """(n, 4) moments of levels 1–4 (``clock.escalation_times``; a completed pause goes through clock)."""
        d, t, p = self.days, self.t, self.pol
        due = t["due"]
        ladder = np.stack([np.maximum(day_start(d.add(due, -p.reminder_days_before)), t["dispatched"]),
                           day_start(due + 1), day_start(d.add(due, p.supervise_after_days) + 1),
                           day_start(d.add(due, p.accountability_after_days) + 1)], axis=1)
        for i in np.flatnonzero(self.f["pause_done"]):
            ladder[i] = self._clock_timers(i)
        return ladder

    def _clock_timers(self, i: int) -> list[int]:
        from yingshang.appeals import clock

        t, f = self.t, self.f
        times = clock.CaseTimes(dispatched_at=to_dt(t["dispatched"][i]), grade_days=int(self.c["gdays"][i]),
                                pauses=[(to_dt(t["paused"][i]), to_dt(t["resumed"][i]))],
                                extensions=[int(self.r["ext_days"][i])] if f["ext"][i] else [])
        reach = clock.escalation_times(times, self.cal, self.pol)
        return [int((reach[lv] - to_dt(0)) / dt.timedelta(microseconds=1)) for lv in range(1, 5)]

    def escalation(self, last_sweep: int) -> None:
        """Levels reached (by the reply, the pause or the last sweep) and the next timer of held cases."""
        from yingshang.appeals.deadlines import HOLDING_STATUSES

        f, t, s = self.f, self.t, self.c["status"]
        held = np.isin(s, [str(x) for x in HOLDING_STATUSES])  # timers run only while the department holds it
        ref = np.select([f["reply"], f["pause_open"], s == "returned"], [t["replied"], t["paused"], t["returned"]],
                        last_sweep)
        ladder = self.timers()
        level = np.where(f["dispatch"], (ladder <= ref[:, None]).sum(axis=1), 0)
        nxt = ladder[np.arange(self.n), np.minimum(level, 3)]
        self.c["level"], self.ladder, self.ref = level, ladder, ref
        self.c["next"] = np.where(held & (level < 4), nxt, -1)
