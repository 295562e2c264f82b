"""API authentication: DRF's token scheme, with the caller's membership in the same read."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from . import selectors
from .models import Membership, Organization
from .sqlrows import Columns

_TOKEN = Columns(Token, "t")
_USER = Columns(get_user_model(), "u")
_MEMBERSHIP = Columns(Membership, "m")
_ORGANIZATION = Columns(Organization, "o")
# One statement for the token, its user, and the membership and organization that every
# request asks next (the caller's role and tenant), written once (tenancy.sqlrows).
_SQL = f"""
SELECT {_TOKEN.sql}, {_USER.sql}, {_MEMBERSHIP.sql}, {_ORGANIZATION.sql}
FROM "{Token._meta.db_table}" t
JOIN "{get_user_model()._meta.db_table}" u ON u."id" = t."user_id"
LEFT JOIN "{Membership._meta.db_table}" m ON m."user_id" = u."id"
LEFT JOIN "{Organization._meta.db_table}" o ON o."id" = m."organization_id"
WHERE t."key" = %s
"""


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, answered as DRF's own class answers it."""

    def authenticate_credentials(self, key):
        with connection.cursor() as cursor:
            cursor.execute(_SQL, [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token = _TOKEN.instance(row)
        user = token.user = _USER.instance(row, len(_TOKEN))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        membership = _MEMBERSHIP.instance(row, len(_TOKEN) + len(_USER))
        if membership is not None:
            membership.user = user
            membership.organization = _ORGANIZATION.instance(row, len(row) - len(_ORGANIZATION))
        selectors.user_membership_known(user, membership)
        return user, token
