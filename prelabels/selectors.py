"""Reads of model versions (always scoped by the project's organization)."""

from django.db.models import QuerySet

from .models import ModelVersion


def model_version_list(*, project) -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(
        organization_id=project.organization_id, project=project
    ).order_by("-created_at", "-id")


def model_version_current(*, project) -> ModelVersion | None:
    return model_version_list(project=project).filter(is_current=True).first()
