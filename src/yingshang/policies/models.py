"""The policy library (documents, items with eligibility rules), match results, pushes, applications and 兑现.

Money is in 元 as Decimal with 2 places (amounts, budgets); enterprise figures stay in the register's
万元. Rules and parameters are JSON in the rule language of ``policies/engine/rules.py``.
"""
from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yingshang.core.models import Department, Region, User
from yingshang.enterprises.models import Enterprise

MONEY = {"max_digits": 16, "decimal_places": 2}


class BenefitType(models.TextChoices):
    SUBSIDY = "subsidy", _("资金补贴")
    TAX = "tax", _("税收减免")
    LOAN_INTEREST = "loan_interest", _("贷款贴息")
    QUALIFICATION = "qualification", _("资质认定")
    SERVICE = "service", _("服务")


class Mode(models.TextChoices):
    AUTO = "auto", _("免申即享")
    INSTANT = "instant", _("即申即享")
    APPLY = "apply", _("申报")


# Benefits the government pays out: a 免申即享 item of these kinds gets a redemption record per eligible
# enterprise that follows it to payout. Tax, qualification and service benefits in 免申即享 mode are applied
# by the responsible system itself (e.g. the tax authority at filing) and leave no record to pay here.
PAYABLE_BENEFITS = ("subsidy", "loan_interest")


class ItemStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    REVIEW = "review", _("待审核")
    PUBLISHED = "published", _("已发布")
    SUSPENDED = "suspended", _("已暂停")
    EXPIRED = "expired", _("已失效")


class AllocationRule(models.TextChoices):
    PRO_RATA = "pro_rata", _("预算不足时按比例分配")
    ORDER = "order", _("预算不足时按符合条件先后分配")


# ---------------------------------------------------------------- library
class PolicyDocument(models.Model):
    """A policy document (政策文件) as issued: 文号, issuers, dates, scope and full text."""

    title = models.CharField(_("文件标题"), max_length=200)
    doc_number = models.CharField(_("文号"), max_length=100, blank=True)
    issuers = models.CharField(_("发文机关"), max_length=200, help_text=_("如“财政部 税务总局”,多个以空格分隔"))
    departments = models.ManyToManyField(Department, blank=True, related_name="policy_documents",
                                         verbose_name=_("本地发文单位"))
    published_on = models.DateField(_("发布日期"), null=True, blank=True)
    effective_from = models.DateField(_("施行日期"), null=True, blank=True)
    expires_on = models.DateField(_("有效期至"), null=True, blank=True)
    # Where the document applies; empty = nationwide. Items can narrow it further with a region rule.
    region = models.ForeignKey(Region, models.PROTECT, null=True, blank=True, related_name="policy_documents",
                               verbose_name=_("适用区划"))
    source_url = models.URLField(_("原文链接"), max_length=400, blank=True)
    full_text = models.TextField(_("全文"), blank=True)
    created_by = models.ForeignKey(User, models.PROTECT, related_name="+", verbose_name=_("录入人"))
    created_at = models.DateTimeField(_("录入时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = _("政策文件")
        ordering = ["-published_on", "-id"]

    def __str__(self) -> str:
        return f"{self.title}({self.doc_number})" if self.doc_number else self.title


class PolicyAttachment(models.Model):
    document = models.ForeignKey(PolicyDocument, models.CASCADE, related_name="attachments",
                                 verbose_name=_("政策文件"))
    file = models.FileField(_("附件"), upload_to="policies/%Y/%m/")
    name = models.CharField(_("附件名称"), max_length=200)
    uploaded_by = models.ForeignKey(User, models.PROTECT, related_name="+", verbose_name=_("上传人"))
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = _("政策附件")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class PolicyItemQuerySet(models.QuerySet):
    def published(self) -> "PolicyItemQuerySet":
        """Items enterprises can see and that are matched and pushed."""
        return self.filter(status=ItemStatus.PUBLISHED)

    def redeemable(self) -> "PolicyItemQuerySet":
        """Items followed to payout or approval: payable 免申即享 items and every item applied for."""
        return self.exclude(models.Q(mode=Mode.AUTO) & ~models.Q(benefit_type__in=PAYABLE_BENEFITS))

    def open_on(self, day) -> "PolicyItemQuerySet":
        """Items whose application window includes ``day`` (no window = always open)."""
        return self.filter(models.Q(window_start__isnull=True) | models.Q(window_start__lte=day),
                           models.Q(window_end__isnull=True) | models.Q(window_end__gte=day))

    def expiring_within(self, day, days: int) -> "PolicyItemQuerySet":
        """Items whose window closes between ``day`` and ``day + days``."""
        return self.filter(window_end__gte=day, window_end__lte=day + dt.timedelta(days=days))


class PolicyItem(models.Model):
    """One benefit (政策事项) of a document: who qualifies (rule), what they get (formula), how (mode)."""

    document = models.ForeignKey(PolicyDocument, models.PROTECT, related_name="items", verbose_name=_("政策文件"))
    code = models.CharField(_("事项编码"), max_length=40, unique=True)
    title = models.CharField(_("事项名称"), max_length=200)
    summary = models.TextField(_("政策内容摘要"), blank=True)
    benefit_type = models.CharField(_("支持方式"), max_length=16, choices=BenefitType.choices)
    mode = models.CharField(_("兑现方式"), max_length=10, choices=Mode.choices, default=Mode.APPLY)
    status = models.CharField(_("状态"), max_length=10, choices=ItemStatus.choices, default=ItemStatus.DRAFT)
    department = models.ForeignKey(Department, models.PROTECT, related_name="policy_items",
                                   verbose_name=_("责任单位"))
    window_start = models.DateField(_("申报开始"), null=True, blank=True)
    window_end = models.DateField(_("申报截止"), null=True, blank=True)
    materials = models.JSONField(_("申报材料"), default=list, blank=True,
                                 help_text=_('[{"name": "研发费用专项审计报告", "required": true}]'))
    budget = models.DecimalField(_("预算(元)"), null=True, blank=True, **MONEY)
    allocation = models.CharField(_("预算不足时"), max_length=10, choices=AllocationRule.choices,
                                  default=AllocationRule.ORDER)
    # Amount per enterprise in 元: formula over fields and parameters, then floor and cap (see engine/amounts.py).
    amount_formula = models.CharField(_("金额公式"), max_length=500, blank=True)
    amount_floor = models.DecimalField(_("金额下限(元)"), null=True, blank=True, **MONEY)
    amount_cap = models.DecimalField(_("金额上限(元)"), null=True, blank=True, **MONEY)
    amount_note = models.CharField(_("优惠说明"), max_length=300, blank=True,
                                   help_text=_("无法折算金额时的文字说明,如“减按15%税率征收企业所得税”"))
    clause = models.TextField(_("政策依据(条款)"), blank=True)
    keywords = models.CharField(_("关键词"), max_length=200, blank=True)
    rule = models.JSONField(_("申报条件(规则)"), default=dict, blank=True)
    params = models.JSONField(_("规则参数"), default=dict, blank=True,
                              help_text=_('{"收入上限": [{"from": null, "value": 300}, {"from": "2027-01-01", "value": 500}]}'))
    search_text = models.TextField(editable=False, blank=True)  # jieba tokens of title, keywords, summary, clause
    revision = models.PositiveIntegerField(_("修订号"), default=1, editable=False)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    created_by = models.ForeignKey(User, models.PROTECT, related_name="+", verbose_name=_("录入人"))
    created_at = models.DateTimeField(_("录入时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    objects = PolicyItemQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = _("政策事项")
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["status", "window_end"], name="item_status_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def pays_out(self) -> bool:
        """True for a 免申即享 item whose benefit is paid (redemption records follow it to payout)."""
        return self.mode == Mode.AUTO and self.benefit_type in PAYABLE_BENEFITS


class ItemReview(models.Model):
    """One review decision on an item (submit → approve/reject), kept as history."""

    item = models.ForeignKey(PolicyItem, models.CASCADE, related_name="reviews")
    decision = models.CharField(_("审核结果"), max_length=10, choices=[("approve", _("通过")), ("reject", _("退回"))])
    reason = models.CharField(_("意见"), max_length=500, blank=True)
    reviewer = models.ForeignKey(User, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]


# ---------------------------------------------------------------- match results
class MatchResult(models.Model):
    """The stored result of one item over one shard of the register (a region prefix; '' = all).

    Enterprise ids are kept as compressed sorted arrays (``engine.store``), not as rows: one item over a
    province can have a million candidates. ``breakdown`` holds counts by county, size and industry
    section for the pre-publication preview and the statistics.
    """

    item = models.ForeignKey(PolicyItem, models.CASCADE, related_name="match_results")
    shard = models.CharField(_("分片区划前缀"), max_length=12, blank=True)
    as_of = models.DateField(_("评估日期"))
    revision = models.PositiveIntegerField(_("事项修订号"))
    computed_at = models.DateTimeField(default=timezone.now)
    eligible = models.BinaryField()
    near_miss = models.BinaryField()
    unknown = models.BinaryField()
    eligible_count = models.PositiveIntegerField(default=0)
    near_miss_count = models.PositiveIntegerField(default=0)
    unknown_count = models.PositiveIntegerField(default=0)
    breakdown = models.JSONField(default=dict)

    class Meta:
        verbose_name = verbose_name_plural = _("匹配结果")
        constraints = [models.UniqueConstraint(fields=["item", "shard"], name="match_item_shard")]


class MatchRun(models.Model):
    """One batch run of the matcher (full, one item, or some enterprises), for progress and history."""

    kind = models.CharField(max_length=12, choices=[("full", _("全量")), ("item", _("单个事项")),
                                                    ("enterprises", _("企业变更"))])
    item = models.ForeignKey(PolicyItem, models.CASCADE, null=True, blank=True, related_name="+")
    as_of = models.DateField()
    shards_total = models.PositiveIntegerField(default=1)
    shards_done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]


# ---------------------------------------------------------------- push
class PushStatus(models.TextChoices):
    SENT = "sent", _("已推送")
    DEFERRED = "deferred", _("超出每日上限,顺延")
    OPTED_OUT = "opted_out", _("企业已退订")


class PolicyPush(models.Model):
    """Exactly one per (item, enterprise): the push of an item to a qualifying enterprise."""

    item = models.ForeignKey(PolicyItem, models.CASCADE, related_name="pushes")
    enterprise = models.ForeignKey(Enterprise, models.CASCADE, related_name="policy_pushes")
    reason = models.CharField(max_length=12, choices=[("publish", _("发布")), ("change", _("政策变更")),
                                                      ("qualify", _("新符合条件"))])
    status = models.CharField(max_length=10, choices=PushStatus.choices, default=PushStatus.SENT)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_on = models.DateField(null=True, blank=True)  # the Asia/Shanghai day it counted against the cap

    class Meta:
        verbose_name = verbose_name_plural = _("政策推送")
        constraints = [models.UniqueConstraint(fields=["item", "enterprise"], name="push_unique")]
        indexes = [models.Index(fields=["enterprise", "sent_on"], name="push_cap_idx"),
                   models.Index(fields=["status", "created_at"], name="push_status_idx")]


class PolicySubscription(models.Model):
    """An enterprise's push settings (no row = defaults: subscribed, in-app + SMS, every benefit type)."""

    enterprise = models.OneToOneField(Enterprise, models.CASCADE, related_name="policy_subscription")
    opted_out = models.BooleanField(_("退订政策推送"), default=False)
    sms = models.BooleanField(_("短信"), default=True)
    email = models.BooleanField(_("电子邮件"), default=True)
    benefit_types = models.JSONField(_("关注的支持方式"), default=list, blank=True, help_text=_("空 = 全部"))
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = _("政策订阅设置")


# ---------------------------------------------------------------- applications (申报 / 即申即享)
class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    APPROVED = "approved", _("审核通过")
    REJECTED = "rejected", _("未通过")
    PAID = "paid", _("已拨付")
    RECEIVED = "received", _("企业已确认到账")
    WITHDRAWN = "withdrawn", _("已撤回")


class Application(models.Model):
    item = models.ForeignKey(PolicyItem, models.PROTECT, related_name="applications", verbose_name=_("政策事项"))
    enterprise = models.ForeignKey(Enterprise, models.PROTECT, related_name="policy_applications",
                                   verbose_name=_("企业"))
    applicant = models.ForeignKey(User, models.PROTECT, related_name="+", verbose_name=_("申请人"))
    status = models.CharField(_("状态"), max_length=10, choices=ApplicationStatus.choices,
                              default=ApplicationStatus.SUBMITTED)
    note = models.TextField(_("申请说明"), blank=True)
    amount_estimated = models.DecimalField(_("测算金额(元)"), null=True, blank=True, **MONEY)
    amount_approved = models.DecimalField(_("核定金额(元)"), null=True, blank=True, **MONEY)
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    reviewed_by = models.ForeignKey(User, models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("审核人"))
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    review_reason = models.CharField(_("审核意见"), max_length=500, blank=True)
    paid_at = models.DateTimeField(_("拨付时间"), null=True, blank=True)
    payout_ref = models.CharField(_("拨付凭证号"), max_length=64, blank=True)
    received_at = models.DateTimeField(_("到账确认时间"), null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("政策申报")
        ordering = ["-submitted_at", "-id"]
        constraints = [models.UniqueConstraint(
            fields=["item", "enterprise"], condition=~models.Q(status__in=["rejected", "withdrawn"]),
            name="application_one_open")]


class ApplicationFile(models.Model):
    application = models.ForeignKey(Application, models.CASCADE, related_name="files")
    material = models.CharField(_("材料名称"), max_length=200)
    file = models.FileField(_("文件"), upload_to="applications/%Y/%m/")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]


# ---------------------------------------------------------------- 免申即享 redemption (兑现)
class RedemptionStatus(models.TextChoices):
    PENDING = "pending", _("待确认")
    CONFIRMED = "confirmed", _("已确认")
    SHORT = "short", _("预算不足待处理")
    PAID = "paid", _("已拨付")
    RECEIVED = "received", _("企业已确认到账")
    CANCELLED = "cancelled", _("已取消")


class Redemption(models.Model):
    """A 免申即享 benefit owed to an eligible enterprise: created by the matcher, confirmed, paid, received."""

    item = models.ForeignKey(PolicyItem, models.PROTECT, related_name="redemptions", verbose_name=_("政策事项"))
    enterprise = models.ForeignKey(Enterprise, models.PROTECT, related_name="redemptions", verbose_name=_("企业"))
    status = models.CharField(_("状态"), max_length=10, choices=RedemptionStatus.choices,
                              default=RedemptionStatus.PENDING)
    eligible_at = models.DateTimeField(_("符合条件时间"), default=timezone.now)  # the "order of eligibility"
    amount_estimated = models.DecimalField(_("测算金额(元)"), null=True, blank=True, **MONEY)
    amount_confirmed = models.DecimalField(_("确认金额(元)"), null=True, blank=True, **MONEY)
    shortfall = models.DecimalField(_("预算缺口(元)"), default=0, **MONEY)
    confirmed_by = models.ForeignKey(User, models.PROTECT, null=True, blank=True, related_name="+")
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    paid_at = models.DateTimeField(_("拨付时间"), null=True, blank=True)
    payout_ref = models.CharField(_("拨付凭证号"), max_length=64, blank=True)
    received_at = models.DateTimeField(_("到账确认时间"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("免申即享兑现")
        ordering = ["eligible_at", "id"]
        constraints = [models.UniqueConstraint(fields=["item", "enterprise"], name="redemption_unique")]
        indexes = [models.Index(fields=["item", "status"], name="redemption_item_idx")]
