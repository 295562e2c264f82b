"""Background work of exports. The task takes ids (the organization id joins the export back
to its tenant), reloads, runs the job, and is idempotent (run.py says how). Services enqueue
it; it imports run.py, never services.py."""

from celery import shared_task

from qa.tasks import RETRY

from .models import Export
from .run import export_run as export_job


@shared_task(name="exports.export_run", **RETRY)
def export_run(export_id: int, organization_id: int) -> str:
    # A forged id finds nothing.
    Export.objects.get(pk=export_id, organization_id=organization_id)
    return export_job(export_id=export_id).status
