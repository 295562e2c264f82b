"""Model versions of a project: what trained, how well it scored, and which one pre-labels."""

from django.conf import settings
from django.db import models

from core.jobs import JobStatus
from tenancy.models import Organization, Project


class ModelVersion(models.Model):
    """One trained model of a project (prelabels/ml): its metrics on held-out labels, its file,
    and whether it is the one that pre-labels (at most one current version per project)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    kind = models.CharField(max_length=32, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    is_current = models.BooleanField(default=False)
    metrics = models.JSONField(default=dict, blank=True)
    reliability = models.JSONField(default=list, blank=True)
    confusion = models.JSONField(default=list, blank=True)
    label_names = models.JSONField(default=list, blank=True)
    file = models.FileField(upload_to="models/", max_length=500, blank=True)
    n_labels_used = models.PositiveIntegerField(default=0)
    new_completions = models.PositiveIntegerField(
        default=0, help_text="Items completed since this version became current (retraining)."
    )
    message = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table labeling created before the model moved here (its rows moved with it).
        db_table = "labeling_modelversion"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "project", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(is_current=True),
                name="model_version_one_current_per_project",
            )
        ]

    def __str__(self) -> str:
        return f"model v{self.pk} of project {self.project_id}"
