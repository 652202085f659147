"""The REST API root: ``/api/v1/``. Each app contributes a router; errors are always JSON.

Everything a client can get wrong answers ``{"error": {"code", "message", "fields"}}`` with a 4xx
status and a Chinese message: bad JSON, a body that is not JSON, NaN/Infinity, NUL characters,
control characters in the URL, unknown URLs (404), wrong methods (405), and values the database
would refuse.
"""
from __future__ import annotations

import functools
import json
import logging
import math
import re
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import DataError, IntegrityError
from django.http import Http404, HttpResponseNotAllowed
from django.urls import re_path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from yingshang.core.apiauth import BearerTokenAuth, SessionAuth
from yingshang.core.errors import DomainError, ValidationFailed, shorten
from yingshang.core.i18n_errors import BODY, describe_validation_errors

log = logging.getLogger("yingshang.api")
# Control characters have no place in a URL; NUL cannot even be stored by PostgreSQL.
_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UnsupportedMediaType(DomainError):
    status, code = 415, "unsupported_media_type"


class _NotJsonNumber(str):
    """Marks NaN/Infinity (not JSON at all) and numbers beyond float range (1e309) while parsing."""


def _finite_float(text: str):
    value = float(text)
    return value if math.isfinite(value) else _NotJsonNumber(text)


def _json_problems(value: Any, path: str, out: dict[str, str]) -> None:
    """Walk a parsed body and name every value the platform cannot take, by its dotted path."""
    if isinstance(value, _NotJsonNumber):
        out.setdefault(path or BODY, f"“{shorten(value)}”不是有效的数值(超出范围,或 NaN/Infinity 不属于 JSON)")
    elif isinstance(value, str):
        if "\x00" in value:
            out.setdefault(path or BODY, "不能包含空字符(\\u0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                out.setdefault(name.replace("\x00", "\\u0000"), "字段名不能包含空字符(\\u0000)")
            _json_problems(item, name, out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _json_problems(item, f"{path}.{i}" if path else str(i), out)


class JsonParser(Parser):
    """Request bodies must be UTF-8 JSON sent as ``application/json``; strict about numbers and NUL."""

    def parse_body(self, request):
        ctype = (request.content_type or "").lower()
        if ctype != "application/json" and not ctype.endswith("+json"):
            raise UnsupportedMediaType(f"请求体应为 JSON,并带请求头 Content-Type: application/json"
                                       f"(收到的是“{ctype or '未指定'}”)", fields={"Content-Type": "应为 application/json"})
        data = json.loads(request.body.decode("utf-8"), parse_constant=_NotJsonNumber, parse_float=_finite_float)
        if not isinstance(data, dict):
            # Every body the API takes is an object; ninja would read a list's missing attributes as
            # defaults (POST /notifications/read with [null] meant "mark everything read").
            raise ValidationFailed(f"请求参数有误 — {BODY}: 应为对象(JSON object)", fields={BODY: "应为对象(JSON object)"})
        problems: dict[str, str] = {}
        _json_problems(data, "", problems)
        if problems:
            summary = ";".join(f"{k}: {v}" for k, v in problems.items())
            raise ValidationFailed(f"请求参数有误 — {summary}", fields=problems)
        return data


def _body_error(cause: BaseException | None) -> tuple[int, str, str]:
    """(status, code, Chinese message) for a request body ninja could not parse."""
    if isinstance(cause, json.JSONDecodeError):
        return 400, "invalid_json", f"请求体不是合法的 JSON(第 {cause.lineno} 行第 {cause.colno} 列附近有语法错误)"
    if isinstance(cause, UnicodeDecodeError):
        return 400, "invalid_json", "请求体应为 UTF-8 编码的 JSON"
    if isinstance(cause, RecursionError):
        return 400, "invalid_json", "请求体 JSON 嵌套层数过多"
    if isinstance(cause, ValueError):  # e.g. an integer literal longer than Python's 4,300-digit limit
        return 400, "invalid_json", "请求体含有无法处理的数值(位数过多)"
    return 400, "invalid_json", "请求体不是合法的 JSON"


class Utf8JSONRenderer(JSONRenderer):
    """UTF-8 JSON: Chinese text stays readable in raw answers instead of \\uXXXX escapes."""

    json_dumps_params = {"ensure_ascii": False}


class YingshangAPI(NinjaAPI):
    """NinjaAPI whose URL patterns also answer JSON for unknown URLs, wrong methods and URLs that
    carry control characters (Django's own handlers would answer HTML or text)."""

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            pattern.callback = _json_guarded(self, pattern.callback)
        patterns.append(re_path(r"^.*$", _json_guarded(self, _unknown_url), name="api-unknown"))
        return patterns, app_name, namespace


def _unknown_url(request, *args, **kwargs):
    raise Http404


def _url_problems(request) -> dict[str, str]:
    problems = {}
    if _URL_CONTROL.search(request.path_info):
        problems["路径"] = "含有控制字符"
    for key, values in request.GET.lists():
        if _URL_CONTROL.search(key) or any(_URL_CONTROL.search(v) for v in values):
            problems[_URL_CONTROL.sub("?", key)] = "含有控制字符(如空字符 %00)"
    return problems


def _json_guarded(api_: NinjaAPI, view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        problems = _url_problems(request)
        if problems:
            summary = ";".join(f"{k}: {v}" for k, v in problems.items())
            return _error(request, 400, "validation_failed", f"请求地址有误 — {summary}", problems)
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return _error(request, 404, "not_found", f"接口不存在: {request.method} {request.path}")
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = _error(request, 405, "method_not_allowed",
                              f"该接口不支持 {request.method} 方法,可用: {allowed}")
            response["Allow"] = allowed
        return response

    return wrapper


api = YingshangAPI(
    title="营商通 API",
    version="1",
    description="营商环境优化工作平台 REST API。认证: `Authorization: Bearer <token>`(通过 POST /api/v1/auth/token 获取)。"
                "请求体一律为 JSON(Content-Type: application/json)。出错时应答 "
                '`{"error": {"code", "message", "fields"}}`,message 为中文说明,fields 按字段给出原因。',
    urls_namespace="api",
    auth=[BearerTokenAuth(), SessionAuth()],
    parser=JsonParser(),
    renderer=Utf8JSONRenderer(),
)


def _error(request, status: int, code: str, message: str, fields: dict | None = None):
    return api.create_response(request, {"error": {"code": code, "message": message, "fields": fields or {}}},
                               status=status)


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    return _error(request, exc.status, exc.code, exc.message, exc.fields)


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    message, fields = describe_validation_errors(exc.errors)
    return _error(request, 400, "validation_failed", message, fields)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return _error(request, 401, "unauthorized", "未登录或令牌无效,请提供有效的 Bearer 令牌")


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return _error(request, 403, "forbidden", str(exc) or "无权执行此操作")


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, "not_found", str(exc) or "对象不存在")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    cause = exc.__cause__
    if isinstance(cause, DomainError):  # raised by JsonParser, wrapped by ninja
        return _domain_error(request, cause)
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        return _error(request, *_body_error(cause))
    return _error(request, exc.status_code, "http_error", str(exc))


# Safety nets: the validators check lengths, ranges and uniqueness before writing, so these mean a
# check is missing. The client still gets a 4xx (its data caused it); the log gets the traceback.
@api.exception_handler(DataError)
def _data_error(request, exc: DataError):
    log.error("DataError reached the API (a validator misses a check): %s", exc, exc_info=exc)
    return _error(request, 400, "invalid_value", "提交的数据超出了允许的长度或范围,请检查后重试")


@api.exception_handler(IntegrityError)
def _integrity_error(request, exc: IntegrityError):
    log.error("IntegrityError reached the API (a conflict check is missing): %s", exc, exc_info=exc)
    return _error(request, 409, "conflict", "提交的数据与已有记录冲突(可能已被他人同时修改),请刷新后重试")


def _register_routers() -> None:
    from yingshang.core.api import router as core_router
    from yingshang.enterprises.api import router as enterprise_router
    from yingshang.appeals.api import router as appeals_router
    from yingshang.appeals.api_kpis import router as appeal_kpis_router
    from yingshang.appeals.api_public import router as appeal_public_router
    from yingshang.policies.api_library import router as library_router
    from yingshang.policies.api_matching import router as matching_router
    from yingshang.policies.api_redemption import router as redemption_router
    from yingshang.workcal.api import router as workday_router

    api.add_router("/", core_router)
    api.add_router("/enterprises", enterprise_router)
    api.add_router("/workdays", workday_router)
    # Policy routers carry their own paths (/policy-items…, /enterprises/{uscc}/policies, /redemptions…).
    api.add_router("/", library_router)
    api.add_router("/", matching_router)
    api.add_router("/", redemption_router)
    api.add_router("/", appeals_router)  # /appeals…
    api.add_router("/", appeal_kpis_router)  # /appeal-kpis
    api.add_router("/", appeal_public_router)  # /public/appeals


_register_routers()
