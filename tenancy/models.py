"""Organizations (tenants), memberships with roles, client projects and workforce assignment."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from guardian.models import UserObjectPermissionBase

from core.roles import CLIENT_ROLES, VENDOR_ROLES, Role


class OrganizationKind(models.TextChoices):
    CLIENT = "client", "Client"
    VENDOR = "vendor", "Vendor"


ROLES_BY_KIND = {OrganizationKind.VENDOR: VENDOR_ROLES, OrganizationKind.CLIENT: CLIENT_ROLES}


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=16, choices=OrganizationKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            # Exactly one BPO runs an installation: at most one vendor row, made by a migration.
            models.UniqueConstraint(
                fields=["kind"], condition=Q(kind="vendor"), name="one_vendor_organization"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_vendor(self) -> bool:
        return self.kind == OrganizationKind.VENDOR


class Membership(models.Model):
    """A user's place: one organization, one role. A superuser without one is an operator."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "role"])]

    def __str__(self) -> str:
        return f"{self.user} ({self.role} @ {self.organization})"


class TaskType(models.TextChoices):
    CLASSIFICATION = "classification", "Classification (one label)"
    MULTILABEL = "multilabel", "Multi-label (any subset)"


class ConsensusMethod(models.TextChoices):
    MAJORITY = "majority", "Majority vote"
    DAWID_SKENE = "dawid_skene", "Dawid-Skene"


# The AQL values of ISO 2859-1's tables (percent defective) that audits may use.
AQL_VALUES = (0.065, 0.1, 0.15, 0.25, 0.4, 0.65, 1.0, 1.5, 2.5, 4.0, 6.5, 10.0)


class Project(models.Model):
    """A client's labeling project with its label set and QA policy."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="projects"
    )
    name = models.CharField(max_length=200)
    task_type = models.CharField(
        max_length=16, choices=TaskType.choices, default=TaskType.CLASSIFICATION
    )
    labels = models.JSONField(help_text="The label set: a list of distinct strings.")
    instructions = models.TextField(blank=True, default="")
    overlap = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(25)],
        help_text="How many annotators label each item (k).",
    )
    max_overlap = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(25)],
        help_text="Adaptive overlap: at most this many annotators on a doubtful item.",
    )
    gold_rate = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    consensus = models.CharField(
        max_length=16, choices=ConsensusMethod.choices, default=ConsensusMethod.MAJORITY
    )
    min_agreement = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Items whose consensus confidence is below this go to review.",
    )
    prelabels = models.BooleanField(default=False, help_text="Show AI pre-labels to annotators.")
    blind_share = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of tasks served without their pre-label, to measure anchoring.",
    )
    model_threshold = models.FloatField(
        default=0.9,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="A model's pre-label at or above this calibrated confidence needs one person.",
    )
    audit_share = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of the confident pre-labels that still get the full overlap (audit).",
    )
    aql = models.FloatField(
        default=1.0,
        help_text="Audits: the acceptable quality level, in percent defective (ISO 2859-1).",
    )
    lease_minutes = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
        help_text="How long an annotator holds a task before it returns to the pool.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="project_name_per_org"),
            models.CheckConstraint(condition=Q(overlap__gte=1), name="project_overlap_positive"),
            models.CheckConstraint(
                condition=Q(max_overlap__gte=models.F("overlap")),
                name="project_max_overlap_not_below_overlap",
            ),
            models.CheckConstraint(
                condition=Q(gold_rate__gte=0) & Q(gold_rate__lte=1), name="project_gold_rate_0_1"
            ),
            models.CheckConstraint(
                condition=Q(min_agreement__gte=0) & Q(min_agreement__lte=1),
                name="project_min_agreement_0_1",
            ),
        ]
        permissions = [
            ("annotate_project", "May label the project's items"),
            ("review_project", "May review, adjudicate and audit the project"),
        ]

    def __str__(self) -> str:
        return self.name


class ProjectUserObjectPermission(UserObjectPermissionBase):
    """guardian's per-project permission rows, with a real foreign key (joins, cascades)."""

    content_object = models.ForeignKey(Project, on_delete=models.CASCADE)


class WorkforceRole(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    QA_LEAD = "qa_lead", "QA lead"


# Which guardian permission each workforce role carries on its project.
WORKFORCE_PERMISSION = {
    WorkforceRole.ANNOTATOR: "annotate_project",
    WorkforceRole.QA_LEAD: "review_project",
}


class ProjectAssignment(models.Model):
    """A vendor person assigned to a client project; the guardian permission follows it."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", help_text="The project's client."
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    role = models.CharField(max_length=16, choices=WorkforceRole.choices)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "role", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user", "role"], name="assignment_once_per_role"
            ),
        ]
        indexes = [models.Index(fields=["organization", "project"])]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} on {self.project}"


# Every per-organization quota (tenancy.quotas): the name a refusal gives as its `limit`.
QUOTA_NAMES = (
    "imports_concurrent",
    "imports_per_hour",
    "exports_concurrent",
    "exports_per_hour",
    "trainings_concurrent",
    "trainings_per_hour",
)


class OrganizationQuota(models.Model):
    """A client organization's own limits on its background jobs: concurrent ones (queued or
    running) and ones started in the last hour. A blank field takes the installation's default
    (settings.LQA_QUOTAS); an organization without a row takes every default."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="quota", primary_key=True
    )
    imports_concurrent = models.PositiveIntegerField(null=True, blank=True)
    imports_per_hour = models.PositiveIntegerField(null=True, blank=True)
    exports_concurrent = models.PositiveIntegerField(null=True, blank=True)
    exports_per_hour = models.PositiveIntegerField(null=True, blank=True)
    trainings_concurrent = models.PositiveIntegerField(null=True, blank=True)
    trainings_per_hour = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"quotas of {self.organization_id}"


class AuditEventKind(models.TextChoices):
    LOGIN_FAILED = "login_failed", "Failed login"
    LOCKOUT = "lockout", "Lockout"
    LOGIN_REFUSED = "login_refused", "Login refused during a lockout"
    CROSS_TENANT = "cross_tenant", "Another tenant's object (404)"
    FORBIDDEN = "forbidden", "Forbidden (403)"
    QUOTA_REFUSED = "quota_refused", "Quota refused (429)"


class AuditVerdict(models.TextChoices):
    FAILED = "failed", "failed"  # a wrong password
    LOCKED = "locked", "locked"  # the failure that starts a lockout
    REFUSED = "refused", "refused"  # 429: during a lockout, or over a quota
    NOT_FOUND = "not_found", "not found"  # 404
    FORBIDDEN = "forbidden", "forbidden"  # 403


class AppendOnly(Exception):
    """Audit events are never changed or deleted."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("audit events are never changed")

    def delete(self):
        raise AppendOnly("audit events are never deleted")


class AuditEvent(models.Model):
    """A security event, written once (tenancy.audit.audit_record) and never changed. Ids are
    plain numbers, not foreign keys: an event outlives its user, organization and object, and
    a username tried need not exist."""

    created_at = models.DateTimeField(default=timezone.now)
    event = models.CharField(max_length=24, choices=AuditEventKind.choices)
    verdict = models.CharField(max_length=16, choices=AuditVerdict.choices)
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="The user, when known.")
    actor_name = models.CharField(max_length=150, blank=True, help_text="Username (tried).")
    organization_id = models.BigIntegerField(null=True, blank=True, help_text="Actor's tenant.")
    address = models.GenericIPAddressField(null=True, blank=True)
    method = models.CharField(max_length=8, blank=True)
    route = models.CharField(max_length=100, blank=True, help_text="The URL's name.")
    path = models.CharField(max_length=500, blank=True)
    target_type = models.CharField(max_length=50, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_organization_id = models.BigIntegerField(
        null=True, blank=True, help_text="The tenant the target belongs to."
    )
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organization_id", "created_at"]),
            models.Index(fields=["created_at"]),
            models.Index(fields=["event", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.verdict} by {self.actor_name or self.actor_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("audit events are never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("audit events are never deleted")
