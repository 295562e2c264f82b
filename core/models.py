"""What every app shares in the database: the outbox (work that must follow a commit, written
in the transaction it follows: core/outbox.py)."""

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
