"""Model versions' statuses: a version is a background job, so its moves go through the one
job transition table (core.jobs)."""

from __future__ import annotations

from core.jobs import JOB_TRANSITIONS

from .models import ModelVersion


def model_version_transition(*, version: ModelVersion, to: str, **fields) -> ModelVersion:
    return JOB_TRANSITIONS.apply(version, to, **fields)
