"""诉求 (appeals): enterprise problems from every channel, their life cycle, deadlines and escalations.

The deadline arithmetic lives in ``clock.py`` (pure); these rows store its results so that queues sort and
the escalation sweep finds due cases by index (``next_escalation_at``).
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yingshang.core.models import Department, Region, User
from yingshang.enterprises.models import Enterprise


class Category(models.TextChoices):
    GOVERNMENT_SERVICE = "government_service", _("政务服务")
    FACTOR_SUPPLY = "factor_supply", _("要素保障")
    POLICY_REDEMPTION = "policy_redemption", _("政策兑现")
    ENFORCEMENT = "enforcement", _("执法监管")
    ARREARS = "arrears", _("拖欠账款")
    FAIR_COMPETITION = "fair_competition", _("公平竞争")
    IP = "ip", _("知识产权")
    OTHER = "other", _("其他")


class FactorKind(models.TextChoices):
    LAND = "land", _("用地")
    POWER = "power", _("用电")
    WATER = "water", _("用水")
    FINANCE = "finance", _("融资")
    LABOUR = "labour", _("用工")


class Channel(models.TextChoices):
    PORTAL = "portal", _("网上平台")
    HOTLINE_12345 = "hotline_12345", _("12345热线")
    ROUNDTABLE = "roundtable", _("政企圆桌会")
    DEPUTY = "deputy", _("人大代表/政协委员")
    OBSERVER = "observer", _("营商观察员")
    STEWARD = "steward", _("服务管家")
    MEDIA = "media", _("媒体")
    SUPERVISOR = "supervisor", _("特邀监督员")


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    GRADED = "graded", _("已定级")
    DISPATCHED = "dispatched", _("已交办")
    RETURNED = "returned", _("已退单")
    SIGNED = "signed", _("已签收")
    IN_PROGRESS = "in_progress", _("办理中")
    PAUSED = "paused", _("已暂停")
    REPLIED = "replied", _("已答复")
    CLOSED = "closed", _("已办结")
    REFERRED_OUT = "referred_out", _("已转出(非政府职能)")
    MERGED = "merged", _("已合并")


OPEN_STATUSES = (Status.SUBMITTED, Status.GRADED, Status.DISPATCHED, Status.RETURNED, Status.SIGNED,
                 Status.IN_PROGRESS, Status.PAUSED, Status.REPLIED)


# Not on the public board: a submission the dispatcher has not routed may be anything (redaction cannot
# catch a bare name); merged duplicates live on in the case they were merged into.
NOT_PUBLIC = (Status.SUBMITTED, Status.GRADED, Status.MERGED)


class Result(models.TextChoices):
    RESOLVED = "resolved", _("已解决")
    EXPLAINED = "explained", _("已解释说明,暂不能解决")
    REFERRED = "referred", _("已转有关单位")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY_SATISFIED = "basically_satisfied", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class EscalationLevel(models.IntegerChoices):
    NONE = 0, _("无")
    REMINDER = 1, _("到期提醒")
    PROMPT = 2, _("提示(点单对账)")
    SUPERVISE = 3, _("督办(点穴刺痛)")
    ACCOUNTABILITY = 4, _("约谈/问责(点醒问责)")


# Timeline labels of the case steps (events.action).
ACTION_LABELS = {"submit": "提交", "grade": "定级", "dispatch": "交办", "return": "退单", "arbitrate": "裁定交办",
                 "sign": "签收", "contact": "联系企业", "pause": "暂停办理", "resume": "恢复办理",
                 "request_extension": "申请延期", "approve_extension": "批准延期", "reject_extension": "驳回延期",
                 "reply": "答复", "rate": "评价", "reopen": "重办", "close": "办结", "review": "回头看",
                 "merge": "合并", "refer": "转出", "escalate": "督办升级",
                 "sign_task": "协办签收", "reply_task": "协办意见", "attach": "上传附件"}
# Steps the appellant takes: the timeline names no department on them.
APPELLANT_STEPS = frozenset({"submit", "rate"})


class Grade(models.Model):
    """A configurable grade: its deadline in working days (defaults urgent 1, normal 3, complex 5, complaint 15)."""

    code = models.SlugField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=20)
    days = models.PositiveSmallIntegerField(_("办理时限(工作日)"))
    sign_days = models.PositiveSmallIntegerField(_("签收时限(工作日)"), default=1)
    response_days = models.PositiveSmallIntegerField(_("首次响应时限(工作日)"), default=1)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = verbose_name_plural = _("诉求等级")
        ordering = ["order", "days"]

    def __str__(self) -> str:
        return f"{self.name}({self.days}个工作日)"


class AppealQuerySet(models.QuerySet):
    def open(self) -> "AppealQuerySet":
        """Cases not yet closed, referred out or merged."""
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, now=None) -> "AppealQuerySet":
        """Open cases past their deadline moment (paused cases have no running deadline)."""
        return self.open().filter(due_at__lt=now or timezone.now()).exclude(status=Status.PAUSED)

    def escalation_due(self, now=None) -> "AppealQuerySet":
        """Cases whose next escalation step is due (the sweep's indexed query)."""
        return self.filter(next_escalation_at__lte=now or timezone.now())


class Appeal(models.Model):
    number = models.CharField(_("编号"), max_length=24, unique=True)
    title = models.CharField(_("标题"), max_length=200)
    content = models.TextField(_("诉求内容"))
    category = models.CharField(_("类别"), max_length=20, choices=Category.choices)
    factor_kind = models.CharField(_("要素类别"), max_length=10, choices=FactorKind.choices, blank=True)
    region = models.ForeignKey(Region, models.PROTECT, related_name="appeals", verbose_name=_("所在区划"))
    enterprise = models.ForeignKey(Enterprise, models.PROTECT, null=True, blank=True, related_name="appeals",
                                   verbose_name=_("企业"))
    # Personal data (DOMAIN §4): never on public pages; staff reads are audited.
    contact_name = models.CharField(_("联系人"), max_length=64, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    channel = models.CharField(_("来源渠道"), max_length=16, choices=Channel.choices, default=Channel.PORTAL)
    external_ref = models.CharField(_("外部工单号"), max_length=64, blank=True)  # e.g. the 12345 order number
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True, editable=False)
    disclose = models.BooleanField(_("同意公开"), default=False)
    submitted_by = models.ForeignKey(User, models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name=_("提交人"))
    status = models.CharField(_("状态"), max_length=14, choices=Status.choices, default=Status.SUBMITTED)
    grade = models.ForeignKey(Grade, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("等级"))
    department = models.ForeignKey(Department, models.PROTECT, null=True, blank=True, related_name="appeals",
                                   verbose_name=_("主办单位"))
    # The clock of the current round (a reopening starts a new round from its own dispatch).
    dispatched_at = models.DateTimeField(_("交办时间"), null=True, blank=True)
    signed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    first_contact_at = models.DateTimeField(_("首次联系时间"), null=True, blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    due_date = models.DateField(_("办理期限"), null=True, blank=True)
    due_at = models.DateTimeField(_("期限截止时刻"), null=True, blank=True)
    due_provisional = models.BooleanField(_("期限待定(节假日安排未公布)"), default=False)
    escalation_level = models.PositiveSmallIntegerField(_("督办级别"), choices=EscalationLevel.choices, default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True, editable=False)
    round = models.PositiveSmallIntegerField(_("办理轮次"), default=1)
    return_count = models.PositiveSmallIntegerField(_("退单次数"), default=0)
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    result = models.CharField(_("办理结果"), max_length=10, choices=Result.choices, blank=True)
    reply = models.TextField(_("答复内容"), blank=True)
    rated_resolved = models.BooleanField(_("企业认为已解决"), null=True, blank=True)
    satisfaction = models.CharField(_("满意度"), max_length=20, choices=Satisfaction.choices, blank=True)
    rating_comment = models.TextField(_("评价意见"), blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    rating_defaulted = models.BooleanField(_("逾期未评价按默认处理"), default=False)
    merged_into = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="merged_cases",
                                    verbose_name=_("合并至"))
    referral_reason = models.CharField(_("转出理由"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    objects = AppealQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = _("诉求")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["channel", "external_ref"], condition=~models.Q(external_ref=""),
                                               name="appeal_external_ref")]
        indexes = [models.Index(fields=["next_escalation_at"], name="appeal_escalation_idx"),
                   models.Index(fields=["status", "due_at"], name="appeal_status_due_idx"),
                   models.Index(fields=["department", "status", "due_at"], name="appeal_dept_queue_idx"),
                   models.Index(fields=["region", "status"], name="appeal_region_idx"),
                   models.Index(fields=["disclose", "status", "created_at"], name="appeal_public_idx"),
                   models.Index(fields=["enterprise", "created_at"], name="appeal_enterprise_idx"),
                   # The pool's orders (newest, by deadline) and the public board walk these instead of sorting.
                   models.Index(fields=["-created_at", "-id"], name="appeal_created_idx"),
                   models.Index(fields=["due_at", "id"], name="appeal_due_order_idx"),
                   models.Index(fields=["due_at", "id"], name="appeal_open_due_idx",
                                condition=models.Q(status__in=OPEN_STATUSES)),
                   models.Index(fields=["-created_at", "-id"], name="appeal_board_idx",  # = public.public_qs()
                                condition=models.Q(disclose=True) & ~models.Q(status__in=NOT_PUBLIC)),
                   models.Index(fields=["category", "-created_at"], name="appeal_board_cat_idx",
                                condition=models.Q(disclose=True) & ~models.Q(status__in=NOT_PUBLIC)),
                   models.Index(fields=["channel", "-created_at"], name="appeal_channel_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class TaskRole(models.TextChoices):
    LEAD = "lead", _("主办")
    CO = "co", _("协办")


class AppealTask(models.Model):
    """A department's part of a case: the lead task and the co-handling sub-tasks, each with its deadline."""

    appeal = models.ForeignKey(Appeal, models.CASCADE, related_name="tasks")
    department = models.ForeignKey(Department, models.PROTECT, related_name="appeal_tasks")
    role = models.CharField(max_length=4, choices=TaskRole.choices)
    round = models.PositiveSmallIntegerField(default=1)
    dispatched_at = models.DateTimeField(default=timezone.now)
    due_date = models.DateField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    content = models.TextField(blank=True)

    class Meta:
        ordering = ["round", "role", "id"]
        indexes = [models.Index(fields=["department", "replied_at"], name="appeal_task_queue_idx")]


class AppealPause(models.Model):
    appeal = models.ForeignKey(Appeal, models.CASCADE, related_name="pauses")
    round = models.PositiveSmallIntegerField(default=1)
    paused_at = models.DateTimeField()
    resumed_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300)
    paused_by = models.ForeignKey(User, models.PROTECT, related_name="+")

    class Meta:
        ordering = ["paused_at", "id"]


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("未批准")


class AppealExtension(models.Model):
    appeal = models.ForeignKey(Appeal, models.CASCADE, related_name="extensions")
    round = models.PositiveSmallIntegerField(default=1)
    days = models.PositiveSmallIntegerField(_("延期(工作日)"))
    reason = models.CharField(_("延期理由"), max_length=300)
    status = models.CharField(max_length=10, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING)
    requested_by = models.ForeignKey(User, models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(User, models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]


class AppealEvent(models.Model):
    """The case's timeline: every transition and escalation, with actor, time and reason (``public`` steps
    appear, redacted, on the public board)."""

    appeal = models.ForeignKey(Appeal, models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=24)
    from_status = models.CharField(max_length=14, blank=True)
    to_status = models.CharField(max_length=14, blank=True)
    department = models.ForeignKey(Department, models.SET_NULL, null=True, blank=True, related_name="+")
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    public = models.BooleanField(default=False)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["appeal", "at"], name="appeal_event_idx"),
                   models.Index(fields=["action", "at"], name="appeal_event_action_idx")]  # KPIs of a period


class AppealEscalation(models.Model):
    """One fired escalation step: exactly one per (case, round, level)."""

    appeal = models.ForeignKey(Appeal, models.CASCADE, related_name="escalations")
    round = models.PositiveSmallIntegerField()
    level = models.PositiveSmallIntegerField(choices=EscalationLevel.choices)
    fired_at = models.DateTimeField(default=timezone.now)
    department = models.ForeignKey(Department, models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["appeal", "round", "level"], name="appeal_escalation_once")]
        indexes = [models.Index(fields=["department", "level", "fired_at"], name="appeal_escalation_dept_idx")]


class AppealAttachment(models.Model):
    appeal = models.ForeignKey(Appeal, models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="appeals/%Y/%m/")
    name = models.CharField(max_length=200)
    uploaded_by = models.ForeignKey(User, models.PROTECT, null=True, blank=True, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)


class AppealReview(models.Model):
    """回头看: a closed case re-checked after N days; a failed check reopens it."""

    appeal = models.ForeignKey(Appeal, models.CASCADE, related_name="reviews")
    round = models.PositiveSmallIntegerField(default=1)
    sampled_at = models.DateTimeField(default=timezone.now)
    checked_by = models.ForeignKey(User, models.PROTECT, null=True, blank=True, related_name="+")
    checked_at = models.DateTimeField(null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-sampled_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["appeal", "round"], name="appeal_review_once")]
        indexes = [models.Index(fields=["checked_at", "sampled_at"], name="appeal_review_pending_idx")]


class OutboundStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已送达")
    FAILED = "failed", _("发送失败(已停止重试)")


class AppealOutbound(models.Model):
    """A reply, rating or closure to report back to the 12345 system (webhook), retried until delivered:
    one row per (case, kind, round) so that a retried step reports once."""

    appeal = models.ForeignKey(Appeal, models.CASCADE, related_name="outbound")
    kind = models.CharField(max_length=10)  # reply | rating | close | refer
    round = models.PositiveSmallIntegerField(default=1)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=OutboundStatus.choices, default=OutboundStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("12345 回传")
        constraints = [models.UniqueConstraint(fields=["appeal", "kind", "round"], name="appeal_outbound_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="appeal_outbound_due_idx")]


class AppealDaySerial(models.Model):
    """The last case number handed out on a day: one row per day, incremented under its row lock, so that
    concurrent submissions get consecutive numbers without retrying (``numbering.next_number``)."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField()
