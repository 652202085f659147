from django.urls import path

from yingshang.workcal import views

app_name = "workcal"
urlpatterns = [
    path("", views.calendar_page, name="calendar"),
    path("calculator/", views.calculator, name="calculator"),
    path("notice/", views.notice_form, name="notice"),
]
