"""Reads of exports, always scoped to what the caller may see."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from core.params import parse_id
from core.roles import CLIENT_MANAGERS, CLIENT_SIDE
from tenancy.models import Project
from tenancy.selectors import project_list_for, user_role

from .models import Export

# Exports are the client's: its admins and viewers, and the operators. Anyone else gets 404 for
# them (not 403): the workforce never learns that an export exists.


def user_may_read_exports(*, user) -> bool:
    return user_role(user) in CLIENT_SIDE


def user_may_export(*, user) -> bool:
    return user_role(user) in CLIENT_MANAGERS


def export_list(*, project: Project) -> QuerySet[Export]:
    return Export.objects.filter(organization_id=project.organization_id, project=project)


def access_export(*, user, export_id) -> Export:
    if not user_may_read_exports(user=user):
        raise Http404("No export matches the given query.")
    try:
        return Export.objects.select_related("project__organization").get(
            pk=parse_id(export_id), project__in=project_list_for(user=user)
        )
    except (ValueError, TypeError, Export.DoesNotExist) as exc:
        raise Http404("No export matches the given query.") from exc
