"""Core REST endpoints under ``/api/v1/``: health, tokens, the current user, regions, departments,
notifications. Every answer has a response schema; errors use the API-wide ``{"error": {...}}``."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import connection
from django.db.utils import DatabaseError
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema
from ninja.responses import Status
from pydantic import ConfigDict

import yingshang
from yingshang.core import actions
from yingshang.core.errors import Forbidden, NotFound, ValidationFailed
from yingshang.core.i18n_errors import ERRORS, ErrorBody, ErrorOut  # noqa: F401  (re-exported)
from yingshang.core.models import (ApiToken, Department, DepartmentKind, Notification, OutboxMessage,
                                   OutboxStatus, Region, RegionLevel, Role, User)

router = Router()


# Database ids are 64-bit: larger numbers would overflow the query instead of finding nothing.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


# ---------------------------------------------------------------- schemas
class JobsOut(Schema):
    backend: str = Field(description="celery 或 inprocess")
    outbox_pending: int | None = None
    outbox_dead: int | None = None


class HealthOut(Schema):
    status: str = Field(description="ok 或 error")
    database: str
    version: str
    mode: str
    jobs: JobsOut


class TokenIn(Schema):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=256)
    name: str = Field("", max_length=64, description="令牌用途,便于日后识别和吊销")


class TokenUser(Schema):
    username: str
    role: str


class TokenOut(Schema):
    token: str = Field(description="仅显示这一次,请妥善保存")
    expires_at: dt.datetime | None
    user: TokenUser


class TokenInfo(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    active: bool


class CodeName(Schema):
    code: str
    name: str


class MeOut(Schema):
    username: str
    display_name: str
    role: str
    role_label: str
    department: CodeName | None
    region: CodeName | None
    enterprise: CodeName | None = Field(description="企业用户所属企业:code 为统一社会信用代码")
    email: str
    phone: str
    is_demo: bool
    unread_notifications: int


class RegionOut(Schema):
    code: str
    name: str
    level: str
    parent: str | None = Field(description="上级区划代码")


class RegionDetail(RegionOut):
    prefix: str = Field(description="下级区划代码共同的前缀(「在区划内」即代码以此开头)")
    children: list[RegionOut]


class DepartmentOut(Schema):
    code: str
    name: str
    short_name: str
    kind: str
    region: str = Field(description="所属区划代码")
    parent: str | None = Field(description="上级单位代码")
    is_active: bool


class NotificationOut(Schema):
    id: int
    category: str
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPage(Schema):
    total: int
    unread: int
    items: list[NotificationOut]


class ReadIn(Schema):
    # A misspelt "ids" must not fall back to "mark every message read".
    model_config = ConfigDict(extra="forbid")
    ids: list[Id] | None = Field(None, max_length=1000, description="要标记为已读的消息(最多1000条);省略时标记全部未读消息")


class ReadOut(Schema):
    marked: int


class RevokedOut(Schema):
    id: int
    revoked_at: dt.datetime


# ---------------------------------------------------------------- health and tokens
def _jobs_state() -> JobsOut:
    counts = {s: OutboxMessage.objects.filter(status=s).count() for s in (OutboxStatus.PENDING, OutboxStatus.DEAD)}
    return JobsOut(backend=settings.YINGSHANG_JOBS, outbox_pending=counts[OutboxStatus.PENDING],
                   outbox_dead=counts[OutboxStatus.DEAD])


@router.get("/health", auth=None, response={200: HealthOut, 503: HealthOut}, tags=["平台"],
            summary="健康检查(数据库、版本、运行模式、后台任务)")
def health(request):
    base = {"version": yingshang.__version__, "mode": settings.MODE}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        jobs = _jobs_state()
    except DatabaseError:
        jobs = JobsOut(backend=settings.YINGSHANG_JOBS)
        return Status(503, {**base, "status": "error", "database": "error", "jobs": jobs})
    return Status(200, {**base, "status": "ok", "database": "ok", "jobs": jobs})


def _login_refusal(username: str) -> str:
    """Why a login failed, told only where it reveals nothing an attacker can use."""
    if not settings.DEMO_MODE and User.objects.filter(username=username, is_demo=True).exists():
        return "演示账号只能在演示模式下登录"
    return "用户名或密码错误"


@router.post("/auth/token", auth=None, response={200: TokenOut, **ERRORS}, tags=["认证"],
             summary="用用户名和密码换取 API 令牌")
def create_token(request, payload: TokenIn):
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        return Status(401, {"error": {"code": "invalid_credentials", "message": _login_refusal(payload.username),
                                      "fields": {}}})
    days = int(getattr(settings, "YINGSHANG_API_TOKEN_DAYS", 30))
    expires_at = timezone.now() + dt.timedelta(days=days) if days > 0 else None
    token = actions.do_issue_token(user, user, name=payload.name or "API 登录", expires_at=expires_at)
    return {"token": token, "expires_at": expires_at, "user": {"username": user.username, "role": user.role}}


def _token_info(row: ApiToken) -> dict:
    now = timezone.now()
    active = row.revoked_at is None and (row.expires_at is None or row.expires_at > now)
    return {**{f: getattr(row, f) for f in ("id", "name", "prefix", "created_at", "last_used_at", "expires_at",
                                              "revoked_at")}, "active": active}


@router.get("/auth/tokens", response={200: list[TokenInfo], **ERRORS}, tags=["认证"], summary="我的 API 令牌")
def list_tokens(request):
    return [_token_info(row) for row in ApiToken.objects.filter(user=request.auth)]


@router.delete("/auth/tokens/{token_id}", response={200: RevokedOut, **ERRORS}, tags=["认证"],
               summary="吊销令牌(本人的令牌;管理员可吊销任何令牌)")
def revoke_token(request, token_id: int = Path(..., ge=1, le=MAX_ID)):
    row = ApiToken.objects.filter(pk=token_id).only("user_id").first()
    if row is None:
        raise NotFound(f"令牌 {token_id} 不存在")
    user = request.auth
    if row.user_id != user.pk and not (user.is_superuser or user.role == Role.ADMIN):
        raise Forbidden("只能吊销自己的令牌")
    row = actions.do_revoke_token(user, token_id)
    return {"id": row.pk, "revoked_at": row.revoked_at}


# ---------------------------------------------------------------- me, regions, departments
def _code_name(obj, code_attr: str = "code") -> dict | None:
    return {"code": getattr(obj, code_attr), "name": obj.name} if obj is not None else None


@router.get("/me", response={200: MeOut, **ERRORS}, tags=["认证"], summary="当前用户")
def me(request):
    user = User.objects.select_related("department", "region", "enterprise").get(pk=request.auth.pk)
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
                 "role_label": str(user.get_role_display()), "department": _code_name(user.department),
                 "region": _code_name(user.region), "enterprise": _code_name(user.enterprise, "uscc"),
                 "email": user.email, "phone": user.phone, "is_demo": user.is_demo,
                 "unread_notifications": user.notifications.filter(read_at__isnull=True).count()}


def _region_row(region: Region) -> dict:
    return {"code": region.code, "name": region.name, "level": region.level, "parent": region.parent_id}


@router.get("/regions", response={200: list[RegionOut], **ERRORS}, tags=["组织"],
            summary="行政区划(GB/T 2260),按代码排序的扁平列表,可按上级和层级筛选")
def list_regions(request, parent: str | None = Query(None, description="只列出该区划的直接下级"),
                 level: RegionLevel | None = Query(None, description="province/city/county/street")):
    qs = Region.objects.order_by("code")
    if parent:
        if not Region.objects.filter(code=parent).exists():
            raise ValidationFailed(f"parent: 区划代码「{parent}」不存在", fields={"parent": "区划代码不存在"})
        qs = qs.filter(parent_id=parent)
    if level:
        qs = qs.filter(level=level)
    return [_region_row(r) for r in qs]


@router.get("/regions/{code}", response={200: RegionDetail, **ERRORS}, tags=["组织"], summary="一个区划及其直接下级")
def get_region(request, code: str):
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise NotFound(f"区划代码「{code}」不存在")
    children = [_region_row(r) for r in region.children.order_by("code")]
    return {**_region_row(region), "prefix": region.prefix, "children": children}


@router.get("/departments", response={200: list[DepartmentOut], **ERRORS}, tags=["组织"],
            summary="单位列表;region 包含下级区划的单位")
def list_departments(request, region: str | None = Query(None, description="区划代码(含下级区划)"),
                     kind: DepartmentKind | None = Query(None, description="单位类别")):
    qs = Department.objects.select_related("parent").order_by("region_id", "code")
    if region:
        found = Region.objects.filter(code=region).first()
        if found is None:
            raise ValidationFailed(f"region: 区划代码「{region}」不存在", fields={"region": "区划代码不存在"})
        qs = qs.filter(region__code__startswith=found.prefix)
    if kind:
        qs = qs.filter(kind=kind)
    return [{"code": d.code, "name": d.name, "short_name": d.short_name, "kind": d.kind, "region": d.region_id,
                  "parent": d.parent.code if d.parent else None, "is_active": d.is_active} for d in qs]


# ---------------------------------------------------------------- notifications
@router.get("/notifications", response={200: NotificationPage, **ERRORS}, tags=["消息"], summary="我的站内消息")
def list_notifications(request, unread: bool = Query(False, description="只看未读"),
                       limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=1_000_000)):
    qs = Notification.objects.filter(user=request.auth)
    unread_count = qs.filter(read_at__isnull=True).count()
    if unread:
        qs = qs.filter(read_at__isnull=True)
    items = list(qs.order_by("-created_at", "-id")[offset:offset + limit])
    return {"total": qs.count(), "unread": unread_count, "items": items}


@router.post("/notifications/read", response={200: ReadOut, **ERRORS}, tags=["消息"], summary="标记消息为已读")
def mark_read(request, payload: ReadIn):
    return {"marked": actions.do_mark_notifications_read(request.auth, payload.ids)}

