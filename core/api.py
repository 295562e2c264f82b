"""The base of every API class and the API's exception handler.

Each API class states which roles may call which method (`roles`, Sentry's scope_map), and
RoleMapApi enforces it: the objects named by the URL are resolved first (`resolve()`, so that
another tenant's object is a 404 before anything else), then the caller's role is checked
against the method's entry. A class that handles a method without an entry is refused when it
is defined. Rules that depend on the object (this project's QA leads, this organization's
admins) stay with the handler, as calls of the tenancy selectors.

A database or broker that is unavailable answers 503 with Retry-After (core/unavailable.py),
never a 500."""

from __future__ import annotations

from typing import ClassVar, NamedTuple

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from . import unavailable

DENIED = "You may see this but not change it."


class Allow(NamedTuple):
    """Who may call a method, and what the others are told (403)."""

    roles: frozenset
    message: str = DENIED


class RoleMapApi(APIView):
    permission_classes = [IsAuthenticated]
    roles: ClassVar[dict[str, Allow]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        handled = {
            method.upper()
            for method in cls.http_method_names
            if method not in ("head", "options") and hasattr(cls, method)
        }
        missing = handled - set(cls.roles)
        if missing:
            raise ImproperlyConfigured(
                f"{cls.__qualname__} handles {', '.join(sorted(missing))} without saying "
                "which roles may (its `roles` map)"
            )

    def caller_role(self, request) -> str | None:
        raise NotImplementedError

    def resolve(self, request, **kwargs) -> None:
        """Fetch the objects the URL names, through the caller's scope (404 when not theirs)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.resolve(request, **kwargs)
        allow = self.roles.get("GET" if request.method == "HEAD" else request.method)
        if allow is not None and self.caller_role(request) not in allow.roles:
            self.deny(allow.message)

    @staticmethod
    def deny(message: str = DENIED):
        raise exceptions.PermissionDenied(message)


def exception_handler(exc, context):
    """DRF's handler, plus service ValidationErrors as 400 {field: [reason]}, one body for
    every 404 so that "missing" and "another tenant's" look the same, and 503 for an
    unavailable database or broker."""
    service = unavailable.service_of(exc)
    if service is not None:
        unavailable.log(service, exc, getattr(context.get("request"), "path", ""))
        return Response(unavailable.body(service), status=503, headers=unavailable.headers())
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)
