"""Writes of the matching side: an enterprise's push subscription, and figures supplied from the 政策计算器."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from yingshang.core import audit
from yingshang.core.access import access_enterprise
from yingshang.core.errors import ValidationFailed
from yingshang.core.models import AuditAction, Role
from yingshang.enterprises.models import FIGURE_FIELDS, Enterprise
from yingshang.policies.models import BenefitType, PolicySubscription

SUBSCRIPTION_FIELDS = ("opted_out", "sms", "email", "benefit_types")
# Figures the calculator's form can take (those an undecidable rule can name; see engine/row.missing_for).
SUPPLIABLE = tuple(FIGURE_FIELDS) + ("established_on",)


def access_subscription(user, enterprise: Enterprise) -> None:
    """The enterprise's own users, and staff who may edit the enterprise (in their scope)."""
    access_enterprise(user, enterprise, write=getattr(user, "role", None) != Role.ENTERPRISE)


def _check_benefit_types(values) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise ValidationFailed("关注的支持方式应为列表", fields={"benefit_types": "应为支持方式代码的列表"})
    allowed = dict(BenefitType.choices)
    bad = [v for v in values if v not in allowed]
    if bad:
        options = "、".join(f"{k}({v})" for k, v in allowed.items())
        raise ValidationFailed(f"关注的支持方式有误:“{bad[0]}”不是有效的支持方式,可选 {options}",
                               fields={"benefit_types": f"“{bad[0]}”无效,可选 {options}"})
    return sorted(set(values), key=list(allowed).index)


def _check_flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        labels = {"opted_out": "退订政策推送", "sms": "短信", "email": "电子邮件"}
        raise ValidationFailed(f"“{labels[name]}”应为 true 或 false", fields={name: "应为 true 或 false"})
    return value


def subscription_of(enterprise: Enterprise) -> PolicySubscription:
    """The enterprise's settings (an unsaved default row when it never changed them)."""
    found = PolicySubscription.objects.filter(enterprise=enterprise).first()
    return found or PolicySubscription(enterprise=enterprise)


def do_update_subscription(actor, enterprise: Enterprise, opted_out: bool, sms: bool, email: bool,
                           benefit_types: list[str] | None) -> PolicySubscription:
    """Change an enterprise's policy-push settings (opt-out, channels, benefit types); audited."""
    access_subscription(actor, enterprise)
    values = {"opted_out": _check_flag("opted_out", opted_out), "sms": _check_flag("sms", sms),
              "email": _check_flag("email", email), "benefit_types": _check_benefit_types(benefit_types)}
    with transaction.atomic():
        PolicySubscription.objects.get_or_create(enterprise=enterprise)
        sub = PolicySubscription.objects.select_for_update().get(enterprise=enterprise)
        before = audit.snapshot(sub, list(SUBSCRIPTION_FIELDS))
        for name, value in values.items():
            setattr(sub, name, value)
        changes = audit.diff(before, audit.snapshot(sub, list(SUBSCRIPTION_FIELDS)))
        if changes:
            sub.updated_at = timezone.now()
            sub.save()
            audit.record(actor, AuditAction.UPDATE, sub, changes=changes, object_repr=f"{enterprise.name} 政策订阅设置")
    return sub


def _check_figures(values: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(values, dict) or not values:
        raise ValidationFailed("请填写要补充的数据", fields={"values": "至少填写一项"})
    unknown = [k for k in values if k not in SUPPLIABLE]
    if unknown:
        raise ValidationFailed(f"“{unknown[0]}”不是可补充的数据项", fields={unknown[0]: "不是可补充的数据项"})
    empty = [k for k, v in values.items() if v is None or (isinstance(v, str) and not v.strip())]
    if empty:
        from yingshang.policies.matching import figure_label

        raise ValidationFailed(f"请填写“{figure_label(empty[0])}”", fields={empty[0]: "不能为空"})
    return values


def do_supply_figures(actor, enterprise: Enterprise, values: dict[str, Any]) -> Enterprise:
    """Record figures supplied from the 政策计算器 (validated and audited by the register's own update
    action, source 企业自报 / 工作人员录入, dated today); the calculator answers anew from the saved figures,
    and the stored match results follow through the enterprises_changed signal."""
    values = _check_figures(values)
    own = getattr(actor, "role", None) == Role.ENTERPRISE
    source = "企业自报" if own else "工作人员录入"
    from yingshang.enterprises.actions import do_update_enterprise

    return do_update_enterprise(actor, enterprise, {**values, "source": source,
                                                    "as_of": timezone.localdate().isoformat()})
