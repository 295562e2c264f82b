"""prelabels' pages (included from config/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path(
        "projects/<int:project_id>/models/",
        views.ProjectModelsView.as_view(),
        name="project-models",
    ),
]
