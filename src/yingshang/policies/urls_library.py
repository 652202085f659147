"""Pages: 政策库 (mounted at ``/policies/`` in the ``policies`` namespace)."""
from django.urls import path

from yingshang.policies import views_library as views

urlpatterns = [
    path("", views.library, name="library"),
    path("documents/new/", views.document_new, name="document_new"),
    path("documents/<int:pk>/", views.document_detail, name="document_detail"),
    path("documents/<int:doc_pk>/attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
    path("documents/<int:pk>/edit/", views.document_edit, name="document_edit"),
    path("documents/<int:doc_pk>/items/new/", views.item_new, name="item_new"),
    path("items/<int:pk>/", views.item_detail, name="item_detail"),
    path("items/<int:pk>/edit/", views.item_edit, name="item_edit"),
    path("items/<int:pk>/action/", views.item_action, name="item_action"),
    path("rules/preview/", views.rule_preview, name="rule_preview"),
]
