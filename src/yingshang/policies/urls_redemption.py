"""Pages: 申报与兑现 (included by ``policies/urls.py`` under the "policies" namespace)."""
from django.urls import path

from yingshang.policies import views_redemption as v

urlpatterns = [
    path("redemption/", v.workbench, name="redemption_workbench"),
    path("redemption/mine/", v.mine, name="redemption_mine"),
    path("redemption/items/<int:pk>/confirm/", v.confirm, name="redemption_confirm"),
    path("redemption/items/<int:pk>/release/", v.release, name="redemption_release"),
    path("redemption/items/<int:pk>/payout/", v.payout, name="redemption_payout"),
    path("redemption/<int:pk>/cancel/", v.cancel, name="redemption_cancel"),
    path("redemption/<int:pk>/receipt/", v.receipt, name="redemption_receipt"),
    path("applications/", v.application_queue, name="application_queue"),
    path("applications/<int:pk>/", v.application_detail, name="application_detail"),
    path("applications/<int:pk>/files/<int:fid>/", v.application_file, name="application_file"),
    path("applications/<int:pk>/review/", v.application_review, name="application_review"),
    path("applications/<int:pk>/payout/", v.application_payout, name="application_payout"),
    path("applications/<int:pk>/receipt/", v.application_receipt, name="application_receipt"),
    path("applications/<int:pk>/withdraw/", v.application_withdraw, name="application_withdraw"),
    path("items/<int:pk>/apply/", v.apply, name="application_apply"),
    path("stats/", v.stats_page, name="redemption_stats"),
]
