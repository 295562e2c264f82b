"""What every app shares in the database: the outbox (work that must follow a commit, written
in the transaction it follows: core/outbox.py) and the API's idempotency keys (the first answer
to a POST, kept for its retries: core/idempotency.py)."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Now


class OutboxMessage(models.Model):
    """One piece of work to deliver after the commit of the transaction that wrote it: a task
    to send, or an event for other apps. Deleted in the transaction that delivers it.
    Server-side SQL writes these rows too (labeling_submission()), hence the database's own
    defaults."""

    topic = models.CharField(max_length=100)
    payload = models.JSONField()
    created_at = models.DateTimeField(db_default=Now())
    available_at = models.DateTimeField(
        db_default=Now(), help_text="Not delivered before this (a failed delivery waits)."
    )
    attempts = models.PositiveIntegerField(db_default=0)
    last_error = models.TextField(db_default="", blank=True)

    class Meta:
        db_table = "core_outbox"
        indexes = [models.Index(fields=["available_at", "id"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"


class IdempotencyKey(models.Model):
    """A caller's `Idempotency-Key` and the first answer given to it: stored in the transaction
    of the request's own writes, so a retry finds the answer exactly when the work was done."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request = models.CharField(max_length=300, help_text="The method and path it answered.")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    # Claimed at the request's start and answered before its commit: a committed row holds one.
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True, default="")
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField(default=b"", blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.key} of user {self.user_id}"
