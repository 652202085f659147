"""Editing pages of the register, included in the ``enterprises`` namespace before the registry pages,
so ``new/`` is never read as a USCC."""
from django.urls import path

from yingshang.enterprises import views_edit

urlpatterns = [
    path("new/", views_edit.enterprise_new, name="new"),
    path("_edit/streets/", views_edit.edit_streets, name="edit_streets"),
    path("_edit/industry/", views_edit.edit_industry, name="edit_industry"),
    path("<str:uscc>/edit/", views_edit.enterprise_edit, name="edit"),
]
