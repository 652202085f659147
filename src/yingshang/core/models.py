"""Organisation (regions, departments, users and roles), API tokens, audit log, notifications."""
from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


# ---------------------------------------------------------------- regions (GB/T 2260)
class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("市")
    COUNTY = "county", _("县区")
    STREET = "street", _("乡镇街道")


# How many leading digits of a code identify a region of each level; descendants share the prefix.
PREFIX_LENGTH = {"province": 2, "city": 4, "county": 6, "street": 9}


class RegionQuerySet(models.QuerySet):
    def within(self, prefix: str) -> "RegionQuerySet":
        """Regions inside the region with this prefix (itself included)."""
        return self.filter(code__startswith=prefix)


class Region(models.Model):
    code = models.CharField(_("区划代码"), max_length=12, primary_key=True)
    name = models.CharField(_("名称"), max_length=64)
    level = models.CharField(_("层级"), max_length=10, choices=RegionLevel.choices)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children",
                               verbose_name=_("上级区划"))
    prefix = models.CharField(_("代码前缀"), max_length=12, db_index=True, editable=False)

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}({self.code})"

    @staticmethod
    def prefix_for(code: str, level: str) -> str:
        """The significant prefix of a region code: province 2, city 4, county 6, street 9 digits."""
        return code[: PREFIX_LENGTH[level]]

    def contains(self, code: str) -> bool:
        return code.startswith(self.prefix)


# ---------------------------------------------------------------- departments
class DepartmentKind(models.TextChoices):
    OFFICE = "office", _("营商环境主管部门")
    SECTOR = "sector", _("行业主管部门")
    TOWNSHIP = "township", _("乡镇街道")
    UTILITY = "utility", _("公用事业单位")
    JUDICIAL = "judicial", _("司法机关")
    OTHER = "other", _("其他单位")


class Department(models.Model):
    code = models.CharField(_("单位代码"), max_length=32, unique=True)
    name = models.CharField(_("单位名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=32, blank=True)
    kind = models.CharField(_("类别"), max_length=16, choices=DepartmentKind.choices)
    region = models.ForeignKey(Region, models.PROTECT, related_name="departments", verbose_name=_("所属区划"))
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children",
                               verbose_name=_("上级单位"))
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = verbose_name_plural = _("单位")
        ordering = ["region_id", "code"]

    def __str__(self) -> str:
        return self.name


# ---------------------------------------------------------------- users and roles
class Role(models.TextChoices):
    ADMIN = "admin", _("平台管理员")
    DISPATCHER = "dispatcher", _("营商办调度员")
    EVALUATOR = "evaluator", _("评价人员")
    POLICY_OFFICER = "policy_officer", _("政策专员")
    HANDLER = "handler", _("承办人员")
    DEPT_LEADER = "dept_leader", _("部门负责人")
    STEWARD = "steward", _("服务管家")
    LEADER = "leader", _("领导")
    SUPERVISOR = "supervisor", _("监督员")
    ENTERPRISE = "enterprise", _("企业用户")


# Which scope each role must carry (see access.py for what each role may see).
ROLES_NEEDING_DEPARTMENT = {Role.POLICY_OFFICER, Role.HANDLER, Role.DEPT_LEADER}
ROLES_NEEDING_ENTERPRISE = {Role.ENTERPRISE}
STAFF_ROLES = {Role.ADMIN, Role.DISPATCHER, Role.EVALUATOR, Role.POLICY_OFFICER, Role.HANDLER,
               Role.DEPT_LEADER, Role.STEWARD, Role.LEADER}


class User(AbstractUser):
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default=Role.ENTERPRISE)
    display_name = models.CharField(_("姓名"), max_length=64, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    department = models.ForeignKey(Department, models.PROTECT, null=True, blank=True, related_name="users",
                                   verbose_name=_("所属单位"))
    region = models.ForeignKey(Region, models.PROTECT, null=True, blank=True, related_name="users",
                               verbose_name=_("管辖区划"))
    enterprise = models.ForeignKey("enterprises.Enterprise", models.PROTECT, null=True, blank=True,
                                   related_name="users", verbose_name=_("所属企业"))
    is_demo = models.BooleanField(_("演示账号"), default=False,
                                  help_text=_("演示账号只能在演示模式下登录"))

    objects = UserManager()

    class Meta:
        verbose_name = verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def scope_prefix(self) -> str:
        """The region-code prefix this user's view is limited to ('' = everywhere)."""
        if self.region_id:
            return self.region.prefix
        if self.department_id:
            return self.department.region.prefix
        return ""


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> "ApiTokenQuerySet":
        """Tokens that are neither revoked nor expired."""
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiToken(models.Model):
    """A bearer token. Only the SHA-256 of the token is stored; the token itself is shown once."""

    user = models.ForeignKey(User, models.CASCADE, related_name="api_tokens", verbose_name=_("用户"))
    name = models.CharField(_("用途"), max_length=64, blank=True)
    prefix = models.CharField(_("令牌前缀"), max_length=12)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = _("API 令牌")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


# ---------------------------------------------------------------- audit log (append-only)
class AuditAction(models.TextChoices):
    CREATE = "create", _("创建")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    TRANSITION = "transition", _("状态变更")
    READ_PERSONAL = "read_personal", _("查看个人信息")
    LOGIN = "login", _("登录")
    LOGOUT = "logout", _("退出")
    LOGIN_FAILED = "login_failed", _("登录失败")
    IMPORT = "import", _("导入")
    EXPORT = "export", _("导出")
    TOKEN = "token", _("令牌")


class AuditLogQuerySet(models.QuerySet):
    def for_object(self, obj: models.Model) -> "AuditLogQuerySet":
        """Entries about one object, newest first."""
        return self.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by("-at", "-id")


class AuditLog(models.Model):
    """One row per create, update, state change or personal-data read. Never updated or deleted
    (enforced by database triggers, see migration 0002)."""

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, models.DO_NOTHING, null=True, blank=True, db_constraint=False,
                              related_name="+", verbose_name=_("操作人"))
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    action = models.CharField(_("动作"), max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(_("对象类型"), max_length=64)
    object_id = models.CharField(_("对象标识"), max_length=64)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    reason = models.TextField(_("原因/说明"), blank=True)
    ip = models.GenericIPAddressField(_("来源 IP"), null=True, blank=True)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = _("审计日志")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "at"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_action_display()} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise RuntimeError("审计日志只能追加,不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("审计日志只能追加,不能删除")


# ---------------------------------------------------------------- notifications
class Notification(models.Model):
    """An in-app inbox entry."""

    # No database-level constraint (Django still cascades): a policy push writes 100,000s of rows at once and
    # the deferred per-row FK checks at commit cost seconds; users are deactivated, not deleted. No index of
    # its own either: notif_inbox_idx starts with user. Likewise the key's uniqueness is a plain unique
    # index (a unique=True CharField would add a second, LIKE-pattern index nobody queries).
    user = models.ForeignKey(User, models.CASCADE, related_name="notifications", verbose_name=_("收件人"),
                             db_constraint=False, db_index=False)
    key = models.CharField(_("去重键"), max_length=200)
    category = models.CharField(_("类别"), max_length=32, blank=True)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("站内消息")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "created_at"], name="notif_inbox_idx")]
        constraints = [models.UniqueConstraint(fields=["key"], name="notif_key_unique")]

    def __str__(self) -> str:
        return self.title


class OutboxChannel(models.TextChoices):
    EMAIL = "email", _("电子邮件")
    SMS = "sms", _("短信")


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    DEAD = "dead", _("发送失败")


class OutboxQuerySet(models.QuerySet):
    def due(self, now=None) -> "OutboxQuerySet":
        """Pending messages whose next attempt time has come."""
        return self.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now or timezone.now())


class OutboxMessage(models.Model):
    """A message to deliver through an external channel; written in the same transaction as the
    action that caused it and delivered by the background worker, exactly once per ``key``."""

    key = models.CharField(_("去重键"), max_length=200)  # unique: outbox_key_unique (no LIKE index)
    channel = models.CharField(_("渠道"), max_length=10, choices=OutboxChannel.choices)
    user = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False,
                             db_index=False, verbose_name=_("收件人"))
    address = models.CharField(_("地址"), max_length=200)
    subject = models.CharField(_("主题"), max_length=200, blank=True)
    body = models.TextField(_("内容"))
    status = models.CharField(_("状态"), max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Which delivery run holds the row while it is "sending" (see core/outbox.py: claim).
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    last_error = models.TextField(_("最近错误"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = _("待发消息")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]
        constraints = [models.UniqueConstraint(fields=["key"], name="outbox_key_unique")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.address}: {self.subject or self.body[:20]}"
