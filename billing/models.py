"""Usage, counted per client organization, project and day (the input of statements), the
counters the throughput dashboard reads, rate cards and per-project turnaround targets.

Billing reads nothing of labeling or qa (ARCHITECTURE.md): everything a dashboard shows is a
counter kept here by `services.usage_add`, so a dashboard costs the same at a billion
annotations as at a thousand.
"""

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

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
# The counters also kept per person (the throughput of each annotator or reviewer).
PERSON_COUNTERS = ("annotations", "reviews", "annotator_seconds")


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
        # A month of one client, every project: what the usage API and statements read.
        indexes = [models.Index(fields=["organization", "day"], name="usage_org_day")]
        ordering = ["day", "project_id"]

    def __str__(self) -> str:
        return f"{self.organization_id}/{self.project_id} {self.day}"


class PersonDailyUsage(models.Model):
    """One person's work on one client project in one day: throughput per annotator."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    annotations = models.BigIntegerField(default=0)
    reviews = models.BigIntegerField(default=0)
    annotator_seconds = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "project", "user", "day"],
                name="person_usage_once_per_day",
            )
        ]
        indexes = [models.Index(fields=["organization", "day"], name="person_usage_org_day")]

    def __str__(self) -> str:
        return f"{self.organization_id}/{self.project_id} user {self.user_id} {self.day}"


class TurnaroundBucket(models.Model):
    """How many of the items completed on a day took a given time from import to completion:
    a histogram with log-spaced buckets (billing/turnaround.py), so p50/p90 over any range of
    days add up bucket counts instead of reading items."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    bucket = models.SmallIntegerField()
    items = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "project", "day", "bucket"],
                name="turnaround_once_per_bucket",
            )
        ]
        indexes = [models.Index(fields=["organization", "day"], name="turnaround_org_day")]

    def __str__(self) -> str:
        return f"{self.organization_id}/{self.project_id} {self.day} bucket {self.bucket}"


class UsageEvent(models.Model):
    """An event counted once: usage_add with an idempotency key records the key in the same
    statement as the counts, so a redelivered task finds it and counts nothing."""

    key = models.CharField(max_length=200, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"], name="usage_event_org")]

    def __str__(self) -> str:
        return self.key


PRICE = {"max_digits": 12, "decimal_places": 4, "default": 0, "validators": [MinValueValidator(0)]}
# The unit prices of a rate card: (price field, the counter it prices, the line's wording).
PRICED_COUNTERS = (
    ("per_completed_item", "items_completed", "Completed items"),
    ("per_annotation", "annotations", "Human annotations"),
    ("per_review", "reviews", "Reviews"),
    ("per_exported_item", "exported_items", "Exported items"),
)


class RateCard(models.Model):
    """A client's unit prices from `effective_from` to `effective_to` (both days included; no
    end: until further notice). A client's cards never overlap (services.rate_card_create)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(
        max_length=3,
        validators=[RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 code such as USD or EUR.")],
    )
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    per_completed_item = models.DecimalField(**PRICE)
    per_annotation = models.DecimalField(**PRICE)
    per_review = models.DecimalField(**PRICE)
    per_exported_item = models.DecimalField(**PRICE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization_id", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "effective_from"], name="rate_card_start_once"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                name="rate_card_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(per_completed_item__gte=0)
                & Q(per_annotation__gte=0)
                & Q(per_review__gte=0)
                & Q(per_exported_item__gte=0),
                name="rate_card_prices_not_negative",
            ),
        ]

    def __str__(self) -> str:
        end = self.effective_to or "open"
        return f"{self.organization_id} {self.currency} {self.effective_from}..{end}"


class ProjectSla(models.Model):
    """The turnaround a client project is promised: 90% of its items completed within
    `target_hours` of their import, day by day."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="+")
    target_hours = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "project"], name="sla_org_project")]
        constraints = [
            models.CheckConstraint(condition=Q(target_hours__gte=1), name="sla_target_positive")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.target_hours} h"
