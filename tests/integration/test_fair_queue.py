"""Fairness across tenants on the real Redis and Celery worker (platform/test.sh starts them):
one client's flood of exports does not starve another client's one export. Each job's task is
sent with its tenant's backlog as priority (tenancy.quotas), and the broker serves the lower
first: B's first export overtakes A's backlog instead of waiting behind all of it."""

import time

import pytest
from django.db import transaction

from core.jobs import JobStatus
from exports.models import Export
from exports.services import export_create
from tenancy.models import Role
from tests.conftest import IMPORT_DATABASES, require_service
from tests.factories import OrganizationQuotaFactory

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, databases=IMPORT_DATABASES),
]

FLOOD = 20
# 21 small exports take the worker a few seconds; this only bounds a hung run.
WORKER_TIMEOUT_SECONDS = 120
POLL_SECONDS = 0.2


@pytest.fixture(autouse=True)
def celery_worker_running():
    require_service("LQA_TEST_CELERY", "Celery worker")


def wait_until_finished(exports: list[Export]) -> list[Export]:
    ids = [e.pk for e in exports]
    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        rows = list(Export.objects.filter(pk__in=ids))
        if all(e.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) for e in rows):
            return rows
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"exports unfinished after {WORKER_TIMEOUT_SECONDS} s")


def test_one_clients_flood_does_not_starve_another_clients_export(world, api):
    a, b = world.a, world.b
    OrganizationQuotaFactory(
        organization=a.organization, exports_concurrent=FLOOD + 5, exports_per_hour=FLOOD + 5
    )
    # A's flood arrives faster than a worker can run it: all 20 at once.
    with transaction.atomic():
        flood = [
            export_create(project=a.project, user=world.users[Role.CLIENT_ADMIN], format="jsonl")
            for _ in range(FLOOD)
        ]
    answer = api.as_user(b.users[Role.CLIENT_ADMIN]).post(
        f"/api/v1/projects/{b.project.pk}/exports/", {"format": "jsonl"}, format="json"
    )
    assert answer.status_code == 202
    single = Export.objects.get(pk=answer.json()["id"])

    finished = wait_until_finished([*flood, single])

    assert {e.status for e in finished} == {JobStatus.SUCCEEDED}
    b_done = next(e.finished_at for e in finished if e.pk == single.pk)
    a_done = sorted(e.finished_at for e in finished if e.pk != single.pk)
    assert b_done < a_done[-1]
    # Not only before A's last: B's export waited for at most the few A had started already
    # (first in first out, it would have waited for all 20).
    assert sum(1 for done in a_done if done > b_done) >= FLOOD - 5
