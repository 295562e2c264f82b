from django.contrib import admin
from django.urls import include, path

from billing import views as billing_views
from labeling import views as labeling_views
from tenancy import views as tenancy_views

urlpatterns = [
    path("", tenancy_views.home, name="home"),
    path("accounts/", include("tenancy.urls_accounts")),
    path("projects/<int:project_id>/", tenancy_views.project_detail, name="project-detail"),
    path(
        "projects/<int:project_id>/imports/",
        labeling_views.project_imports,
        name="project-imports",
    ),
    path(
        "projects/<int:project_id>/annotate/",
        labeling_views.annotate,
        name="project-annotate",
    ),
    path("status/", tenancy_views.system_status, name="system-status"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.urls_api")),
    path(
        "organizations/<int:organization_id>/usage/",
        billing_views.organization_usage,
        name="organization-usage",
    ),
    path(
        "organizations/<int:organization_id>/statements/<str:month>/",
        billing_views.organization_statement,
        name="organization-statement",
    ),
    path(
        "organizations/<int:organization_id>/statements/<str:month>/csv/",
        billing_views.organization_statement_csv,
        name="organization-statement-csv",
    ),
]
