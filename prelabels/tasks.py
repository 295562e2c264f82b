"""Background work of prelabels. Tasks take ids, reload, call one service."""

from celery import Task, shared_task
from django.db import OperationalError

from tenancy.models import Project

from .models import ModelVersion
from .services import model_predict, model_version_abandon, model_version_run


class ModelTrainTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        model_version_abandon(version_id=args[0], reason=f"Training could not finish: {exc}")


@shared_task(
    base=ModelTrainTask,
    name="prelabels.model_version_train",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=3,
)
def model_version_train(version_id: int, organization_id: int) -> str:
    # The organization id joins the version back to its tenant: a forged id finds nothing.
    ModelVersion.objects.get(pk=version_id, organization_id=organization_id)
    return model_version_run(version_id=version_id).status


@shared_task(
    name="prelabels.model_predict",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=3,
)
def model_predict_run(project_id: int, organization_id: int) -> dict:
    project = Project.objects.get(pk=project_id, organization_id=organization_id)
    return model_predict(project=project)
