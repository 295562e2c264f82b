"""Demo exports: the client's admin exports what quality assurance finished (the task runs
after the demo's commit)."""

from tenancy.models import Project

from . import services


def seed(context: dict) -> None:
    project: Project = context["projects"]["reviews"]
    admin = context["users"]["northwind.admin"]
    export = services.export_create(project=project, user=admin, format="jsonl")
    context["stdout"].write(
        f"  {project.name}: export {export.pk} of the completed items queued (JSONL)"
    )
