from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tenancy"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        from core.api import denial_recorder_register

        from .audit import audit_target_register, denial_record
        from .models import Organization, Project, ProjectAssignment

        # The API's 403s and 404s reach the audit log through core (which may not import it).
        denial_recorder_register(denial_record)
        audit_target_register("organization_id", Organization)
        audit_target_register("project_id", Project)
        audit_target_register("assignment_id", ProjectAssignment)
