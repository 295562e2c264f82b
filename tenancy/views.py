"""Pages: the login page, the home page of each role, a project page, the operators' status
page and audit log, and the 403/404 pages (which write the audit log)."""

import logging
import time
from urllib.parse import urlsplit

from celery import current_app as celery_app
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.shortcuts import render
from django.views import defaults

from . import selectors
from .audit import denial_record
from .forms import LoginForm
from .models import AuditEventKind, AuditVerdict, Role
from .tasks import worker_ping

logger = logging.getLogger(__name__)


class LoginView(auth_views.LoginView):
    """Django's login page; while failed logins lock the account or the address it answers
    429 with Retry-After and says so (tenancy.logins)."""

    form_class = LoginForm
    template_name = "tenancy/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.lockout is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.lockout.retry_after)
        return response


def page_not_found(request, exception):
    """handler404: the audit log hears of a hidden object of another tenant first."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        denial_record(request=request, status=404, kwargs=match.kwargs)
    return defaults.page_not_found(request, exception)


def permission_denied(request, exception):
    """handler403: every 403 of a page goes to the audit log."""
    match = getattr(request, "resolver_match", None)
    denial_record(request=request, status=403, kwargs=match.kwargs if match else {})
    return defaults.permission_denied(request, exception)


@login_required
def home(request):
    role = selectors.user_role(request.user)
    membership = selectors.user_membership(request.user)
    context = {"role": role}
    if role == Role.OPERATOR:
        clients = list(selectors.client_overview())
        project_ids = [p.pk for c in clients for p in c.projects.all()]
        context.update(
            clients=clients,
            counts=selectors.project_counts(project_ids=project_ids),
            vendor=selectors.vendor_organization(),
            workforce=selectors.workforce_list(organization=selectors.vendor_organization()),
        )
        template = "tenancy/home_operator.html"
    elif role in (Role.CLIENT_ADMIN, Role.CLIENT_VIEWER):
        projects = list(selectors.project_list_for(user=request.user).order_by("name"))
        context.update(
            organization=membership.organization,
            projects=projects,
            counts=selectors.project_counts(project_ids=[p.pk for p in projects]),
        )
        template = "tenancy/home_client.html"
    elif role in (Role.QA_LEAD, Role.ANNOTATOR):
        assignments = list(
            request.user.assignments.select_related("project__organization").order_by(
                "project__organization__name", "project__name"
            )
        )
        context.update(
            assignments=assignments,
            counts=selectors.project_counts(project_ids=[a.project_id for a in assignments]),
        )
        template = "tenancy/home_workforce.html"
    else:
        template = "tenancy/home_nobody.html"
    return render(request, template, context)


@login_required
def project_detail(request, project_id: int):
    project = selectors.access_project(user=request.user, project_id=project_id)
    context = {
        "project": project,
        "counts": selectors.project_counts(project_ids=[project.pk])[project.pk],
        "workforce": selectors.project_workforce(project=project),
        "may_change": selectors.user_may_change_project(user=request.user, project=project),
        "may_annotate": selectors.user_may_annotate(user=request.user, project=project),
        "show_data_links": selectors.user_role(request.user)
        in (Role.OPERATOR, Role.CLIENT_ADMIN, Role.CLIENT_VIEWER),
        "show_item_links": selectors.user_role(request.user) != Role.ANNOTATOR,
        "show_review_link": selectors.user_role(request.user) in (Role.OPERATOR, Role.QA_LEAD),
        "panels": selectors.project_panels(request=request, project=project),
    }
    return render(request, "tenancy/project_detail.html", context)


# How long the status page waits for a worker before it says none answered.
PING_TIMEOUT_SECONDS = 5


@login_required
def system_status(request):
    if not selectors.user_is_operator(request.user):
        raise PermissionDenied
    started = time.monotonic()
    try:
        # Expires: with no worker up, a ping must not wait in the queue to run hours later.
        result = worker_ping.apply_async(expires=PING_TIMEOUT_SECONDS)
        worker = result.get(timeout=PING_TIMEOUT_SECONDS)
        result.forget()
        worker_error = None
    except Exception as exc:  # any failure here is what the page is for: show it
        logger.warning("worker_ping_failed", extra={"error": repr(exc)})
        worker, worker_error = None, f"{type(exc).__name__}: {exc}"
    context = {
        "database": {
            "server": f"{connection.display_name} {_version(connection.pg_version)}",
            "name": connection.settings_dict["NAME"],
        },
        "broker": _without_credentials(settings.CELERY_BROKER_URL),
        "eager": bool(worker and worker["eager"]) or celery_app.conf.task_always_eager,
        "worker": worker,
        "worker_error": worker_error,
        "round_trip_ms": round((time.monotonic() - started) * 1000, 1),
        "debug": settings.DEBUG,
    }
    return render(request, "tenancy/system_status.html", context)


# Events the audit page shows at most (the API pages through all of them).
AUDIT_PAGE_ROWS = 200


@login_required
def audit_log(request):
    """The security audit log for operators (anyone else: 404), newest first, filtered."""
    if not selectors.user_is_operator(request.user):
        raise Http404("No such page.")
    errors = {}
    try:
        filters = selectors.audit_filters(request.GET, page=True)
    except ValidationError as exc:
        filters, errors = {}, exc.message_dict
    context = {
        "events": selectors.audit_event_list(**filters)[:AUDIT_PAGE_ROWS],
        "rows": AUDIT_PAGE_ROWS,
        "kinds": AuditEventKind.choices,
        "verdicts": AuditVerdict.choices,
        "params": request.GET,
        "errors": errors,
    }
    return render(request, "tenancy/audit_log.html", context, status=400 if errors else 200)


def _without_credentials(url: str) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"


def _version(number: int) -> str:
    """PostgreSQL's version number as people write it (180006: 18.6)."""
    return f"{number // 10000}.{number % 10000}"
