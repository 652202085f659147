"""The enterprise register: industries (GB/T 4754-2017), enterprises, certifications and tags."""
from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yingshang.core.models import Region
from yingshang.enterprises import sizing


class IndustryLevel(models.TextChoices):
    SECTION = "section", _("门类")
    DIVISION = "division", _("大类")
    GROUP = "group", _("中类")
    CLASS = "class", _("小类")


class Industry(models.Model):
    code = models.CharField(_("行业代码"), max_length=4, primary_key=True)
    name = models.CharField(_("行业名称"), max_length=64)
    level = models.CharField(_("层级"), max_length=10, choices=IndustryLevel.choices)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children")

    class Meta:
        verbose_name = verbose_name_plural = _("国民经济行业分类")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class LegalForm(models.TextChoices):
    LLC = "llc", _("有限责任公司")
    JOINT_STOCK = "joint_stock", _("股份有限公司")
    SOLE = "sole", _("个人独资企业")
    PARTNERSHIP = "partnership", _("合伙企业")
    COOPERATIVE = "cooperative", _("农民专业合作社")
    INDIVIDUAL = "individual", _("个体工商户")
    FOREIGN = "foreign", _("外商投资企业")
    STATE = "state", _("全民所有制企业")
    COLLECTIVE = "collective", _("集体所有制企业")
    BRANCH = "branch", _("分支机构")
    OTHER = "other", _("其他")


class EnterpriseStatus(models.TextChoices):
    ACTIVE = "active", _("存续")
    SUSPENDED = "suspended", _("停业")
    REVOKED = "revoked", _("吊销")
    CANCELLED = "cancelled", _("注销")
    MOVED_OUT = "moved_out", _("迁出")


class Size(models.TextChoices):
    LARGE = sizing.LARGE, _("大型")
    MEDIUM = sizing.MEDIUM, _("中型")
    SMALL = sizing.SMALL, _("小型")
    MICRO = sizing.MICRO, _("微型")


class TaxpayerKind(models.TextChoices):
    GENERAL = "general", _("一般纳税人")
    SMALL_SCALE = "small_scale", _("小规模纳税人")


class TaxCreditRating(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    M = "M", "M"
    C = "C", "C"
    D = "D", "D"


# Figures that carry a data source and an as-of date (stored in Enterprise.figure_sources).
FIGURE_FIELDS = ("registered_capital", "employees", "operating_revenue", "total_assets", "rd_expense",
                 "taxable_income", "tax_credit_rating", "taxpayer_kind")
FIGURE_LABELS = {"registered_capital": "注册资本(万元)", "employees": "从业人员(人)",
                 "operating_revenue": "营业收入(万元)", "total_assets": "资产总额(万元)",
                 "rd_expense": "研发费用(万元)", "taxable_income": "应纳税所得额(万元)",
                 "tax_credit_rating": "纳税信用等级", "taxpayer_kind": "纳税人类型"}
# Personal data: shown to staff only on request, and every such read is audited.
PERSONAL_FIELDS = ("legal_representative", "contact_name", "contact_phone")


class EnterpriseQuerySet(models.QuerySet):
    def in_region(self, prefix: str) -> "EnterpriseQuerySet":
        """Enterprises registered in the region with this code prefix, descendants included."""
        # region__code (the FK target is the primary key) compiles to region_id LIKE, without a join.
        return self.filter(region__code__startswith=prefix) if prefix else self

    def in_industry(self, code: str) -> "EnterpriseQuerySet":
        """Enterprises in a GB/T 4754 section, division, group or class (descendants included)."""
        if code.isalpha():
            return self.filter(industry_section=code)
        if len(code) == 2:
            return self.filter(industry_division=code)
        return self.filter(industry_code__startswith=code)

    def active(self) -> "EnterpriseQuerySet":
        """Enterprises in existence (存续)."""
        return self.filter(status=EnterpriseStatus.ACTIVE)

    def with_tag(self, code: str) -> "EnterpriseQuerySet":
        """Enterprises carrying a tag (computed or manual)."""
        return self.filter(pk__in=EnterpriseTag.objects.filter(tag__code=code).values("enterprise_id"))

    def with_certification(self, kind: str) -> "EnterpriseQuerySet":
        """Enterprises holding a certification of this kind (validity not checked)."""
        return self.filter(pk__in=Certification.objects.filter(kind=kind).values("enterprise_id"))


class Enterprise(models.Model):
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    name = models.CharField(_("企业名称"), max_length=200, db_index=True)
    legal_form = models.CharField(_("组织形式"), max_length=16, choices=LegalForm.choices, default=LegalForm.LLC)
    status = models.CharField(_("登记状态"), max_length=12, choices=EnterpriseStatus.choices,
                              default=EnterpriseStatus.ACTIVE)
    region = models.ForeignKey(Region, models.PROTECT, related_name="enterprises", verbose_name=_("所在区划"))
    industry_code = models.CharField(_("行业代码"), max_length=4)
    industry_section = models.CharField(_("行业门类"), max_length=1, editable=False)
    industry_division = models.CharField(_("行业大类"), max_length=2, blank=True, editable=False)
    established_on = models.DateField(_("成立日期"), null=True, blank=True)
    registered_capital = models.DecimalField(_("注册资本(万元)"), max_digits=18, decimal_places=4, null=True, blank=True)
    employees = models.PositiveIntegerField(_("从业人员(人)"), null=True, blank=True)
    operating_revenue = models.DecimalField(_("营业收入(万元)"), max_digits=18, decimal_places=4, null=True, blank=True)
    total_assets = models.DecimalField(_("资产总额(万元)"), max_digits=18, decimal_places=4, null=True, blank=True)
    rd_expense = models.DecimalField(_("研发费用(万元)"), max_digits=18, decimal_places=4, null=True, blank=True)
    taxable_income = models.DecimalField(_("应纳税所得额(万元)"), max_digits=18, decimal_places=4, null=True,
                                         blank=True, help_text=_("上一纳税年度的年应纳税所得额"))
    tax_credit_rating = models.CharField(_("纳税信用等级"), max_length=1, choices=TaxCreditRating.choices, blank=True)
    taxpayer_kind = models.CharField(_("纳税人类型"), max_length=12, choices=TaxpayerKind.choices, blank=True)
    # 服务管家: the steward who looks after this enterprise (copies of policy pushes, visits).
    steward = models.ForeignKey("core.User", models.SET_NULL, null=True, blank=True,
                                related_name="stewarded_enterprises", verbose_name=_("服务管家"),
                                limit_choices_to={"role": "steward"})
    size = models.CharField(_("企业规模"), max_length=8, choices=Size.choices, null=True, blank=True, editable=False)
    legal_representative = models.CharField(_("法定代表人"), max_length=64, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=64, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    address = models.CharField(_("住所"), max_length=200, blank=True)
    business_scope = models.TextField(_("经营范围"), blank=True)
    figure_sources = models.JSONField(_("数据来源"), default=dict, blank=True,
                                      help_text=_('每项数据的来源与日期: {"employees": {"source": …, "as_of": "YYYY-MM-DD"}}'))
    created_at = models.DateTimeField(_("建档时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    objects = EnterpriseQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = _("企业")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["region", "id"], name="ent_region_idx"),
            models.Index(fields=["industry_section", "id"], name="ent_section_idx"),
            models.Index(fields=["industry_division", "id"], name="ent_division_idx"),
            models.Index(fields=["industry_code", "id"], name="ent_industry_idx"),
            models.Index(fields=["size", "id"], name="ent_size_idx"),
            models.Index(fields=["status", "id"], name="ent_status_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    # ------------------------------------------------------------ derived values
    def derive(self) -> None:
        """Recompute the stored derived columns (industry section/division, size) from the fields."""
        from yingshang.enterprises.industries import resolve

        code, section, division = resolve(self.industry_code)
        self.industry_code, self.industry_section, self.industry_division = code, section, division
        numeric = code if not code.isalpha() else ""
        self.size = sizing.classify_enterprise(section, numeric, self.employees, self.operating_revenue,
                                               self.total_assets)

    def age_years(self, on: dt.date | None = None) -> int | None:
        """Whole years since establishment on ``on`` (default today, Asia/Shanghai)."""
        if self.established_on is None:
            return None
        on = on or timezone.localdate()
        years = on.year - self.established_on.year
        if (on.month, on.day) < (self.established_on.month, self.established_on.day):
            years -= 1
        return max(years, 0)

    def size_explanation(self) -> str:
        numeric = self.industry_code if not self.industry_code.isalpha() else ""
        return sizing.explain(sizing.size_row(self.industry_section, numeric))

    @property
    def rd_ratio(self):
        """R&D expense ÷ operating revenue, or None when either is missing or revenue is zero."""
        if self.rd_expense is None or not self.operating_revenue:
            return None
        return self.rd_expense / self.operating_revenue


class CertificationKind(models.TextChoices):
    HIGH_TECH = "high_tech", _("高新技术企业")
    TECH_SME = "tech_sme", _("科技型中小企业")
    INNOVATIVE_SME = "innovative_sme", _("创新型中小企业")
    SPECIALIZED_SME = "specialized_sme", _("专精特新中小企业")
    LITTLE_GIANT = "little_giant", _("专精特新“小巨人”企业")
    ABOVE_SCALE = "above_scale", _("规模以上企业")


class Certification(models.Model):
    enterprise = models.ForeignKey(Enterprise, models.CASCADE, related_name="certifications",
                                   verbose_name=_("企业"))
    kind = models.CharField(_("资质类别"), max_length=20, choices=CertificationKind.choices)
    certificate_no = models.CharField(_("证书编号"), max_length=64, blank=True)
    valid_from = models.DateField(_("有效期起"), null=True, blank=True)
    valid_to = models.DateField(_("有效期止"), null=True, blank=True)
    source = models.CharField(_("数据来源"), max_length=64, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("企业资质")
        constraints = [models.UniqueConstraint(fields=["enterprise", "kind"], name="cert_unique_kind")]
        indexes = [models.Index(fields=["kind", "enterprise"], name="cert_kind_idx")]

    def __str__(self) -> str:
        return self.get_kind_display()


class CreditListKind(models.TextChoices):
    SERIOUS_DISHONEST = "serious_dishonest", _("严重失信主体名单")
    ABNORMAL_OPERATION = "abnormal_operation", _("经营异常名录")


class CreditListingQuerySet(models.QuerySet):
    def in_force(self, on: dt.date | None = None) -> "CreditListingQuerySet":
        """Listings in force on ``on`` (default today): listed on or before, not yet removed."""
        on = on or timezone.localdate()
        return self.filter(listed_on__lte=on).filter(models.Q(removed_on__isnull=True) | models.Q(removed_on__gt=on))


class CreditListing(models.Model):
    """An enterprise on a credit list (严重失信主体名单, 经营异常名录) from ``listed_on`` until ``removed_on``."""

    enterprise = models.ForeignKey(Enterprise, models.CASCADE, related_name="credit_listings",
                                   verbose_name=_("企业"))
    kind = models.CharField(_("名单"), max_length=20, choices=CreditListKind.choices)
    authority = models.CharField(_("列入机关"), max_length=100, blank=True)
    reason = models.CharField(_("列入事由"), max_length=300, blank=True)
    listed_on = models.DateField(_("列入日期"))
    removed_on = models.DateField(_("移出日期"), null=True, blank=True)

    objects = CreditListingQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = _("信用名单")
        ordering = ["-listed_on", "-id"]
        indexes = [models.Index(fields=["kind", "enterprise"], name="credit_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.listed_on}"


class TagKind(models.TextChoices):
    COMPUTED = "computed", _("规则计算")
    MANUAL = "manual", _("人工标注")


class Tag(models.Model):
    code = models.SlugField(_("标签代码"), max_length=40, unique=True)
    name = models.CharField(_("标签名称"), max_length=40)
    kind = models.CharField(_("类型"), max_length=10, choices=TagKind.choices, default=TagKind.MANUAL)
    rule = models.JSONField(_("计算规则"), null=True, blank=True,
                            help_text=_('规则计算标签的条件,如 {"all": [{"field": "age_years", "op": "<=", "value": 3}]}'))
    description = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("企业标签")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class EnterpriseTag(models.Model):
    enterprise = models.ForeignKey(Enterprise, models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, models.CASCADE, related_name="enterprise_links")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = _("企业标签关系")
        constraints = [models.UniqueConstraint(fields=["enterprise", "tag"], name="enttag_unique")]
        indexes = [models.Index(fields=["tag", "enterprise"], name="enttag_tag_idx")]


class ImportStatus(models.TextChoices):
    VALIDATING = "validating", _("校验中")
    REJECTED = "rejected", _("文件被拒绝")
    PREVIEWED = "previewed", _("待确认")
    IMPORTING = "importing", _("导入中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ImportJob(models.Model):
    """One uploaded register file: its validation report, preview counts and import progress."""

    created_by = models.ForeignKey("core.User", models.PROTECT, related_name="+", verbose_name=_("上传人"))
    created_at = models.DateTimeField(_("上传时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    filename = models.CharField(_("文件名"), max_length=200)
    path = models.CharField(_("存储路径"), max_length=400, editable=False)
    size_bytes = models.PositiveBigIntegerField(_("文件大小"), default=0)
    status = models.CharField(_("状态"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.VALIDATING)
    accept_valid = models.BooleanField(_("仅导入有效行"), default=False)
    total_rows = models.PositiveIntegerField(_("数据行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理行数"), default=0)
    phase = models.CharField(_("阶段"), max_length=32, blank=True)
    counts = models.JSONField(_("统计"), default=dict, blank=True,
                              help_text=_("new / updated / unchanged / invalid 行数"))
    report = models.JSONField(_("校验报告"), default=list, blank=True,
                              help_text=_("[{row, column, reason}],最多保存前1000条"))
    message = models.TextField(_("说明"), blank=True)
    # A worker claims a queued job by setting ``claimed_at`` with a conditional UPDATE (a redelivered
    # task finds it set and does nothing); ``heartbeat_at`` is the last sign of life, which the
    # periodic sweep uses to fail jobs whose worker died.
    claimed_at = models.DateTimeField(_("开始处理时间"), null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(_("最近进度时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = _("企业档案导入")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        return min(100, int(100 * self.processed_rows / self.total_rows)) if self.total_rows else 0
