"""Pages: 诉求 (work): the role router, the pool with bulk dispatch, 月月清零, the department's queue,
escalations, 我的诉求 and 回头看."""
from django.urls import path

from yingshang.appeals import views_work as work, views_work_lists as lists

urlpatterns = [
    path("", work.home, name="home"),
    path("pool/", work.pool, name="pool"),
    path("pool/bulk-dispatch/", work.bulk_dispatch, name="bulk_dispatch"),
    path("monthly/", work.monthly, name="monthly"),
    path("queue/", lists.queue, name="queue"),
    path("escalations/", lists.escalations, name="escalations"),
    path("mine/", lists.mine, name="mine"),
    path("reviews/", lists.reviews, name="reviews"),
]
