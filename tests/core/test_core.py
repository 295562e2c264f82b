"""core/: the shared rules every app uses."""

import csv
import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from core.api import Allow, RoleMapApi
from core.formulas import FORMULA_STARTS, cell_guard, row_guard
from core.iterators import keyset_batches
from core.jobs import JOB_TRANSITIONS, JobStatus
from core.roles import EVERYONE, Role
from core.transitions import InvalidTransition
from labeling.models import ImportJob, Item

from ..factories import ImportJobFactory, ItemFactory


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_every_formula_start_is_quoted(start):
    assert cell_guard(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"


def test_plain_cells_and_other_values_pass_through():
    assert row_guard(["plain", 3, None, 0.5, "a=b"]) == ["plain", 3, None, 0.5, "a=b"]
    # tab and CR were missing from one of the three copies this guard replaced
    assert set(FORMULA_STARTS) == {"=", "+", "-", "@", "\t", "\r"}


def test_the_agreement_download_guards_its_header_row(world, api):
    """Label names become the confusion table's columns: a label that reads as a formula is
    quoted in the header as well as in the cells."""
    project = world.a.project
    project.labels = ["=HYPERLINK(1)", "negative"]
    project.save(update_fields=["labels"])
    client = api.as_user(world.users[Role.OPERATOR])
    answer = client.get(
        f"/api/v1/projects/{project.pk}/agreement/download/?table=confusion&format=csv"
    )
    if answer.status_code == 409:  # the report is computed on first read: ask again
        answer = client.get(
            f"/api/v1/projects/{project.pk}/agreement/download/?table=confusion&format=csv"
        )
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    cells = [cell for row in rows for cell in row]
    assert not any(cell.startswith(FORMULA_STARTS) for cell in cells)
    assert "'=HYPERLINK(1)" in rows[0]


def test_job_transitions_move_once_and_refuse_what_the_table_forbids(db):
    job = ImportJobFactory(status=JobStatus.QUEUED)
    assert job.status == JobStatus.QUEUED
    JOB_TRANSITIONS.apply(job, JobStatus.RUNNING)
    # a redelivered task starts the job again
    assert JOB_TRANSITIONS.try_apply(job, JobStatus.RUNNING)
    JOB_TRANSITIONS.apply(job, JobStatus.SUCCEEDED, message="done")
    assert ImportJob.objects.get(pk=job.pk).message == "done"
    with pytest.raises(InvalidTransition, match="succeeded -> running"):
        JOB_TRANSITIONS.apply(job, JobStatus.RUNNING)
    assert ImportJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED
    assert JOB_TRANSITIONS.sources(JobStatus.FAILED) == [JobStatus.QUEUED, JobStatus.RUNNING]


def test_a_stale_copy_cannot_make_a_move_twice(db):
    """Two workers holding the same job: the second move finds nothing to move."""
    job = ImportJobFactory(status=JobStatus.QUEUED)
    stale = ImportJob.objects.get(pk=job.pk)
    JOB_TRANSITIONS.apply(job, JobStatus.FAILED)
    assert not JOB_TRANSITIONS.try_apply(stale, JobStatus.FAILED)
    assert stale.status == JobStatus.QUEUED  # untouched: the caller learns it lost


def test_keyset_batches_walk_every_row_once_in_order(db):
    items = ItemFactory.create_batch(7)
    ids = sorted(item.pk for item in items)
    batches = list(keyset_batches(Item.objects.all(), size=3))
    assert [len(b) for b in batches] == [3, 3, 1]
    assert [row.pk for b in batches for row in b] == ids
    values = [row for b in keyset_batches(Item.objects.values_list("id"), size=2) for row in b]
    assert [row[0] for row in values] == ids
    after = list(keyset_batches(Item.objects.values("id"), size=10, after=ids[3]))
    assert [row["id"] for b in after for row in b] == ids[4:]


def test_an_api_class_that_handles_a_method_must_say_who_may_call_it():
    with pytest.raises(ImproperlyConfigured, match="POST"):

        class Forgetful(RoleMapApi):
            roles = {"GET": Allow(EVERYONE)}

            def get(self, request):
                pass

            def post(self, request):
                pass


def _views(resolver=None):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _views(entry)
        elif isinstance(entry, URLPattern):
            yield entry.name, getattr(entry.callback, "cls", None)


def test_every_api_route_states_its_roles_for_each_method():
    """The routes are read from the URL resolver, so a new one cannot be forgotten."""
    exempt = {"api-auth-token", "api-schema", "api-docs"}  # anonymous by design
    checked = 0
    for name, cls in _views():
        if cls is None or not issubclass(cls, APIView) or name in exempt:
            continue
        assert issubclass(cls, RoleMapApi), f"{name}: {cls.__name__} is not a RoleMapApi"
        methods = {m.upper() for m in cls.http_method_names if hasattr(cls, m)} - {
            "OPTIONS",
            "HEAD",
        }
        assert methods and methods <= set(cls.roles), f"{name}: {methods - set(cls.roles)}"
        checked += 1
    assert checked >= 30
