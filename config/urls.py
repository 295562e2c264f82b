"""The site's URLs: each app's pages from its urls, the API from config/urls_api.py."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("tenancy.urls_accounts")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.urls_api")),
    path("", include("tenancy.urls")),
    path("", include("labeling.urls")),
    path("", include("prelabels.urls")),
    path("", include("qa.urls")),
    path("", include("exports.urls")),
    path("", include("billing.urls")),
]

# The pages' 403 and 404 (the API has its own, core.api): both tell the audit log first.
handler403 = "tenancy.views.permission_denied"
handler404 = "tenancy.views.page_not_found"
