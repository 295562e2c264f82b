"""A round trip through the real Redis and Celery worker that platform/test.sh starts.

The worker connects to pytest-django's test database, so it sees what a test has committed:
these tests run on a transactional database.
"""

import pytest
from celery.result import AsyncResult, EagerResult
from django.db import connection

from config import celery_app
from tenancy.models import Organization
from tenancy.tasks import worker_ping
from tests.conftest import require_service
from tests.factories import OrganizationFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# A worker busy with nothing else answers in milliseconds; this only bounds a hung run.
WORKER_TIMEOUT_SECONDS = 30


@pytest.fixture(autouse=True)
def celery_worker_running():
    require_service("LQA_TEST_CELERY", "Celery worker")


def ping_worker() -> dict:
    result = worker_ping.delay()
    assert isinstance(result, AsyncResult)
    assert not isinstance(result, EagerResult), "the task ran in process, not on the worker"
    answer = result.get(timeout=WORKER_TIMEOUT_SECONDS)
    assert result.state == "SUCCESS"
    return answer


def test_worker_ping_reads_the_committed_data_of_the_test_database(world):
    assert celery_app.conf.task_always_eager is False
    before = ping_worker()

    OrganizationFactory.create_batch(2)
    after = ping_worker()

    assert after["database"] == connection.settings_dict["NAME"]
    assert after["database"].startswith("test_")
    assert after["eager"] is False
    assert after["vendor"] == world.vendor.name
    assert after["organizations"] == Organization.objects.count() == before["organizations"] + 2


def test_status_page_shows_the_worker_answered_from_the_test_database(world, client):
    client.force_login(world.users["operator"])

    response = client.get("/status/")

    assert response.status_code == 200
    database = connection.settings_dict["NAME"]
    assert response.context["eager"] is False
    assert response.context["worker_error"] is None
    assert response.context["worker"]["database"] == database
    assert response.context["worker"]["organizations"] == Organization.objects.count()
    html = response.content.decode()
    assert 'data-testid="worker-ok"' in html
    assert f"database {database}" in html
    assert f"PostgreSQL {connection.pg_version // 10000}." in html
    assert response.context["broker"] in html
    assert "in process" not in html
