"""prelabels' answer to labeling's items_completed signal (sent after commit): count the
completions towards retraining the project's model (one UPDATE; services.py)."""

from .services import model_completions_count


def on_items_completed(sender, *, project_id: int, item_ids: list[int], **kwargs) -> None:
    model_completions_count(project_id=project_id, count=len(item_ids))
