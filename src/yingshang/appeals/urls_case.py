"""Pages: 诉求 (case) — submission, confirmation, the case page and one URL per life-cycle step."""
from django.urls import path

from yingshang.appeals import views_case as views, views_case_actions as steps

urlpatterns = [
    path("new/", views.new, name="new"),
    path("new/similar/", views.similar, name="similar"),
    path("new/done/", views.submitted, name="submitted"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
    path("<int:pk>/countdown/", views.countdown_partial, name="countdown"),
    path("<int:pk>/merge-suggestions/", views.merge_suggestions, name="merge_suggestions"),
    path("<int:pk>/files/<int:file_id>/", views.attachment, name="attachment"),
] + [path(f"<int:pk>/act/{name}/", steps.step, {"name": name}, name=f"act_{name}") for name in steps.STEP_CALLS]
