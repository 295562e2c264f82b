"""The transition table of model versions and the function that enforces it with a conditional
UPDATE (so that two workers cannot both make the same move); labeling/statuses.py holds the
others."""

from __future__ import annotations

from labeling.statuses import InvalidTransition

from .models import ModelStatus, ModelVersion

MODEL_TRANSITIONS: dict[str, set[str]] = {
    ModelStatus.QUEUED: {ModelStatus.RUNNING, ModelStatus.FAILED},
    # running -> running: a task redelivered after its worker died trains again.
    ModelStatus.RUNNING: {ModelStatus.RUNNING, ModelStatus.SUCCEEDED, ModelStatus.FAILED},
    ModelStatus.SUCCEEDED: set(),
    ModelStatus.FAILED: set(),
}


def model_version_transition(*, version: ModelVersion, to: str, **fields) -> ModelVersion:
    sources = [status for status, targets in MODEL_TRANSITIONS.items() if to in targets]
    updated = ModelVersion.objects.filter(pk=version.pk, status__in=sources).update(
        status=to, **fields
    )
    if not updated:
        current = (
            ModelVersion.objects.filter(pk=version.pk).values_list("status", flat=True).first()
        )
        raise InvalidTransition(f"model version {version.pk}: {current} -> {to} is not allowed")
    version.status = to
    for name, value in fields.items():
        setattr(version, name, value)
    return version
