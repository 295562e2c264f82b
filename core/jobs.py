"""The life of every background job (imports, exports, model versions): one status enum, one
transition table."""

from __future__ import annotations

from django.db import models

from .transitions import Transitions


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


JOB_TRANSITIONS = Transitions(
    "job",
    {
        JobStatus.QUEUED: {JobStatus.RUNNING, JobStatus.FAILED},
        # running -> running: a task redelivered after its worker died starts the job again.
        JobStatus.RUNNING: {JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED},
        JobStatus.SUCCEEDED: set(),
        JobStatus.FAILED: set(),
    },
)
