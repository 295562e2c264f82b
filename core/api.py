"""The base of every API class and the API's exception handler.

Each API class states which roles may call which method (`roles`, Sentry's scope_map), and
RoleMapApi enforces it: the objects named by the URL are resolved first (`resolve()`, so that
another tenant's object is a 404 before anything else), then the caller's role is checked
against the method's entry. A class that handles a method without an entry is refused when it
is defined. Rules that depend on the object (this project's QA leads, this organization's
admins) stay with the handler, as calls of the tenancy selectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, NamedTuple

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from .limits import LimitExceeded

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


# Who is told of each 403 and 404 the API answers (tenancy's audit log registers itself: core
# may not import it): called with the request, the status and the URL's kwargs.
DenialRecorder = Callable[..., None]
_denial_recorders: list[DenialRecorder] = []


def denial_recorder_register(recorder: DenialRecorder) -> None:
    if recorder not in _denial_recorders:
        _denial_recorders.append(recorder)


def exception_handler(exc, context):
    """DRF's handler, plus service ValidationErrors as 400 {field: [reason]}, one body for
    every 404 so that "missing" and "another tenant's" look the same, and a throttle's or a
    quota's refusal as 429 naming the limit."""
    if isinstance(exc, LimitExceeded):
        return Response(
            exc.body(),
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code in (403, 404) and "request" in context:
        for recorder in _denial_recorders:
            recorder(
                request=context["request"],
                status=response.status_code,
                kwargs=context.get("kwargs") or {},
            )
    return response
