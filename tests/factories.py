"""factory_boy factories: the one place tests make platform objects (tests/test_factories.py
holds every model of the platform's apps to having one, and the tests to using them).

Tenancy stays consistent by construction: a row's organization (and project) is its parent's
(`SelfAttribute`), so passing the parent is enough and passing a mismatch is deliberate."""

import io
from datetime import date, timedelta
from decimal import Decimal

import factory
import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.authtoken.models import Token

from billing.models import (
    DailyUsage,
    PersonDailyUsage,
    ProjectSla,
    RateCard,
    TurnaroundBucket,
    UsageEvent,
)
from core.jobs import JobStatus
from core.models import IdempotencyKey, OutboxMessage
from exports.models import Export
from labeling.models import (
    Annotation,
    Annotator,
    AnnotatorKind,
    Dataset,
    ImportJob,
    Item,
    Lease,
)
from prelabels.models import ModelVersion
from qa.models import AgreementReport, Audit, ReviewReason, ReviewTask, TruthModel
from qa.stats.aql import aql_plan
from tenancy.models import (
    AuditEvent,
    AuditEventKind,
    AuditVerdict,
    Membership,
    Organization,
    OrganizationKind,
    OrganizationQuota,
    Project,
    ProjectAssignment,
    ProjectUserObjectPermission,
    TaskType,
)

PASSWORD = "correct-horse-battery-9"


class PlatformFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def create_bulk(cls, rows, **common):
        """One INSERT for many rows (fixtures of hundreds of items), each built by the factory
        from `common` and its row. Parents must be saved already: pass them in `common`."""
        built = [cls.build(**common, **row) for row in rows]
        return cls._meta.model.objects.bulk_create(built)


# ---- core ---------------------------------------------------------------------------------


class OutboxMessageFactory(PlatformFactory):
    class Meta:
        model = OutboxMessage

    topic = "core.task"
    payload = factory.LazyFunction(
        lambda: {"name": "tenancy.worker_ping", "args": [], "kwargs": {}, "countdown": None}
    )


class IdempotencyKeyFactory(PlatformFactory):
    class Meta:
        model = IdempotencyKey

    user = factory.SubFactory("tests.factories.UserFactory")
    key = factory.Sequence(lambda n: f"key-{n}")
    request = "POST /api/v1/organizations/"
    fingerprint = factory.Sequence(lambda n: f"{n:064x}")
    status_code = 201
    content_type = "application/json"
    body = b'{"id": 1}'
    created_at = factory.LazyFunction(timezone.now)


# ---- tenancy ------------------------------------------------------------------------------


class OrganizationFactory(PlatformFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Client {n}")
    slug = factory.Sequence(lambda n: f"client-{n}")
    kind = OrganizationKind.CLIENT


class VendorFactory(OrganizationFactory):
    """The installation's one vendor: the data migration's row, made again where a
    transactional test flushed it."""

    class Meta:
        django_get_or_create = ("kind",)

    name = "Vendor"
    slug = "vendor"
    kind = OrganizationKind.VENDOR


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TokenFactory(factory.django.DjangoModelFactory):
    """DRF's API token of a user: the one it has, or a new one."""

    class Meta:
        model = Token
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)


class MembershipFactory(PlatformFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = "client_admin"


class ProjectFactory(PlatformFactory):
    class Meta:
        model = Project

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    labels = ["cat", "dog", "bird"]
    overlap = 3
    max_overlap = 5


class ProjectAssignmentFactory(PlatformFactory):
    """The row only: `tenancy.services.workforce_assign` also grants the permission."""

    class Meta:
        model = ProjectAssignment

    project = factory.SubFactory(ProjectFactory)
    organization = factory.SelfAttribute("project.organization")
    user = factory.SubFactory(UserFactory)
    role = "annotator"


class ProjectUserObjectPermissionFactory(PlatformFactory):
    class Meta:
        model = ProjectUserObjectPermission

    content_object = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    permission = factory.LazyFunction(
        lambda: Permission.objects.get(
            content_type__app_label="tenancy", codename="annotate_project"
        )
    )


class OrganizationQuotaFactory(PlatformFactory):
    """A client's own quotas; a field left None takes the installation's default."""

    class Meta:
        model = OrganizationQuota

    organization = factory.SubFactory(OrganizationFactory)


class AuditEventFactory(PlatformFactory):
    """A security event as audit_record() writes it (tests/tenancy/test_audit.py makes them
    through the platform; this one is for reads)."""

    class Meta:
        model = AuditEvent

    event = AuditEventKind.LOGIN_FAILED
    verdict = AuditVerdict.FAILED
    actor_name = factory.Sequence(lambda n: f"someone{n}")
    address = "192.0.2.1"
    method = "POST"
    route = "api-auth-token"
    path = "/api/v1/auth/token/"
    target_type = "account"


# ---- labeling -----------------------------------------------------------------------------


class DatasetFactory(PlatformFactory):
    class Meta:
        model = Dataset

    project = factory.SubFactory(ProjectFactory)
    organization = factory.SelfAttribute("project.organization")
    name = factory.Sequence(lambda n: f"dataset-{n}")


class ItemFactory(PlatformFactory):
    class Meta:
        model = Item

    dataset = factory.SubFactory(DatasetFactory)
    project = factory.SelfAttribute("dataset.project")
    organization = factory.SelfAttribute("dataset.organization")
    external_id = factory.Sequence(lambda n: f"ext-{n}")
    data = factory.Sequence(lambda n: {"text": f"item number {n}"})
    needed = factory.SelfAttribute("project.overlap")


class ImportJobFactory(PlatformFactory):
    """A finished import, as the history shows it (the importer itself is tested on files)."""

    class Meta:
        model = ImportJob

    dataset = factory.SubFactory(DatasetFactory)
    project = factory.SelfAttribute("dataset.project")
    organization = factory.SelfAttribute("dataset.organization")
    dataset_name = factory.SelfAttribute("dataset.name")
    original_name = "rows.jsonl"
    format = "jsonl"
    status = "succeeded"
    rows = 3
    imported = 3


class AnnotatorFactory(PlatformFactory):
    """An annotator a client's import named (kind external, of that client); `human=True`
    gives a platform user's identity instead (as `labeling.queue.annotator_for` makes it)."""

    class Meta:
        model = Annotator

    class Params:
        human = factory.Trait(
            kind=AnnotatorKind.HUMAN,
            organization=None,
            user=factory.SubFactory(UserFactory),
            name=factory.LazyAttribute(lambda a: a.user.get_username()),
        )

    organization = factory.SubFactory(OrganizationFactory)
    kind = AnnotatorKind.EXTERNAL
    name = factory.Sequence(lambda n: f"vendorX/annotator{n}")


def _first_label(annotation):
    labels = annotation.project.labels
    return [labels[0]] if annotation.project.task_type == TaskType.MULTILABEL else labels[0]


class AnnotationFactory(PlatformFactory):
    """A stored label, written as is (the queue's validation is `annotation_submit`'s)."""

    class Meta:
        model = Annotation

    item = factory.SubFactory(ItemFactory)
    project = factory.SelfAttribute("item.project")
    organization = factory.SelfAttribute("item.organization")
    annotator = factory.SubFactory(
        AnnotatorFactory, organization=factory.SelfAttribute("..organization")
    )
    label = factory.LazyAttribute(_first_label)


class LeaseFactory(PlatformFactory):
    """A live hold on an item, as the queue hands one out."""

    class Meta:
        model = Lease

    item = factory.SubFactory(ItemFactory)
    project = factory.SelfAttribute("item.project")
    organization = factory.SelfAttribute("item.organization")
    user = factory.SubFactory(UserFactory)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=10))


# ---- prelabels ----------------------------------------------------------------------------


class ModelVersionFactory(PlatformFactory):
    """A trained version's row (its file too only where a test trains: tests/prelabels)."""

    class Meta:
        model = ModelVersion

    project = factory.SubFactory(ProjectFactory)
    organization = factory.SelfAttribute("project.organization")
    kind = "text_sklearn"
    status = JobStatus.SUCCEEDED
    label_names = factory.LazyAttribute(lambda v: list(v.project.labels))
    finished_at = factory.LazyFunction(timezone.now)


# ---- qa -----------------------------------------------------------------------------------


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


class TruthModelFactory(PlatformFactory):
    """A fitted Dawid-Skene of nobody yet: no annotator rows, uniform priors."""

    class Meta:
        model = TruthModel

    project = factory.SubFactory(ProjectFactory)
    organization = factory.SelfAttribute("project.organization")
    labels = factory.LazyAttribute(lambda t: list(t.project.labels))
    annotator_ids = factory.LazyFunction(list)
    confusions = factory.LazyAttribute(
        lambda t: _npy(np.zeros((0, len(t.labels), len(t.labels)), dtype=np.float32))
    )
    priors = factory.LazyAttribute(lambda t: [1 / len(t.labels)] * len(t.labels))


class AuditFactory(PlatformFactory):
    """An audit being inspected, with the ISO 2859-1 plan of its lot and AQL."""

    class Meta:
        model = Audit

    class Params:
        plan = factory.LazyAttribute(lambda a: aql_plan(a.lot_size, a.aql))

    project = factory.SubFactory(ProjectFactory)
    organization = factory.SelfAttribute("project.organization")
    lot_to = factory.LazyFunction(timezone.now)
    lot_size = 40
    aql = factory.SelfAttribute("project.aql")
    code_letter = factory.SelfAttribute("plan.code_letter")
    plan_letter = factory.SelfAttribute("plan.plan_letter")
    sample_size = factory.SelfAttribute("plan.sample_size")
    accept = factory.SelfAttribute("plan.accept")
    reject = factory.SelfAttribute("plan.reject")


class ReviewTaskFactory(PlatformFactory):
    """An open review; pass `audit=` for an audit's sample (of the audit's project)."""

    class Meta:
        model = ReviewTask

    item = factory.SubFactory(ItemFactory)
    project = factory.SelfAttribute("item.project")
    organization = factory.SelfAttribute("item.organization")
    reason = ReviewReason.LOW_AGREEMENT
    proposed_label = factory.SelfAttribute("item.label")


class AgreementReportFactory(PlatformFactory):
    class Meta:
        model = AgreementReport

    project = factory.SubFactory(ProjectFactory)
    organization = factory.SelfAttribute("project.organization")
    key = factory.Sequence(lambda n: f"{n:064x}")


# ---- billing ------------------------------------------------------------------------------


class DailyUsageFactory(PlatformFactory):
    class Meta:
        model = DailyUsage

    project = factory.SubFactory(ProjectFactory)
    organization = factory.SelfAttribute("project.organization")
    day = factory.LazyFunction(timezone.localdate)


class PersonDailyUsageFactory(PlatformFactory):
    class Meta:
        model = PersonDailyUsage

    project = factory.SubFactory(ProjectFactory)
    organization = factory.SelfAttribute("project.organization")
    user = factory.SubFactory(UserFactory)
    day = factory.LazyFunction(timezone.localdate)


class TurnaroundBucketFactory(PlatformFactory):
    class Meta:
        model = TurnaroundBucket

    project = factory.SubFactory(ProjectFactory)
    organization = factory.SelfAttribute("project.organization")
    day = factory.LazyFunction(timezone.localdate)
    bucket = 0
    items = 1


class UsageEventFactory(PlatformFactory):
    class Meta:
        model = UsageEvent

    organization = factory.SubFactory(OrganizationFactory)
    key = factory.Sequence(lambda n: f"event-{n}")


class RateCardFactory(PlatformFactory):
    """An open-ended card (the service `rate_card_create` checks overlaps; this does not)."""

    class Meta:
        model = RateCard

    organization = factory.SubFactory(OrganizationFactory)
    currency = "USD"
    effective_from = date(2026, 1, 1)
    per_completed_item = Decimal("0.1000")
    per_annotation = Decimal("0.0200")
    per_review = Decimal("0.0500")
    per_exported_item = Decimal("0.0010")


class ProjectSlaFactory(PlatformFactory):
    class Meta:
        model = ProjectSla

    project = factory.SubFactory(ProjectFactory)
    organization = factory.SelfAttribute("project.organization")
    target_hours = 24


class ExportFactory(PlatformFactory):
    """An export's row, queued (the exporter writes files: tests/exports)."""

    class Meta:
        model = Export

    project = factory.SubFactory(ProjectFactory)
    organization = factory.SelfAttribute("project.organization")
    format = "jsonl"
