"""Usage, counted per client organization, project and day (the input of statements)."""

from django.db import models

from tenancy.models import Organization, Project

# The counters a day of work adds up; each one is a column of DailyUsage.
COUNTERS = (
    "items_imported",
    "annotations",
    "items_completed",
    "reviews",
    "exported_items",
    "annotator_seconds",
)


class DailyUsage(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    items_imported = models.BigIntegerField(default=0)
    annotations = models.BigIntegerField(default=0)
    items_completed = models.BigIntegerField(default=0)
    reviews = models.BigIntegerField(default=0)
    exported_items = models.BigIntegerField(default=0)
    annotator_seconds = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "project", "day"], name="usage_once_per_project_day"
            )
        ]
        ordering = ["day", "project_id"]

    def __str__(self) -> str:
        return f"{self.organization_id}/{self.project_id} {self.day}"
