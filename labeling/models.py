"""Datasets and the items to label. Every row carries its organization id (tenancy, and Citus
distribution later); composite indexes lead with it."""

from django.conf import settings
from django.db import models

from core.jobs import JobStatus
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
    # The hot table (millions of rows per client): its keys are kept by the services that
    # write it (imports lock the dataset they fill), not by row-by-row foreign-key triggers,
    # which cost more than the COPY itself at a million rows; the composite indexes below
    # cover every lookup, so the keys need no index of their own either.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        related_name="items",
        db_constraint=False,
        db_index=False,
    )
    dataset = models.ForeignKey(
        Dataset,
        on_delete=models.CASCADE,
        related_name="items",
        db_constraint=False,
        db_index=False,
    )
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
    labeled_at = models.DateTimeField(
        null=True, blank=True, help_text="When the final label last changed (incremental exports)."
    )

    class Meta:
        constraints = [
            # Imports are idempotent per (dataset, external id).
            models.UniqueConstraint(fields=["dataset", "external_id"], name="item_once_per_dataset")
        ]
        indexes = [
            # Counts by status, and every listing in id order (per status; the listing of all
            # statuses merges the three ranges): one index instead of two on the hot table.
            models.Index(fields=["organization", "project", "status", "id"]),
            # The task queue's order among the open items: priority, then age.
            models.Index(
                fields=["organization", "project", "-priority", "id"],
                condition=models.Q(status="open"),
                name="item_open_queue",
            ),
            # The items waiting for consensus (a sweep's walk, qa/consensus.py): a handful per
            # project at any time, not the millions decided already.
            models.Index(
                fields=["organization", "project", "id"],
                condition=models.Q(status="complete", label__isnull=True),
                name="item_consensus_pending",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class AnnotatorKind(models.TextChoices):
    HUMAN = "human", "Platform user"
    EXTERNAL = "external", "External annotator (named in an import)"
    MODEL = "model", "Model"


class Annotator(models.Model):
    """Who made an annotation: a platform user, an annotator named in a client's import (another
    vendor, an older tool), or a model. Integer ids keep agreement arrays small and fast."""

    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The client whose import named this annotator; empty for platform users.",
    )
    kind = models.CharField(max_length=16, choices=AnnotatorKind.choices)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="annotator",
    )
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "name"],
                condition=models.Q(user__isnull=True),
                name="annotator_name_per_org_and_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="human", user__isnull=False)
                | models.Q(~models.Q(kind="human"), organization__isnull=False),
                name="annotator_human_has_user_others_an_org",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AnnotationSource(models.TextChoices):
    HUMAN = "human", "Human"
    MODEL = "model", "Model"
    REVIEW = "review", "Review decision"


class Annotation(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(Annotator, on_delete=models.PROTECT, related_name="annotations")
    label = models.JSONField()
    source = models.CharField(
        max_length=16, choices=AnnotationSource.choices, default=AnnotationSource.HUMAN
    )
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    prelabel_shown = models.BooleanField(
        null=True, blank=True, help_text="Whether the annotator saw the pre-label (None: none)."
    )
    gold_correct = models.BooleanField(
        null=True, blank=True, help_text="On a gold item: whether the label matched the gold."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One label per person per item; a review decision is a separate row.
            models.UniqueConstraint(
                fields=["item", "annotator"],
                condition=~models.Q(source="review"),
                name="annotation_once_per_annotator",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "project", "created_at"]),
            models.Index(fields=["organization", "annotator"]),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} -> {self.label}"


class Lease(models.Model):
    """One annotator's hold on one item: handed out by the queue, kept until submit, skip or
    expiry. The row stays afterwards as the record that this person was given this item (so
    that nobody gets an item twice), and a submitted one lets its annotation be undone while
    it has not expired."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="leases")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    blind = models.BooleanField(default=False, help_text="Served without its pre-label.")
    skipped = models.BooleanField(default=False)
    annotation = models.OneToOneField(
        Annotation, null=True, blank=True, on_delete=models.SET_NULL, related_name="lease"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "user"], name="lease_once_per_item_and_user")
        ]
        indexes = [
            models.Index(fields=["organization", "project", "user", "expires_at"]),
            # The live holds on an item, counted by the queue.
            models.Index(
                fields=["item", "expires_at"],
                condition=models.Q(annotation__isnull=True, skipped=False),
                name="lease_live_per_item",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} holds {self.item_id} until {self.expires_at:%H:%M}"


class ImportFormat(models.TextChoices):
    JSONL = "jsonl", "JSON lines"
    JSON = "json", "JSON array"
    CSV = "csv", "CSV"


class OnError(models.TextChoices):
    FAIL = "fail", "Import nothing if any row is bad"
    SKIP = "skip", "Import the good rows, report the bad ones"


class ImportJob(models.Model):
    """One uploaded file on its way into a dataset. Rows land all at once or not at all."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imports")
    dataset_name = models.CharField(max_length=200)
    dataset = models.ForeignKey(
        Dataset,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="imports",
        help_text="Set when the import succeeds (a failed one leaves no dataset behind).",
    )
    file = models.FileField(upload_to="imports/", max_length=500)
    original_name = models.CharField(max_length=255)
    format = models.CharField(max_length=8, choices=ImportFormat.choices)
    compressed = models.BooleanField(default=False)
    on_error = models.CharField(max_length=8, choices=OnError.choices, default=OnError.FAIL)
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    size_bytes = models.BigIntegerField(default=0)
    bytes_read = models.BigIntegerField(default=0, help_text="Of the stored file: the progress.")
    rows = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    failed_rows = models.PositiveIntegerField(default=0)
    annotations_imported = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="The first 100: {line, message}.")
    message = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "project", "created_at"])]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.original_name}"
