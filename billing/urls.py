"""The billing pages, included from config/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path(
        "organizations/<int:organization_id>/usage/",
        views.organization_usage,
        name="organization-usage",
    ),
    path(
        "organizations/<int:organization_id>/statements/<str:month>/",
        views.organization_statement,
        name="organization-statement",
    ),
    path(
        "organizations/<int:organization_id>/statements/<str:month>/csv/",
        views.organization_statement_csv,
        name="organization-statement-csv",
    ),
]
