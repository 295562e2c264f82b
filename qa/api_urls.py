"""The qa part of /api/v1/ (../shared/API.md), included from config/urls_api.py."""

from django.urls import path

from . import apis

urlpatterns = [
    path(
        "projects/<int:project_id>/agreement/",
        apis.ProjectAgreementApi.as_view(),
        name="api-agreement",
    ),
    path(
        "projects/<int:project_id>/agreement/download/",
        apis.ProjectAgreementDownloadApi.as_view(),
        name="api-agreement-download",
    ),
    path(
        "projects/<int:project_id>/reviews/",
        apis.ProjectReviewListApi.as_view(),
        name="api-project-reviews",
    ),
    path("reviews/<int:review_id>/", apis.ReviewDetailApi.as_view(), name="api-review"),
    path(
        "projects/<int:project_id>/audits/",
        apis.ProjectAuditListCreateApi.as_view(),
        name="api-project-audits",
    ),
    path("audits/<int:audit_id>/", apis.AuditDetailApi.as_view(), name="api-audit"),
    path(
        "projects/<int:project_id>/consensus/refit/",
        apis.ProjectConsensusRefitApi.as_view(),
        name="api-consensus-refit",
    ),
]
