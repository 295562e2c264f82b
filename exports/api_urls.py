"""The exports part of /api/v1/ (included from config/urls_api.py)."""

from django.urls import path

from . import apis

urlpatterns = [
    path(
        "projects/<int:project_id>/exports/",
        apis.ProjectExportListCreateApi.as_view(),
        name="api-project-exports",
    ),
    path("exports/<int:export_id>/", apis.ExportDetailApi.as_view(), name="api-export"),
    path(
        "exports/<int:export_id>/download/",
        apis.ExportDownloadApi.as_view(),
        name="api-export-download",
    ),
    path(
        "exports/<int:export_id>/certificate/",
        apis.ExportCertificateApi.as_view(),
        name="api-export-certificate",
    ),
]
