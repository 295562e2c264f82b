"""The labeling pages, included from config/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path(
        "projects/<int:project_id>/imports/",
        views.project_imports,
        name="project-imports",
    ),
    path(
        "projects/<int:project_id>/annotate/",
        views.annotate,
        name="project-annotate",
    ),
    path("projects/<int:project_id>/items/", views.project_items, name="project-items"),
]
