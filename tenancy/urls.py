"""The tenancy pages, included from config/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("projects/<int:project_id>/", views.project_detail, name="project-detail"),
    path("status/", views.system_status, name="system-status"),
    path("audit/", views.audit_log, name="audit-log"),
]
