"""Datasets and the items to label. Every row carries its organization id (tenancy, and Citus
distribution later); composite indexes lead with it."""

from django.conf import settings
from django.db import models

from tenancy.models import Organization, Project


class Dataset(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "project"])]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="dataset_name_per_project")
        ]

    def __str__(self) -> str:
        return self.name


class ItemStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETE = "complete", "Complete"
    REVIEW = "review", "In review"


class Item(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=200)
    data = models.JSONField()
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    needed = models.PositiveSmallIntegerField(help_text="Annotations this item needs.")
    done = models.PositiveSmallIntegerField(default=0)
    gold_label = models.JSONField(null=True, blank=True)
    label = models.JSONField(null=True, blank=True, help_text="The final label.")
    confidence = models.FloatField(null=True, blank=True)
    prelabel = models.JSONField(null=True, blank=True)
    prelabel_confidence = models.FloatField(null=True, blank=True)
    priority = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Imports are idempotent per (dataset, external id).
            models.UniqueConstraint(fields=["dataset", "external_id"], name="item_once_per_dataset")
        ]
        indexes = [
            models.Index(fields=["organization", "project", "status"]),
            models.Index(fields=["organization", "project", "id"]),
        ]

    def __str__(self) -> str:
        return self.external_id
