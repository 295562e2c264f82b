"""Agreement reports: the figures of API.md's `GET projects/{id}/agreement/`, computed from a
project's annotations (qa/data.py) by the pure algorithms of qa/stats, and cached per project
and filters. Every read of a report happens in one snapshot, whose time is the report's
cut-off (`computed_at`, also answered as `as_of`): it holds every annotation committed by then.
A report is stale once newer annotations or a newer Dawid-Skene fit exist; big projects then
get the stale report at once (marked so) while Celery computes the fresh one."""

from __future__ import annotations

import datetime
import hashlib
import logging
import time

import numpy as np
import orjson
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q

from core.enqueue import enqueue
from labeling.models import Annotation, AnnotationSource
from tenancy.models import Project

from . import data
from .models import AgreementReport, TruthModel
from .stats import agreement, bootstrap, pairwise, truth
from .stats import annotators as annotator_stats

logger = logging.getLogger(__name__)

# Above this many annotations a missing or stale report is computed in Celery, not in the
# request (about 1.5 s of work on 2 cores at this size).
SYNC_LIMIT = 300_000
BOOTSTRAP_REPLICATES = 1_000
# Agreement over time: the most recent days shown.
TIMELINE_DAYS = 90
# Pairwise Cohen's kappa: a pair of annotators counts when they share this many items.
COHEN_MIN_SHARED = 10
# Seconds an annotation's stamp (created_at) may precede its commit, at most (generously): one
# stamped in this window before a snapshot may have committed after it. The snapshot counts
# the project's annotations stamped in its window, and the report stays fresh only while that
# count holds (and nothing newer exists), so such a late commit makes it stale too.
COMMIT_WINDOW = 30
# The result's key of that count (kept with the report, not answered).
_WINDOW_KEY = "window_annotations"


def _r(value: float | None, digits: int = 4) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)


def filters_key(filters: data.Filters) -> str:
    return hashlib.sha256(orjson.dumps(filters.as_dict(), option=orjson.OPT_SORT_KEYS)).hexdigest()


def report_compute(*, project: Project, filters: data.Filters) -> dict:
    """Every figure of the report from one snapshot of the database, taken now; `as_of` is its
    time (ISO 8601)."""
    started = time.perf_counter()
    with data.snapshot() as as_of:
        annotations = data.annotation_set(project=project, filters=filters)
        anchoring = anchoring_compute(project=project, filters=filters)
        in_window = _window_count(project, as_of)
    result = report_from_arrays(annotations, consensus_method=project.consensus)
    result["anchoring"] = anchoring
    result["filters"] = filters.as_dict()
    result["as_of"] = as_of.isoformat()
    result[_WINDOW_KEY] = in_window
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def report_from_arrays(s: data.AnnotationSet, *, consensus_method: str) -> dict:
    """The report of one annotation set (no database: the benchmark times this and the read)."""
    reasons: dict[str, str] = {}
    known = s.codes >= 0
    if not known.all():
        reasons["unknown_labels"] = (
            f"{int((~known).sum())} annotation(s) use labels no longer in the set; left out"
        )
    items, annotators, codes = s.items[known], s.annotators[known], s.codes[known]
    n_items, n_annotators, n_labels = len(s.item_ids), len(s.annotator_ids), len(s.labels)
    out: dict = {
        "items": int(len(np.unique(items))),
        "annotations": int(len(items)),
        "annotators": int(len(np.unique(annotators))),
        "labels": s.labels,
        "consensus_method": consensus_method,
        "multilabel": s.multilabel,
    }
    if s.multilabel:
        out.update(_multilabel_figures(s, known, reasons))
        consensus = np.where(s.final >= 0, s.final, -1)
        reliability = None
    else:
        # The agreement figures are the people's: a model's ratings have their own row in the
        # per-annotator table, never a say in how well the workforce agrees.
        kinds = np.array(s.annotator_kinds or [""] * n_annotators, dtype=object)
        people = kinds[annotators] != "model" if len(annotators) else np.ones(0, dtype=bool)
        if not people.all():
            out["agreement_of"] = "people (model annotators are left out of these figures)"
        items, annotators, codes = items[people], annotators[people], codes[people]
        labels32 = codes.astype(np.int32)
        alpha, reason = agreement.krippendorff_alpha_nominal_with_reason(items, labels32, n_labels)
        out["krippendorff_alpha"] = _r(alpha)
        if reason:
            reasons["krippendorff_alpha"] = reason
        interval = bootstrap.bootstrap_alpha_ci(
            items, labels32, n_labels, n_boot=BOOTSTRAP_REPLICATES, seed=0
        )
        defined = interval.low is not None and interval.high is not None
        out["krippendorff_alpha_ci"] = [_r(interval.low), _r(interval.high)] if defined else None
        if interval.reason:
            reasons["krippendorff_alpha_ci"] = interval.reason
        fleiss = agreement.fleiss_kappa(items, labels32, n_labels)
        out["fleiss_kappa"] = _r(fleiss.kappa)
        out["fleiss_items"] = fleiss.items_used
        out["fleiss_raters_per_item"] = fleiss.raters
        if fleiss.reason:
            reasons["fleiss_kappa"] = fleiss.reason
        cohen = pairwise.cohen_kappa_pairwise_mean(
            items, annotators, labels32, n_labels, min_overlap=COHEN_MIN_SHARED
        )
        out["mean_pairwise_cohen_kappa"] = _r(cohen.mean)
        out["cohen_pairs"] = cohen.pairs_used
        out["cohen_min_shared_items"] = COHEN_MIN_SHARED
        if cohen.reason:
            reasons["mean_pairwise_cohen_kappa"] = cohen.reason
        fit = truth.dawid_skene(
            items,
            annotators,
            labels32,
            n_items=n_items,
            n_annotators=n_annotators,
            n_labels=n_labels,
            gold=s.gold.astype(np.int32),
        )
        out["dawid_skene"] = {"iterations": int(fit.iterations), "converged": bool(fit.converged)}
        # The items' final labels where decided; the fit's answer for the rest.
        consensus = np.where(s.final >= 0, s.final, fit.labels).astype(np.int64)
        reliability = fit.reliability
        out["per_label"] = _per_label(items, labels32, n_labels, s.labels, reasons)
        matrix = agreement.confusion_matrix(items, labels32, consensus, n_labels)
        out["confusion"] = {
            "rows": "consensus label",
            "columns": "annotator's label",
            "labels": s.labels,
            "matrix": matrix.astype(int).tolist(),
        }
        out["over_time"] = _over_time(items, labels32, s.days[known][people], n_labels)
    out["per_annotator"] = _per_annotator(s, known, consensus, reliability)
    out["reasons"] = reasons
    return out


def _per_label(items, labels, n_labels: int, names: list[str], reasons: dict) -> list[dict]:
    figures = agreement.per_label_agreement(items, labels, n_labels)
    total = max(int(figures.annotations.sum()), 1)
    return [
        {
            "label": names[j],
            "annotations": int(figures.annotations[j]),
            "share": _r(figures.annotations[j] / total),
            "krippendorff_alpha": _r(figures.alpha[j]),
            "pair_agreement": _r(figures.pair_agreement[j]),
            "specific_agreement": _r(figures.specific_agreement[j]),
            "reason": figures.alpha_reason[j],
        }
        for j in range(n_labels)
    ]


def _multilabel_figures(s: data.AnnotationSet, known, reasons: dict) -> dict:
    matrix = s.label_matrix()[known]
    items = s.items[known]
    alpha = agreement.multilabel_alpha(items, matrix)
    figures = agreement.per_label_agreement(items, matrix, len(s.labels))
    per_label = [
        {
            "label": name,
            "annotations": int(figures.annotations[j]),
            # the share of annotations that chose this label (several per annotation)
            "share": _r(figures.annotations[j] / max(len(items), 1)),
            "krippendorff_alpha": _r(figures.alpha[j]),
            "pair_agreement": _r(figures.pair_agreement[j]),
            "specific_agreement": _r(figures.specific_agreement[j]),
            "reason": figures.alpha_reason[j],
        }
        for j, name in enumerate(s.labels)
    ]
    reasons["fleiss_kappa"] = "not defined for multi-label data: see the per-label alphas"
    reasons["mean_pairwise_cohen_kappa"] = "not defined for multi-label data"
    if alpha.mean is None:
        reasons["krippendorff_alpha"] = alpha.reason or "no label has a defined binary alpha"
    return {
        "krippendorff_alpha": _r(alpha.mean),
        "krippendorff_alpha_method": "mean of the per-label binary (chosen / not chosen) alphas",
        "krippendorff_alpha_ci": None,
        "fleiss_kappa": None,
        "mean_pairwise_cohen_kappa": None,
        "per_label": per_label,
        "confusion": None,
        "over_time": [],
    }


def _per_annotator(s: data.AnnotationSet, known, consensus, reliability) -> list[dict]:
    n_annotators = len(s.annotator_ids)
    if s.multilabel:
        # Multilabel sets compare as whole codes (the same set of labels or not).
        _, codes = np.unique(s.codes[known], return_inverse=True)
        universe = np.unique(s.codes[known])
        remap = {int(c): i for i, c in enumerate(universe)}
        consensus = np.array([remap.get(int(c), -1) for c in consensus], dtype=np.int64)
        gold = np.array([remap.get(int(c), -1) for c in s.gold], dtype=np.int64)
        n_labels = max(len(universe), 1)
    else:
        codes, gold, n_labels = s.codes[known], s.gold, len(s.labels)
    table = annotator_stats.per_annotator(
        s.items[known],
        s.annotators[known],
        codes,
        n_annotators,
        n_labels,
        consensus=consensus,
        gold=gold,
        durations=s.durations_ms[known],
    )
    rows = []
    for i, pk in enumerate(s.annotator_ids):
        if table.annotations[i] == 0:
            continue
        agreement_with_consensus = table.agreement_with_consensus[i]
        if s.annotator_kinds[i] == "model" and not s.multilabel:
            agreement_with_consensus = _model_agreement(s, known, i)
        rows.append(
            {
                "annotator": s.annotator_names[i],
                "annotator_id": int(pk),
                "kind": s.annotator_kinds[i],
                "annotations": int(table.annotations[i]),
                "agreement_with_consensus": _r(agreement_with_consensus),
                "agreement_with_others": _r(table.agreement_with_others[i]),
                "gold_answered": int(table.gold_compared[i]),
                "gold_accuracy": _r(table.gold_accuracy[i]),
                "reliability": _r(reliability[i]) if reliability is not None else None,
                "median_seconds": _r(table.median_duration[i] / 1000, 2),
            }
        )
    rows.sort(key=lambda row: (-row["annotations"], row["annotator"]))
    return rows


def _model_agreement(s: data.AnnotationSet, known, annotator: int) -> float | None:
    """A model's agreement with the final labels people decided. The report's consensus on an
    item nobody finished is the fit's answer, which on items only the model labeled is the
    model's own label: counted, it would make any model look perfect."""
    mine = known & (s.annotators == annotator)
    final = s.final[s.items[mine]]
    decided = final >= 0
    if not decided.any():
        return None
    return float((s.codes[mine][decided] == final[decided]).mean())


def _over_time(items, labels, days, n_labels: int) -> list[dict]:
    """Alpha per day, each item counted on the day of its last annotation."""
    if not len(items):
        return []
    last = np.zeros(int(items.max()) + 1, dtype=np.int64)
    np.maximum.at(last, items, days)
    item_day = last[items]
    points = []
    for day in np.unique(item_day)[-TIMELINE_DAYS:]:
        chosen = item_day == day
        alpha, _ = agreement.krippendorff_alpha_nominal_with_reason(
            items[chosen], labels[chosen], n_labels
        )
        points.append(
            {
                "day": (data.EPOCH + datetime.timedelta(days=int(day))).isoformat(),
                "items": int(len(np.unique(items[chosen]))),
                "krippendorff_alpha": _r(alpha),
            }
        )
    return points


# --- anchoring: do annotators follow the pre-label they see? --------------------------------


def anchoring_summary(shown: int, shown_agree: int, blind: int, blind_agree: int) -> dict:
    """How often annotators chose the pre-label when it was shown versus when they labeled
    blind (the item had a pre-label they did not see). A shown rate well above the blind one
    means people copy the model. The difference comes with a 95% Wald interval; everything is
    None, with the reason, when either side has no annotation."""
    out = {
        "shown": {"annotations": shown, "agree": shown_agree, "rate": None},
        "blind": {"annotations": blind, "agree": blind_agree, "rate": None},
        "difference": None,
        "difference_ci": None,
        "reason": None,
    }
    if shown:
        out["shown"]["rate"] = _r(shown_agree / shown)
    if blind:
        out["blind"]["rate"] = _r(blind_agree / blind)
    if not shown or not blind:
        empty = " and ".join(side for side, n in (("shown", shown), ("blind", blind)) if not n)
        out["reason"] = (
            f"no annotation with the pre-label {empty}: the comparison needs both "
            "(the project's blind share serves some tasks without their pre-label)"
        )
        return out
    p1, p2 = shown_agree / shown, blind_agree / blind
    half = 1.96 * float(np.sqrt(p1 * (1 - p1) / shown + p2 * (1 - p2) / blind))
    out["difference"] = _r(p1 - p2)
    out["difference_ci"] = [_r(p1 - p2 - half), _r(p1 - p2 + half)]
    return out


def anchoring_compute(*, project: Project, filters: data.Filters) -> dict:
    """`anchoring_summary` over the project's human annotations of pre-labeled items (against
    the item's pre-label as it is now: a re-prediction moves the reference)."""
    rows = Annotation.objects.filter(
        organization_id=project.organization_id,
        project=project,
        source=AnnotationSource.HUMAN,
        prelabel_shown__isnull=False,
        item__prelabel__isnull=False,
    )
    if filters.date_from:
        rows = rows.filter(created_at__date__gte=filters.date_from)
    if filters.date_to:
        rows = rows.filter(created_at__date__lte=filters.date_to)
    if filters.dataset:
        rows = rows.filter(item__dataset_id=filters.dataset)
    if filters.annotator:
        rows = rows.filter(annotator_id=filters.annotator)
    counts = {
        row["prelabel_shown"]: row
        for row in rows.values("prelabel_shown")
        .order_by()
        .annotate(n=Count("id"), agree=Count("id", filter=Q(label=F("item__prelabel"))))
    }
    shown, blind = counts.get(True, {}), counts.get(False, {})
    return anchoring_summary(
        shown.get("n", 0), shown.get("agree", 0), blind.get("n", 0), blind.get("agree", 0)
    )


# --- the cache --------------------------------------------------------------------------------


def _latest_change(project: Project):
    """When the inputs of a report last changed: the newest annotation or Dawid-Skene fit."""
    newest = (
        Annotation.objects.filter(organization_id=project.organization_id, project=project)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    fitted = TruthModel.objects.filter(project=project).values_list("fitted_at", flat=True).first()
    stamps = [stamp for stamp in (newest, fitted) if stamp is not None]
    return max(stamps) if stamps else None


def _window_count(project: Project, as_of) -> int:
    """The project's annotations stamped in the COMMIT_WINDOW before `as_of`, or after it."""
    since = as_of - datetime.timedelta(seconds=COMMIT_WINDOW)
    return Annotation.objects.filter(
        organization_id=project.organization_id, project=project, created_at__gt=since
    ).count()


def _fresh(project: Project, row: AgreementReport) -> bool:
    """Nothing changed since the report's snapshot: no newer annotation or fit, and no late
    commit of one stamped before it (the window's count holds)."""
    if row.computed_at is None or not row.result:
        return False
    changed = _latest_change(project)
    if changed is not None and changed > row.computed_at:
        return False
    return _window_count(project, row.computed_at) == row.result.get(_WINDOW_KEY)


def _report_row(project: Project, filters: data.Filters) -> AgreementReport:
    key = filters_key(filters)
    try:
        with transaction.atomic():
            row, _ = AgreementReport.objects.get_or_create(
                project=project,
                key=key,
                defaults={"organization_id": project.organization_id, "filters": filters.as_dict()},
            )
    except IntegrityError:  # made by a concurrent request
        row = AgreementReport.objects.get(project=project, key=key)
    return row


def report_refresh(*, project: Project, filters: data.Filters) -> AgreementReport:
    """Compute and store the report (the Celery task and small projects)."""
    row = _report_row(project, filters)
    result = report_compute(project=project, filters=filters)
    as_of = datetime.datetime.fromisoformat(result["as_of"])
    AgreementReport.objects.filter(pk=row.pk).update(
        result=result, seconds=result["seconds"], computed_at=as_of, refreshing=False
    )
    row.result, row.seconds = result, result["seconds"]
    row.computed_at, row.refreshing = as_of, False
    logger.info(
        "agreement_report_computed",
        extra={
            "project_id": project.pk,
            "annotations": result["annotations"],
            "seconds": row.seconds,
        },
    )
    return row


def report_get(
    *, project: Project, filters: data.Filters, background: bool = True
) -> tuple[dict | None, dict]:
    """The report and its state {computed_at, as_of (the same: the snapshot's time), stale,
    refreshing}. Small projects are computed in the request when needed; big ones are
    refreshed in Celery, and until the first result exists the report is None. Without
    `background` (a task that needs it now) it is always computed here when missing or stale."""
    row = _report_row(project, filters)
    fresh = _fresh(project, row)
    if not fresh:
        size = (
            row.result["annotations"]
            if row.result
            else Annotation.objects.filter(
                organization_id=project.organization_id, project=project
            ).count()
        )
        if size <= SYNC_LIMIT or not background:
            row = report_refresh(project=project, filters=filters)
            fresh = True
        elif AgreementReport.objects.filter(pk=row.pk, refreshing=False).update(refreshing=True):
            enqueue(
                "qa.agreement_report_refresh",
                organization_id=project.organization_id,
                project_id=project.pk,
                filters=filters.as_dict(),
            )
            row.refreshing = True
    state = {
        "computed_at": row.computed_at,
        "as_of": row.computed_at,
        "stale": not fresh,
        "refreshing": bool(row.refreshing),
    }
    report = row.result
    if report is not None:
        report = {key: value for key, value in report.items() if key != _WINDOW_KEY}
    return report, state
