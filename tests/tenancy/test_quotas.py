"""Per-tenant quotas on imports, exports and model trainings (tenancy.quotas): over a limit the
API answers 429 naming it, with Retry-After, and nothing is created, stored or counted; one
tenant's quota never limits another's; concurrent requests never pass a limit; and a tenant's
backlog lowers its next job's priority (the fair order across tenants)."""

import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.utils import timezone

from billing.models import DailyUsage
from core.jobs import JobStatus
from core.limits import LimitExceeded
from exports.models import Export
from exports.services import export_create
from labeling.models import ImportJob, Item
from prelabels.models import ModelVersion
from prelabels.services import RETRAIN_EVERY, model_completions_count
from tenancy.models import AuditEvent, Role
from tenancy.quotas import quota_claimed, quota_limits

from ..conftest import IMPORT_DATABASES
from ..factories import (
    ExportFactory,
    ImportJobFactory,
    ModelVersionFactory,
    OrganizationQuotaFactory,
)

ADMIN = Role.CLIENT_ADMIN


def usage() -> list[dict]:
    return list(DailyUsage.objects.order_by("pk").values())


def stored_files() -> set[Path]:
    root = Path(settings.MEDIA_ROOT)
    return {Path(d, f) for d, _, files in os.walk(root) for f in files}


def post_export(api, world, side=None):
    side = side or world.a
    client = api.as_user(side.users[ADMIN])
    return client.post(f"/api/v1/projects/{side.project.pk}/exports/", {"format": "csv"})


def post_import(api, world):
    client = api.as_user(world.users[ADMIN])
    upload = SimpleUploadedFile("rows.jsonl", b'{"data": {"text": "hello"}}\n')
    return client.post(
        f"/api/v1/projects/{world.a.project.pk}/imports/", {"file": upload}, format="multipart"
    )


def post_train(api, world):
    client = api.as_user(world.users[ADMIN])
    return client.post(f"/api/v1/projects/{world.a.project.pk}/models/train/")


def assert_refused(response, limit: str, allowed: int, world):
    assert response.status_code == 429, response.content[:300]
    body = response.json()
    assert body["limit"] == limit
    assert body["allowed"] == allowed
    assert limit in body["detail"]
    assert int(response["Retry-After"]) == body["retry_after"] > 0
    event = AuditEvent.objects.get(event="quota_refused")
    assert event.verdict == "refused"
    assert event.actor_id == world.users[ADMIN].pk
    assert event.organization_id == world.a.organization.pk
    assert (event.target_type, event.target_id) == ("project", str(world.a.project.pk))
    assert event.detail["limit"] == limit
    assert event.address == "127.0.0.1"
    return body


# --- one test per refused class: 429, the limit named, nothing changed ---------------------


def test_exports_past_the_concurrent_quota_are_refused(world, api):
    OrganizationQuotaFactory(organization=world.a.organization, exports_concurrent=2)
    ExportFactory.create_batch(2, project=world.a.project, status=JobStatus.QUEUED)
    rows, counted = Export.objects.count(), usage()

    answer = post_export(api, world)

    assert_refused(answer, "exports_concurrent", 2, world)
    assert Export.objects.count() == rows
    assert usage() == counted


def test_exports_past_the_hourly_quota_are_refused_until_the_oldest_is_an_hour_old(world, api):
    OrganizationQuotaFactory(organization=world.a.organization, exports_per_hour=3)
    ExportFactory.create_batch(2, project=world.a.project, status=JobStatus.SUCCEEDED)
    # The world's own export of A is the oldest of the three: 50 minutes ago.
    Export.objects.filter(pk=world.a.export.pk).update(
        created_at=timezone.now() - timedelta(minutes=50)
    )
    rows, counted = Export.objects.count(), usage()

    answer = post_export(api, world)

    body = assert_refused(answer, "exports_per_hour", 3, world)
    assert 590 <= body["retry_after"] <= 601
    assert Export.objects.count() == rows
    assert usage() == counted


def test_imports_past_the_concurrent_quota_are_refused_and_nothing_is_stored(world, api):
    OrganizationQuotaFactory(organization=world.a.organization, imports_concurrent=1)
    ImportJobFactory(dataset=world.a.item.dataset, status=JobStatus.RUNNING)
    rows, items, files, counted = (
        ImportJob.objects.count(),
        Item.objects.count(),
        stored_files(),
        usage(),
    )

    answer = post_import(api, world)

    assert_refused(answer, "imports_concurrent", 1, world)
    assert ImportJob.objects.count() == rows
    assert Item.objects.count() == items
    assert stored_files() == files
    assert usage() == counted


def test_imports_past_the_hourly_quota_are_refused(world, api):
    OrganizationQuotaFactory(organization=world.a.organization, imports_per_hour=2)
    ImportJobFactory(dataset=world.a.item.dataset)  # with the world's own, 2 this hour
    rows, files, counted = ImportJob.objects.count(), stored_files(), usage()

    answer = post_import(api, world)

    assert_refused(answer, "imports_per_hour", 2, world)
    assert ImportJob.objects.count() == rows
    assert stored_files() == files
    assert usage() == counted


def test_trainings_past_the_concurrent_quota_are_refused(world, api):
    OrganizationQuotaFactory(organization=world.a.organization, trainings_concurrent=1)
    ModelVersionFactory(project=world.a.project, status=JobStatus.QUEUED, finished_at=None)
    rows = ModelVersion.objects.count()

    answer = post_train(api, world)

    assert_refused(answer, "trainings_concurrent", 1, world)
    assert ModelVersion.objects.count() == rows


def test_trainings_past_the_hourly_quota_are_refused(world, api):
    OrganizationQuotaFactory(organization=world.a.organization, trainings_per_hour=1)
    rows = ModelVersion.objects.count()  # the world's current version: trained this hour

    answer = post_train(api, world)

    assert_refused(answer, "trainings_per_hour", 1, world)
    assert ModelVersion.objects.count() == rows


# --- per tenant, defaults, pages -----------------------------------------------------------


def test_one_tenants_quota_does_not_limit_another(world, api):
    OrganizationQuotaFactory(organization=world.a.organization, exports_per_hour=1)
    assert post_export(api, world).status_code == 429

    answer = post_export(api, world, side=world.b)

    assert answer.status_code == 202
    assert Export.objects.filter(organization=world.b.organization).count() == 2


def test_the_defaults_apply_where_an_organization_has_no_quota_of_its_own(world, api, settings):
    settings.LQA_QUOTAS = {**settings.LQA_QUOTAS, "exports_per_hour": 1}
    OrganizationQuotaFactory(organization=world.a.organization, exports_per_hour=5)
    assert quota_limits(organization_id=world.b.organization.pk)["exports_per_hour"] == 1
    assert quota_limits(organization_id=world.a.organization.pk)["exports_per_hour"] == 5

    assert post_export(api, world, side=world.b).status_code == 429
    assert post_export(api, world).status_code == 202


def test_the_exports_page_says_the_quota_refused(world, client):
    OrganizationQuotaFactory(organization=world.a.organization, exports_per_hour=1)
    client.force_login(world.users[ADMIN])
    rows = Export.objects.count()

    answer = client.post(
        f"/projects/{world.a.project.pk}/exports/", {"format": "jsonl"}, follow=True
    )

    assert "exports_per_hour" in answer.content.decode()
    assert "The export was not started" in answer.content.decode()
    assert Export.objects.count() == rows


def test_the_models_page_says_the_quota_refused(world, client):
    OrganizationQuotaFactory(organization=world.a.organization, trainings_per_hour=1)
    client.force_login(world.users[ADMIN])
    rows = ModelVersion.objects.count()

    answer = client.post(
        f"/projects/{world.a.project.pk}/models/", {"action": "train"}, follow=True
    )

    assert "trainings_per_hour" in answer.content.decode()
    assert ModelVersion.objects.count() == rows


def test_an_automatic_retrain_waits_while_the_quota_is_spent(world):
    OrganizationQuotaFactory(organization=world.a.organization, trainings_per_hour=1)
    rows = ModelVersion.objects.count()

    queued = model_completions_count(project_id=world.a.project.pk, count=RETRAIN_EVERY)

    assert queued is False
    assert ModelVersion.objects.count() == rows


# --- no race lets a request past a limit ----------------------------------------------------


@pytest.mark.django_db(transaction=True, databases=IMPORT_DATABASES)
def test_concurrent_exports_never_pass_the_hourly_quota(world):
    # (the exports run as their threads commit: many run at once, over no concurrent limit)
    OrganizationQuotaFactory(
        organization=world.a.organization, exports_per_hour=10, exports_concurrent=100
    )
    start = threading.Barrier(14)
    refused = []

    def export():
        try:
            start.wait()
            export_create(project=world.a.project, user=world.users[ADMIN], format="jsonl")
        except LimitExceeded as exc:
            refused.append(exc.limit)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=export) for _ in range(14)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # The world's export and 9 new ones: exactly the 10 the hour allows.
    assert Export.objects.filter(organization=world.a.organization).count() == 10
    assert refused == ["exports_per_hour"] * 5
    assert AuditEvent.objects.filter(event="quota_refused").count() == 5


# --- fairness: the order the broker serves jobs in ------------------------------------------


def test_a_tenants_backlog_lowers_its_next_jobs_priority(world):
    """The first job of every tenant is served first (priority 0); each job a tenant has
    waiting or running already puts its next one a step later, up to the last step (9)."""
    OrganizationQuotaFactory(organization=world.a.organization, exports_concurrent=50)
    ExportFactory.create_batch(3, project=world.a.project, status=JobStatus.QUEUED)
    ExportFactory(project=world.a.project, status=JobStatus.RUNNING)

    def priority(side):
        with quota_claimed(kind="exports", project=side.project, jobs=Export.objects) as claim:
            return claim.priority

    assert priority(world.a) == 4
    assert priority(world.b) == 0  # B's finished export is no backlog
    ExportFactory.create_batch(10, project=world.a.project, status=JobStatus.QUEUED)
    assert priority(world.a) == 9
