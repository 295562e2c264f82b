"""The exports page: start an export, follow its progress, download the file and its
certificate."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from core.limits import LimitExceeded
from core.params import Params
from labeling.models import Dataset, ItemStatus
from tenancy.selectors import access_project

from . import selectors, services
from .models import ExportFormat


class ProjectExportsView(LoginRequiredMixin, View):
    """Start an export; follow its progress; download the file and its certificate."""

    def _project(self, request, project_id):
        project = access_project(user=request.user, project_id=project_id)
        if not selectors.user_may_read_exports(user=request.user):
            raise Http404("No project matches the given query.")
        return project

    def get(self, request, project_id: int):
        project = self._project(request, project_id)
        context = {
            "project": project,
            "exports": selectors.export_list(project=project)[:50],
            "may_export": selectors.user_may_export(user=request.user),
            "formats": ExportFormat.choices,
            "link_days": settings.LQA_EXPORT_LINK_DAYS,
            "statuses": ItemStatus.choices,
            "datasets": Dataset.objects.filter(
                organization_id=project.organization_id, project=project
            ).order_by("name"),
        }
        return render(request, "exports/export_list.html", context)

    def post(self, request, project_id: int):
        project = self._project(request, project_id)
        if not selectors.user_may_export(user=request.user):
            raise PermissionDenied
        form = request.POST
        params = Params(form)
        dataset = params.id("dataset")
        try:
            min_confidence = float(form["min_confidence"]) if form.get("min_confidence") else None
        except ValueError:
            min_confidence = None
            params.error("min_confidence", "A number from 0 to 1.")
        try:
            params.check()
            export = services.export_create(
                project=project,
                user=request.user,
                format=form.get("format", ""),
                statuses=form.getlist("status") or None,
                dataset=dataset,
                min_confidence=min_confidence,
                include_annotations=form.get("include_annotations") == "on",
                incremental=form.get("incremental") == "on",
            )
            messages.success(request, f"Export {export.pk} started.")
        except (ValidationError, LimitExceeded) as exc:
            if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
                text = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            else:
                text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            messages.error(request, f"The export was not started: {text}")
        return redirect(reverse("project-exports", args=[project.pk]))
