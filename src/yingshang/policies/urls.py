from django.urls import include, path

app_name = "policies"
urlpatterns = [
    path("", include("yingshang.policies.urls_library")),
    path("", include("yingshang.policies.urls_matching")),
    path("", include("yingshang.policies.urls_redemption")),
]
