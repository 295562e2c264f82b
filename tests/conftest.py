"""Shared fixtures: a two-tenant world with one person of each role, and API clients."""

import hashlib
import os
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from celery._state import _set_task_join_will_block
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from config import celery_app
from core.jobs import JobStatus
from labeling import queue
from labeling.models import Item, ItemStatus
from qa.consensus import review_open
from qa.models import Audit, ReviewReason
from tenancy import services
from tenancy.models import Organization, Project, ProjectAssignment, Role

from .factories import (
    PASSWORD,
    AuditFactory,
    ExportFactory,
    ImportJobFactory,
    ItemFactory,
    LeaseFactory,
    ModelVersionFactory,
    OrganizationFactory,
    TokenFactory,
    VendorFactory,
)

# Imports report progress on a second connection ("progress"): a test that runs an import must
# be allowed to use it.
IMPORT_DATABASES = ["default", "progress"]

ROLES = [
    r.value
    for r in (Role.OPERATOR, Role.CLIENT_ADMIN, Role.CLIENT_VIEWER, Role.QA_LEAD, Role.ANNOTATOR)
]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Close every connection (imports' progress connection included) before the test database
    is dropped, which PostgreSQL refuses while anyone is connected."""
    yield
    with django_db_blocker.unblock():
        connections.close_all()


@pytest.fixture(autouse=True)
def eager_celery_unless_integration(request):
    """Unit tests run tasks in process; integration tests talk to the real worker."""
    if request.node.get_closest_marker("integration"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous
    # Celery's guard against waiting on a result inside a task is one flag for the process,
    # set and restored around every eager task: two threads running eager tasks at once (the
    # queue's race tests) can restore each other's "inside a task" and leave it set, and a
    # later integration test's result.get() would then refuse to wait.
    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Every test starts with an empty cache: no login failures counted by an earlier one
    (with a broker the cache is Redis, database 2 of the throwaway server: its own)."""
    cache.clear()


@pytest.fixture(autouse=True)
def private_media_root(request, settings, tmp_path_factory):
    """Uploads land in a throwaway folder; integration tests keep the real one, which the
    Celery worker (another process, started with the checkout's settings) reads."""
    if not request.node.get_closest_marker("integration"):
        settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@dataclass
class Side:
    """One tenant's objects: the client org, its project, and an assignment on it."""

    organization: Organization
    project: Project
    assignment: ProjectAssignment
    item: object
    job: object
    annotation: object  # by the side's annotator, on another item, its lease still live
    review: object  # an open review of its third item
    audit: object
    export: object  # a finished export with its file
    users: dict = field(default_factory=dict)


@dataclass
class World:
    vendor: Organization
    users: dict  # role -> user of side A (vendor roles are assigned to A's project only)
    a: Side
    b: Side
    spare_annotator: object  # a vendor annotator assigned nowhere

    def own_kwargs(self, role: str) -> dict:
        organization = (
            self.vendor if role in (Role.QA_LEAD, Role.ANNOTATOR) else self.a.organization
        )
        return {"organization_id": organization.pk, **self._side_kwargs(self.a)}

    def other_kwargs(self) -> dict:
        return {"organization_id": self.b.organization.pk, **self._side_kwargs(self.b)}

    @staticmethod
    def _side_kwargs(side: Side) -> dict:
        return {
            "project_id": side.project.pk,
            "assignment_id": side.assignment.pk,
            "item_id": side.item.pk,
            "job_id": side.job.pk,
            "annotation_id": side.annotation.pk,
            "review_id": side.review.pk,
            "audit_id": side.audit.pk,
            "export_id": side.export.pk,
        }


def _annotate(item, user, label):
    """A submitted label whose lease is still live (so that it can be undone)."""
    LeaseFactory(item=item, user=user, expires_at=timezone.now() + timedelta(minutes=10))
    return queue.annotation_submit(item=item, user=user, label=label)


def _review_and_audit(project, item, label):
    """An item in review (a tie, say) and a finished audit of an earlier lot."""
    Item.objects.filter(pk=item.pk).update(
        status=ItemStatus.REVIEW, completed_at=timezone.now(), label=label, confidence=0.5
    )
    review = review_open(
        project=project,
        item_id=item.pk,
        reason=ReviewReason.TIE,
        detail="the vote is tied",
        proposed_label=label,
        confidence=0.5,
    )
    audit = AuditFactory(
        project=project,
        lot_to=timezone.now() - timedelta(days=1),
        lot_size=40,
        aql=1.0,
        code_letter="E",
        plan_letter="F",
        sample_size=20,
        accept=0,
        reject=1,
        inspected=13,
        status=Audit.Status.ACCEPTED,
    )
    return review, audit


def _finished_export(project):
    """A finished export (its file written directly: the exporter is tested in tests/exports)."""
    body = f'{{"id": "x", "data": {{}}, "label": "{project.labels[0]}"}}\n'.encode()
    export = ExportFactory.build(
        project=project,
        format="jsonl",
        status="succeeded",
        rows=1,
        total=1,
        size_bytes=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        certificate={"project": {"name": project.name}, "rows": 1},
        finished_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=7),
    )
    export.file.save(f"{project.name}.jsonl", ContentFile(body), save=False)
    export.save()
    return export


def _current_model(project):
    """A current model version (its row only: the model layer is tested in tests/prelabels)."""
    return ModelVersionFactory(
        project=project,
        kind="text_sklearn",
        status=JobStatus.SUCCEEDED,
        is_current=True,
        metrics={"accuracy": 0.9, "macro_f1": 0.88, "ece": 0.03, "coverage": None},
        label_names=list(project.labels),
        message=f"Seeded version of {project.name}",
        finished_at=timezone.now(),
    )


def _member(organization, role, username):
    # Through the service, as in production: an operator becomes staff and superuser there.
    return services.member_create(
        organization=organization, username=username, password=PASSWORD, role=role
    ).user


@pytest.fixture
def world(db) -> World:
    # Transactional tests flush the database, the vendor row of the data migration with it.
    vendor = VendorFactory()
    org_a = OrganizationFactory(name="Alpha Retail", slug="alpha-retail")
    org_b = OrganizationFactory(name="Bravo Health", slug="bravo-health")
    users = {
        Role.OPERATOR.value: _member(vendor, Role.OPERATOR, "op"),
        Role.QA_LEAD.value: _member(vendor, Role.QA_LEAD, "qa"),
        Role.ANNOTATOR.value: _member(vendor, Role.ANNOTATOR, "ann"),
        Role.CLIENT_ADMIN.value: _member(org_a, Role.CLIENT_ADMIN, "alpha.admin"),
        Role.CLIENT_VIEWER.value: _member(org_a, Role.CLIENT_VIEWER, "alpha.viewer"),
    }
    b_users = {
        Role.CLIENT_ADMIN.value: _member(org_b, Role.CLIENT_ADMIN, "bravo.admin"),
        Role.CLIENT_VIEWER.value: _member(org_b, Role.CLIENT_VIEWER, "bravo.viewer"),
    }
    b_annotator = _member(vendor, Role.ANNOTATOR, "ann.bravo")
    spare = _member(vendor, Role.ANNOTATOR, "ann.spare")
    project_a = services.project_create(
        organization=org_a, name="Alpha sentiment", labels=["positive", "negative"]
    )
    project_b = services.project_create(
        organization=org_b, name="Bravo triage", labels=["urgent", "routine"]
    )
    assignment_a, _ = services.workforce_assign(
        project=project_a, user=users[Role.ANNOTATOR], role="annotator"
    )
    services.workforce_assign(project=project_a, user=users[Role.QA_LEAD], role="qa_lead")
    assignment_b, _ = services.workforce_assign(
        project=project_b, user=b_annotator, role="annotator"
    )
    items_a = ItemFactory.create_batch(3, dataset__project=project_a)
    items_b = ItemFactory.create_batch(2, dataset__project=project_b)
    job_a = ImportJobFactory(dataset=items_a[0].dataset)
    job_b = ImportJobFactory(dataset=items_b[0].dataset)
    annotation_a = _annotate(items_a[1], users[Role.ANNOTATOR], "positive")
    annotation_b = _annotate(items_b[1], b_annotator, "urgent")
    review_a, audit_a = _review_and_audit(project_a, items_a[2], "positive")
    # (B's first item stays open: tests label it; its review is of an item of its own)
    review_b, audit_b = _review_and_audit(
        project_b, ItemFactory(dataset=items_b[0].dataset), "urgent"
    )
    export_a, export_b = _finished_export(project_a), _finished_export(project_b)
    _current_model(project_a), _current_model(project_b)
    return World(
        vendor=vendor,
        users=users,
        a=Side(
            org_a,
            project_a,
            assignment_a,
            items_a[0],
            job_a,
            annotation_a,
            review_a,
            audit_a,
            export_a,
            users,
        ),
        b=Side(
            org_b,
            project_b,
            assignment_b,
            items_b[0],
            job_b,
            annotation_b,
            review_b,
            audit_b,
            export_b,
            {**b_users, Role.ANNOTATOR.value: b_annotator},
        ),
        spare_annotator=spare,
    )


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` authenticates it with that user's token."""
    client = APIClient()

    def as_user(user):
        client.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory(user=user).key}")
        return client

    client.as_user = as_user
    return client


def require_service(env_var: str, what: str) -> None:
    """Integration and browser tests skip only where the suite was not started by
    platform/test.sh; when it was (the variable is set) a missing service fails them."""
    if not os.environ.get(env_var):
        pytest.skip(f"{what}: run the suite with platform/test.sh (it sets {env_var})")


__all__ = ["IMPORT_DATABASES", "PASSWORD", "ROLES", "World", "require_service"]
