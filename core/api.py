"""The base of every API class and the API's exception handler.

Each API class states which roles may call which method (`roles`, Sentry's scope_map), and
RoleMapApi enforces it: the objects named by the URL are resolved first (`resolve()`, so that
another tenant's object is a 404 before anything else), then the caller's role is checked
against the method's entry. A class that handles a method without an entry is refused when it
is defined. Rules that depend on the object (this project's QA leads, this organization's
admins) stay with the handler, as calls of the tenancy selectors.

A POST with an `Idempotency-Key` runs in one transaction that also keeps its answer for the
retries (core/idempotency.py). A database or broker that is unavailable answers 503 with
Retry-After (core/unavailable.py), never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, NamedTuple

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import Error, transaction
from django.http import Http404, JsonResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from . import idempotency, unavailable
from .limits import LimitExceeded

DENIED = "You may see this but not change it."


class Allow(NamedTuple):
    """Who may call a method, and what the others are told (403)."""

    roles: frozenset
    message: str = DENIED


class RoleMapSchema(AutoSchema):
    """The OpenAPI schema of a RoleMapApi: every POST takes an Idempotency-Key."""

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.method == "POST":
            parameters = [*parameters, IDEMPOTENCY_KEY]
        return parameters


IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER,
    str,
    OpenApiParameter.HEADER,
    description=(
        "Any string of 1 to 255 printable ASCII characters, new for each request: a retry with "
        "the same key and body answers the first answer again (marked Idempotent-Replayed); "
        "the same key with another body answers 422. Kept 24 hours, per caller."
    ),
)


class RoleMapApi(APIView):
    schema = RoleMapSchema()
    permission_classes = [IsAuthenticated]
    roles: ClassVar[dict[str, Allow]] = {}
    once: idempotency.Once | None = None  # this request's Idempotency-Key, if it has one

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

    def dispatch(self, request, *args, **kwargs):
        key = idempotency.key_of(request)
        if key is None:
            self.once = None
            return super().dispatch(request, *args, **kwargs)
        self.once = idempotency.Once(key)
        try:
            with transaction.atomic():
                response = super().dispatch(request, *args, **kwargs)
                self.once.keep(response)
        except Error as exc:  # the commit (or keeping the answer) failed: nothing was kept
            service = unavailable.service_of(exc)
            if service is None:
                raise
            unavailable.log(service, exc, request.path)
            response = JsonResponse(
                unavailable.body(service), status=503, headers=unavailable.headers()
            )
        return response

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.resolve(request, **kwargs)
        allow = self.roles.get("GET" if request.method == "HEAD" else request.method)
        if allow is not None and self.caller_role(request) not in allow.roles:
            self.deny(allow.message)
        if self.once is not None:
            self.once.claim(request)

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
    every 404 so that "missing" and "another tenant's" look the same, a throttle's or a
    quota's refusal as 429 naming the limit, 503 for an unavailable database or broker, and an
    idempotent retry's first answer."""
    if isinstance(exc, idempotency.Replay):
        return exc.response
    if isinstance(exc, LimitExceeded):
        return Response(
            exc.body(),
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(exc.retry_after)},
        )
    service = unavailable.service_of(exc)
    if service is not None:
        unavailable.log(service, exc, getattr(context.get("request"), "path", ""))
        # JSON whatever the view renders (the schema's YAML, say): the contract's body.
        return JsonResponse(unavailable.body(service), status=503, headers=unavailable.headers())
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
