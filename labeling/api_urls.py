"""The labeling part of /api/v1/ (../shared/API.md), included from config/urls_api.py."""

from django.urls import path

from . import apis

urlpatterns = [
    path(
        "projects/<int:project_id>/imports/",
        apis.ProjectImportListCreateApi.as_view(),
        name="api-project-imports",
    ),
    path("imports/<int:job_id>/", apis.ImportJobDetailApi.as_view(), name="api-import"),
    path(
        "projects/<int:project_id>/datasets/",
        apis.ProjectDatasetListApi.as_view(),
        name="api-project-datasets",
    ),
    path(
        "projects/<int:project_id>/items/",
        apis.ProjectItemListApi.as_view(),
        name="api-project-items",
    ),
    path("items/<int:item_id>/", apis.ItemDetailApi.as_view(), name="api-item"),
    path("projects/<int:project_id>/next/", apis.ProjectNextApi.as_view(), name="api-next"),
    path(
        "projects/<int:project_id>/my-stats/",
        apis.ProjectMyStatsApi.as_view(),
        name="api-my-stats",
    ),
    path(
        "items/<int:item_id>/annotations/",
        apis.ItemAnnotationCreateApi.as_view(),
        name="api-item-annotations",
    ),
    path("items/<int:item_id>/skip/", apis.ItemSkipApi.as_view(), name="api-item-skip"),
    path(
        "annotations/<int:annotation_id>/undo/",
        apis.AnnotationUndoApi.as_view(),
        name="api-annotation-undo",
    ),
]
