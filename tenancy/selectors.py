"""Reads, always scoped to what the caller may see.

`access_*` helpers answer the same 404 for "missing" and "not yours" so that no caller can
learn whether another tenant's object exists.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from core.params import Invalid, Params, parse_id

from .models import (
    CLIENT_ROLES,
    AuditEvent,
    AuditEventKind,
    AuditVerdict,
    Membership,
    Organization,
    OrganizationKind,
    Project,
    ProjectAssignment,
    Role,
    WorkforceRole,
)
from .sqlrows import Columns

User = AbstractBaseUser | AnonymousUser
_MEMBERSHIP_CACHE = "_lqa_membership"


def user_membership(user: User) -> Membership | None:
    """The user's membership, read once per request object."""
    if not user.is_authenticated:
        return None
    if not hasattr(user, _MEMBERSHIP_CACHE):
        membership = Membership.objects.select_related("organization").filter(user=user).first()
        setattr(user, _MEMBERSHIP_CACHE, membership)
    return getattr(user, _MEMBERSHIP_CACHE)


def user_membership_known(user: User, membership: Membership | None) -> None:
    """Record a membership read along with the user (token authentication joins it), so that
    user_membership() answers without a query."""
    setattr(user, _MEMBERSHIP_CACHE, membership)


def user_role(user: User) -> Role | None:
    """The user's role; a superuser is an operator whatever its membership says."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.OPERATOR
    membership = user_membership(user)
    return Role(membership.role) if membership else None


def user_is_operator(user: User) -> bool:
    return user_role(user) == Role.OPERATOR


def vendor_organization() -> Organization:
    return Organization.objects.get(kind=OrganizationKind.VENDOR)


# --- organizations ------------------------------------------------------------------------


def organization_list_for(*, user: User) -> QuerySet[Organization]:
    if user_is_operator(user):
        return Organization.objects.all()
    membership = user_membership(user)
    if membership is None:
        return Organization.objects.none()
    return Organization.objects.filter(pk=membership.organization_id)


def access_organization(*, user: User, organization_id: int | str) -> Organization:
    return _get_or_404(organization_list_for(user=user), organization_id)


def member_list(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("role", "user__username")
    )


# --- projects -----------------------------------------------------------------------------


def project_list_for(*, user: User) -> QuerySet[Project]:
    """Operators see every project, client people their org's, the workforce its assignments."""
    role = user_role(user)
    if role == Role.OPERATOR:
        return Project.objects.all()
    if role in CLIENT_ROLES:
        return Project.objects.filter(organization_id=user_membership(user).organization_id)
    if role in (Role.QA_LEAD, Role.ANNOTATOR):
        # The assignment itself, in any role: the guardian permission rows follow it (one per
        # role, added and removed with it by workforce_assign/unassign), and this subquery on
        # its user index costs a fraction of guardian's get_objects_for_user (~14 ms of CPU).
        # project_read() below is the same rule for hand-written reads.
        assigned = ProjectAssignment.objects.filter(user_id=user.pk).values("project_id")
        return Project.objects.filter(pk__in=assigned)
    return Project.objects.none()


def access_project(*, user: User, project_id: int | str) -> Project:
    read = project_read(user=user)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT {read.columns} FROM "{Project._meta.db_table}" p {read.joins} '
            f'WHERE {read.condition} AND p."id" = %s',
            [*read.params, _pk_or_404(Project, project_id)],
        )
        row = cursor.fetchone()
    if row is None:
        raise Http404(f"No {Project._meta.verbose_name} matches the given query.")
    return read.project(row)


def project_workforce(*, project: Project) -> QuerySet[ProjectAssignment]:
    return project.assignments.select_related("user").order_by("role", "user__username")


def access_assignment(*, project: Project, assignment_id: int | str) -> ProjectAssignment:
    # Joined back to the project: an assignment of another project is "not found" here.
    return _get_or_404(project_workforce(project=project), assignment_id)


def user_may_annotate(*, user: User, project: Project) -> bool:
    """Only assigned annotators label (an operator is not one unless assigned). The rule is
    _MAY_ANNOTATE_SQL, which project_read() also reads along with the project."""
    known = getattr(project, _MAY_ANNOTATE, None)
    if known is not None and known[0] == user.pk:
        return known[1]
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT {_MAY_ANNOTATE_SQL} FROM "{Project._meta.db_table}" p WHERE p."id" = %s',
            [*_may_annotate_params(user), project.pk],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


# The answer of user_may_annotate, read along with the project by project_read(): (user id,
# answer), kept on the project object.
_MAY_ANNOTATE = "_lqa_may_annotate"

_PROJECT = Columns(Project, "p")
_ORGANIZATION = Columns(Organization, "o")
_ASSIGNED = f'SELECT 1 FROM "{ProjectAssignment._meta.db_table}" a WHERE a."project_id" = p."id"'
# Who may annotate project `p`: the one statement of the rule (user_may_annotate).
_MAY_ANNOTATE_SQL = f'EXISTS ({_ASSIGNED} AND a."user_id" = %s AND a."role" = %s)'


def _may_annotate_params(user: User) -> list:
    return [user.pk, WorkforceRole.ANNOTATOR.value]


@dataclass(frozen=True)
class ProjectRead:
    """A hand-written read (tenancy.sqlrows) of a project the user may see. The statement
    selects `columns` last, puts `joins` after the project's table (aliased `p`) and starts its
    WHERE with `condition`; `params` are theirs, the statement's own follow. `project(row)` is
    the project of a row, with its organization and the answer of user_may_annotate()."""

    user: User
    columns: str
    joins: str
    condition: str
    params: list

    def project(self, row) -> Project:
        project = _PROJECT.instance(row, len(row) - len(_PROJECT) - len(_ORGANIZATION) - 1)
        project.organization = _ORGANIZATION.instance(row, len(row) - len(_ORGANIZATION) - 1)
        setattr(project, _MAY_ANNOTATE, (self.user.pk, bool(row[-1])))
        return project


def project_read(*, user: User) -> ProjectRead:
    """project_list_for() for hand-written reads: the same projects, as a condition on `p`.
    Building the ORM's query cost more than running it on every request of the task queue."""
    role = user_role(user)
    if role == Role.OPERATOR:
        condition, params = "1 = 1", []
    elif role in CLIENT_ROLES:
        condition, params = 'p."organization_id" = %s', [user_membership(user).organization_id]
    elif role in (Role.QA_LEAD, Role.ANNOTATOR):
        condition, params = f'EXISTS ({_ASSIGNED} AND a."user_id" = %s)', [user.pk]
    else:
        condition, params = "1 = 0", []
    return ProjectRead(
        user=user,
        columns=f"{_PROJECT.sql}, {_ORGANIZATION.sql}, {_MAY_ANNOTATE_SQL}",
        joins=f'JOIN "{Organization._meta.db_table}" o ON o."id" = p."organization_id"',
        condition=condition,
        params=[*_may_annotate_params(user), *params],
    )


def user_may_review(*, user: User, project: Project) -> bool:
    return (
        user_is_operator(user)
        or project.assignments.filter(user_id=user.pk, role=WorkforceRole.QA_LEAD).exists()
    )


def user_may_change_project(*, user: User, project: Project) -> bool:
    return user_may_manage_organization(user=user, organization=project.organization)


def user_may_manage_organization(*, user: User, organization: Organization) -> bool:
    """Operators manage every org; a client admin manages its own."""
    if user_is_operator(user):
        return True
    membership = user_membership(user)
    return (
        membership is not None
        and membership.role == Role.CLIENT_ADMIN
        and membership.organization_id == organization.pk
    )


def user_may_create_project_in(*, user: User, organization: Organization) -> bool:
    return organization.kind == OrganizationKind.CLIENT and user_may_manage_organization(
        user=user, organization=organization
    )


# --- project counts -----------------------------------------------------------------------
# tenancy may not import labeling (ARCHITECTURE.md): labeling registers a function here that
# answers {"items", "completed", "in_review"} for a list of projects.

ProjectCounter = Callable[[list[int]], dict[int, dict[str, int]]]
_project_counter: ProjectCounter | None = None
EMPTY_COUNTS = {"items": 0, "completed": 0, "in_review": 0}


def project_counter_register(counter: ProjectCounter) -> None:
    global _project_counter
    _project_counter = counter


def project_counts(*, project_ids: list[int]) -> dict[int, dict[str, int]]:
    counts = _project_counter(project_ids) if _project_counter and project_ids else {}
    return {pk: {**EMPTY_COUNTS, **counts.get(pk, {})} for pk in project_ids}


# --- project page panels -------------------------------------------------------------------
# Other apps add sections to the project page without tenancy importing them: a panel is a
# function (request, project) -> rendered HTML, or "" when it has nothing for this caller.

ProjectPanel = Callable[..., str]
_project_panels: list[ProjectPanel] = []


def project_panel_register(panel: ProjectPanel) -> None:
    if panel not in _project_panels:
        _project_panels.append(panel)


def project_panels(*, request, project: Project) -> list[str]:
    return [html for panel in _project_panels if (html := panel(request=request, project=project))]


# --- home pages ---------------------------------------------------------------------------


def client_overview() -> QuerySet[Organization]:
    """Every client org with its projects, for the operator's home page."""
    return (
        Organization.objects.filter(kind=OrganizationKind.CLIENT)
        .annotate(member_count=Count("memberships", distinct=True))
        .prefetch_related("projects")
        .order_by("name")
    )


def workforce_user(*, user_id: int):
    """A vendor annotator or QA lead by id, for assignment; None for anyone else."""
    return (
        get_user_model()
        .objects.filter(
            pk=user_id,
            membership__organization__kind=OrganizationKind.VENDOR,
            membership__role__in=[Role.ANNOTATOR, Role.QA_LEAD],
        )
        .first()
    )


def workforce_list(*, organization: Organization) -> QuerySet[Membership]:
    return (
        member_list(organization=organization)
        .filter(Q(role=Role.ANNOTATOR) | Q(role=Role.QA_LEAD))
        .annotate(project_count=Count("user__assignments__project", distinct=True))
    )


def _pk_or_404(model, pk: int | str) -> int:
    try:
        return parse_id(pk)
    except Invalid as exc:
        raise Http404(f"No {model._meta.verbose_name} matches the given query.") from exc


def _get_or_404(queryset: QuerySet, pk: int | str):
    try:
        return queryset.get(pk=_pk_or_404(queryset.model, pk))
    except queryset.model.DoesNotExist as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from exc


# --- the audit log --------------------------------------------------------------------------

AUDIT_PAGE_MAX = 500


def audit_filters(params, *, page: bool = False) -> dict:
    """The audit log's filters from query parameters (event, verdict, organization, actor: a
    user id or a username, from, to: days, inclusive; the API's limit and cursor), read by
    core.params; ValidationError naming every bad one."""
    read = Params(params)
    filters: dict = {
        "event": read.choice("event", AuditEventKind.values),
        "verdict": read.choice("verdict", AuditVerdict.values),
        "organization_id": read.id("organization"),
        "actor": (params.get("actor") or "").strip() or None,
    }
    date_from, date_to = read.date("from"), read.date("to")
    if not page:
        filters["limit"] = read.integer("limit", minimum=1, maximum=AUDIT_PAGE_MAX)
        filters["before_id"] = read.id("cursor")
    if date_from and date_to and date_from > date_to:
        read.error("to", "Must not be before `from`.")
    read.check()
    if date_from:
        filters["since"] = datetime.datetime.combine(date_from, datetime.time(), datetime.UTC)
    if date_to:
        next_day = date_to + datetime.timedelta(days=1)
        filters["until"] = datetime.datetime.combine(next_day, datetime.time(), datetime.UTC)
    return {k: v for k, v in filters.items() if v is not None}


def audit_event_list(
    *,
    event: str | None = None,
    verdict: str | None = None,
    organization_id: int | None = None,
    actor: str | None = None,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
    before_id: int | None = None,
) -> QuerySet[AuditEvent]:
    """Security events, newest first (for operators: the callers check)."""
    events = AuditEvent.objects.all()
    if event:
        events = events.filter(event=event)
    if verdict:
        events = events.filter(verdict=verdict)
    if organization_id is not None:
        events = events.filter(
            Q(organization_id=organization_id) | Q(target_organization_id=organization_id)
        )
    if actor:
        who = Q(actor_name__iexact=actor)
        if actor.isascii() and actor.isdigit() and len(actor) <= 18:
            who |= Q(actor_id=int(actor))
        events = events.filter(who)
    if since:
        events = events.filter(created_at__gte=since)
    if until:
        events = events.filter(created_at__lt=until)
    if before_id is not None:
        events = events.filter(pk__lt=before_id)
    return events.order_by("-id")
