"""Everything under /api/v1/ (../shared/API.md): each app's routes, included from its api_urls."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script from a URL (?script), not inline: the CSP allows no
    # inline script (templates/api_docs.html).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html"),
        name="api-docs",
    ),
    path("", include("tenancy.api_urls")),
    path("", include("labeling.api_urls")),
    path("", include("prelabels.api_urls")),
    path("", include("qa.api_urls")),
    path("", include("exports.api_urls")),
    path("", include("billing.api_urls")),
]
