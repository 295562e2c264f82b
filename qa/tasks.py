"""Background work of quality assurance. Tasks take ids (and the organization id, which joins
them back to their tenant), reload, call one service, and are idempotent."""

import datetime

from celery import shared_task
from django.db import OperationalError

from tenancy.models import Project

from . import consensus, reports
from .data import Filters

RETRY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 5,
    "max_retries": 3,
}


@shared_task(name="qa.consensus_items", **RETRY)
def consensus_items(organization_id: int, project_id: int, item_ids: list[int]) -> dict:
    Project.objects.get(pk=project_id, organization_id=organization_id)
    return consensus.consensus_items(project_id=project_id, item_ids=item_ids)


@shared_task(name="qa.consensus_sweep", **RETRY)
def consensus_sweep(organization_id: int, project_id: int, after_id: int = 0) -> dict:
    """Decide the project's items waiting for consensus (enqueued by qa.receivers, debounced)."""
    project = Project.objects.get(pk=project_id, organization_id=organization_id)
    sweep = consensus.consensus_sweep(project=project, after_id=after_id)
    if sweep.resume_after is not None:
        consensus_sweep.delay(organization_id, project_id, sweep.resume_after)
    return sweep.outcome


@shared_task(name="qa.truth_model_refit", **RETRY)
def truth_model_refit(organization_id: int, project_id: int) -> int:
    project = Project.objects.get(pk=project_id, organization_id=organization_id)
    model = consensus.truth_model_fit(project=project)
    return model.items_used if model else 0


def _date(value):
    return datetime.date.fromisoformat(value) if value else None


@shared_task(name="qa.agreement_report_refresh", **RETRY)
def agreement_report_refresh(organization_id: int, project_id: int, filters: dict) -> float:
    project = Project.objects.get(pk=project_id, organization_id=organization_id)
    row = reports.report_refresh(
        project=project,
        filters=Filters(
            date_from=_date(filters.get("from")),
            date_to=_date(filters.get("to")),
            dataset=filters.get("dataset"),
            annotator=filters.get("annotator"),
        ),
    )
    return row.seconds or 0.0
