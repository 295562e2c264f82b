"""What exports keep: one row per export job, its file in storage and the QA certificate
beside it. The table began in qa (qa_export) and moved here without a copy (migrations 0001-2)."""

from django.conf import settings
from django.db import models

from core.jobs import JobStatus
from tenancy.models import Organization, Project


class ExportFormat(models.TextChoices):
    JSONL = "jsonl", "JSON lines"
    CSV = "csv", "CSV"
    LABEL_STUDIO = "label_studio", "Label Studio JSON"


class Export(models.Model):
    """One labeled export of a project: a file in storage with its QA certificate beside it,
    fetched through an expiring download link."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=16, choices=ExportFormat.choices)
    filters = models.JSONField(default=dict, blank=True)
    include_annotations = models.BooleanField(default=True)
    incremental = models.BooleanField(
        default=False, help_text="Only items whose final label changed since the last export."
    )
    since = models.DateTimeField(null=True, blank=True, help_text="Incremental: changed after.")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text="Items to write (for progress).")
    rows = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/", max_length=500, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    certificate = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="The link works until.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "project", "created_at"])]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.format}) of {self.project_id}"
