"""The exports page (included from config/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path(
        "projects/<int:project_id>/exports/",
        views.ProjectExportsView.as_view(),
        name="project-exports",
    ),
]
