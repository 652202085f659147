from django.urls import include, path

app_name = "enterprises"
urlpatterns = [
    path("import/", include("yingshang.enterprises.urls_import")),
    path("", include("yingshang.enterprises.urls_edit")),
    path("", include("yingshang.enterprises.urls_registry")),
]
