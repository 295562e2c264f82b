"""Model versions of a project: training one (with the promotion rule), pre-labeling the open
items with the current one, and retraining after enough new labels. The algorithms live in
prelabels/ml (arrays in, arrays out); this module reads and writes the database around them.

Pre-labels (`model_predict`): the current version scores the open items in id-keyset chunks
and writes, through labeling's `item_prelabels_set`, each item's prelabel, prelabel_confidence,
priority (= uncertainty: the queue serves the most uncertain first) and `needed` by the
adaptive overlap rule (ml/active.py): a confident item (confidence >= the project's
model_threshold) needs one person, except the audited share (the project's audit_share), which
keeps the project's full overlap. Each prediction is also recorded as an annotation (source
"model") by the project's model annotator, so that the agreement report shows the model as a
row of its own; consensus never counts it as a vote (nor does the item's `done`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.enqueue import enqueue
from core.jobs import JobStatus
from core.limits import LimitExceeded
from core.transitions import InvalidTransition
from labeling.selectors import item_known_labels, item_open_batches
from labeling.services import ItemPrelabel, item_prelabels_set
from tenancy.models import Project, TaskType
from tenancy.quotas import quota_claimed

from . import selectors
from .ml import inputs as ml_inputs
from .ml import storage, training
from .ml.active import overlap_plan
from .ml.base import IMAGE_SKLEARN, IMAGE_TORCH
from .models import ModelVersion
from .statuses import model_version_transition

logger = logging.getLogger(__name__)

# Open items scored and written per chunk: their data (~2 KB a text) plus features, a few MB.
PREDICT_CHUNK = 2000
# A new version trains after this many items completed since the current one became current.
RETRAIN_EVERY = 500
MODELS_FOLDER = "models"


class ModelTrainError(ValueError):
    """The project cannot train a model (the message says why)."""


def _versions(project: Project):
    return ModelVersion.objects.filter(organization_id=project.organization_id, project=project)


def model_version_current(*, project: Project) -> ModelVersion | None:
    return selectors.model_version_current(project=project)


def model_train(*, project: Project, user=None) -> ModelVersion:
    """Queue a new version (it trains in Celery after commit). A project whose items cannot
    train a model still gets its version, failed with the reason, when it runs. Over the
    organization's training quota: LimitExceeded (tenancy.quotas), nothing queued."""
    if project.task_type == TaskType.MULTILABEL:
        raise ModelTrainError("Models are trained for classification projects only.")
    quota = {"kind": "trainings", "project": project, "jobs": ModelVersion.objects, "user": user}
    with quota_claimed(**quota) as claim:
        version = ModelVersion.objects.create(
            organization_id=project.organization_id, project=project, created_by=user
        )
        enqueue(
            "prelabels.model_version_train",
            version.pk,
            project.organization_id,
            priority=claim.priority,
        )
    return version


def _training_items(project: Project) -> tuple[list[str], list, list[int]]:
    """(keys, datas, label indices) of the items with a final label (complete) or a gold one."""
    names = list(project.labels)
    index = {name: position for position, name in enumerate(names)}
    keys, datas, labels = [], [], []
    for item_id, data, final in item_known_labels(project=project, chunk_size=PREDICT_CHUNK):
        if not isinstance(final, str) or final not in index:
            continue
        keys.append(str(item_id))
        datas.append(data)
        labels.append(index[final])
    return keys, datas, labels


def _model_path(version: ModelVersion) -> tuple[str, Path]:
    name = f"{MODELS_FOLDER}/project-{version.project_id}-v{version.pk}.model"
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return name, path


def _promotion(project, result, inputs, labels, label_names) -> tuple[bool, str]:
    """Whether the new version replaces the current one, and why (ml/promotion.py's rule: the
    current version is scored on the new version's held-out items)."""
    current = model_version_current(project=project)
    if current is None:
        return True, "no current version"
    if list(current.label_names) != list(label_names):
        return True, "the label set changed since the current version"
    if not len(result.heldout_index):
        return training.compare(result.metrics, current.metrics)
    try:
        model = storage.load(Path(settings.MEDIA_ROOT) / current.file.name)
    except (OSError, ValueError) as error:
        return True, f"the current version's file could not be read ({error})"
    held = result.heldout_index
    evaluation = training.evaluate(
        model, [inputs[i] for i in held], [labels[i] for i in held], project.model_threshold
    )
    return training.compare(result.metrics, evaluation.metrics)


def model_version_run(*, version_id: int) -> ModelVersion:
    """Train a queued version. Idempotent: a finished version is returned as it is."""
    version = ModelVersion.objects.select_related("project").get(pk=version_id)
    if version.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        return version
    model_version_transition(version=version, to=JobStatus.RUNNING, started_at=timezone.now())
    project = version.project
    try:
        result, kind, n_used, inputs, labels = _train(project)
    except ModelTrainError as error:
        return model_version_transition(
            version=version,
            to=JobStatus.FAILED,
            message=str(error),
            finished_at=timezone.now(),
        )
    name, path = _model_path(version)
    storage.save(result.model, path)
    promote, reason = _promotion(project, result, inputs, labels, project.labels)
    with transaction.atomic():
        if promote:
            # Two versions finishing at once take turns here (the later one ends current)
            # instead of both claiming the one current slot.
            Project.objects.select_for_update().filter(pk=project.pk).first()
            _versions(project).filter(is_current=True).update(is_current=False)
        model_version_transition(
            version=version,
            to=JobStatus.SUCCEEDED,
            kind=result.model.kind,
            is_current=promote,
            metrics=_json(result.metrics),
            reliability=_json(result.reliability),
            confusion=_json(result.confusion),
            label_names=list(project.labels),
            file=name,
            n_labels_used=n_used,
            message=("Promoted: " if promote else "Not promoted: ") + reason,
            finished_at=timezone.now(),
        )
    logger.info(
        "model_version_trained",
        extra={"version_id": version.pk, "project_id": project.pk, "current": promote},
    )
    return version


def _train(project: Project):
    if project.task_type == TaskType.MULTILABEL:
        raise ModelTrainError("Models are trained for classification projects only.")
    keys, datas, labels = _training_items(project)
    if len(set(labels)) < 2:
        raise ModelTrainError(
            f"Training needs labeled items of at least 2 classes; the project has "
            f"{len(labels)} labeled item(s) of {len(set(labels))} class(es)."
        )
    try:
        input_kind, inputs = ml_inputs.inputs_from_data(datas)
    except ValueError as error:
        raise ModelTrainError(f"The items cannot be read as model inputs: {error}") from error
    try:
        result = training.train_version(
            input_kind,
            inputs,
            labels,
            len(project.labels),
            seed=0,
            threshold=project.model_threshold,
            label_names=list(project.labels),
            keys=keys,
        )
    except ValueError as error:  # inputs the model layer refuses (it names what and why)
        raise ModelTrainError(f"The model could not be trained: {error}") from error
    return result, input_kind, len(labels), inputs, labels


def _json(value):
    """numpy scalars and arrays to plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def model_version_abandon(*, version_id: int, reason: str) -> None:
    """A version whose task died: failed, with the reason (it never became current)."""
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None:
        return
    try:
        model_version_transition(
            version=version, to=JobStatus.FAILED, message=reason, finished_at=timezone.now()
        )
    except InvalidTransition:
        pass


def _input_kind(model_kind: str) -> str:
    return ml_inputs.IMAGE if model_kind in (IMAGE_SKLEARN, IMAGE_TORCH) else ml_inputs.TEXT


def model_predict(*, project: Project) -> dict[str, int]:
    """Pre-label the open items with the current version (see the module docstring). Returns
    counts {items, confident, audited}; a project without a current version changes nothing."""
    version = model_version_current(project=project)
    if version is None:
        return {"items": 0, "confident": 0, "audited": 0}
    try:
        model = storage.load(Path(settings.MEDIA_ROOT) / version.file.name)
    except (OSError, ValueError) as error:
        logger.warning(
            "model_file_unreadable", extra={"version_id": version.pk, "error": str(error)}
        )
        return {"items": 0, "confident": 0, "audited": 0}
    kind = _input_kind(model.kind)
    counts = {"items": 0, "confident": 0, "audited": 0, "skipped": 0}
    for chunk in item_open_batches(project=project, size=PREDICT_CHUNK):
        readable, inputs = [], []
        for item_id, data in chunk:
            try:
                inputs.append(ml_inputs.input_from_data(data, kind))
                readable.append(item_id)
            except (KeyError, ValueError, TypeError):
                counts["skipped"] += 1
        if readable:
            _write_predictions(project, model, readable, inputs, counts)
    logger.info("model_predicted", extra={"project_id": project.pk, **counts})
    return counts


def _write_predictions(project, model, item_ids, inputs, counts) -> None:
    labels, confidence = model.calibrator.top(model.logits(inputs))
    plan = overlap_plan(
        confidence,
        [str(item_id) for item_id in item_ids],
        threshold=project.model_threshold,
        full_overlap=project.overlap,
        audit_share=project.audit_share,
        seed=project.pk,
    )
    names = model.label_names
    written = item_prelabels_set(
        project=project,
        predictions=[
            ItemPrelabel(
                item_id=item_id,
                label=names[int(labels[position])],
                confidence=round(float(confidence[position]), 6),
                priority=round(1.0 - float(confidence[position]), 6),
                needed=int(plan.needed[position]),
            )
            for position, item_id in enumerate(item_ids)
        ],
    )
    counts["items"] += len(written)
    counts["confident"] += int(plan.confident.sum())
    counts["audited"] += int(plan.audit.sum())


def model_predict_queue(*, project: Project) -> None:
    """Pre-label in Celery after commit (ValueError when no version is current)."""
    if model_version_current(project=project) is None:
        raise ModelTrainError("No current model version: train one first.")
    enqueue("prelabels.model_predict", project.pk, project.organization_id)


# The count and its reset in one statement: the row's lock orders racing completions, and the
# one that reaches RETRAIN_EVERY (and only that one) sees the count start again. One raw
# statement because it runs after every completion (the queue's busiest path, where building
# the two ORM updates cost more than running them).
_COUNT = f"""
UPDATE "{ModelVersion._meta.db_table}"
SET new_completions = CASE WHEN new_completions + %s >= %s THEN 0 ELSE new_completions + %s END
WHERE project_id = %s AND is_current
RETURNING new_completions = 0
"""


def model_completions_count(*, project_id: int, count: int) -> bool:
    """Count completed items towards retraining (one UPDATE of the current version's row); at
    RETRAIN_EVERY a new version is queued and the count starts again. True when queued."""
    if count <= 0:
        return False
    with connection.cursor() as cursor:
        cursor.execute(_COUNT, [count, RETRAIN_EVERY, count, project_id])
        row = cursor.fetchone()
    if row is None or not row[0]:
        return False
    project = Project.objects.get(pk=project_id)
    busy = _versions(project).filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
    if busy.exists():
        return False
    try:
        model_train(project=project, user=None)
    except LimitExceeded:
        return False  # the client's quota is spent: the next RETRAIN_EVERY tries again
    return True
