"""Editing the register in the browser: the enterprise page's edit form (一企一档) and the staff
「新增企业」 page.

The views only turn the posted form into the raw data the register's one validator understands and
call ONE action: ``do_update_enterprise`` (only the fields the user changed, PATCH semantics; an emptied
field is sent as null, which clears it) or ``do_create_enterprise``. Field errors come back from the
action (``DomainError.fields``) and are shown next to their fields; nothing is written on error.
Personal data (legal representative, contact person, phone) is not pre-filled for staff: reading it is
an audited action of its own, so for staff an empty box means "unchanged".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape

from yingshang.core.access import access_enterprise, access_register_write, scope_prefix
from yingshang.core.errors import DomainError, ValidationFailed
from yingshang.core.models import Region, RegionLevel, Role
from yingshang.enterprises import industries, personal
from yingshang.enterprises.actions import (
    SELF_SERVICE_FIELDS,
    do_create_enterprise,
    do_update_enterprise,
    plain,
)
from yingshang.enterprises.models import (
    FIGURE_FIELDS,
    FIGURE_LABELS,
    CertificationKind,
    Enterprise,
    EnterpriseStatus,
    LegalForm,
    Tag,
    TagKind,
    TaxCreditRating,
    TaxpayerKind,
)
from yingshang.enterprises.views import _counties

REGISTER_FIELDS = ("name", "legal_form", "status", "region_code", "industry_code", "established_on")
CONTACT_FIELDS = ("legal_representative", "contact_name", "contact_phone", "address", "business_scope")
SCALAR_FIELDS = REGISTER_FIELDS + FIGURE_FIELDS + CONTACT_FIELDS
LABELS = {"uscc": "统一社会信用代码", "name": "企业名称", "legal_form": "组织形式", "status": "登记状态",
          "region_code": "所在区划", "industry_code": "行业代码", "established_on": "成立日期",
          "legal_representative": "法定代表人", "contact_name": "联系人", "contact_phone": "联系电话",
          "address": "住所", "business_scope": "经营范围", "certifications": "资质认定", "tags": "人工标签",
          **FIGURE_LABELS}
WIDGETS = {"legal_form": "select", "status": "select", "tax_credit_rating": "select", "established_on": "date",
           "employees": "integer", "contact_phone": "tel", "business_scope": "textarea",
           "taxpayer_kind": "select",
           **{f: "decimal" for f in ("registered_capital", "operating_revenue", "total_assets", "rd_expense",
                                     "taxable_income")}}
CHOICES = {"legal_form": LegalForm.choices, "status": EnterpriseStatus.choices,
           "tax_credit_rating": [("", "未评定")] + list(TaxCreditRating.choices),
           "taxpayer_kind": [("", "未登记")] + list(TaxpayerKind.choices)}
HELP = {"industry_code": "GB/T 4754-2017 门类字母或 2–4 位代码,如 3311",
        "established_on": "不能晚于今天",
        "taxable_income": "上一纳税年度的应纳税所得额,亏损填 0"}
# Per certification kind: its number and validity inputs (``certno_high_tech`` …).
CERT_INPUTS = {"certno": "certificate_no", "certfrom": "valid_from", "certto": "valid_to"}


def cert_input_names() -> list[str]:
    return [f"{prefix}_{kind}" for kind in CertificationKind.values for prefix in CERT_INPUTS]


# ---------------------------------------------------------------- the form's state
@dataclass
class Field:
    """One input as the template draws it."""

    name: str
    label: str
    widget: str = "text"
    value: Any = ""
    choices: list = field(default_factory=list)
    error: str = ""
    locked: bool = False  # shown, but this user may not change it
    display: str = ""  # what a locked field shows
    help: str = ""
    placeholder: str = ""


@dataclass
class FormState:
    """Values (as the user sees them: strings and lists) and per-field Chinese errors."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""


def _text(value) -> str:
    shown = plain(value)
    return "" if shown is None else str(shown)


def initial_values(ent: Enterprise, user) -> dict[str, Any]:
    """The enterprise as the form shows it; staff get empty personal fields (reading them is audited)."""
    values = {name: _text(getattr(ent, name)) for name in SCALAR_FIELDS if name != "region_code"}
    values["region_code"] = ent.region_id
    if not personal.sees_unmasked(user, ent):
        for name in personal.PERSONAL_LABELS:
            values[name] = ""
    sources = ent.figure_sources or {}
    for name in FIGURE_FIELDS:
        entry = sources.get(name) or {}
        values[f"src_{name}"], values[f"asof_{name}"] = entry.get("source", ""), entry.get("as_of", "")
    values.update({name: "" for name in cert_input_names()})
    certs = list(ent.certifications.all())
    for cert in certs:
        for prefix, attr in CERT_INPUTS.items():
            values[f"{prefix}_{cert.kind}"] = _text(getattr(cert, attr))
    values["certifications"] = sorted(c.kind for c in certs)
    values["tags"] = sorted(ent.tag_links.filter(tag__kind=TagKind.MANUAL).values_list("tag__code", flat=True))
    return values


def blank_values() -> dict[str, Any]:
    """An empty form for a new enterprise."""
    values: dict[str, Any] = {name: "" for name in SCALAR_FIELDS}
    values.update(uscc="", legal_form=LegalForm.LLC, status=EnterpriseStatus.ACTIVE, certifications=[], tags=[])
    values.update({name: "" for name in cert_input_names()})
    for name in FIGURE_FIELDS:
        values[f"src_{name}"] = values[f"asof_{name}"] = ""
    return values


def posted_region(post, fallback: str) -> str:
    """The region picked with the county and street selects (a street outside the county is ignored)."""
    if "county" not in post:
        return fallback
    county, street = post.get("county", "").strip(), post.get("street", "").strip()
    return street if street and county and street.startswith(county) else county


def posted_values(post, initial: dict[str, Any]) -> dict[str, Any]:
    """The submitted form; fields that were not sent (locked for this user) keep their initial value."""
    values = dict(initial)
    for name in list(initial):
        if name in ("certifications", "tags"):
            if post.get(f"{name}_shown") == "1":  # unchecked boxes send nothing: the marker says they were there
                values[name] = sorted(set(post.getlist(name)))
        elif name != "region_code" and name in post:
            values[name] = post.get(name, "").strip()
    values["region_code"] = posted_region(post, initial["region_code"])
    return values


# ---------------------------------------------------------------- form → raw data for the actions
def changed_data(initial: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The raw data for ``do_update_enterprise``: changed fields only; an emptied field is null (cleared)."""
    data: dict[str, Any] = {}
    for name in SCALAR_FIELDS:
        if values[name] != initial[name]:
            data[name] = values[name] or None
    sources = {name: {"source": values[f"src_{name}"], "as_of": values[f"asof_{name}"]} for name in FIGURE_FIELDS
               if (values[f"src_{name}"], values[f"asof_{name}"]) != (initial[f"src_{name}"], initial[f"asof_{name}"])}
    if sources:  # never an empty dict: the action reads {} as "clear every source"
        data["figure_sources"] = sources
    if _certs_changed(initial, values):
        data["certifications"] = cert_objects(values)
    if values["tags"] != initial["tags"]:
        data["tags"] = values["tags"]
    return data


def _certs_changed(initial: dict[str, Any], values: dict[str, Any]) -> bool:
    if values["certifications"] != initial["certifications"]:
        return True
    return any(values.get(f"{p}_{k}") != initial.get(f"{p}_{k}") for k in values["certifications"] for p in CERT_INPUTS)


def cert_objects(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The checked certifications with every detail input (an empty input clears that detail)."""
    return [{"kind": kind, **{attr: values.get(f"{p}_{kind}", "") for p, attr in CERT_INPUTS.items()}}
            for kind in values["certifications"]]


def create_data(values: dict[str, Any]) -> dict[str, Any]:
    """The raw data for ``do_create_enterprise``: every filled-in field."""
    data = {name: values[name] for name in ("uscc",) + SCALAR_FIELDS if values[name]}
    sources = {name: {"source": values[f"src_{name}"], "as_of": values[f"asof_{name}"]} for name in FIGURE_FIELDS
               if values[f"src_{name}"] or values[f"asof_{name}"]}
    if sources:
        data["figure_sources"] = sources
    if values["certifications"]:
        data["certifications"] = cert_objects(values)
    if values["tags"]:
        data["tags"] = values["tags"]
    return data


def form_errors(exc: DomainError) -> dict[str, str]:
    """The action's per-field reasons keyed by form input (figure sources go to their figure's row)."""
    errors = {}
    for name, reason in exc.fields.items():
        if name == "figure_sources" and ":" in reason:
            figure, _, rest = reason.partition(":")
            if figure in FIGURE_FIELDS:
                errors[f"src_{figure}"] = rest.strip()
                continue
        errors[name] = reason
    return errors


# ---------------------------------------------------------------- what the template draws
def editable_fields(user) -> set[str] | None:
    """Fields this user may change (None = all); enterprise users keep to the self-service fields."""
    if user.role == Role.ENTERPRISE and not user.is_superuser:
        return set(SELF_SERVICE_FIELDS)
    return None


def _locked_display(name: str, value: Any, ent: Enterprise | None) -> str:
    if name in CHOICES:
        return str(dict(CHOICES[name]).get(value, value))
    if name == "region_code" and ent is not None:
        return f"{ent.region.name}({ent.region_id})"
    if name == "industry_code" and value:
        return industries.label(value)
    return value


def build_field(name: str, state: FormState, editable: set[str] | None, ent: Enterprise | None,
                masked: dict[str, str]) -> Field:
    value = state.values.get(name, "")
    f = Field(name=name, label=LABELS[name], widget=WIDGETS.get(name, "text"), value=value,
              choices=CHOICES.get(name, []), error=state.errors.get(name, ""), help=HELP.get(name, ""))
    f.locked = editable is not None and name not in editable
    if f.locked:
        f.display = _locked_display(name, value, ent)
    if name == "industry_code" and value and not f.error:
        f.help = _industry_label(value) or f.help
    if name in masked:
        f.placeholder = f"已登记:{masked[name]}(留空则不修改)" if masked[name] else "未登记"
    return f


def figure_rows(state: FormState, editable: set[str] | None, ent: Enterprise | None) -> list[dict]:
    """Each figure with its value input and its data source and as-of date inputs."""
    rows = []
    for name in FIGURE_FIELDS:
        value = build_field(name, state, editable, ent, {})
        rows.append({"value": value, "locked": value.locked,
                     "source": Field(f"src_{name}", "数据来源", value=state.values[f"src_{name}"],
                                     error=state.errors.get(f"src_{name}", ""), locked=value.locked,
                                     display=state.values[f"src_{name}"], placeholder="如:统计局年报"),
                     "as_of": Field(f"asof_{name}", "截至日期", widget="date", value=state.values[f"asof_{name}"],
                                    locked=value.locked, display=state.values[f"asof_{name}"])})
    return rows


def region_choices(user, region_code: str) -> dict[str, Any]:
    """County options in the user's scope and the streets of the selected county."""
    prefix = scope_prefix(user)
    counties = list(_counties(prefix))
    county = region_code[:6] if region_code else (counties[0][0] if len(counties) == 1 else "")
    if county and county not in {c for c, _ in counties}:
        region = Region.objects.filter(code=county).first()
        counties.insert(0, (county, region.name if region else county))
    return {"counties": counties, "county": county, "street": region_code if len(region_code) > 6 else "",
            "streets": street_options(user, county)}


def street_options(user, county: str) -> list[tuple[str, str]]:
    if not county:
        return []
    prefix = scope_prefix(user)
    qs = Region.objects.filter(level=RegionLevel.STREET, parent_id=county, code__startswith=prefix)
    return list(qs.order_by("code").values_list("code", "name"))


def form_context(request: HttpRequest, state: FormState, ent: Enterprise | None) -> dict[str, Any]:
    user = request.user
    editable = editable_fields(user)
    masked = {}
    if ent is not None and not personal.sees_unmasked(user, ent):
        masked = {r["field"]: r["value"] for r in personal.personal_rows(ent, masked=True)}

    def draw(names):
        return [build_field(n, state, editable, ent, masked) for n in names]

    certs_locked = editable is not None and "certifications" not in editable
    tags_locked = editable is not None and "tags" not in editable
    return {"ent": ent, "state": state, "errors": state.errors,
            "uscc_field": Field("uscc", LABELS["uscc"], value=state.values.get("uscc", ""),
                                error=state.errors.get("uscc", ""), help="18 位,新建后不可修改"),
            "register_fields": draw(("name", "legal_form", "status")),
            "region": {**region_choices(user, state.values["region_code"]), "error": state.errors.get("region_code", ""),
                       "locked": editable is not None and "region_code" not in editable,
                       "display": _locked_display("region_code", state.values["region_code"], ent)},
            "register_fields_2": draw(("industry_code", "established_on")),
            "figures": figure_rows(state, editable, ent), "contact_fields": draw(CONTACT_FIELDS),
            "cert_options": _cert_options(state), "certs_locked": certs_locked,
            "tag_options": [{"code": t.code, "label": t.name, "checked": t.code in state.values["tags"],
                             "detail": t.description} for t in Tag.objects.filter(kind=TagKind.MANUAL).order_by("code")],
            "error_summary": [{"name": n, "label": error_label(n), "reason": r} for n, r in state.errors.items()],
            "tags_locked": tags_locked, "certs_error": state.errors.get("certifications", ""),
            "tags_error": state.errors.get("tags", ""), "is_new": ent is None,
            "self_service": editable is not None,
            "action_url": reverse("enterprises:edit", args=[ent.uscc]) if ent else reverse("enterprises:new")}


def _cert_options(state: FormState) -> list[dict]:
    """Every certification kind as a checkbox with its certificate number and validity inputs."""
    values, checked = state.values, state.values["certifications"]
    options = []
    for kind, label in CertificationKind.choices:
        number, start, end = (values[f"{p}_{kind}"] for p in CERT_INPUTS)
        parts = [f"证书 {number}"] if number else []
        if start or end:
            parts.append(f"有效期 {start or '—'} 至 {end or '长期'}")
        options.append({"code": kind, "label": str(label), "checked": kind in checked, "detail": ",".join(parts),
                        "number": number, "start": start, "end": end})
    return options


def error_label(name: str) -> str:
    """The label of the form input an error belongs to."""
    if name.startswith("src_") and name[4:] in FIGURE_LABELS:
        return f"{FIGURE_LABELS[name[4:]]}的数据来源/日期"
    return LABELS.get(name, "数据来源" if name == "figure_sources" else name)


def render_form(request: HttpRequest, state: FormState, ent: Enterprise | None, status: int = 200) -> HttpResponse:
    """The full page, or the form alone for HTMX (HTMX swaps only 2xx responses, so errors come back as 200)."""
    ctx = form_context(request, state, ent)
    if request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == "edit-form":
        return render(request, "enterprises/_edit_form.html", ctx)
    return render(request, "enterprises/edit.html", ctx, status=status)


def headline(exc: DomainError) -> str:
    """The message above the form: how many fields need fixing, or the action's own message."""
    if isinstance(exc, ValidationFailed) and exc.fields:
        return f"未保存:有 {len(exc.fields)} 处需要修正,档案未作任何修改。"
    return f"未保存:{exc.message}"


def done(request: HttpRequest, ent: Enterprise) -> HttpResponse:
    url = reverse("enterprises:detail", args=[ent.uscc])
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


# ---------------------------------------------------------------- views
def _load_for_edit(user, uscc: str) -> Enterprise:
    ent = get_object_or_404(Enterprise.objects.select_related("region"), uscc=uscc.strip().upper())
    access_enterprise(user, ent, write=True)
    return ent


@login_required
def enterprise_edit(request: HttpRequest, uscc: str) -> HttpResponse:
    """Edit one enterprise: register fields, figures with source and date, certifications, tags, contacts."""
    ent = _load_for_edit(request.user, uscc)
    initial = initial_values(ent, request.user)
    if request.method != "POST":
        return render_form(request, FormState(initial), ent)
    values = posted_values(request.POST, initial)
    data = changed_data(initial, values)
    if not data:
        messages.info(request, "没有修改任何内容。")
        return done(request, ent)
    try:
        do_update_enterprise(request.user, ent, data, null_clears=True)
    except DomainError as exc:
        return render_form(request, FormState(values, form_errors(exc), headline(exc)), ent, status=exc.status)
    except PermissionDenied as exc:
        return render_form(request, FormState(values, {}, str(exc) or "无权修改该企业档案"), ent, status=403)
    messages.success(request, f"已保存对“{ent.name}”档案的修改,变更已记入下方的变更记录。")
    return done(request, ent)


@login_required
def enterprise_new(request: HttpRequest) -> HttpResponse:
    """Register a new enterprise (register writers only)."""
    access_register_write(request.user)
    initial = blank_values()
    if request.method != "POST":
        return render_form(request, FormState(initial), None)
    values = posted_values(request.POST, initial)
    values["uscc"] = values["uscc"].upper()
    try:
        ent = do_create_enterprise(request.user, create_data(values))
    except DomainError as exc:
        return render_form(request, FormState(values, form_errors(exc), headline(exc)), None, status=exc.status)
    messages.success(request, f"已新增企业“{ent.name}”。")
    return done(request, ent)


@login_required
def edit_streets(request: HttpRequest) -> HttpResponse:
    """The street options of a county (HTMX, when the county select changes)."""
    county = (request.GET.get("county") or "").strip()
    options = street_options(request.user, county) if county.isdigit() and len(county) == 6 else []
    return render(request, "enterprises/_edit_streets.html", {"streets": options, "street": ""})


@login_required
def edit_industry(request: HttpRequest) -> HttpResponse:
    """The name of a typed industry code, or why it is not valid (HTMX, while typing)."""
    code = (request.GET.get("industry_code") or "").strip().upper()
    if not code:
        return HttpResponse("")
    try:
        resolved = industries.resolve(code)[0]
    except industries.IndustryError as exc:
        return HttpResponse(f'<span class="error">{escape(str(exc))}</span>')
    return HttpResponse(escape(industries.label(resolved)))


def _industry_label(code: str) -> str:
    """The label of a valid industry code, '' for an invalid one."""
    try:
        return industries.label(industries.resolve(code.upper())[0])
    except industries.IndustryError:
        return ""
