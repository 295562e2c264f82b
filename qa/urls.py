"""The qa pages, included from config/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path(
        "projects/<int:project_id>/quality/",
        views.ProjectQualityView.as_view(),
        name="project-quality",
    ),
    path(
        "projects/<int:project_id>/reviews/",
        views.ProjectReviewsView.as_view(),
        name="project-reviews",
    ),
    path(
        "projects/<int:project_id>/reviews/<int:review_id>/decide/",
        views.ProjectReviewDecideView.as_view(),
        name="project-review-decide",
    ),
    path(
        "projects/<int:project_id>/audits/",
        views.ProjectAuditsView.as_view(),
        name="project-audits",
    ),
]
