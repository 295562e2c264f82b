"""Everything under /api/v1/ (../shared/API.md): each app's routes, included from its api_urls."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from qa import apis as qa_apis

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "projects/<int:project_id>/exports/",
        qa_apis.ProjectExportListCreateApi.as_view(),
        name="api-project-exports",
    ),
    path("exports/<int:export_id>/", qa_apis.ExportDetailApi.as_view(), name="api-export"),
    path(
        "exports/<int:export_id>/download/",
        qa_apis.ExportDownloadApi.as_view(),
        name="api-export-download",
    ),
    path(
        "exports/<int:export_id>/certificate/",
        qa_apis.ExportCertificateApi.as_view(),
        name="api-export-certificate",
    ),
    path("", include("tenancy.api_urls")),
    path("", include("labeling.api_urls")),
    path("", include("prelabels.api_urls")),
    path("", include("qa.api_urls")),
    path("", include("billing.api_urls")),
]
