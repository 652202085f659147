"""Pages: 政策匹配 (mounted at ``/policies/`` in the ``policies`` namespace of ``policies/urls.py``)."""
from django.urls import path

from yingshang.policies import views_matching as views

urlpatterns = [
    path("calculator/", views.calculator_home, name="calculator"),
    path("calculator/<str:uscc>/", views.calculator_page, name="calculator_for"),
    path("calculator/<str:uscc>/supply/", views.calculator_supply, name="calculator_supply"),
    path("calculator/<str:uscc>/subscription/", views.calculator_subscription, name="calculator_subscription"),
    path("items/<int:pk>/matches/", views.item_matches_page, name="item_matches"),
]
