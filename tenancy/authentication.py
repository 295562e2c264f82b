"""API authentication: DRF's token scheme, with the caller's membership in the same read."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from . import selectors
from .models import Membership, Organization, Project, ProjectAssignment, Role, WorkforceRole
from .sqlrows import Columns

_TOKEN = Columns(Token, "t")
_USER = Columns(get_user_model(), "u")
_MEMBERSHIP = Columns(Membership, "m")
_ORGANIZATION = Columns(Organization, "o")
# One statement for the token, its user, and the membership and organization that every
# request asks next (the caller's role and tenant), written once (tenancy.sqlrows).
_CALLER_COLUMNS = f"{_TOKEN.sql}, {_USER.sql}, {_MEMBERSHIP.sql}, {_ORGANIZATION.sql}"
_CALLER_FROM = f"""
FROM "{Token._meta.db_table}" t
JOIN "{get_user_model()._meta.db_table}" u ON u."id" = t."user_id"
LEFT JOIN "{Membership._meta.db_table}" m ON m."user_id" = u."id"
LEFT JOIN "{Organization._meta.db_table}" o ON o."id" = m."organization_id"
"""
_CALLER_WIDTH = len(_TOKEN) + len(_USER) + len(_MEMBERSHIP) + len(_ORGANIZATION)
_SQL = f'SELECT {_CALLER_COLUMNS} {_CALLER_FROM} WHERE t."key" = %s'


def _caller(row) -> tuple:
    """(token, user) of a row that starts with _CALLER_COLUMNS; the user's membership (if any)
    is recorded for selectors.user_membership(), which then answers without a query."""
    token = _TOKEN.instance(row)
    user = token.user = _USER.instance(row, len(_TOKEN))
    membership = _MEMBERSHIP.instance(row, len(_TOKEN) + len(_USER))
    if membership is not None:
        membership.user = user
        membership.organization = _ORGANIZATION.instance(row, _CALLER_WIDTH - len(_ORGANIZATION))
    selectors.user_membership_known(user, membership)
    return token, user


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, answered as DRF's own class answers it."""

    def authenticate_credentials(self, key):
        with connection.cursor() as cursor:
            cursor.execute(_SQL, [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token, user = _caller(row)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, token


# --- the task queue's fast path (labeling.middleware) ---------------------------------------

_PROJECT = Columns(Project, "p")
_PROJECT_ORGANIZATION = Columns(Organization, "po")
# A token, its user and membership, and a project, in one statement, when the token's person is
# of the workforce (not a superuser) and assigned to the project as an annotator: then the
# project is theirs to see (project_read(): workforce people see the projects they are assigned
# to) and theirs to label (user_may_annotate()). A sufficient condition, not the rule: for any
# other caller there is no row, and the full stack applies the rules. `joins` may put tables
# between the membership and the project; `project` is the project id's SQL (a placeholder, or
# a joined column); `columns` are selected after the project's. (The assignment as a column
# instead of a condition measured 20% slower on small user tables: a hashed subplan.)
_ANNOTATOR_SQL = f"""
SELECT {_CALLER_COLUMNS}, {_PROJECT.sql}, {_PROJECT_ORGANIZATION.sql} {{columns}}
{_CALLER_FROM}
{{joins}}
JOIN "{Project._meta.db_table}" p ON p."id" = {{project}}
JOIN "{Organization._meta.db_table}" po ON po."id" = p."organization_id"
WHERE t."key" = %s AND u."is_active" AND NOT u."is_superuser" AND m."role" IN (%s, %s)
  AND EXISTS (
      SELECT 1 FROM "{ProjectAssignment._meta.db_table}" a
      WHERE a."project_id" = p."id" AND a."user_id" = u."id" AND a."role" = %s
  )
"""


def annotator_read(
    *, key: str, params: list, project: str = "%s", joins: str = "", columns: str = ""
) -> tuple | None:
    """(user, project, the row's remaining columns) of a token whose person may label the
    project (see _ANNOTATOR_SQL), with the user's membership and the project's answer of
    user_may_annotate() known, as token authentication and project_read() leave them; None
    when that is not so, and the full stack must decide."""
    sql = _ANNOTATOR_SQL.format(
        columns=f", {columns}" if columns else "", joins=joins, project=project
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, key, Role.ANNOTATOR, Role.QA_LEAD, WorkforceRole.ANNOTATOR])
        row = cursor.fetchone()
    if row is None:
        return None
    _, user = _caller(row)
    start = _CALLER_WIDTH
    project_ = _PROJECT.instance(row, start)
    project_.organization = _PROJECT_ORGANIZATION.instance(row, start + len(_PROJECT))
    selectors.user_may_annotate_known(user=user, project=project_, answer=True)
    return user, project_, row[start + len(_PROJECT) + len(_PROJECT_ORGANIZATION) :]
