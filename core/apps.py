from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.core.signals import got_request_exception

        from . import enqueue, tasks  # noqa: F401 (the task topic; the periodic tasks by name)
        from .middleware import remember_unavailable

        got_request_exception.connect(remember_unavailable, dispatch_uid="core.unavailable")
