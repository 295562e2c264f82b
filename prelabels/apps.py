from django.apps import AppConfig

from labeling.signals import items_completed


class PrelabelsConfig(AppConfig):
    name = "prelabels"
    verbose_name = "Pre-labels"

    def ready(self) -> None:
        # The tasks register with Celery here: services enqueue them by name (core.enqueue).
        from . import tasks  # noqa: F401
        from .receivers import on_items_completed

        items_completed.connect(on_items_completed, dispatch_uid="prelabels.model_retrain")
