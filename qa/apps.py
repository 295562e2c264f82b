from django.apps import AppConfig


class QaConfig(AppConfig):
    name = "qa"
    verbose_name = "Quality assurance"

    def ready(self) -> None:
        from labeling.signals import items_completed

        from . import tasks  # noqa: F401 (known by name to core.enqueue)
        from .receivers import on_items_completed

        # labeling never imports qa (ARCHITECTURE.md): it signals, qa listens.
        items_completed.connect(on_items_completed, dispatch_uid="qa.consensus")
