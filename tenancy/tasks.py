"""Background tasks of tenancy."""

import socket

from celery import shared_task
from django.db import connection

from .models import Organization


@shared_task(bind=True, name="tenancy.worker_ping")
def worker_ping(self) -> dict:
    """Answer from a worker with what it sees: its host, its database, the organizations there.
    The status page and the integration tests use it to prove a worker shares the web's data."""
    return {
        "hostname": socket.gethostname(),
        "database": connection.settings_dict["NAME"],
        "vendor": Organization.objects.filter(kind="vendor").values_list("name", flat=True).first(),
        "organizations": Organization.objects.count(),
        # How this call ran, not what the settings say (tests switch the app to eager).
        "eager": bool(self.request.is_eager),
    }
