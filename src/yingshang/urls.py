from django.contrib import admin
from django.urls import include, path

from yingshang.api import api

admin.site.site_header = "营商通 后台管理"
admin.site.site_title = "营商通"
admin.site.index_title = "后台数据管理"

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("calendar/", include("yingshang.workcal.urls")),
    path("enterprises/", include("yingshang.enterprises.urls")),
    path("policies/", include("yingshang.policies.urls")),
    path("appeals/", include("yingshang.appeals.urls")),
    path("", include("yingshang.core.urls")),
]
