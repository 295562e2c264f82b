"""Logins with a lockout after repeated failures, per account and per address: the token
endpoint (tenancy.apis), the login form and the admin's (tenancy.forms) all call
login_authenticate().

The counters are django-ratelimit's, in the cache (Redis in production, shared by every
process). Each tier ("5/15m") is a fixed window per account or address; a tier counts the
attempts and, apart, the successes in its window, so that its failures are the difference.
An attempt is counted (an atomic increment) before its password is checked, so concurrent
guesses each get a number of their own and the ones past the limit are refused unchecked.
While a tier is locked every attempt is refused, the right password too, until its window
ends; a longer tier (20 a day) makes repeated lockouts grow longer."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django_ratelimit.core import get_usage

from core.limits import wait_text

from .audit import audit_record, request_address
from .models import AuditEventKind, AuditVerdict
from .selectors import user_membership

ACCOUNT, ADDRESS = "login_failures_per_account", "login_failures_per_address"
# Seconds a login waits when the cache cannot count (django-ratelimit then fails closed).
UNAVAILABLE_RETRY_AFTER = 60
# An IPv6 caller owns at least a /64: its addresses count as one.
IPV6_PREFIX = 64


@dataclass(frozen=True)
class Lockout:
    limit: str  # ACCOUNT or ADDRESS
    retry_after: int  # seconds

    @property
    def message(self) -> str:
        whose = "this account" if self.limit == ACCOUNT else "this address"
        return (
            f"Too many failed logins for {whose}. Logins are refused for "
            f"{wait_text(self.retry_after)}, even with the right password; try again then."
        )


@dataclass(frozen=True)
class LoginResult:
    user: object | None
    lockout: Lockout | None = None


@dataclass(frozen=True)
class _Tier:
    limit: str
    rate: str
    value: str


def _address_key(request) -> str | None:
    address = request_address(request)
    if address and ":" in address:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False).network_address)
    return address


def _tiers(request, username: str) -> list[_Tier]:
    account = username.casefold()
    tiers = [_Tier(ACCOUNT, rate, account) for rate in settings.LQA_LOGIN_LIMITS_ACCOUNT]
    address = _address_key(request)
    if address:
        tiers += [_Tier(ADDRESS, rate, address) for rate in settings.LQA_LOGIN_LIMITS_ADDRESS]
    return tiers


def _usage(request, tier: _Tier, counter: str, *, increment: bool) -> dict | None:
    return get_usage(
        request,
        group=f"lqa.login.{counter}.{tier.limit}",
        key=lambda group, request: tier.value,
        rate=tier.rate,
        increment=increment,
    )


@dataclass(frozen=True)
class _Count:
    tier: _Tier
    failures: int  # in the tier's window, not counting the attempt being made
    limit: int  # 0: the cache could not count
    time_left: int


def _counts(request, tiers: list[_Tier], *, count_attempt: bool) -> list[_Count]:
    """Each tier's failures; counting the attempt (True) adds it first, atomically, so that
    concurrent attempts each see the ones numbered before theirs."""
    counts = []
    for tier in tiers:
        attempts = _usage(request, tier, "attempts", increment=count_attempt)
        successes = _usage(request, tier, "successes", increment=False)
        if attempts is None or successes is None:  # RATELIMIT_ENABLE off
            continue
        failures = attempts["count"] - int(count_attempt) - successes["count"]
        counts.append(_Count(tier, failures, attempts["limit"], attempts["time_left"]))
    return counts


def _lockout(counts: list[_Count], *, failed_now: bool = False) -> Lockout | None:
    """The longest lockout these counts hold (the attempt itself among the failures when it
    has just failed), or None."""
    found = []
    for count in counts:
        if count.limit == 0:  # django-ratelimit fails closed
            found.append(Lockout(count.tier.limit, UNAVAILABLE_RETRY_AFTER))
        elif count.failures + int(failed_now) >= count.limit:
            found.append(Lockout(count.tier.limit, count.time_left + 1))
    return max(found, key=lambda lock: lock.retry_after) if found else None


def _account(username: str):
    """The account a username names (for the audit log's actor and tenant), or None."""
    User = get_user_model()
    return User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()


def _record(event: str, verdict: str, request, username: str, **detail) -> None:
    account = _account(username)
    membership = user_membership(account) if account is not None else None
    audit_record(
        event=event,
        verdict=verdict,
        request=request,
        actor=account,
        actor_name=username,
        organization_id=membership.organization_id if membership else None,
        target_type="account",
        target_id=account.pk if account is not None else "",
        target_organization_id=membership.organization_id if membership else None,
        detail=detail,
    )


def login_authenticate(*, request, username: str, password: str) -> LoginResult:
    """The user these credentials name (None when they are wrong), or the lockout that
    refuses them without a look at the password. The failure that reaches a limit answers
    with its lockout too."""
    tiers = _tiers(request, username)
    lockout = _lockout(_counts(request, tiers, count_attempt=False))
    if lockout is None:
        counts = _counts(request, tiers, count_attempt=True)
        lockout = _lockout(counts)
    if lockout is not None:
        _record(
            AuditEventKind.LOGIN_REFUSED,
            AuditVerdict.REFUSED,
            request,
            username,
            limit=lockout.limit,
            retry_after=lockout.retry_after,
        )
        return LoginResult(None, lockout)
    user = authenticate(request, username=username, password=password)
    if user is not None:
        for tier in tiers:
            _usage(request, tier, "successes", increment=True)
        return LoginResult(user)
    _record(AuditEventKind.LOGIN_FAILED, AuditVerdict.FAILED, request, username)
    lockout = _lockout(counts, failed_now=True)
    if lockout is not None:
        _record(
            AuditEventKind.LOCKOUT,
            AuditVerdict.LOCKED,
            request,
            username,
            limit=lockout.limit,
            retry_after=lockout.retry_after,
        )
    return LoginResult(None, lockout)
