"""Pages: 诉求 (case) — submission, confirmation, the case page and one URL per life-cycle step."""
from django.urls import path

from yingshang.appeals import views_case as views, views_case_actions as steps

STEPS = ("grade", "dispatch", "arbitrate", "refer", "merge", "approve_extension", "reject_extension", "close",
         "review", "sign", "contact", "pause", "resume", "request_extension", "reply", "sign_task", "reply_task",
         "rate", "reopen", "attach")

urlpatterns = [
    path("new/", views.new, name="new"),
    path("new/similar/", views.similar, name="similar"),
    path("new/done/", views.submitted, name="submitted"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
    path("<int:pk>/countdown/", views.countdown_partial, name="countdown"),
    path("<int:pk>/merge-suggestions/", views.merge_suggestions, name="merge_suggestions"),
    path("<int:pk>/files/<int:file_id>/", views.attachment, name="attachment"),
    path("<int:pk>/act/return/", steps.return_case, name="act_return"),
] + [path(f"<int:pk>/act/{name}/", getattr(steps, name), name=f"act_{name}") for name in STEPS]
