"""What prelabels hands to Celery, after the commit of the work that asks for it. Tasks are
named here and looked up by name, so services enqueue without importing the task module
(which imports them)."""

from celery import current_app
from django.db import transaction

MODEL_VERSION_TRAIN = "prelabels.model_version_train"
MODEL_PREDICT = "prelabels.model_predict"


def _on_commit(name: str, *args) -> None:
    transaction.on_commit(lambda: current_app.tasks[name].delay(*args))


def model_version_train(*, version_id: int, organization_id: int) -> None:
    _on_commit(MODEL_VERSION_TRAIN, version_id, organization_id)


def model_predict(*, project_id: int, organization_id: int) -> None:
    _on_commit(MODEL_PREDICT, project_id, organization_id)
