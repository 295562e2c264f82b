"""Everything under /api/v1/ (../shared/API.md)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from billing import apis as billing_apis
from labeling import apis as labeling_apis
from labeling import ml_apis
from qa import apis as qa_apis
from tenancy import apis as tenancy_apis

urlpatterns = [
    path("auth/token/", tenancy_apis.AuthTokenApi.as_view(), name="api-auth-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("me/", tenancy_apis.MeApi.as_view(), name="api-me"),
    path(
        "organizations/",
        tenancy_apis.OrganizationListCreateApi.as_view(),
        name="api-organization-list",
    ),
    path(
        "organizations/<int:organization_id>/",
        tenancy_apis.OrganizationDetailApi.as_view(),
        name="api-organization-detail",
    ),
    path(
        "organizations/<int:organization_id>/members/",
        tenancy_apis.OrganizationMemberListCreateApi.as_view(),
        name="api-organization-members",
    ),
    path("projects/", tenancy_apis.ProjectListCreateApi.as_view(), name="api-project-list"),
    path(
        "projects/<int:project_id>/",
        tenancy_apis.ProjectDetailApi.as_view(),
        name="api-project-detail",
    ),
    path(
        "projects/<int:project_id>/workforce/",
        tenancy_apis.ProjectWorkforceApi.as_view(),
        name="api-project-workforce",
    ),
    path(
        "projects/<int:project_id>/workforce/<int:assignment_id>/",
        tenancy_apis.ProjectWorkforceDetailApi.as_view(),
        name="api-project-workforce-detail",
    ),
    path(
        "projects/<int:project_id>/imports/",
        labeling_apis.ProjectImportListCreateApi.as_view(),
        name="api-project-imports",
    ),
    path(
        "projects/<int:project_id>/models/",
        ml_apis.ProjectModelListApi.as_view(),
        name="api-project-models",
    ),
    path(
        "projects/<int:project_id>/models/train/",
        ml_apis.ProjectModelTrainApi.as_view(),
        name="api-project-models-train",
    ),
    path(
        "projects/<int:project_id>/models/predict/",
        ml_apis.ProjectModelPredictApi.as_view(),
        name="api-project-models-predict",
    ),
    path("imports/<int:job_id>/", labeling_apis.ImportJobDetailApi.as_view(), name="api-import"),
    path(
        "projects/<int:project_id>/datasets/",
        labeling_apis.ProjectDatasetListApi.as_view(),
        name="api-project-datasets",
    ),
    path(
        "projects/<int:project_id>/items/",
        labeling_apis.ProjectItemListApi.as_view(),
        name="api-project-items",
    ),
    path("items/<int:item_id>/", labeling_apis.ItemDetailApi.as_view(), name="api-item"),
    path(
        "projects/<int:project_id>/next/", labeling_apis.ProjectNextApi.as_view(), name="api-next"
    ),
    path(
        "projects/<int:project_id>/my-stats/",
        labeling_apis.ProjectMyStatsApi.as_view(),
        name="api-my-stats",
    ),
    path(
        "items/<int:item_id>/annotations/",
        labeling_apis.ItemAnnotationCreateApi.as_view(),
        name="api-item-annotations",
    ),
    path("items/<int:item_id>/skip/", labeling_apis.ItemSkipApi.as_view(), name="api-item-skip"),
    path(
        "annotations/<int:annotation_id>/undo/",
        labeling_apis.AnnotationUndoApi.as_view(),
        name="api-annotation-undo",
    ),
    # quality
    path(
        "projects/<int:project_id>/agreement/",
        qa_apis.ProjectAgreementApi.as_view(),
        name="api-agreement",
    ),
    path(
        "projects/<int:project_id>/agreement/download/",
        qa_apis.ProjectAgreementDownloadApi.as_view(),
        name="api-agreement-download",
    ),
    path(
        "projects/<int:project_id>/reviews/",
        qa_apis.ProjectReviewListApi.as_view(),
        name="api-project-reviews",
    ),
    path("reviews/<int:review_id>/", qa_apis.ReviewDetailApi.as_view(), name="api-review"),
    path(
        "projects/<int:project_id>/audits/",
        qa_apis.ProjectAuditListCreateApi.as_view(),
        name="api-project-audits",
    ),
    path("audits/<int:audit_id>/", qa_apis.AuditDetailApi.as_view(), name="api-audit"),
    path(
        "projects/<int:project_id>/consensus/refit/",
        qa_apis.ProjectConsensusRefitApi.as_view(),
        name="api-consensus-refit",
    ),
    path("", include("exports.api_urls")),
    # usage and billing
    path(
        "organizations/<int:organization_id>/usage/",
        billing_apis.OrganizationUsageApi.as_view(),
        name="api-organization-usage",
    ),
    path(
        "organizations/<int:organization_id>/statements/<str:month>/",
        billing_apis.OrganizationStatementApi.as_view(),
        name="api-organization-statement",
    ),
    path(
        "organizations/<int:organization_id>/throughput/",
        billing_apis.OrganizationThroughputApi.as_view(),
        name="api-organization-throughput",
    ),
    path(
        "organizations/<int:organization_id>/rate-cards/",
        billing_apis.OrganizationRateCardListCreateApi.as_view(),
        name="api-organization-rate-cards",
    ),
    path(
        "projects/<int:project_id>/sla/",
        billing_apis.ProjectSlaApi.as_view(),
        name="api-project-sla",
    ),
]
