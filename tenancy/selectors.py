"""Reads, always scoped to what the caller may see.

`access_*` helpers answer the same 404 for "missing" and "not yours" so that no caller can
learn whether another tenant's object exists.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from .models import (
    CLIENT_ROLES,
    Membership,
    Organization,
    OrganizationKind,
    Project,
    ProjectAssignment,
    Role,
    WorkforceRole,
)

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
        assigned = get_objects_for_user(
            user,
            ["tenancy.annotate_project", "tenancy.review_project"],
            klass=Project,
            any_perm=True,
            accept_global_perms=False,
            with_superuser=False,
        )
        return Project.objects.filter(pk__in=assigned.values("pk"))
    return Project.objects.none()


def access_project(*, user: User, project_id: int | str) -> Project:
    return _get_or_404(project_list_for(user=user).select_related("organization"), project_id)


def project_workforce(*, project: Project) -> QuerySet[ProjectAssignment]:
    return project.assignments.select_related("user").order_by("role", "user__username")


def access_assignment(*, project: Project, assignment_id: int | str) -> ProjectAssignment:
    # Joined back to the project: an assignment of another project is "not found" here.
    return _get_or_404(project_workforce(project=project), assignment_id)


def user_may_annotate(*, user: User, project: Project) -> bool:
    """Only assigned annotators label (an operator is not one unless assigned)."""
    return project.assignments.filter(user_id=user.pk, role=WorkforceRole.ANNOTATOR).exists()


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


def _get_or_404(queryset: QuerySet, pk: int | str):
    try:
        return queryset.get(pk=int(pk))
    except (ValueError, TypeError, queryset.model.DoesNotExist) as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from exc
