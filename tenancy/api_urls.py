"""The tenancy part of /api/v1/ (../shared/API.md), included from config/urls_api.py."""

from django.urls import path

from . import apis

urlpatterns = [
    path("auth/token/", apis.AuthTokenApi.as_view(), name="api-auth-token"),
    path("me/", apis.MeApi.as_view(), name="api-me"),
    path(
        "organizations/",
        apis.OrganizationListCreateApi.as_view(),
        name="api-organization-list",
    ),
    path(
        "organizations/<int:organization_id>/",
        apis.OrganizationDetailApi.as_view(),
        name="api-organization-detail",
    ),
    path(
        "organizations/<int:organization_id>/members/",
        apis.OrganizationMemberListCreateApi.as_view(),
        name="api-organization-members",
    ),
    path("projects/", apis.ProjectListCreateApi.as_view(), name="api-project-list"),
    path(
        "projects/<int:project_id>/",
        apis.ProjectDetailApi.as_view(),
        name="api-project-detail",
    ),
    path(
        "projects/<int:project_id>/workforce/",
        apis.ProjectWorkforceApi.as_view(),
        name="api-project-workforce",
    ),
    path(
        "projects/<int:project_id>/workforce/<int:assignment_id>/",
        apis.ProjectWorkforceDetailApi.as_view(),
        name="api-project-workforce-detail",
    ),
    path("audit-events/", apis.AuditEventListApi.as_view(), name="api-audit-events"),
]
