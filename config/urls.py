from django.contrib import admin
from django.urls import include, path

from billing import views as billing_views
from labeling import ml_views
from labeling import views as labeling_views
from qa import views as qa_views
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
    path(
        "projects/<int:project_id>/models/",
        ml_views.ProjectModelsView.as_view(),
        name="project-models",
    ),
    path("projects/<int:project_id>/items/", labeling_views.project_items, name="project-items"),
    path(
        "projects/<int:project_id>/quality/",
        qa_views.ProjectQualityView.as_view(),
        name="project-quality",
    ),
    path(
        "projects/<int:project_id>/reviews/",
        qa_views.ProjectReviewsView.as_view(),
        name="project-reviews",
    ),
    path(
        "projects/<int:project_id>/reviews/<int:review_id>/decide/",
        qa_views.ProjectReviewDecideView.as_view(),
        name="project-review-decide",
    ),
    path(
        "projects/<int:project_id>/audits/",
        qa_views.ProjectAuditsView.as_view(),
        name="project-audits",
    ),
    path("", include("exports.urls")),
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
