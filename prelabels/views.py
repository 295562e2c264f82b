"""The model page of a project: its versions with their metrics, training and pre-labeling on
demand, the current version's reliability diagram and confusion matrix."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from core.limits import LimitExceeded
from core.roles import PROJECT_READERS
from tenancy.selectors import access_project, user_may_change_project, user_role

from . import selectors, services

# The reliability diagram's plot area, in SVG units.
CHART = 240


def reliability_chart(bins: list[dict]) -> dict | None:
    """Bars (accuracy per confidence bin) against the diagonal of perfect calibration."""
    if not bins or not any(row.get("count") for row in bins):
        return None
    bars = []
    for row in bins:
        if not row.get("count") or row.get("accuracy") is None:
            continue
        width = (row["upper"] - row["lower"]) * CHART
        height = row["accuracy"] * CHART
        bars.append(
            {
                "x": round(row["lower"] * CHART + 1, 2),
                "y": round(CHART - height, 2),
                "width": round(max(width - 2, 1), 2),
                "height": round(height, 2),
                "dot_x": round((row["confidence"] or 0) * CHART, 2),
                "dot_y": round(CHART - (row["confidence"] or 0) * CHART, 2),
                "title": (
                    f"{row['lower']:.1f}–{row['upper']:.1f}: {row['count']} items, "
                    f"accuracy {row['accuracy']:.2f}, mean confidence {row['confidence']:.2f}"
                ),
            }
        )
    ticks = [
        {"at": round(i / 4 * CHART, 2), "label": f"{i / 4:.2f}", "y_label": f"{1 - i / 4:.2f}"}
        for i in range(5)
    ]
    return {"size": CHART, "half": CHART // 2, "bars": bars, "ticks": ticks}


def confusion_rows(labels: list[str], confusion: list[list[int]]) -> list[dict]:
    rows = []
    for i, counts in enumerate(confusion or []):
        total = sum(counts) or 1
        rows.append(
            {
                "label": labels[i] if i < len(labels) else str(i),
                "cells": [
                    {"count": n, "share": n / total, "diagonal": i == j}
                    for j, n in enumerate(counts)
                ],
            }
        )
    return rows


class ProjectModelsView(LoginRequiredMixin, View):
    def _project(self, request, project_id):
        project = access_project(user=request.user, project_id=project_id)
        if user_role(request.user) not in PROJECT_READERS:
            raise PermissionDenied
        return project

    def get(self, request, project_id: int):
        project = self._project(request, project_id)
        versions = list(selectors.model_version_list(project=project)[:50])
        current = next((v for v in versions if v.is_current), None)
        context = {
            "project": project,
            "versions": versions,
            "current": current,
            "may_train": user_may_change_project(user=request.user, project=project),
            "reliability": reliability_chart(current.reliability) if current else None,
            "confusion": confusion_rows(current.label_names, current.confusion) if current else [],
            "retrain_every": services.RETRAIN_EVERY,
        }
        return render(request, "prelabels/model_list.html", context)

    def post(self, request, project_id: int):
        project = self._project(request, project_id)
        if not user_may_change_project(user=request.user, project=project):
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "predict":
                services.model_predict_queue(project=project)
                messages.success(request, "Pre-labeling of the open items started.")
            else:
                version = services.model_train(project=project, user=request.user)
                messages.success(request, f"Version {version.pk} is training.")
        except (services.ModelTrainError, LimitExceeded) as error:
            messages.error(request, str(error))
        return redirect(reverse("project-models", args=[project.pk]))
