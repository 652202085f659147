import pytest
from django.db import DatabaseError, transaction

from yingshang.core import audit
from yingshang.core.models import AuditLog


@pytest.mark.django_db
def test_audit_rows_cannot_be_updated_even_with_a_raw_queryset_update(org):
    entry = audit.record(org.users["admin"], "update", org.enterprise, changes={"employees": [1, 2]})
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).update(reason="tampered")
    assert AuditLog.objects.get(pk=entry.pk).reason == ""


@pytest.mark.django_db
def test_audit_model_refuses_save_of_existing_row_and_delete(org):
    entry = audit.record(None, "create", org.enterprise)
    entry.reason = "x"
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()


def test_diff_reports_only_changed_fields():
    assert audit.diff({"a": 1, "b": "x"}, {"a": 2, "b": "x"}) == {"a": [1, 2]}
