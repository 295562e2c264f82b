"""Pages of labeling: a project's imports (upload with live progress), the annotator's page,
the items browser."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse

from core.params import Params
from core.roles import CLIENT_SIDE, PROJECT_READERS
from tenancy.selectors import (
    access_project,
    user_may_annotate,
    user_may_change_project,
    user_role,
)

from . import selectors
from .models import ItemStatus


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


# Items per page of the items browser.
ITEMS_PAGE = 50


@login_required
def project_items(request, project_id: int):
    """The project's items with their status and final label, newest decisions included."""
    project = access_project(user=request.user, project_id=project_id)
    if user_role(request.user) not in PROJECT_READERS:
        raise PermissionDenied
    params = Params(request.GET)
    status = params.choice("status", ItemStatus.values)
    after = params.id("after")
    context = {"project": project, "statuses": ItemStatus.choices, "errors": params.errors}
    if params.errors:
        return render(request, "labeling/item_list.html", context, status=400)
    items = selectors.item_page(
        project=project, status=status, dataset_id=None, after_id=after, limit=ITEMS_PAGE + 1
    )
    more = len(items) > ITEMS_PAGE
    items = items[:ITEMS_PAGE]
    context.update(items=items, status=status, next_after=items[-1].pk if more else None)
    return render(request, "labeling/item_list.html", context)


# Items on the project page: the newest finished ones.
RECENT_ITEMS = 10


def recent_items_panel(*, request, project) -> str:
    """The project page's "Latest finished items" section (data readers only)."""
    if user_role(request.user) not in PROJECT_READERS:
        return ""
    items = selectors.recent_items(project=project, limit=RECENT_ITEMS)
    return render_to_string(
        "labeling/_recent_items.html", {"project": project, "items": items}, request=request
    )
