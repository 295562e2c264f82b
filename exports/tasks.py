"""Background work of exports. The task takes ids (the organization id joins the export back
to its tenant), reloads, calls one service, and is idempotent (run.py says how). Services
enqueue it by name (core.enqueue)."""

from celery import shared_task

from qa.tasks import RETRY

from . import services
from .models import Export


@shared_task(name="exports.export_run", **RETRY)
def export_run(export_id: int, organization_id: int) -> str:
    # A forged id finds nothing.
    Export.objects.get(pk=export_id, organization_id=organization_id)
    return services.export_run(export_id=export_id).status
