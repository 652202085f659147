"""The REST API root: ``/api/v1/``. Each app contributes a router; errors are always JSON."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from yingshang.core.apiauth import BearerTokenAuth, SessionAuth
from yingshang.core.errors import DomainError
from yingshang.core.i18n_errors import describe_validation_errors

api = NinjaAPI(
    title="营商通 API",
    version="1",
    description="营商环境优化工作平台 REST API。认证: `Authorization: Bearer <token>`(通过 POST /api/v1/auth/token 获取)。",
    urls_namespace="api",
    auth=[BearerTokenAuth(), SessionAuth()],
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
    return _error(request, exc.status_code, "http_error", str(exc))


def _register_routers() -> None:
    from yingshang.core.api import router as core_router
    from yingshang.enterprises.api import router as enterprise_router
    from yingshang.workcal.api import router as workday_router

    api.add_router("/", core_router)
    api.add_router("/enterprises", enterprise_router)
    api.add_router("/workdays", workday_router)


_register_routers()
