from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    verbose_name = "Labeling"

    def ready(self) -> None:
        from tenancy.audit import audit_target_register

        from .models import Annotation, ImportJob, Item

        # The audit log finds the tenant of an object a 404 hid (tenancy may not import it).
        audit_target_register("item_id", Item)
        audit_target_register("job_id", ImportJob)
        audit_target_register("annotation_id", Annotation)

        from core.outbox import outbox_handler_register
        from tenancy.selectors import project_counter_register, project_panel_register

        from .imports.services import IMPORT_COMPLETED, import_completed_deliver
        from .selectors import item_counts_by_project
        from .signals import ITEMS_COMPLETED, items_completed_deliver
        from .views import recent_items_panel

        # What follows a completion, delivered from the outbox (sent as items_completed).
        outbox_handler_register(ITEMS_COMPLETED, items_completed_deliver)
        outbox_handler_register(IMPORT_COMPLETED, import_completed_deliver)

        # tenancy shows item counts and recent items on projects without importing labeling.
        project_counter_register(item_counts_by_project)
        project_panel_register(recent_items_panel)

        from . import tasks  # noqa: F401 (known by name to core.enqueue)
