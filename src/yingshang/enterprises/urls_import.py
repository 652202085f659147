"""Import pages, mounted at ``/enterprises/import/`` inside the ``enterprises`` namespace."""
from django.urls import path

from yingshang.enterprises import views_import

urlpatterns = [
    path("", views_import.import_home, name="import"),
    path("template.xlsx", views_import.import_template, name="import_template"),
    path("<int:pk>/", views_import.import_job, name="import_job"),
    path("<int:pk>/progress/", views_import.import_progress, name="import_progress"),
    path("<int:pk>/confirm/", views_import.import_confirm, name="import_confirm"),
]
