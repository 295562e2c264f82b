"""The billing part of /api/v1/ (../shared/API.md), included from config/urls_api.py."""

from django.urls import path

from . import apis

urlpatterns = [
    path(
        "organizations/<int:organization_id>/usage/",
        apis.OrganizationUsageApi.as_view(),
        name="api-organization-usage",
    ),
    path(
        "organizations/<int:organization_id>/statements/<str:month>/",
        apis.OrganizationStatementApi.as_view(),
        name="api-organization-statement",
    ),
    path(
        "organizations/<int:organization_id>/throughput/",
        apis.OrganizationThroughputApi.as_view(),
        name="api-organization-throughput",
    ),
    path(
        "organizations/<int:organization_id>/rate-cards/",
        apis.OrganizationRateCardListCreateApi.as_view(),
        name="api-organization-rate-cards",
    ),
    path(
        "projects/<int:project_id>/sla/",
        apis.ProjectSlaApi.as_view(),
        name="api-project-sla",
    ),
]
