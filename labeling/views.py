"""Pages of labeling: a project's imports (upload with live progress), the annotator's page."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse

from tenancy.selectors import (
    access_project,
    user_may_annotate,
    user_may_change_project,
    user_role,
)

from . import selectors
from .apis import CLIENT_SIDE


@login_required
def project_imports(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id)
    if user_role(request.user) not in CLIENT_SIDE:
        raise PermissionDenied
    context = {
        "project": project,
        "jobs": selectors.import_job_list(project=project)[:50],
        "datasets": selectors.dataset_list(project=project),
        "may_upload": user_may_change_project(user=request.user, project=project),
        "max_bytes": settings.LQA_IMPORT_MAX_BYTES,
        "max_row_bytes": settings.LQA_IMPORT_MAX_ROW_BYTES,
    }
    return render(request, "labeling/import_list.html", context)


@login_required
def annotate(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id)
    if not user_may_annotate(user=request.user, project=project):
        raise PermissionDenied
    context = {
        "project": project,
        "next_url": reverse("api-next", args=[project.pk]),
        "stats_url": reverse("api-my-stats", args=[project.pk]),
        "annotate_url_template": reverse("api-item-annotations", args=[0]),
        "skip_url_template": reverse("api-item-skip", args=[0]),
        "undo_url_template": reverse("api-annotation-undo", args=[0]),
    }
    return render(request, "labeling/annotate.html", context)
