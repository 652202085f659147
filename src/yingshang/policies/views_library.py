"""Pages of the policy library (惠企政策): the searchable list, document and item pages, the document
and item forms with the rule editor (``static/policies/rulebuilder.js``), the live preview, and the
review/publish/suspend buttons.

Views parse the form, check access, call ONE action from ``actions_library`` and render; a
``DomainError`` comes back as per-field messages next to the inputs, nothing written.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import DateField, DateTimeField, DecimalField
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from yingshang.core.access import access_staff
from yingshang.core.errors import DomainError, NotFound, shorten
from yingshang.core.models import AuditAction, AuditLog, Department, Region, Role
from yingshang.core.redact import redact, redact_value
from yingshang.enterprises import industries
from yingshang.enterprises.models import Size
from yingshang.policies import access, actions_library as actions, search
from yingshang.policies.api_library import attachment_response, rule_sentences, run_preview
from yingshang.policies.models import (AllocationRule, BenefitType, ItemReview, ItemStatus, Mode, PolicyAttachment,
                                       PolicyDocument, PolicyItem)
from yingshang.policies.templatetags.policy_format import money

PAGE_SIZE = 20
OPTIONAL_MARK = "(可选)"
STATUS_CSS = {"draft": "", "review": "badge-warn", "published": "badge-ok", "suspended": "badge-bad",
              "expired": ""}


def _denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    """Anonymous visitors go to the login page; logged-in users get the 403 page."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise exc


def _guard(request, check, *args) -> HttpResponse | None:
    try:
        check(request.user, *args)
    except PermissionDenied as exc:
        return _denied(request, exc)
    return None


# ---------------------------------------------------------------- list
def _filter_options(staff: bool) -> dict:
    depts = Department.objects.filter(policy_items__isnull=False).distinct().values_list("code", "name")
    return {"departments": list(depts), "benefit_types": BenefitType.choices, "modes": Mode.choices,
            "statuses": ItemStatus.choices if staff else [], "expiring_options": [7, 30, 90]}


def library(request: HttpRequest) -> HttpResponse:
    """The policy library: keyword search (jieba) and filters; non-staff see published items only."""
    user, staff = request.user, access.is_staff(request.user)
    f = search.parse_filters(request.GET, staff=staff)
    qs = search.apply_filters(access.visible_items(user, PolicyItem.objects.select_related("department", "document")), f)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    base = f.params()
    ctx = {"filters": f, "page": page, "staff": staff, "status_css": STATUS_CSS, "today": timezone.localdate(),
           "prev_url": "?" + urlencode({**base, "page": page.previous_page_number()}) if page.has_previous() else "",
           "next_url": "?" + urlencode({**base, "page": page.next_page_number()}) if page.has_next() else "",
           "can_create": access.can_write_document(user), **_filter_options(staff)}
    partial = request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == "policy-list"
    return render(request, "policies/library/_list_body.html" if partial else "policies/library/list.html", ctx)


# ---------------------------------------------------------------- document pages
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    doc = get_object_or_404(PolicyDocument.objects.select_related("region", "created_by"), pk=pk)
    denied = _guard(request, access.access_document_read, doc)
    if denied:
        return denied
    items = access.visible_items(request.user, doc.items.select_related("department")).order_by("id")
    staff = access.is_staff(request.user)
    return render(request, "policies/library/document.html", {
        "doc": doc, "items": items, "status_css": STATUS_CSS, "staff": staff, "source_url": link(doc.source_url),
        "full_text": doc.full_text if staff else redact(doc.full_text),
        "can_edit": access.can_write_document(request.user, doc), "can_add_item": access.can_write(request.user),
        "audit": _audit(request.user, doc)})


def link(url: str) -> str:
    """A stored address fit for an href: http(s) only (content loaded from JSON bypasses the form's check)."""
    return url if urlsplit(url or "").scheme.lower() in ("http", "https") else ""


@require_GET
def attachment_download(request: HttpRequest, doc_pk: int, pk: int) -> HttpResponse:
    """An attachment of a document, for whoever may read the document (public once an item is published).

    Attachments are served through this view, never from /media/ wholesale: application materials with
    personal data live under the same storage."""
    att = get_object_or_404(PolicyAttachment.objects.select_related("document"), pk=pk, document_id=doc_pk)
    denied = _guard(request, access.access_document_read, att.document)
    if denied:
        return denied
    try:
        return attachment_response(att)  # shared with the API download
    except NotFound:  # the row exists but the file is gone from storage
        raise Http404("附件文件不存在") from None


DOC_FORM_FIELDS = ("title", "doc_number", "issuers", "published_on", "effective_from", "expires_on", "region",
                   "source_url", "full_text")


def _document_values(doc: PolicyDocument | None) -> dict:
    if doc is None:
        return {name: "" for name in DOC_FORM_FIELDS} | {"departments": []}
    values = {name: "" if getattr(doc, name) is None else str(getattr(doc, name)) for name in DOC_FORM_FIELDS
              if name != "region"}
    values["region"] = doc.region_id or ""
    values["departments"] = list(doc.departments.values_list("code", flat=True))
    return values


def _document_form(request, doc: PolicyDocument | None) -> HttpResponse:
    values, errors, message = _document_values(doc), {}, ""
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in DOC_FORM_FIELDS}
        values["departments"] = request.POST.getlist("departments")
        upload, upload_name = request.FILES.get("attachment"), request.POST.get("attachment_name", "")
        try:  # one action: the document and its attachment are written together or not at all
            if doc is None:
                doc = actions.do_create_document(request.user, values, upload, upload_name)
                messages.success(request, "政策文件已创建,可以为它添加政策事项。")
            else:
                actions.do_update_document(request.user, doc, values, upload, upload_name)
                messages.success(request, "政策文件已保存。")
            return redirect("policies:document_detail", pk=doc.pk)
        except DomainError as exc:
            errors, message = exc.fields, exc.message
    return render(request, "policies/library/document_form.html", {
        "doc": doc, "values": values, "errors": errors, "message": message,
        "regions": Region.objects.filter(level__in=["province", "city", "county"]).values_list("code", "name"),
        "departments": Department.objects.filter(is_active=True).values_list("code", "name"),
        "attachment_types": "、".join(sorted(t.lstrip(".") for t in actions.ATTACHMENT_TYPES))})


def document_new(request: HttpRequest) -> HttpResponse:
    return _guard(request, access.access_document_write) or _document_form(request, None)


def document_edit(request: HttpRequest, pk: int) -> HttpResponse:
    doc = get_object_or_404(PolicyDocument, pk=pk)
    return _guard(request, access.access_document_write, doc) or _document_form(request, doc)


# ---------------------------------------------------------------- item page
def _audit(user, obj, limit: int = 50) -> list:
    """The object's audit history, for staff only, with Chinese field names and readable values."""
    if not access.is_staff(user):
        return []
    names = _FkNames()
    return [{"at": e.at, "actor_name": e.actor_name, "action": e.get_action_display(), "reason": e.reason,
             "changes": [_change_row(type(obj), k, v, names) for k, v in (e.changes or {}).items()]}
            for e in AuditLog.objects.for_object(obj)[:limit]]


AUDIT_EXTRA_LABELS = {"attachments": "附件", "status": "状态", "revision": "修订号"}


def _audit_field(model, key: str):
    for candidate in (model, PolicyItem, PolicyDocument):
        for name in (key, key.removesuffix("_id")):
            try:
                return candidate._meta.get_field(name)
            except FieldDoesNotExist:
                continue
    return None


def _change_row(model, key: str, change, names: "_FkNames") -> dict:
    """One audited change as (Chinese field name, old text, new text)."""
    field = _audit_field(model, key)
    label = AUDIT_EXTRA_LABELS.get(key) or (str(field.verbose_name) if field is not None else key)
    pair = list(change) if isinstance(change, (list, tuple)) else [None, change]
    old, new = (pair + [None, None])[:2]
    return {"label": label, "old": audit_value(field, old, names), "new": audit_value(field, new, names)}


def audit_value(field, value, names: "_FkNames | None" = None) -> str:
    """An audited value as people read it: choice labels, 2,000,000.00, YYYY-MM-DD, names for ids."""
    if value is None or value == "" or value == []:
        return "—"
    if field is None:
        return shorten(json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value), 160)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, DecimalField):
        return money(value) or str(value)
    if isinstance(field, (DateField, DateTimeField)):
        return str(value).replace("T", " ")[:16 if isinstance(field, DateTimeField) else 10]
    if field.is_relation and names is not None:
        return names.show(field.related_model, value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return shorten(json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value), 160)


class _FkNames:
    """Names of the departments/regions/documents/users an audit page mentions, one query per id."""

    def __init__(self):
        self.cache: dict = {}

    def show(self, model, value) -> str:
        if isinstance(value, list):
            return "、".join(self.show(model, v) for v in value) or "—"
        key = (model, str(value))
        if key not in self.cache:
            self.cache[key] = self._lookup(model, str(value))
        return self.cache[key]

    @staticmethod
    def _lookup(model, value: str) -> str:
        if model is Department:  # documents list departments by code, items store the id
            found = Department.objects.filter(code=value).first() or (
                Department.objects.filter(pk=int(value)).first() if value.isdigit() and len(value) < 18 else None)
        else:
            found = model.objects.filter(pk=value).first() if value.isdigit() or model is Region else None
        return (getattr(found, "name", None) or getattr(found, "title", None) or str(found)) if found else value


def _status_history(item: PolicyItem) -> list[dict]:
    rows = AuditLog.objects.for_object(item).filter(action=AuditAction.TRANSITION)[:50]
    out = []
    for entry in rows:
        old, new = ((entry.changes or {}).get("status") or [None, None])[:2]
        out.append({"at": entry.at, "actor": entry.actor_name, "reason": entry.reason,
                    "old": _status_name(old), "new": _status_name(new)})
    return out


def _status_name(value) -> str:
    return str(ItemStatus(value).label) if value in ItemStatus.values else (value or "—")


def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(PolicyItem.objects.select_related("document", "document__region", "department"), pk=pk)
    denied = _guard(request, access.access_policy_read, item)
    if denied:
        return denied
    user, staff = request.user, access.is_staff(request.user)
    can = _permissions(user, item)
    can["matches"] = _may_see_matches(user)
    return render(request, "policies/library/item.html", {
        "item": item, "doc": item.document, "shown": shown_texts(item, staff),
        "source_url": link(item.document.source_url),
        "sentences": rule_sentences(item.rule or {}, item.params or {}),
        "status_css": STATUS_CSS, "staff": staff, "can": can, "apply": apply_state(user, item), "history": _status_history(item) if staff else [],
        "reviews": ItemReview.objects.filter(item=item).select_related("reviewer") if staff else [],
        "audit": _audit(user, item), "params_json": json.dumps(item.params or {}, ensure_ascii=False, indent=2),
        "rule_json": json.dumps(item.rule or {}, ensure_ascii=False, indent=2)})


def apply_state(user, item: PolicyItem) -> dict | None:
    """For enterprise users: whether the item takes online applications today (None: no button at all)."""
    if getattr(user, "role", None) != Role.ENTERPRISE or item.mode not in (Mode.APPLY, Mode.INSTANT) \
            or item.status != ItemStatus.PUBLISHED:
        return None
    today = timezone.localdate()
    if item.window_start and today < item.window_start:
        return {"open": False, "note": f"申报未开始(申报期 {item.window_start:%Y-%m-%d} 起)"}
    if item.window_end and today > item.window_end:
        return {"open": False, "note": f"申报已截止(截止日期 {item.window_end:%Y-%m-%d})"}
    return {"open": True, "note": ""}


def _may_see_matches(user) -> bool:
    try:
        access_staff(user)
    except PermissionDenied:
        return False
    return True


PUBLIC_TEXTS = ("summary", "clause", "amount_note", "materials")


def shown_texts(item: PolicyItem, staff: bool) -> dict:
    """The item's officer-entered texts as the page shows them: redacted (DOMAIN §4) unless for staff."""
    texts = {name: getattr(item, name) or ("" if name != "materials" else []) for name in PUBLIC_TEXTS}
    return texts if staff else {name: redact_value(value) for name, value in texts.items()}


def _permissions(user, item: PolicyItem) -> dict:
    write = access.can_write(user, item)
    manage = write or (access.is_staff(user) and user.role == "dept_leader" and user.department_id == item.department_id)
    status = item.status
    return {"edit": write and status in actions.EDITABLE_STATUSES, "submit": write and status == ItemStatus.DRAFT,
            "review": status == ItemStatus.REVIEW and access.can_review(user, item),
            "suspend": manage and status == ItemStatus.PUBLISHED, "resume": manage and status == ItemStatus.SUSPENDED,
            "preview": status != ItemStatus.EXPIRED and _allowed_preview(user)}


def _allowed_preview(user) -> bool:
    try:
        access.access_policy_preview(user)
    except PermissionDenied:
        return False
    return True


TRANSITIONS = {"submit": lambda u, i, r: actions.do_submit_item(u, i),
               "approve": lambda u, i, r: actions.do_review_item(u, i, True, r),
               "reject": lambda u, i, r: actions.do_review_item(u, i, False, r),
               "suspend": lambda u, i, r: actions.do_suspend_item(u, i, r),
               "resume": lambda u, i, r: actions.do_resume_item(u, i, r)}
DONE = {"submit": "已提交审核。", "approve": "审核通过,事项已发布,系统正在匹配符合条件的企业。", "reject": "已退回修改。",
        "suspend": "事项已暂停。", "resume": "事项已恢复发布。"}


@require_POST
def item_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit / approve / reject / suspend / resume (the action decides who may)."""
    item = get_object_or_404(PolicyItem, pk=pk)
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("policies:item_detail", args=[pk]))
    verb = request.POST.get("action", "")
    if verb not in TRANSITIONS:
        messages.error(request, "未知的操作")
        return redirect("policies:item_detail", pk=pk)
    try:
        TRANSITIONS[verb](request.user, item, request.POST.get("reason", ""))
        messages.success(request, DONE[verb])
    except DomainError as exc:
        messages.error(request, flash_text(exc))
    return redirect("policies:item_detail", pk=pk)


def flash_text(exc: DomainError) -> str:
    """The error's message for a flash, with a leading English field key (“amount: …”) put in Chinese."""
    text = exc.message
    for key in exc.fields or {}:
        for sep in (": ", ":", ":"):
            if text.startswith(key + sep):
                return f"{actions.label(key)}:{text[len(key) + len(sep):]}"
    return text


# ---------------------------------------------------------------- item form and rule editor
ITEM_FORM_FIELDS = ("code", "title", "summary", "benefit_type", "mode", "department", "window_start", "window_end",
                    "budget", "allocation", "amount_formula", "amount_floor", "amount_cap", "amount_note", "clause",
                    "keywords", "rule", "params")


def materials_text(materials: list) -> str:
    """Materials as the textarea shows them: one per line, optional ones marked “(可选)”."""
    return "\n".join(m.get("name", "") + ("" if m.get("required", True) else OPTIONAL_MARK) for m in materials or [])


def parse_materials(text: str) -> list[dict]:
    rows = []
    for line in (text or "").splitlines():
        name = line.strip()
        if not name:
            continue
        optional = name.endswith((OPTIONAL_MARK, "(可选)"))
        rows.append({"name": name.removesuffix(OPTIONAL_MARK).removesuffix("(可选)").strip(), "required": not optional})
    return rows


def _item_values(item: PolicyItem | None, user) -> dict:
    if item is None:
        dept = getattr(user.department, "code", "") if getattr(user, "department_id", None) else ""
        return {**{n: "" for n in ITEM_FORM_FIELDS}, "mode": Mode.APPLY, "allocation": AllocationRule.ORDER,
                "department": dept, "rule": "{}", "params": "{}", "materials": ""}
    values = {n: "" if getattr(item, n, None) is None else str(getattr(item, n)) for n in ITEM_FORM_FIELDS}
    values.update(department=item.department.code, materials=materials_text(item.materials),
                  rule=json.dumps(item.rule or {}, ensure_ascii=False, indent=2),
                  params=json.dumps(item.params or {}, ensure_ascii=False, indent=2))
    return values


def _posted_item(post, is_new: bool) -> dict:
    data = {name: post.get(name, "") for name in ITEM_FORM_FIELDS}
    data["materials"] = parse_materials(post.get("materials", ""))
    if not is_new and not data["code"].strip():
        data.pop("code")
    return data


def _item_form(request, doc: PolicyDocument, item: PolicyItem | None) -> HttpResponse:
    values, errors, message = _item_values(item, request.user), {}, ""
    if request.method == "POST":
        values = {**{n: request.POST.get(n, "") for n in ITEM_FORM_FIELDS}, "materials": request.POST.get("materials", "")}
        try:
            data = _posted_item(request.POST, item is None)
            if item is None:
                item = actions.do_create_item(request.user, doc, data)
                messages.success(request, "政策事项已保存为草稿。")
            else:
                actions.do_update_item(request.user, item, data)
                messages.success(request, "政策事项已保存。")
            return redirect("policies:item_detail", pk=item.pk)
        except DomainError as exc:
            errors, message = exc.fields, exc.message
    return render(request, "policies/library/item_form.html", {
        "doc": doc, "item": item, "values": values, "errors": errors, "message": message,
        "benefit_types": BenefitType.choices, "modes": Mode.choices, "allocations": AllocationRule.choices,
        "departments": _department_choices(request.user), "catalog": _catalog()})


def _department_choices(user) -> list:
    qs = Department.objects.filter(is_active=True)
    if not access.is_admin(user):
        qs = qs.filter(pk=user.department_id)
    return list(qs.values_list("code", "name"))


def _catalog() -> list:
    from yingshang.policies.engine import rules

    return rules.field_catalog(actions.tag_names())


def item_new(request: HttpRequest, doc_pk: int) -> HttpResponse:
    doc = get_object_or_404(PolicyDocument, pk=doc_pk)
    return _guard(request, access.access_policy_write) or _item_form(request, doc, None)


def item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(PolicyItem.objects.select_related("document", "department"), pk=pk)
    return _guard(request, access.access_policy_write, item) or _item_form(request, item.document, item)


# ---------------------------------------------------------------- live preview (HTMX)
def _names(kind: str, codes) -> dict[str, str]:
    if kind == "county":
        return dict(Region.objects.filter(code__in=list(codes)).values_list("code", "name"))
    if kind == "size":
        return {**{code: str(label) for code, label in Size.choices}, "": "未确定", "unknown": "未确定"}
    table = industries.table()
    return {c: getattr(table.get(c), "name", c) for c in codes}


def breakdown_tables(breakdown: dict) -> list[dict]:
    """The preview's breakdown as tables: one per dimension, rows (name, eligible, near_miss, unknown)."""
    titles = {"county": "按县区", "size": "按企业规模", "section": "按行业门类"}
    tables = []
    for kind in ("county", "size", "section"):
        data = breakdown.get(kind) or {}
        names = _names(kind, data.keys())
        rows = [{"code": code, "name": str(names.get(code, code or "未确定")),
                 **{s: int((counts or {}).get(s, 0)) for s in ("eligible", "near_miss", "unknown")}}
                for code, counts in sorted(data.items(), key=lambda kv: -int((kv[1] or {}).get("eligible", 0)))]
        top = rows[:20]  # all 20 industry sections fit the horizontal chart
        tables.append({"kind": kind, "title": titles[kind], "rows": rows,
                       "chart": json.dumps({"names": [r["name"] for r in top], "eligible": [r["eligible"] for r in top],
                                            "near_miss": [r["near_miss"] for r in top]}, ensure_ascii=False)})
    return tables


@require_POST
def rule_preview(request: HttpRequest) -> HttpResponse:
    """How many enterprises the rule being edited would reach (eligible / near-miss / unknown)."""
    denied = _guard(request, lambda u: access.access_policy_preview(u))
    if denied:
        return denied
    ctx: dict = {}
    try:
        rule = actions.parse_json(request.POST.get("rule", ""), dict, "对象(JSON object)")
        params = actions.parse_json(request.POST.get("params", ""), dict, "对象(JSON object)")
    except ValueError as exc:
        return render(request, "policies/library/_preview.html", {"error": f"规则 JSON 有误:{exc}"})
    doc = PolicyDocument.objects.filter(pk=request.POST.get("document") or 0).select_related("region").first() \
        if (request.POST.get("document") or "").isdigit() else None
    prefix = doc.region.prefix if doc and doc.region_id else ""
    from yingshang.policies.engine import rules

    try:
        rules.check_rule(rule, params, tags=actions.tag_names())
        result = run_preview(rule, params, None, prefix)
        ctx = {"result": result, "tables": breakdown_tables(result["breakdown"]),
               "sentences": rule_sentences(rule, params)}
    except rules.RuleError as exc:  # shown beside the editor, with the position (条件 2.1)
        ctx = {"error": str(exc)}
    except ImportError:  # policies.matching not installed yet
        ctx = {"error": "匹配引擎尚未就绪,暂时无法预览。"}
    return render(request, "policies/library/_preview.html", ctx)
