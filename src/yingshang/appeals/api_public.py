"""REST endpoints: the public board (诉求公开栏) — disclosed cases, redacted, no login."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from ninja import Query, Router, Schema

from yingshang.appeals import public
from yingshang.appeals.models import Category
from yingshang.appeals.queries import MAX_PAGE, choice_param, page_of
from yingshang.core.apiauth import PUBLIC_AUTH as PUBLIC
from yingshang.core.errors import NotFound, shorten
from yingshang.core.i18n_errors import ERRORS

router = Router(tags=["诉求公开栏"])


class CodeName(Schema):
    code: str
    name: str


class PublicEvent(Schema):
    at: dt.datetime
    action: str
    action_label: str
    status_label: str
    department: Optional[str]
    reason: str


class PublicAppeal(Schema):
    number: str
    title: str
    content: str
    category: str
    category_label: str
    region: CodeName
    department: Optional[str]
    status: str
    status_label: str
    created_at: dt.datetime
    replied_at: Optional[dt.datetime]
    result: str
    result_label: str
    reply: str
    satisfaction_label: str
    timeline: list[PublicEvent]


class PublicPage(Schema):
    total: int
    total_capped: bool = False
    page: int
    pages: int
    items: list[PublicAppeal]


@router.get("/public/appeals", auth=PUBLIC, response={200: PublicPage, **ERRORS}, summary="诉求公开栏(无需登录)")
def public_appeals(request, q: str = Query("", max_length=50, description="关键词(标题、内容)"),
                   category: str = Query(""), region: str = Query("", max_length=12),
                   page: int = Query(1, ge=1, le=MAX_PAGE)):
    """Disclosed cases only, text redacted; no contact data and no enterprise identity."""
    choice_param(category, "category", Category)
    qs = public.public_qs()
    if category:
        qs = qs.filter(category=category)
    if region:
        qs = qs.filter(region__code__startswith=region)
    q = q.strip()
    if q:
        qs = public.search(qs, q)
    return page_of(public.with_public_events(qs.order_by("-created_at", "-id")), page, public.public_out)


@router.get("/public/appeals/{number}", auth=PUBLIC, response={200: PublicAppeal, **ERRORS},
            summary="公开诉求详情(无需登录)")
def public_appeal(request, number: str):
    appeal = public.public_qs().filter(number=number[:24]).first()
    if appeal is None:
        raise NotFound(f"公开诉求 {shorten(number, 24)} 不存在")
    return public.public_out(appeal)
