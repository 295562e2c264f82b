"""What quality assurance keeps: the fitted truth-inference model per project, the review queue,
AQL audits, and cached agreement reports. The final labels themselves live on the items
(labeling), written through labeling's services; exports, which quote the reports, are the
exports app's."""

from django.conf import settings
from django.db import models

from labeling.models import Item
from tenancy.models import Organization, Project


class TruthModel(models.Model):
    """A project's fitted Dawid-Skene parameters: each annotator's confusion matrix and the class
    priors, so that one newly completed item is scored without refitting the whole project."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="truth_model")
    labels = models.JSONField(help_text="The label set the arrays are indexed by.")
    annotator_ids = models.JSONField(help_text="Row i of the confusions belongs to this id.")
    # float32 arrays as .npy bytes (np.save, allow_pickle=False): annotators x labels x labels
    # is 1.6 MB at 1,000 annotators and 20 labels, far too much for a JSON column.
    confusions = models.BinaryField()
    priors = models.JSONField()
    items_used = models.PositiveIntegerField(default=0)
    annotations_used = models.PositiveIntegerField(default=0)
    iterations = models.PositiveSmallIntegerField(default=0)
    converged = models.BooleanField(default=False)
    pending = models.PositiveIntegerField(default=0, help_text="Completions since this fit.")
    fitted_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Dawid-Skene of {self.project_id} ({self.items_used} items)"


class ReviewReason(models.TextChoices):
    LOW_AGREEMENT = "low_agreement", "Low agreement"
    TIE = "tie", "Tied vote"
    GOLD_FAILED = "gold_failed", "Failed gold answer"
    AUDIT = "audit", "Audit sample"


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Open"
    DECIDED = "decided", "Decided"


class ReviewDecision(models.TextChoices):
    ACCEPT = "accept", "Accept the proposed label"
    RELABEL = "relabel", "Relabel"


class Audit(models.Model):
    """AQL acceptance sampling (ISO 2859-1, single sampling, normal inspection, general level II)
    of a lot: the project's items completed in (lot_from, lot_to]."""

    class Status(models.TextChoices):
        INSPECTING = "inspecting", "Inspecting"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected (sent back for rework)"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="audits")
    lot_from = models.DateTimeField(null=True, blank=True)
    lot_to = models.DateTimeField()
    lot_size = models.PositiveIntegerField()
    aql = models.FloatField()
    code_letter = models.CharField(max_length=2, help_text="Table 1's letter for the lot.")
    plan_letter = models.CharField(
        max_length=2, help_text="Table 2-A's row used (after following its arrows)."
    )
    sample_size = models.PositiveIntegerField()
    accept = models.PositiveIntegerField(help_text="Ac: accept the lot with at most this many.")
    reject = models.PositiveIntegerField(help_text="Re: reject it with this many or more.")
    defects = models.PositiveIntegerField(default=0)
    inspected = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INSPECTING)
    reworked_items = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "project", "created_at"])]

    def __str__(self) -> str:
        return f"audit {self.pk} of {self.lot_size} items (AQL {self.aql})"


class ReviewTask(models.Model):
    """An item a QA lead must look at; the decision is an annotation with source `review` and
    becomes the item's final label."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reviews")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    reason = models.CharField(max_length=16, choices=ReviewReason.choices)
    detail = models.CharField(max_length=300, blank=True, default="")
    proposed_label = models.JSONField(null=True, blank=True, help_text="Consensus, if any.")
    confidence = models.FloatField(null=True, blank=True)
    audit = models.ForeignKey(
        Audit, null=True, blank=True, on_delete=models.CASCADE, related_name="samples"
    )
    status = models.CharField(max_length=16, choices=ReviewStatus.choices, default="open")
    decision = models.CharField(max_length=16, choices=ReviewDecision.choices, blank=True)
    label = models.JSONField(null=True, blank=True, help_text="The decided label.")
    defect = models.BooleanField(null=True, blank=True, help_text="Audit samples: mislabeled?")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One open review per item (and one per item per audit): re-running consensus or
            # a redelivered task adds nothing twice.
            models.UniqueConstraint(
                fields=["item"],
                condition=models.Q(status="open"),
                name="review_open_once_per_item",
            ),
            models.UniqueConstraint(
                fields=["audit", "item"],
                condition=models.Q(audit__isnull=False),
                name="review_once_per_audit_item",
            ),
        ]
        indexes = [models.Index(fields=["organization", "project", "status", "created_at"])]

    def __str__(self) -> str:
        return f"review of {self.item_id} ({self.reason})"


class AgreementReport(models.Model):
    """A computed agreement report for one project and one set of filters, kept until new work
    makes it stale (heavy recomputation runs in Celery)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64, help_text="The filters, canonical and hashed.")
    filters = models.JSONField(default=dict)
    result = models.JSONField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True, help_text="Time the computation took.")
    computed_at = models.DateTimeField(null=True, blank=True)
    refreshing = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="report_once_per_filters")
        ]
        indexes = [models.Index(fields=["organization", "project"])]

    def __str__(self) -> str:
        return f"agreement of {self.project_id} [{self.key[:8]}]"
