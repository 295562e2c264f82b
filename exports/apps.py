from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Exports"

    def ready(self) -> None:
        from tenancy.audit import audit_target_register

        from .models import Export

        # The audit log finds the tenant of an object a 404 hid (tenancy may not import it).
        audit_target_register("export_id", Export)

        from . import tasks  # noqa: F401 (known by name to core.enqueue)
