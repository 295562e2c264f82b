"""Consensus: what a completed item's label is, and how sure we are.

When an item reaches its overlap (labeling's `items_completed` signal), its annotations are
combined by the project's method: majority vote, or Dawid-Skene with the project's fitted
parameters (each annotator's confusion matrix; refitted over the whole project in Celery every
REFIT_EVERY completions). Gold items take their gold label. Then:
- confidence >= min_agreement and no tie: the item is complete with that label;
- otherwise adaptive overlap asks one more person, up to the project's max_overlap;
- at the maximum, the item goes to the review queue (a tie, or low agreement).
A gold item whose answers differ from the gold goes to review as a failed gold.
With a broker, completions are not decided one task each: a project's are gathered by a mark
in Redis (pending.py, qa/receivers.py) and decided in batches by one sweep (consensus_sweep).
"""

from __future__ import annotations

import io
import logging
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef

from core.enqueue import enqueue
from labeling import services as labeling_services
from labeling.models import Annotation, AnnotationSource, Item, ItemStatus
from tenancy.models import ConsensusMethod, Project, TaskType

from . import data, pending
from .models import ReviewReason, ReviewTask, TruthModel
from .stats import truth

logger = logging.getLogger(__name__)

# A Dawid-Skene project is refitted after this many completions since the last fit (and on
# demand); between fits new items are scored with the stored confusion matrices.
REFIT_EVERY = 500
# ... and at least this share of the items the last fit saw: a refit rereads and rewrites the
# whole project (about a minute at a million items), so big projects refit less often.
REFIT_SHARE = 0.05
# Seconds during which a project without a fitted model asks for its first fit only once.
FIRST_FIT_LEASE = 600


@dataclass(frozen=True)
class Verdict:
    label: object  # the stored label (JSON), None when there is none (a tie)
    confidence: float | None
    tie: bool = False
    gold_failures: int = 0


def _majority_single(labels: list) -> Verdict:
    counts: dict[str, int] = defaultdict(int)
    for label in labels:
        counts[label] += 1
    best = max(counts.values())
    winners = [label for label, n in counts.items() if n == best]
    confidence = best / len(labels)
    if len(winners) > 1:
        return Verdict(label=None, confidence=confidence, tie=True)
    return Verdict(label=winners[0], confidence=confidence)


def _majority_multi(project: Project, labels: list[list]) -> Verdict:
    """Per label: chosen when more than half chose it. Confidence: the weakest of the per-label
    decisions (the share on the winning side); a label split exactly in half is a tie."""
    n = len(labels)
    chosen, confidence, tie = [], 1.0, False
    for name in project.labels:
        votes = sum(1 for value in labels if name in value)
        if votes * 2 == n:
            tie = True
        if votes * 2 > n:
            chosen.append(name)
        confidence = min(confidence, max(votes, n - votes) / n)
    return Verdict(label=None if tie else chosen, confidence=confidence, tie=tie)


def _dawid_skene_single(model: TruthModel, project: Project, annotators, labels) -> Verdict:
    confusions = np.load(io.BytesIO(bytes(model.confusions)), allow_pickle=False)
    index = {pk: i for i, pk in enumerate(model.annotator_ids)}
    # Someone the last fit did not know yet is scored with the average annotator's matrix.
    average = confusions.mean(axis=0)
    rows = np.stack([confusions[index[a]] if a in index else average for a in annotators])
    codes = np.array([model.labels.index(v) if v in model.labels else -1 for v in labels])
    keep = codes >= 0
    posterior = truth.posterior_for(
        codes[keep],
        np.arange(int(keep.sum())),
        rows[keep].astype(np.float64),
        np.asarray(model.priors, dtype=np.float64),
    )
    best = int(np.argmax(posterior))
    top = np.sort(posterior)[::-1]
    tie = len(top) > 1 and bool(np.isclose(top[0], top[1]))
    return Verdict(
        label=None if tie else model.labels[best], confidence=float(posterior[best]), tie=tie
    )


def _verdict(project: Project, model: TruthModel | None, gold, votes: list[tuple]) -> Verdict:
    labels = [label for _, label in votes]
    if gold is not None:
        failures = sum(1 for label in labels if not _same(label, gold))
        agree = (len(labels) - failures) / len(labels) if labels else 1.0
        return Verdict(label=gold, confidence=agree, gold_failures=failures)
    if project.task_type == TaskType.MULTILABEL:
        return _majority_multi(project, labels)
    if project.consensus == ConsensusMethod.DAWID_SKENE and model is not None:
        return _dawid_skene_single(model, project, [a for a, _ in votes], labels)
    return _majority_single(labels)


def _same(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(a) == sorted(b)
    return a == b


def consensus_items(*, project_id: int, item_ids: list[int]) -> dict[str, int]:
    """Decide the completed items among item_ids. Idempotent: items no longer complete, or
    decided by a QA lead, are left alone, and one decided again gets the same verdict (a
    redelivered task or the demo's explicit call change nothing). Returns counts per outcome."""
    project = Project.objects.get(pk=project_id)
    model = TruthModel.objects.filter(project=project).first()
    # A QA lead's decision is final: consensus never revisits an item that has one.
    decided = Annotation.objects.filter(item=OuterRef("pk"), source=AnnotationSource.REVIEW)
    items = {
        row["pk"]: row
        for row in Item.objects.filter(
            organization_id=project.organization_id,
            project=project,
            pk__in=item_ids,
            status=ItemStatus.COMPLETE,
        )
        .exclude(Exists(decided))
        .values("pk", "gold_label", "needed")
    }
    votes: dict[int, list[tuple]] = defaultdict(list)
    for item_id, annotator_id, label in (
        Annotation.objects.filter(organization_id=project.organization_id, item_id__in=list(items))
        # A model's pre-label is a rating for the reports, never a vote.
        .exclude(source__in=[AnnotationSource.REVIEW, AnnotationSource.MODEL])
        .order_by("id")
        .values_list("item_id", "annotator_id", "label")
    ):
        votes[item_id].append((annotator_id, label))
    outcome: dict[str, int] = defaultdict(int)
    agreed: list[tuple[int, Verdict]] = []
    reviewed: list[tuple[int, Verdict]] = []
    for item_id, row in items.items():
        if not votes[item_id]:
            continue
        verdict = _verdict(project, model, row["gold_label"], votes[item_id])
        if not verdict.gold_failures and _doubtful(project, verdict):
            if row["needed"] >= project.max_overlap:  # nobody more to ask: the review queue
                reviewed.append((item_id, verdict))
            else:
                outcome[_apply(project, item_id, verdict)] += 1
        elif verdict.gold_failures:
            outcome[_apply(project, item_id, verdict)] += 1
        else:
            agreed.append((item_id, verdict))
    if reviewed:
        _review_many(project, reviewed)
        outcome["review"] += len(reviewed)
    if agreed:
        # The common outcome, all in one UPDATE (only items still complete and undecided by a
        # QA lead; an unchanged label is not written again).
        labeling_services.items_consensus_bulk_set(
            project=project,
            item_ids=[item_id for item_id, _ in agreed],
            labels=[verdict.label for _, verdict in agreed],
            confidences=[verdict.confidence for _, verdict in agreed],
        )
        outcome["complete"] += len(agreed)
    if project.consensus == ConsensusMethod.DAWID_SKENE and outcome:
        _count_towards_refit(project, sum(outcome.values()))
    return dict(outcome)


# Items decided per consensus_items call of a sweep: their ids, votes and verdicts are held in
# memory (a few hundred bytes each with short labels: well under 1 MB), and their plain
# "complete" outcomes are written by one UPDATE.
SWEEP_BATCH = 500
# Seconds a sweep walks before it hands the rest to a fresh task: a backlog of a million items
# (an import) then neither holds a worker for an hour (past the broker's visibility timeout,
# which would deliver the task twice) nor keeps other projects' sweeps waiting.
SWEEP_SECONDS = 60


@dataclass(frozen=True)
class Sweep:
    outcome: dict[str, int]
    # Unfinished: a sweep is to walk on from this id (the project is still marked).
    resume_after: int | None = None


def consensus_sweep(*, project: Project, after_id: int = 0) -> Sweep:
    """Decide every item of the project that waits for consensus (complete, no label, no QA
    lead's decision) with consensus_items, SWEEP_BATCH at a time, in two walks in id order.
    The project's pending mark (pending.py) is cleared between them: a completion committed
    before the clear is seen by the second walk; one committed after it marks the project anew,
    which enqueues the next sweep. An item that cannot be decided (no votes) is tried once per
    sweep. Idempotent like consensus_items."""
    # (id, completed_at): an item extended, undone or reworked and completed again while the
    # sweep runs is pending anew and decided again.
    tried: set[tuple] = set()
    outcome: dict[str, int] = defaultdict(int)
    stopped = _sweep_walk(project, tried, outcome, after=after_id)
    if stopped is not None:
        return Sweep(dict(outcome), resume_after=stopped)
    pending.consensus_pending_clear(project_id=project.pk)
    stopped = _sweep_walk(project, tried, outcome, after=0)
    # Out of time in the last walk: the rest was perhaps completed before the clear, so the
    # project is marked again; if someone else marked it first, their sweep walks it all.
    if stopped is not None and pending.consensus_pending_mark(project_id=project.pk):
        return Sweep(dict(outcome), resume_after=stopped)
    return Sweep(dict(outcome))


def _sweep_walk(project: Project, tried: set[tuple], outcome: dict, *, after: int) -> int | None:
    """Decide the pending items with ids above `after`; None at the end, or the last id seen
    when SWEEP_SECONDS ran out."""
    deadline = time.monotonic() + SWEEP_SECONDS
    # The partial index item_consensus_pending holds exactly the complete, unlabeled rows. No
    # anti-join with the QA leads' decisions here: consensus_items() leaves decided items alone
    # (and a decision sets the label, so they are hardly ever in this index), and PostgreSQL
    # planned that anti-join as a merge over every annotation of the project up to the last
    # pending id: 58 ms a walk at 100,000 items, 14% of the database's time in the queue
    # benchmark.
    waiting = (
        Item.objects.filter(
            organization_id=project.organization_id,
            project=project,
            status=ItemStatus.COMPLETE,
            label__isnull=True,
        )
        .order_by("id")
        .values_list("id", "completed_at")
    )
    while True:
        rows = list(waiting.filter(id__gt=after)[:SWEEP_BATCH])
        new = [row for row in rows if row not in tried]
        if new:
            tried.update(new)
            counts = consensus_items(project_id=project.pk, item_ids=[pk for pk, _ in new])
            for name, n in counts.items():
                outcome[name] += n
            pending.consensus_pending_renew(project_id=project.pk)
        if len(rows) < SWEEP_BATCH:
            return None
        after = rows[-1][0]
        if time.monotonic() > deadline:
            return after


def _doubtful(project: Project, verdict: Verdict) -> bool:
    return verdict.tie or (
        verdict.confidence is not None and verdict.confidence < project.min_agreement
    )


def _apply(project: Project, item_id: int, verdict: Verdict) -> str:
    """A doubtful verdict or a failed gold: one more person, or the review queue."""
    with transaction.atomic():
        if verdict.gold_failures:
            reason = ReviewReason.GOLD_FAILED
            detail = f"{verdict.gold_failures} answer(s) differ from the gold label"
            if labeling_services.item_review_send(
                project=project, item_id=item_id, label=verdict.label, confidence=verdict.confidence
            ):
                review_open(
                    project=project,
                    item_id=item_id,
                    reason=reason,
                    detail=detail,
                    proposed_label=verdict.label,
                    confidence=verdict.confidence,
                )
            return "gold_failed"
        if labeling_services.item_overlap_extend(
            project=project, item_id=item_id, confidence=verdict.confidence
        ):
            return "extended"
        if labeling_services.item_review_send(
            project=project, item_id=item_id, label=verdict.label, confidence=verdict.confidence
        ):
            review_open(project=project, item_id=item_id, **_doubt(project, verdict))
        return "review"


def _doubt(project: Project, verdict: Verdict) -> dict:
    """A doubtful verdict's review: its reason, detail, proposed label and confidence."""
    if verdict.tie:
        reason, detail = ReviewReason.TIE, "the vote is tied"
    else:
        reason = ReviewReason.LOW_AGREEMENT
        detail = f"confidence {verdict.confidence:.2f} < {project.min_agreement:.2f}"
    return {
        "reason": reason,
        "detail": detail,
        "proposed_label": verdict.label,
        "confidence": verdict.confidence,
    }


def _review_many(project: Project, verdicts: list[tuple[int, Verdict]]) -> None:
    """_apply() of doubtful items that cannot ask one more person (at their maximum overlap),
    in two statements: with random votes a third of a project's items are ties, and one at a
    time they cost the Celery worker more than all the agreed ones."""
    with transaction.atomic():
        sent = set(
            labeling_services.items_review_send_bulk(
                project=project,
                item_ids=[item_id for item_id, _ in verdicts],
                labels=[verdict.label for _, verdict in verdicts],
                confidences=[verdict.confidence for _, verdict in verdicts],
            )
        )
        # One open review per item (review_open_once_per_item): a redelivered task adds none.
        ReviewTask.objects.bulk_create(
            [
                ReviewTask(
                    organization_id=project.organization_id,
                    project=project,
                    item_id=item_id,
                    **_doubt(project, verdict),
                )
                for item_id, verdict in verdicts
                if item_id in sent
            ],
            ignore_conflicts=True,
        )


def review_open(
    *,
    project: Project,
    item_id: int,
    reason: str,
    detail: str = "",
    proposed_label=None,
    confidence: float | None = None,
    audit=None,
) -> ReviewTask | None:
    """Put an item in the review queue; None when it is there already (one open review per
    item: a redelivered task adds nothing)."""
    try:
        with transaction.atomic():
            return ReviewTask.objects.create(
                organization_id=project.organization_id,
                project=project,
                item_id=item_id,
                reason=reason,
                detail=detail,
                proposed_label=proposed_label,
                confidence=confidence,
                audit=audit,
            )
    except IntegrityError:
        return None


def _count_towards_refit(project: Project, completed: int) -> None:
    """Refit after REFIT_EVERY completions and REFIT_SHARE of the fitted items (counted on the
    model's row), or now when the project has no fitted model yet (asked at most once per
    FIRST_FIT_LEASE seconds)."""
    counted = TruthModel.objects.filter(project=project).update(pending=F("pending") + completed)
    if counted:
        due = (
            TruthModel.objects.filter(project=project, pending__gte=REFIT_EVERY)
            .filter(pending__gte=F("items_used") * REFIT_SHARE)
            .update(pending=0)
        )
    else:
        due = cache.add(f"qa:first-fit:{project.pk}", 1, timeout=FIRST_FIT_LEASE)
    if due:
        enqueue(
            "qa.truth_model_refit", organization_id=project.organization_id, project_id=project.pk
        )


# --- the whole project: Dawid-Skene refit -------------------------------------------------


def truth_model_fit(*, project: Project, write: bool = True) -> TruthModel | None:
    """Fit Dawid-Skene over every annotation of the project, store the parameters, and (with
    `write`) rewrite the label and confidence of complete items that no QA lead decided."""
    if project.task_type == TaskType.MULTILABEL:
        return None
    annotations = data.annotation_set(project=project)
    # Models' annotations are not votes (nor evidence about the humans' confusions).
    is_model = np.array([kind == "model" for kind in annotations.annotator_kinds], dtype=bool)
    keep = annotations.codes >= 0
    if len(is_model):
        keep &= ~is_model[annotations.annotators]
    if not keep.any():
        return None
    n_labels = len(project.labels)
    gold = np.where(annotations.gold >= 0, annotations.gold, -1)
    result = truth.dawid_skene(
        annotations.items[keep],
        annotations.annotators[keep],
        annotations.codes[keep].astype(np.int32),
        n_items=len(annotations.item_ids),
        n_annotators=len(annotations.annotator_ids),
        n_labels=n_labels,
        gold=gold.astype(np.int32),
    )
    buffer = io.BytesIO()
    np.save(buffer, result.confusions.astype(np.float32), allow_pickle=False)
    model, _ = TruthModel.objects.update_or_create(
        project=project,
        defaults={
            "organization_id": project.organization_id,
            "labels": list(project.labels),
            "annotator_ids": [int(pk) for pk in annotations.annotator_ids],
            "confusions": buffer.getvalue(),
            "priors": [float(p) for p in result.priors],
            "items_used": int(len(annotations.item_ids)),
            "annotations_used": int(keep.sum()),
            "iterations": int(result.iterations),
            "converged": bool(result.converged),
            "pending": 0,
        },
    )
    if write:
        decided = result.labels >= 0
        labels = [project.labels[i] for i in result.labels[decided]]
        labeling_services.items_consensus_bulk_set(
            project=project,
            item_ids=annotations.item_ids[decided].tolist(),
            labels=labels,
            # rounded: a refit that moves a confidence in the 5th decimal rewrites nothing
            confidences=np.round(result.confidence[decided], 4).tolist(),
        )
    logger.info(
        "truth_model_fitted",
        extra={
            "project_id": project.pk,
            "items": model.items_used,
            "iterations": model.iterations,
            "converged": model.converged,
        },
    )
    return model
