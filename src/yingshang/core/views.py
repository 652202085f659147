"""Web pages of the core app: login, the role-aware home page and the inbox.

The 403/404/500 pages are the templates ``403.html``, ``404.html`` and ``500.html`` rendered by Django's
default handlers."""
from __future__ import annotations

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count
from django.db.models.functions import Substr
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from yingshang.core.access import REGISTER_READERS, scope_prefix, visible_enterprises
from yingshang.core.actions import do_mark_notifications_read
from yingshang.core.models import Region, Role, User

STATS_TTL = 300  # seconds: the home page counts are cached per scope, the page says when they were taken
INBOX_PAGE = 20


# ---------------------------------------------------------------- login
class LoginView(auth_views.LoginView):
    """Django's login view with the Chinese template; lists the demo accounts in demo mode only."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        if settings.DEMO_MODE and settings.MODE == "demo":
            ctx["demo_accounts"] = demo_accounts()
            ctx["demo_password"] = getattr(settings, "YINGSHANG_DEMO_PASSWORD", None) or _seed_password()
        return ctx


def _seed_password() -> str:
    try:
        from yingshang.seeding.org import DEMO_PASSWORD
    except ImportError:
        return ""
    return DEMO_PASSWORD


def demo_accounts() -> list[User]:
    """One demo account per role (the one named after the role, else the first by username)."""
    first: dict[str, User] = {}
    loginable = User.objects.filter(is_demo=True, is_active=True).exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
    for user in loginable.order_by("username")[:500]:
        if user.role not in first or user.username == user.role:
            first[user.role] = user
    return [first[r] for r in Role.values if r in first]


# ---------------------------------------------------------------- home
def greeting(now=None) -> str:
    hour = (now or timezone.localtime()).hour
    return "早上好" if 5 <= hour < 11 else "中午好" if hour < 13 else "下午好" if 13 <= hour < 18 else "晚上好"


def scope_lines(user: User) -> list[tuple[str, str]]:
    """What the user's view is limited to, as (label, value) pairs."""
    lines = [("角色", user.get_role_display())]
    if user.department_id:
        lines.append(("所属单位", user.department.name))
    if user.region_id:
        lines.append(("管辖区划", user.region.name))
    elif user.department_id:
        lines.append(("管辖区划", user.department.region.name))
    if user.enterprise_id:
        lines.append(("所属企业", user.enterprise.name))
    if user.role in REGISTER_READERS and not user.scope_prefix:
        lines.append(("数据范围", "全部区划"))
    return lines


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    ctx = {"greeting": greeting(), "scope": scope_lines(user),
           "latest_notifications": user.notifications.order_by("-created_at", "-id")[:5]}
    if user.role == Role.ENTERPRISE and user.enterprise_id:
        ctx["enterprise"] = user.enterprise
    if user.role in REGISTER_READERS or user.is_superuser:
        ctx["stats"] = register_stats(user)
        ctx["recent"] = (visible_enterprises(user, _enterprises()).select_related("region")
                         .order_by("-id")[:5])
    if user.role == Role.ADMIN or user.is_superuser:
        ctx["admin_stats"] = admin_stats()
    return render(request, "core/home.html", ctx)


def _enterprises():
    from yingshang.enterprises.models import Enterprise

    return Enterprise.objects.all()


def register_stats(user: User) -> dict:
    """Counts of the enterprises in the user's scope by size and by sub-region (cached per scope)."""
    prefix = scope_prefix(user)
    key = f"ys:home-stats:{prefix or 'all'}"
    stats = cache.get(key)
    if stats is None:
        stats = _compute_register_stats(visible_enterprises(user, _enterprises()), prefix)
        cache.set(key, stats, STATS_TTL)
    return stats


def _compute_register_stats(qs, prefix: str) -> dict:
    from collections import Counter

    from yingshang.enterprises.models import Size

    # Below a county, group by street (9 digits); otherwise by county (6 digits). One scan of the
    # scope grouped by (sub-region, size) gives both distributions (≈1 s → ≈0.5 s at 1,000,000 rows).
    width = 9 if len(prefix) >= 6 else 6
    rows = (qs.order_by().annotate(sub=Substr("region_id", 1, width)).values_list("sub", "size")
            .annotate(n=Count("id")))
    by_size, by_sub = Counter(), Counter()
    for sub, size, n in rows:
        by_size[size] += n
        by_sub[sub] += n
    sizes = [{"name": str(label), "value": by_size.get(value, 0)} for value, label in Size.choices]
    sizes.append({"name": "未确定", "value": by_size.get(None, 0)})
    for s in sizes:
        s["label"] = f"{s['value']:,}"
    counts = by_sub.most_common(30)
    names = dict(Region.objects.filter(code__in=[c for c, _ in counts]).values_list("code", "name"))
    regions = [{"code": c, "name": names.get(c, "直属/未细分" if len(c) < width else c), "value": n}
               for c, n in counts]
    total = sum(by_size.values())
    return {"total": total, "total_label": f"{total:,}", "sizes": sizes, "regions": regions,
            "region_level": "乡镇街道" if width == 9 else "县区", "taken_at": timezone.now()}


def admin_stats() -> dict:
    """Users by role and organisation counts, for the administrator's home page."""
    from yingshang.core.models import Department

    by_role = dict(User.objects.filter(is_active=True).order_by().values_list("role").annotate(n=Count("id")))
    return {"users": [(label, by_role.get(value, 0)) for value, label in Role.choices],
            "departments": Department.objects.filter(is_active=True).count(),
            "regions": Region.objects.count()}


# ---------------------------------------------------------------- inbox
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    qs = request.user.notifications.order_by("-created_at", "-id")
    if request.GET.get("unread") == "1":
        qs = qs.filter(read_at__isnull=True)
    page = Paginator(qs, INBOX_PAGE).get_page(request.GET.get("page"))
    return render(request, "core/inbox.html", {"page": page, "only_unread": request.GET.get("unread") == "1"})


@login_required
@require_POST
def inbox_mark_read(request: HttpRequest) -> HttpResponse:
    """Mark the posted ``id`` values read, or all of the user's messages with ``all=1``."""
    if request.POST.get("all") == "1":
        do_mark_notifications_read(request.user)
    else:
        ids = [int(i) for i in request.POST.getlist("id") if i.isdigit()]
        if ids:
            do_mark_notifications_read(request.user, ids)
    target = request.POST.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("inbox")
