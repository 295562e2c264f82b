"""Idempotent retries (API.md, "Every route"): a POST with an `Idempotency-Key` header answers
its first answer again when it is retried with the same key and body.

The whole request runs in one transaction (core.api.RoleMapApi): once the caller is known the
key is claimed by inserting its row, the view runs, and the answer is written to the row
before the commit. So the answer is kept exactly when the request's writes are: a request
that failed (a 5xx, a lost database) or was throttled (429) kept nothing, and its retry runs
anew. A retry while the
first request is still running waits for it (the unique index holds the retry's insert until
the first commits or rolls back) and then answers its answer, or runs if it kept nothing.
Keys are the caller's own (unique per user), bound to the method, path and body they were
first used with (another body: 422), and kept LQA_IDEMPOTENCY_HOURS (24 by default)."""

from __future__ import annotations

import datetime
import hashlib
import json

import orjson
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.http import HttpResponse, QueryDict
from django.utils import timezone
from rest_framework import exceptions, status

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Headers of the first answer that its replays repeat.
KEPT_HEADERS = ("Location", "Retry-After")

_TABLE = IdempotencyKey._meta.db_table
_CLAIM = f"""
INSERT INTO {_TABLE} (user_id, key, request, fingerprint, content_type, headers, body, created_at)
VALUES (%s, %s, %s, %s, '', '{{}}', '', %s)
ON CONFLICT (user_id, key) DO NOTHING RETURNING id
"""


def kept_for() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.LQA_IDEMPOTENCY_HOURS)


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


class KeyInFlight(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = f"A request with this {HEADER} has no answer yet: retry in a moment."
    default_code = "idempotency_key_in_flight"


class Replay(Exception):
    """The key's first answer, to be answered again (core.api's exception handler does)."""

    def __init__(self, row: IdempotencyKey):
        super().__init__(row.key)
        self.response = HttpResponse(
            bytes(row.body), status=row.status_code, content_type=row.content_type or None
        )
        for name, value in row.headers.items():
            self.response[name] = value
        self.response[REPLAYED_HEADER] = "true"


def key_of(request) -> str | None:
    """The key a POST carries, None without one."""
    if request.method != "POST":
        return None
    return request.headers.get(HEADER)


class Once:
    """One keyed request: claimed in RoleMapApi.initial() once the caller is known, its answer
    kept in RoleMapApi.dispatch() before the commit."""

    def __init__(self, key: str):
        self.key = key
        self.row_id: int | None = None

    def claim(self, request) -> None:
        """Claim the key for this request, or raise Replay (its first answer) or KeyReused."""
        if not 1 <= len(self.key) <= 255 or not self.key.isascii() or not self.key.isprintable():
            raise exceptions.ValidationError(
                {HEADER: ["Give 1 to 255 printable ASCII characters (a UUID, say)."]}
            )
        described = f"{request.method} {request.get_full_path()}"[:300]
        fingerprint = _fingerprint(described, request)
        user_id = request.user.pk
        for _ in range(2):  # once more when an expired row was in the way
            with connection.cursor() as cursor:
                cursor.execute(_CLAIM, [user_id, self.key, described, fingerprint, timezone.now()])
                claimed = cursor.fetchone()
            if claimed is not None:
                self.row_id = claimed[0]
                return
            row = IdempotencyKey.objects.filter(user_id=user_id, key=self.key).first()
            if row is None:
                continue  # purged between the two statements
            if row.created_at < timezone.now() - kept_for():
                row.delete()  # older than we keep keys: a new use
                continue
            if row.fingerprint != fingerprint:
                raise KeyReused(
                    f"This {HEADER} was used for another request ({row.request} with another "
                    "body): send a new key for a new request."
                )
            if row.status_code is None:  # not seen committed (keep() answers every claim)
                raise KeyInFlight()
            raise Replay(row)
        raise KeyInFlight()

    def keep(self, response) -> None:
        """Store the answer with the request's writes. A 5xx (or a broken transaction) keeps
        nothing, the writes included, and neither does a 429 (a throttle or quota refused
        it): a retry of those runs anew."""
        if self.row_id is None:
            return
        if response.status_code >= 500 or response.status_code == 429 or connection.needs_rollback:
            transaction.set_rollback(True)
            return
        if hasattr(response, "render"):
            response.render()
        IdempotencyKey.objects.filter(pk=self.row_id).update(
            status_code=response.status_code,
            content_type=response.get("Content-Type", ""),
            headers={name: response[name] for name in KEPT_HEADERS if response.has_header(name)},
            body=response.content,
        )


def _fingerprint(described: str, request) -> str:
    """The request's method, path and body, canonical: JSON as data (key order and spacing do
    not matter), forms and uploads as their fields and each file's name, size and SHA-256."""
    digest = hashlib.sha256(described.encode())
    data = request.data
    if isinstance(data, QueryDict):
        fields = []
        for name in sorted(data.keys()):
            for value in data.getlist(name):
                if isinstance(value, UploadedFile):
                    fields.append([name, value.name, value.size, _file_digest(value)])
                else:
                    fields.append([name, value])
        digest.update(orjson.dumps(fields))
    else:
        try:
            digest.update(orjson.dumps(data, option=orjson.OPT_SORT_KEYS))
        except TypeError:  # an integer wider than 64 bits, say
            digest.update(json.dumps(data, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _file_digest(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def idempotency_keys_purge() -> int:
    """Delete the keys older than we keep them; how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - kept_for()).delete()
    return deleted
