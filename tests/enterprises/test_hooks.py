"""``enterprises_changed`` is sent after commit — never on rollback — by every write that changes what a
policy rule can see: create, update, import, manual tags, computed-tag recompute, certifications, credit lists."""
import datetime as dt
import io

import pytest
from django.db import transaction
from django.utils import timezone

from tests.enterprises.conftest import BASIC_HEADERS, basic_row, fresh_uscc, xlsx_bytes
from tests.factories import EnterpriseFactory
from yingshang.enterprises import tags
from yingshang.enterprises.actions import do_create_enterprise, do_set_manual_tags, do_update_enterprise
from yingshang.enterprises.actions_credit import do_add_credit_listing, do_remove_credit_listing
from yingshang.enterprises.hooks import enterprises_changed
from yingshang.enterprises.importer import import_file
from yingshang.enterprises.models import Enterprise, Tag, TagKind


class Rollback(Exception):
    pass


@pytest.fixture
def received():
    """The id lists announced while the test runs."""
    calls: list[list[int]] = []

    def listener(sender, ids, **kw):
        calls.append(list(ids))

    enterprises_changed.connect(listener, dispatch_uid="test-hooks")
    yield calls
    enterprises_changed.disconnect(dispatch_uid="test-hooks")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a write as if its transaction committed (the test transaction never does)."""
    def run(write):
        with django_capture_on_commit_callbacks(execute=True):
            return write()
    return run


@pytest.fixture
def rolled_back(django_capture_on_commit_callbacks):
    """Run a write inside a transaction that is then rolled back."""
    def run(write):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(Rollback):
                with transaction.atomic():
                    write()
                    raise Rollback
        assert callbacks == []
    return run


def new_data(**kw):
    return {"uscc": fresh_uscc(), "name": "周口信号测试有限公司", "region_code": "411602", "industry_code": "3311",
            "employees": 40, **kw}


def test_create(org, received, committed, rolled_back):
    rolled_back(lambda: do_create_enterprise(org.users["dispatcher"], new_data()))
    assert received == []
    ent = committed(lambda: do_create_enterprise(org.users["dispatcher"], new_data()))
    assert received == [[ent.pk]]


def test_update_and_certifications(org, received, committed, rolled_back):
    user, ent = org.users["dispatcher"], org.enterprise
    rolled_back(lambda: do_update_enterprise(user, ent, {"taxable_income": "12"}))
    assert received == []
    committed(lambda: do_update_enterprise(user, ent, {"taxable_income": "12"}))
    committed(lambda: do_update_enterprise(user, ent, {"certifications": ["high_tech:2024-01-01~2026-12-31"]}))
    assert received == [[ent.pk], [ent.pk]]
    committed(lambda: do_update_enterprise(user, ent, {"taxable_income": "12"}))  # no change: no signal
    assert len(received) == 2


def test_failed_update_sends_nothing(org, received, committed):
    from yingshang.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        committed(lambda: do_update_enterprise(org.users["dispatcher"], org.enterprise, {"taxable_income": "-1"}))
    assert received == []


def test_manual_tags(org, received, committed, rolled_back):
    Tag.objects.create(code="key_project", name="重点项目企业", kind=TagKind.MANUAL)
    rolled_back(lambda: do_set_manual_tags(org.users["dispatcher"], org.enterprise, ["key_project"]))
    assert received == []
    committed(lambda: do_set_manual_tags(org.users["dispatcher"], org.enterprise, ["key_project"]))
    assert received == [[org.enterprise.pk]]


def test_import_announces_every_written_id(org, received, committed, rolled_back):
    rows = [basic_row(), basic_row(name="乙公司")]
    data = xlsx_bytes(rows, BASIC_HEADERS)
    rolled_back(lambda: import_file(org.users["dispatcher"], io.BytesIO(data), "a.xlsx"))
    assert received == []
    committed(lambda: import_file(org.users["dispatcher"], io.BytesIO(data), "a.xlsx"))
    ids = sorted(Enterprise.objects.filter(uscc__in=[r[0] for r in rows]).values_list("pk", flat=True))
    assert received == [ids]
    changed = [list(r) for r in rows]
    changed[1][5] = 400
    committed(lambda: import_file(org.users["dispatcher"], io.BytesIO(xlsx_bytes(changed, BASIC_HEADERS)), "b.xlsx"))
    assert received[-1] == [ids[1]]  # only the row that changed


def test_computed_tag_recompute_announces_changed_enterprises(org, received, committed, rolled_back):
    young = EnterpriseFactory(uscc=fresh_uscc(), established_on=timezone.localdate() - dt.timedelta(days=400))
    rolled_back(lambda: tags.recompute_computed_tags())
    assert received == []
    committed(lambda: tags.recompute_computed_tags())
    announced = {i for ids in received for i in ids}
    assert young.pk in announced
    received.clear()
    committed(lambda: tags.recompute_computed_tags())  # nothing left to change
    assert received == []


def test_recompute_drops_tags_of_expired_certifications(org, committed, received):
    ent = do_update_enterprise(org.users["dispatcher"], org.enterprise,
                               {"certifications": ["high_tech:2020-01-01~2022-12-31"]})
    assert not ent.tag_links.filter(tag__code="high_tech").exists()  # expired when written
    do_update_enterprise(org.users["dispatcher"], ent, {"certifications": ["high_tech:2020-01-01~"]})
    assert ent.tag_links.filter(tag__code="high_tech").exists()
    committed(lambda: tags.recompute_computed_tags(on=dt.date(2019, 6, 1)))  # before it started
    assert not ent.tag_links.filter(tag__code="high_tech").exists()
    assert [ent.pk] in received


def test_credit_listings(org, received, committed, rolled_back):
    user, ent = org.users["dispatcher"], org.enterprise
    day = timezone.localdate() - dt.timedelta(days=30)
    rolled_back(lambda: do_add_credit_listing(user, ent, "abnormal_operation", day))
    assert received == []
    listing = committed(lambda: do_add_credit_listing(user, ent, "abnormal_operation", day))
    rolled_back(lambda: do_remove_credit_listing(user, listing, timezone.localdate()))
    assert received == [[ent.pk]]
    committed(lambda: do_remove_credit_listing(user, listing, timezone.localdate()))
    assert received == [[ent.pk], [ent.pk]]
