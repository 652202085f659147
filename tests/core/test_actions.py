import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from yingshang.core import actions
from yingshang.core.errors import Conflict, NotFound, ValidationFailed
from yingshang.core.models import ApiToken, AuditAction, AuditLog, Notification, Role, User

pytestmark = pytest.mark.django_db

PRODUCTION_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


def create(org, **kw):
    args = {"username": "new_user", "role": Role.DISPATCHER, "password": "S3cure-passphrase"} | kw
    return actions.do_create_user(org.users["admin"], **args)


@pytest.mark.parametrize("role", [Role.HANDLER, Role.POLICY_OFFICER, Role.DEPT_LEADER])
def test_department_roles_need_a_department(org, role):
    with pytest.raises(ValidationFailed) as err:
        create(org, role=role)
    assert "department" in err.value.fields and "所属单位" in err.value.message
    assert not User.objects.filter(username="new_user").exists()


def test_enterprise_role_needs_an_enterprise(org):
    with pytest.raises(ValidationFailed) as err:
        create(org, role=Role.ENTERPRISE)
    assert "enterprise" in err.value.fields


def test_only_enterprise_users_may_be_linked_to_an_enterprise(org):
    with pytest.raises(ValidationFailed) as err:
        create(org, role=Role.DISPATCHER, enterprise=org.enterprise.uscc)
    assert "enterprise" in err.value.fields


@pytest.mark.parametrize("field,kw", [
    ("role", {"role": "boss"}),
    ("department", {"role": Role.HANDLER, "department": "NOPE"}),
    ("region", {"region": "419999"}),
    ("enterprise", {"role": Role.ENTERPRISE, "enterprise": "91411602MA00000000"}),
    ("phone", {"phone": "12345"}),
    ("email", {"email": "not-an-address"}),
    ("username", {"username": "有 空格"}),
    ("password", {"password": ""}),
])
def test_unknown_or_malformed_values_name_the_field(org, field, kw):
    with pytest.raises(ValidationFailed) as err:
        create(org, **kw)
    assert field in err.value.fields
    assert err.value.message.startswith(field)


def test_scoped_users_are_created_with_their_scope_and_audited(org):
    user = create(org, role=Role.HANDLER, department="SCJG", region="411602", display_name="张三",
                  phone="13800138000", email="zs@example.cn")
    assert (user.department, user.region_id, user.role) == (org.market, "411602", Role.HANDLER)
    assert user.check_password("S3cure-passphrase")
    ent_user = create(org, username="ent2", role=Role.ENTERPRISE, enterprise=org.enterprise.uscc)
    assert ent_user.enterprise == org.enterprise
    entry = AuditLog.objects.for_object(user).get()
    assert entry.action == AuditAction.CREATE and entry.actor == org.users["admin"]
    assert entry.changes["department_id"] == [None, org.market.pk]
    assert "S3cure-passphrase" not in str(entry.changes) and "password" not in entry.changes


def test_admin_role_gets_django_admin_rights(org):
    user = create(org, role=Role.ADMIN)
    assert user.is_staff and user.is_superuser


def test_taken_username_is_a_conflict_even_in_another_case(org):
    with pytest.raises(Conflict):
        create(org, username="T_Admin")


def test_password_is_checked_by_the_production_validators(org):
    with override_settings(AUTH_PASSWORD_VALIDATORS=PRODUCTION_VALIDATORS):
        with pytest.raises(ValidationFailed) as err:
            create(org, password="12345678901")
        assert "password" in err.value.fields
        assert create(org, password="long-enough-passphrase").pk


def test_update_revalidates_the_scope_and_records_the_diff(org):
    user = org.users["dispatcher"]
    with pytest.raises(ValidationFailed) as err:
        actions.do_update_user(org.users["admin"], user, role=Role.HANDLER)
    assert "department" in err.value.fields
    actions.do_update_user(org.users["admin"], user, role=Role.HANDLER, department="SCJG", phone="13900139000")
    user.refresh_from_db()
    assert (user.role, user.department, user.phone) == (Role.HANDLER, org.market, "13900139000")
    entry = AuditLog.objects.for_object(user).filter(action=AuditAction.UPDATE).get()
    assert entry.changes["role"] == [Role.DISPATCHER, Role.HANDLER]


def test_update_refuses_fields_outside_the_profile(org):
    with pytest.raises(ValidationFailed) as err:
        actions.do_update_user(org.users["admin"], org.users["dispatcher"], is_superuser=True)
    assert "is_superuser" in err.value.fields


def test_deactivation_revokes_tokens(org):
    user = org.users["steward"]
    actions.do_issue_token(None, user)
    actions.do_deactivate_user(org.users["admin"], user, reason="离职")
    user.refresh_from_db()
    assert not user.is_active
    assert not ApiToken.objects.active().filter(user=user).exists()
    with pytest.raises(ValidationFailed):
        actions.do_issue_token(None, user)


def test_token_is_returned_once_and_stored_hashed(org):
    user = org.users["leader"]
    token = actions.do_issue_token(org.users["admin"], user, name="报表")
    assert token.startswith("ys_") and len(token) == 3 + 43
    row = ApiToken.objects.get(user=user)
    assert row.digest == ApiToken.hash(token) and row.digest != token
    assert token.startswith(row.prefix) and len(row.prefix) < len(token) // 3
    assert all(token not in str(e.changes) + e.reason for e in AuditLog.objects.all())


def test_token_expiry_must_be_in_the_future(org):
    with pytest.raises(ValidationFailed) as err:
        actions.do_issue_token(None, org.users["leader"], expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert "expires_at" in err.value.fields


def test_revoking_is_idempotent_and_unknown_tokens_are_not_found(org):
    actions.do_issue_token(None, org.users["leader"])
    row = ApiToken.objects.get()
    first = actions.do_revoke_token(org.users["admin"], row.pk).revoked_at
    assert actions.do_revoke_token(org.users["admin"], row.pk).revoked_at == first
    assert AuditLog.objects.filter(reason="吊销 API 令牌").count() == 1
    with pytest.raises(NotFound):
        actions.do_revoke_token(None, row.pk + 1000)


def test_revoke_by_prefix_touches_only_matching_tokens(org):
    user = org.users["leader"]
    keep, drop = actions.do_issue_token(None, user), actions.do_issue_token(None, user)
    assert actions.do_revoke_tokens(None, user, prefix=drop[:10]) == 1
    assert list(ApiToken.objects.active().values_list("digest", flat=True)) == [ApiToken.hash(keep)]


def test_mark_notifications_read_only_touches_own_unread_rows(org):
    me, other = org.users["handler"], org.users["steward"]
    mine = [Notification.objects.create(user=me, key=f"k{i}", title="t") for i in range(3)]
    theirs = Notification.objects.create(user=other, key="x", title="t")
    assert actions.do_mark_notifications_read(me, [mine[0].pk, theirs.pk]) == 1
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert actions.do_mark_notifications_read(me) == 2
    assert actions.do_mark_notifications_read(me) == 0
