"""Everything under /api/v1/ (../shared/API.md): each app's routes, included from its api_urls."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("tenancy.api_urls")),
    path("", include("labeling.api_urls")),
    path("", include("prelabels.api_urls")),
    path("", include("qa.api_urls")),
    path("", include("exports.api_urls")),
    path("", include("billing.api_urls")),
]
