"""prelabels' part of /api/v1/ (included from config/urls_api.py)."""

from django.urls import path

from . import apis

urlpatterns = [
    path(
        "projects/<int:project_id>/models/",
        apis.ProjectModelListApi.as_view(),
        name="api-project-models",
    ),
    path(
        "projects/<int:project_id>/models/train/",
        apis.ProjectModelTrainApi.as_view(),
        name="api-project-models-train",
    ),
    path(
        "projects/<int:project_id>/models/predict/",
        apis.ProjectModelPredictApi.as_view(),
        name="api-project-models-predict",
    ),
]
