"""The security audit log: failed logins and lockouts (tenancy.logins), quota refusals
(tenancy.quotas), 403s and the 404s that hid another tenant's object (the API's exception
handler, core.api, and the pages' handler403/handler404). Every event is written by
audit_record(), once; AuditEvent rows are never changed.

The request being served is kept in a context variable (AuditContextMiddleware), so that a
service deep in a request (a quota) records the address and route without being handed them."""

from __future__ import annotations

import ipaddress
import logging
from contextvars import ContextVar

from django.db import DatabaseError, models, transaction

from .models import AuditEvent, AuditEventKind, AuditVerdict, Organization
from .selectors import user_membership

logger = logging.getLogger(__name__)

_current_request: ContextVar = ContextVar("lqa_audit_request", default=None)


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def request_address(request) -> str | None:
    """The caller's address (REMOTE_ADDR: behind a proxy, the proxy's), or None."""
    if request is None:
        return None
    value = request.META.get("REMOTE_ADDR") or ""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _user_of(request):
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and user.is_authenticated else None


def _organization_of(user) -> int | None:
    membership = user_membership(user) if user is not None else None
    return membership.organization_id if membership else None


def audit_record(
    *,
    event: str,
    verdict: str,
    request=None,
    actor=None,
    actor_name: str = "",
    organization_id: int | None = None,
    target_type: str = "",
    target_id: object = "",
    target_organization_id: int | None = None,
    detail: dict | None = None,
) -> AuditEvent | None:
    """Write one security event. The actor defaults to the request's user and the tenant to
    the actor's organization; the request (default: the one being served) gives the address,
    method, route and path. A database that refuses the row costs the event its row, not the
    caller its answer: the event is still logged."""
    request = request if request is not None else _current_request.get()
    if actor is None and not actor_name:
        actor = _user_of(request)
    if organization_id is None and actor is not None:
        organization_id = _organization_of(actor)
    match = getattr(request, "resolver_match", None) if request is not None else None
    event_row = AuditEvent(
        event=event,
        verdict=verdict,
        actor_id=actor.pk if actor is not None else None,
        actor_name=(actor_name or (actor.get_username() if actor is not None else ""))[:150],
        organization_id=organization_id,
        address=request_address(request),
        method=(request.method or "")[:8] if request is not None else "",
        route=(match.view_name or "")[:100] if match else "",
        path=request.path[:500] if request is not None else "",
        target_type=target_type[:50],
        target_id=str(target_id)[:64],
        target_organization_id=target_organization_id,
        detail=detail or {},
    )
    fields = {
        "event": event,
        "verdict": verdict,
        "actor_id": event_row.actor_id,
        "actor_name": event_row.actor_name,
        "organization_id": organization_id,
        "address": event_row.address,
        "route": event_row.route,
        "target": f"{target_type}:{event_row.target_id}",
    }
    try:
        with transaction.atomic():
            event_row.save()
    except DatabaseError:
        logger.exception("audit_write_failed", extra=fields)
        return None
    logger.warning("security_event", extra=fields)
    return event_row


# --- 403 and 404 ---------------------------------------------------------------------------
# Which model each URL kwarg names: each app registers its own (tenancy may not import them).
_TARGETS: dict[str, type[models.Model]] = {}


def audit_target_register(kwarg: str, model: type[models.Model]) -> None:
    _TARGETS[kwarg] = model


def _owner(model: type[models.Model], pk) -> int | None:
    """The organization an object belongs to (unscoped: it is not shown), None if missing."""
    if not isinstance(pk, int):
        return None
    if model is Organization:
        return pk if Organization.objects.filter(pk=pk).exists() else None
    return model._base_manager.filter(pk=pk).values_list("organization_id", flat=True).first()


def _targets(kwargs: dict):
    for kwarg, value in kwargs.items():
        model = _TARGETS.get(kwarg)
        if model is not None:
            yield model, value


def denial_record(*, request, status: int, kwargs: dict) -> None:
    """A 403, or a 404 that hid an object of another tenant: the innermost object the URL
    names that exists and belongs to another organization than the caller's. A 404 for what
    does not exist, or for the caller's own organization's objects, is no event."""
    user = _user_of(request)
    if user is None:
        return
    mine = _organization_of(user)
    if status == 404:
        # Innermost first: /projects/<mine>/workforce/<theirs>/ hid the assignment.
        for model, pk in reversed(list(_targets(kwargs))):
            owner = _owner(model, pk)
            if owner is not None and owner != mine:
                audit_record(
                    event=AuditEventKind.CROSS_TENANT,
                    verdict=AuditVerdict.NOT_FOUND,
                    request=request,
                    actor=user,
                    organization_id=mine,
                    target_type=model._meta.model_name,
                    target_id=pk,
                    target_organization_id=owner,
                )
                return
        return
    targets = list(_targets(kwargs))
    model, pk = targets[-1] if targets else (None, "")
    audit_record(
        event=AuditEventKind.FORBIDDEN,
        verdict=AuditVerdict.FORBIDDEN,
        request=request,
        actor=user,
        organization_id=mine,
        target_type=model._meta.model_name if model else "",
        target_id=pk,
        target_organization_id=_owner(model, pk) if model else None,
    )
