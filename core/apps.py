from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.core.signals import got_request_exception

        from .middleware import remember_unavailable

        got_request_exception.connect(remember_unavailable, dispatch_uid="core.unavailable")
