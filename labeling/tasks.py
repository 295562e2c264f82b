"""Background work of labeling. Tasks take ids, reload, call one service."""

from celery import Task, shared_task
from django.db import OperationalError

from .imports.services import import_job_abandon, import_job_run
from .models import ImportJob, ModelVersion


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


class ModelTrainTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        from .ml_services import model_version_abandon

        model_version_abandon(version_id=args[0], reason=f"Training could not finish: {exc}")


@shared_task(
    base=ModelTrainTask,
    name="labeling.model_version_train",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=3,
)
def model_version_train(version_id: int, organization_id: int) -> str:
    from .ml_services import model_version_run

    ModelVersion.objects.get(pk=version_id, organization_id=organization_id)
    return model_version_run(version_id=version_id).status


@shared_task(
    name="labeling.model_predict",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=3,
)
def model_predict_run(project_id: int, organization_id: int) -> dict:
    from tenancy.models import Project

    from .ml_services import model_predict

    project = Project.objects.get(pk=project_id, organization_id=organization_id)
    return model_predict(project=project)
