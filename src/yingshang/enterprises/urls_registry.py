"""The enterprise register pages: list and enterprise page (一企一档). Included under the
``enterprises`` namespace after ``import/``, so the USCC pattern never shadows the import pages."""
from django.urls import path

from yingshang.enterprises import views, views_service

urlpatterns = [
    path("", views.enterprise_list, name="list"),
    path("<str:uscc>/", views.enterprise_detail, name="detail"),
    path("<str:uscc>/audit/", views.enterprise_audit, name="audit"),
    path("<str:uscc>/personal/", views.enterprise_personal, name="personal"),
    path("<str:uscc>/credit/", views_service.credit_add, name="credit_add"),
    path("<str:uscc>/credit/<int:pk>/remove/", views_service.credit_remove, name="credit_remove"),
    path("<str:uscc>/steward/", views_service.steward_assign, name="steward"),
]
