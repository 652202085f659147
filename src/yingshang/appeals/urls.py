"""Pages: 诉求 (work views, case page, public board, KPIs and 通报)."""
from django.urls import include, path

app_name = "appeals"
urlpatterns = [
    path("", include("yingshang.appeals.urls_work")),
    path("", include("yingshang.appeals.urls_case")),
    path("", include("yingshang.appeals.urls_public")),
    path("", include("yingshang.appeals.urls_kpis")),
]
