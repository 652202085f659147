"""The organisation part of the seed: regions, departments and one demo account per role.

Everything here is idempotent (existing rows, looked up by code or username, are kept), so it can
run on a database that already has part of the organisation.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.hashers import make_password

from yingshang.core.models import Department, DepartmentKind, Region, Role, User
from yingshang.seeding.regions import DEMO_CITY, regions_for, streets_by_county
from yingshang.seeding.text import county_stem

DEMO_PASSWORD = "yingshang-demo"
CITY_DEPARTMENTS = Path(__file__).parent / "data" / "departments_city.csv"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    display_name: str
    department: str | None = None  # department code
    region: str | None = None  # region code


# One account per role (two for the roles whose scope differs between city and county).
DEMO_ACCOUNTS = (
    DemoAccount("admin", Role.ADMIN, "系统管理员"),
    DemoAccount("dispatcher", Role.DISPATCHER, "王晓东", "411600-YSB", "411600"),
    DemoAccount("fugou_dispatcher", Role.DISPATCHER, "李文静", "411621-YSB", "411621"),
    DemoAccount("evaluator", Role.EVALUATOR, "赵明远", "411600-YSB", "411600"),
    DemoAccount("policy_officer", Role.POLICY_OFFICER, "孙丽华", "411600-GXJ"),
    DemoAccount("handler", Role.HANDLER, "张伟", "411600-SCJG"),
    DemoAccount("fugou_handler", Role.HANDLER, "刘洋", "411621-SCJG"),
    DemoAccount("dept_leader", Role.DEPT_LEADER, "陈建国", "411600-SCJG"),
    # Reviews and publishes the 工信局 policy items entered by policy_officer (four-eyes rule).
    DemoAccount("gxj_leader", Role.DEPT_LEADER, "吴国华", "411600-GXJ"),
    DemoAccount("steward", Role.STEWARD, "郭晓燕", "411602-YSB", "411602"),
    DemoAccount("leader", Role.LEADER, "周志刚", None, "411600"),
    DemoAccount("supervisor", Role.SUPERVISOR, "马红梅(市人大代表)"),
    DemoAccount("enterprise", Role.ENTERPRISE, ""),
)
# The province-size data set adds a dispatcher whose scope is the whole province (1,000,000 firms).
PROVINCE_ACCOUNTS = (DemoAccount("henan_dispatcher", Role.DISPATCHER, "何志远(省营商办)", None, "410000"),)


def seed_regions(size: str) -> int:
    """Create the missing regions of this seed size; returns how many were created."""
    existing = set(Region.objects.values_list("code", flat=True))
    new = [Region(code=r.code, name=r.name, level=r.level, parent_id=r.parent or None,
                  prefix=Region.prefix_for(r.code, r.level))
           for r in regions_for(size) if r.code not in existing]
    Region.objects.bulk_create(new, batch_size=500)
    return len(new)


def department_rows() -> list[Department]:
    """City departments (~40, from the data file), then each county's 营商办 and 市场监管局, then one
    department per township (乡镇人民政府 / 街道办事处)."""
    with CITY_DEPARTMENTS.open(encoding="utf-8") as fh:
        rows = [Department(code=f"{DEMO_CITY}-{r['suffix']}", name=r["name"], short_name=r["short_name"],
                           kind=r["kind"], region_id=DEMO_CITY) for r in csv.DictReader(fh)]
    counties = {r.code: r for r in regions_for("city") if r.level == "county"}
    for code, county in counties.items():
        stem = county_stem(county.name)
        rows.append(Department(code=f"{code}-YSB", name=f"{county.name}营商环境建设办公室", short_name=f"{stem}营商办",
                               kind=DepartmentKind.OFFICE, region_id=code, parent_id=None))
        rows.append(Department(code=f"{code}-SCJG", name=f"{county.name}市场监督管理局",
                               short_name=f"{stem}市场监管局", kind=DepartmentKind.SECTOR, region_id=code))
    for code, streets in streets_by_county().items():
        if code not in counties:
            continue
        for street in streets:
            suffix = "办事处" if street.name.endswith("街道") else "人民政府"
            rows.append(Department(code=f"{street.code}-ZF", name=f"{counties[code].name}{street.name}{suffix}",
                                   short_name=street.name, kind=DepartmentKind.TOWNSHIP, region_id=street.code))
    return rows


def seed_departments() -> int:
    """Create the missing departments and link county offices to their city counterparts."""
    existing = set(Department.objects.values_list("code", flat=True))
    new = [d for d in department_rows() if d.code not in existing]
    Department.objects.bulk_create(new, batch_size=500)
    ids = dict(Department.objects.values_list("code", "id"))
    for suffix in ("YSB", "SCJG"):
        Department.objects.filter(code__in=[d.code for d in new if d.code.endswith(f"-{suffix}")]) \
            .exclude(code=f"{DEMO_CITY}-{suffix}").update(parent_id=ids.get(f"{DEMO_CITY}-{suffix}"))
    return len(new)


def seed_users(enterprise=None, size: str = "city") -> list[User]:
    """Create the missing demo accounts (``is_demo``; shared password hashed once)."""
    accounts = DEMO_ACCOUNTS + (PROVINCE_ACCOUNTS if size == "province" else ())
    existing = set(User.objects.filter(username__in=[a.username for a in accounts]).values_list("username", flat=True))
    departments = dict(Department.objects.values_list("code", "id"))
    password = make_password(DEMO_PASSWORD)  # one slow hash, reused by every demo account
    new = []
    for account in accounts:
        if account.username in existing or (account.role == Role.ENTERPRISE and enterprise is None):
            continue
        user = User(username=account.username, role=account.role, display_name=account.display_name,
                    department_id=departments.get(account.department), region_id=account.region,
                    email=f"{account.username}@demo.yingshang.local", is_demo=True, password=password,
                    is_staff=account.role == Role.ADMIN, is_superuser=account.role == Role.ADMIN)
        if account.role == Role.ENTERPRISE:
            user.enterprise, user.display_name = enterprise, enterprise.contact_name or enterprise.name
        new.append(user)
    User.objects.bulk_create(new)
    return new


def demo_enterprise():
    """The enterprise the demo ``enterprise`` account belongs to: a small active company in 川汇区."""
    from yingshang.enterprises.models import Enterprise

    base = Enterprise.objects.filter(status="active").order_by("id")
    return (base.filter(region_id="411602", legal_form="llc", size="small").first()
            or base.filter(region__code__startswith=DEMO_CITY[:4]).first() or base.first())


def scope_label(user: User) -> str:
    """What a demo account may see, in words, for the accounts table printed by ``demo``."""
    if user.role == Role.ADMIN:
        return "全部数据"
    if user.role == Role.ENTERPRISE:
        return user.enterprise.name if user.enterprise_id else "(未关联企业)"
    if user.role == Role.SUPERVISOR:
        return "提交问题、关注公开案件"
    if user.department_id and user.role in (Role.HANDLER, Role.POLICY_OFFICER, Role.DEPT_LEADER):
        return user.department.name
    if user.region_id:
        return user.region.name
    return user.department.name if user.department_id else "全部区划"
