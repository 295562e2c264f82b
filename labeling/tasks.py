"""Background work of labeling. Tasks take ids, reload, call one service."""

from celery import Task, shared_task
from django.db import OperationalError

from .imports.services import import_job_abandon, import_job_run
from .models import ImportJob


class ImportTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        import_job_abandon(job_id=args[0], reason=f"The import could not finish: {exc}")


@shared_task(
    base=ImportTask,
    name="labeling.import_run",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=3,
)
def import_run(job_id: int, organization_id: int) -> str:
    # The organization id joins the job back to its tenant: a forged id finds nothing.
    ImportJob.objects.get(pk=job_id, organization_id=organization_id)
    return import_job_run(job_id=job_id).status
