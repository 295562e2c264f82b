from django.apps import AppConfig


class QaConfig(AppConfig):
    name = "qa"
    verbose_name = "Quality assurance"

    def ready(self) -> None:
        from tenancy.audit import audit_target_register

        from .models import Audit, ReviewTask

        # The audit log finds the tenant of an object a 404 hid (tenancy may not import it).
        audit_target_register("review_id", ReviewTask)
        audit_target_register("audit_id", Audit)

        from labeling.signals import items_completed

        from . import tasks  # noqa: F401 (known by name to core.enqueue)
        from .receivers import on_items_completed

        # labeling never imports qa (ARCHITECTURE.md): it signals, qa listens.
        items_completed.connect(on_items_completed, dispatch_uid="qa.consensus")
