"""Pages: 诉求 KPIs and the monthly 通报 (included by ``appeals/urls.py`` under the "appeals" namespace)."""
from django.urls import path

from yingshang.appeals import views_kpis as v

urlpatterns = [
    path("kpis/", v.kpi_page, name="kpis"),
    path("kpis/cases/", v.kpi_cases_page, name="kpi_cases"),
    path("bulletin/", v.bulletin_page, name="bulletin"),
    path("bulletin/xlsx/", v.bulletin_xlsx, name="bulletin_xlsx"),
    path("bulletin/pdf/", v.bulletin_pdf, name="bulletin_pdf"),
]
