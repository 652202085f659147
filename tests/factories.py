"""factory_boy factories and a small organisation builder shared by the test suite."""
from __future__ import annotations

import itertools
from types import SimpleNamespace

import factory

from yingshang.core.models import Department, DepartmentKind, Region, RegionLevel, Role, User
from yingshang.enterprises.models import Enterprise
from yingshang.enterprises.uscc import make_uscc

_serial = itertools.count(10000000)


def fresh_uscc(region: str = "411602") -> str:
    """A valid, unique USCC for tests."""
    return make_uscc("9", "1", region, f"{next(_serial):08d}")


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = "411600"
    name = "周口市"
    level = RegionLevel.CITY
    prefix = factory.LazyAttribute(lambda r: Region.prefix_for(r.code, r.level))


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"D{n:03d}")
    name = factory.Sequence(lambda n: f"测试局{n}")
    kind = DepartmentKind.SECTOR
    region = factory.SubFactory(RegionFactory)


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise

    uscc = factory.LazyFunction(fresh_uscc)
    name = factory.Sequence(lambda n: f"周口测试实业有限公司{n}")
    region = factory.SubFactory(RegionFactory, code="411602", name="川汇区", level=RegionLevel.COUNTY)
    industry_code = "3311"
    employees = 50
    operating_revenue = 1500
    total_assets = 2000

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        obj = model_class(*args, **kwargs)
        obj.derive()
        obj.save()
        return obj


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.DISPATCHER
    password = factory.PostGenerationMethodCall("set_password", "pass-1234")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


def build_org() -> SimpleNamespace:
    """City 411600 with counties 411602 (川汇区) and 411621 (扶沟县), a street each, departments and a
    user per role; ``org.users[role]`` is that user (password ``pass-1234``)."""
    province = RegionFactory(code="410000", name="河南省", level=RegionLevel.PROVINCE)
    city = RegionFactory(code="411600", name="周口市", level=RegionLevel.CITY, parent=province)
    chuanhui = RegionFactory(code="411602", name="川汇区", level=RegionLevel.COUNTY, parent=city)
    fugou = RegionFactory(code="411621", name="扶沟县", level=RegionLevel.COUNTY, parent=city)
    street = RegionFactory(code="411602001", name="陈州回族街道", level=RegionLevel.STREET, parent=chuanhui)
    office = DepartmentFactory(code="YSB", name="周口市营商环境建设办公室", kind=DepartmentKind.OFFICE, region=city)
    market = DepartmentFactory(code="SCJG", name="周口市市场监督管理局", region=city)
    fugou_dept = DepartmentFactory(code="FG-SCJG", name="扶沟县市场监督管理局", region=fugou)
    users = {}
    for role in Role:
        extra = {}
        if role in (Role.HANDLER, Role.POLICY_OFFICER, Role.DEPT_LEADER):
            extra["department"] = market
        users[role.value] = UserFactory(username=f"t_{role.value}", role=role, **extra)
    ent = EnterpriseFactory(region=chuanhui)
    users["enterprise"].enterprise = ent
    users["enterprise"].save()
    county_dispatcher = UserFactory(username="t_fugou_dispatcher", role=Role.DISPATCHER, region=fugou)
    return SimpleNamespace(province=province, city=city, chuanhui=chuanhui, fugou=fugou, street=street,
                           office=office, market=market, fugou_dept=fugou_dept, users=users,
                           enterprise=ent, county_dispatcher=county_dispatcher)
