"""Pages of quality assurance: the agreement report, the review queue, audits."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from core.params import Params
from labeling.models import Dataset
from tenancy.selectors import access_project

from . import reports, selectors, services
from .apis import TABLES, report_filters
from .models import ReviewDecision, ReviewReason, ReviewStatus


def _heatmap(confusion: dict | None) -> list[dict]:
    """Rows of the confusion matrix with each cell's share of its row (the colour)."""
    if not confusion:
        return []
    rows = []
    for i, (label, counts) in enumerate(zip(confusion["labels"], confusion["matrix"], strict=True)):
        total = sum(counts) or 1
        cells = [
            {"count": count, "share": count / total, "diagonal": j == i}
            for j, count in enumerate(counts)
        ]
        rows.append({"label": label, "cells": cells, "total": sum(counts)})
    return rows


def _timeline(points: list[dict], width: int = 640, height: int = 160) -> dict | None:
    """An SVG polyline of alpha per day (alpha spans -1..1; the chart shows 0..1 and clamps)."""
    values = [p for p in points if p["krippendorff_alpha"] is not None]
    if len(values) < 2:
        return None
    step = width / (len(values) - 1)
    coords = []
    for i, point in enumerate(values):
        y = height - max(0.0, min(1.0, point["krippendorff_alpha"])) * height
        coords.append({"x": round(i * step, 1), "y": round(y, 1), **point})
    return {
        "width": width,
        "height": height,
        "points": " ".join(f"{c['x']},{c['y']}" for c in coords),
        "dots": coords,
        "first": values[0]["day"],
        "last": values[-1]["day"],
    }


class ProjectQualityView(LoginRequiredMixin, View):
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id)
        if not selectors.user_may_read_reports(user=request.user):
            raise PermissionDenied
        params = Params(request.GET)
        filters = report_filters(params)
        report, state = None, {}
        if not params.errors:  # a bad filter computes nothing: the form shows what is wrong
            report, state = reports.report_get(project=project, filters=filters)
        query = request.GET.urlencode()
        context = {
            "project": project,
            "report": report,
            "state": state,
            "filters": filters,
            "values": request.GET,
            "errors": params.errors,
            "heatmap": _heatmap(report.get("confusion")) if report else [],
            "timeline": _timeline(report.get("over_time") or []) if report else None,
            "datasets": Dataset.objects.filter(
                organization_id=project.organization_id, project=project
            ).order_by("name"),
            "downloads": [
                {
                    "table": table,
                    "csv": f"{reverse('api-agreement-download', args=[project.pk])}"
                    f"?table={table}&format=csv&{query}",
                    "json": f"{reverse('api-agreement-download', args=[project.pk])}"
                    f"?table={table}&format=json&{query}",
                }
                for table in TABLES
            ],
            "may_review": selectors.user_may_read_reviews(user=request.user),
            "open_reviews": sum(selectors.review_counts(project=project).values()),
        }
        return render(
            request, "qa/project_quality.html", context, status=400 if params.errors else 200
        )


class ProjectReviewsView(LoginRequiredMixin, View):
    """The review queue: each open item with its annotations; accept or relabel."""

    def _project(self, request, project_id):
        project = access_project(user=request.user, project_id=project_id)
        if not selectors.user_may_read_reviews(user=request.user):
            raise PermissionDenied
        return project

    def get(self, request, project_id: int):
        project = self._project(request, project_id)
        params = Params(request.GET)
        status = params.choice("status", ReviewStatus.values, default=ReviewStatus.OPEN)
        reason = params.choice("reason", ReviewReason.values)
        if params.errors:
            status, reason = ReviewStatus.OPEN, None
        reviews = list(selectors.review_list(project=project, status=status, reason=reason)[:50])
        items = selectors.review_items(reviews=reviews)
        context = {
            "project": project,
            "rows": [{"review": r, "item": items.get(r.item_id)} for r in reviews],
            "status": status,
            "reason": reason,
            "reasons": ReviewReason.choices,
            "open": selectors.review_counts(project=project),
            "open_total": sum(selectors.review_counts(project=project).values()),
            "may_decide": selectors.user_may_review(user=request.user, project=project),
            "errors": params.errors,
        }
        return render(request, "qa/review_list.html", context, status=400 if params.errors else 200)


class ProjectReviewDecideView(LoginRequiredMixin, View):
    """The review page's form: accept or relabel one review (then back to the queue)."""

    def post(self, request, project_id: int, review_id: int):
        project = access_project(user=request.user, project_id=project_id)
        # Joined back to the project in the URL: another project's review is not found here.
        review = selectors.access_review(user=request.user, review_id=review_id)
        if review.project_id != project.pk:
            raise Http404("No review matches the given query.")
        if not selectors.user_may_review(user=request.user, project=project):
            raise PermissionDenied
        # Classification: one button per label (name "relabel"); multilabel: checkboxes.
        decision = request.POST.get("decision") or (
            ReviewDecision.RELABEL if "relabel" in request.POST else None
        )
        label = None
        if decision == ReviewDecision.RELABEL:
            if project.task_type == "multilabel":
                label = request.POST.getlist("label")
            else:
                label = request.POST.get("relabel") or None
        try:
            services.review_decide(review=review, user=request.user, decision=decision, label=label)
            messages.success(request, f"Item {review.item_id}: decided ({decision}).")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except services.Conflict as exc:
            messages.error(request, str(exc))
        back = request.POST.get("next") or ""
        if not back.startswith(reverse("project-reviews", args=[project.pk])):
            back = reverse("project-reviews", args=[project.pk])
        return redirect(back)


class ProjectAuditsView(LoginRequiredMixin, View):
    def _project(self, request, project_id):
        project = access_project(user=request.user, project_id=project_id)
        if not selectors.user_may_read_reports(user=request.user):
            raise PermissionDenied
        return project

    def get(self, request, project_id: int):
        project = self._project(request, project_id)
        context = {
            "project": project,
            "audits": selectors.audit_list(project=project)[:50],
            "may_audit": selectors.user_may_review(user=request.user, project=project),
            "may_review": selectors.user_may_read_reviews(user=request.user),
        }
        return render(request, "qa/audit_list.html", context)

    def post(self, request, project_id: int):
        project = self._project(request, project_id)
        if not selectors.user_may_review(user=request.user, project=project):
            raise PermissionDenied
        try:
            audit = services.audit_create(project=project, user=request.user)
            messages.success(
                request,
                f"Audit {audit.pk}: {audit.sample_size} of {audit.lot_size} items sampled "
                f"(code {audit.code_letter}, accept with {audit.accept} defects or fewer).",
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect(reverse("project-audits", args=[project.pk]))
