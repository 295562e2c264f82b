"""qa's answer to labeling's signals (sent after commit): consensus runs as a Celery task, in
the calling process when there is no broker (the demo, the unit tests)."""

from tenancy.models import Project


def on_items_completed(sender, *, project_id: int, item_ids: list[int], **kwargs) -> None:
    from .tasks import consensus_items

    organization_id = (
        Project.objects.filter(pk=project_id).values_list("organization_id", flat=True).first()
    )
    if organization_id is None:
        return
    consensus_items.delay(organization_id, project_id, list(item_ids))
