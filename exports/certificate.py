"""The QA certificate written beside every export: what a client needs to prove later what it
received (rows, bytes, SHA-256, the snapshot's time, the filters) and how good it was (qa's
agreement report: alpha with its interval, Fleiss' kappa, gold accuracy; the consensus method).
qa signs; exports writes."""

from __future__ import annotations

import datetime

from django.db.models import Count
from django.utils import timezone

from labeling.models import Item, ItemStatus
from qa import reports
from qa.data import Filters

from .models import Export


def certificate_build(
    *, export: Export, rows: int, sha256: str, size: int, snapshot: datetime.datetime
) -> dict:
    project = export.project
    report, state = reports.report_get(project=project, filters=Filters(), background=False)
    gold_answered = sum(r["gold_answered"] for r in report["per_annotator"]) if report else 0
    gold_right = (
        sum(r["gold_answered"] * (r["gold_accuracy"] or 0) for r in report["per_annotator"])
        if report
        else 0
    )
    counts = dict(
        Item.objects.filter(organization_id=project.organization_id, project=project)
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {
        "export": export.pk,
        "project": {"id": project.pk, "name": project.name},
        "organization": project.organization.name,
        "format": export.format,
        "filters": export.filters,
        "incremental_since": export.since.isoformat() if export.since else None,
        "rows": rows,
        "bytes": size,
        "sha256": sha256,
        "snapshot_at": snapshot.isoformat(),
        "project_items": {status: counts.get(status, 0) for status in ItemStatus.values},
        "consensus_method": project.consensus,
        "min_agreement": project.min_agreement,
        "overlap": project.overlap,
        "krippendorff_alpha": report["krippendorff_alpha"] if report else None,
        "krippendorff_alpha_ci": report.get("krippendorff_alpha_ci") if report else None,
        "fleiss_kappa": report.get("fleiss_kappa") if report else None,
        "annotations": report["annotations"] if report else None,
        "gold_answers": gold_answered,
        "gold_accuracy": round(gold_right / gold_answered, 4) if gold_answered else None,
        "reasons": (report or {}).get("reasons", {}) if report else {"report": "not available"},
        "report_computed_at": state["computed_at"].isoformat() if state["computed_at"] else None,
        "issued_at": timezone.now().isoformat(),
        "issuer": "LabelQA",
    }
