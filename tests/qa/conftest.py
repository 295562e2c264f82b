"""Shared helpers of the QA tests: a project with a crowd of annotators."""

import pytest

from labeling import queue
from tenancy import services as tenancy_services


@pytest.fixture
def crowd(world):
    """Five vendor annotators (assigned to each project made by `make_project`)."""
    return [
        tenancy_services.member_create(
            organization=world.vendor,
            username=f"crowd{n}",
            password="a-fine-passphrase-5",
            role="annotator",
        ).user
        for n in range(5)
    ]


@pytest.fixture
def make_project(world, crowd):
    made = 0

    def make(**policy):
        nonlocal made
        made += 1
        policy.setdefault("labels", ["cat", "dog", "bird"])
        project = tenancy_services.project_create(
            organization=world.a.organization, name=f"QA project {made}", **policy
        )
        for user in crowd:
            tenancy_services.workforce_assign(project=project, user=user, role="annotator")
        return project

    return make


@pytest.fixture
def label(django_capture_on_commit_callbacks):
    """label(item, user, value): one submission through the queue's service, then what runs on
    its commit (the consensus hook), as in production."""

    def submit(item, user, value, duration_ms=2000):
        with django_capture_on_commit_callbacks(execute=True):
            return queue.annotation_submit(
                item=item, user=user, label=value, duration_ms=duration_ms
            )

    return submit
