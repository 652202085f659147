from django.contrib.auth import views as auth_views
from django.urls import path

from yingshang.core import views, views_account

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read/", views.inbox_mark_read, name="inbox-read"),
    path("account/", views_account.account, name="account"),
    path("account/password/", views_account.account_password, name="account-password"),
    path("account/tokens/", views_account.account_token_create, name="account-token-create"),
    path("account/tokens/<int:pk>/revoke/", views_account.account_token_revoke, name="account-token-revoke"),
]
