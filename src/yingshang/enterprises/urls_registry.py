"""The enterprise register pages: list and enterprise page (一企一档). Included under the
``enterprises`` namespace after ``import/``, so the USCC pattern never shadows the import pages."""
from django.urls import path

from yingshang.enterprises import views

urlpatterns = [
    path("", views.enterprise_list, name="list"),
    path("<str:uscc>/", views.enterprise_detail, name="detail"),
    path("<str:uscc>/audit/", views.enterprise_audit, name="audit"),
    path("<str:uscc>/personal/", views.enterprise_personal, name="personal"),
]
