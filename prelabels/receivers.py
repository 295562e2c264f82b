"""labeling's own answer to its items_completed signal (sent after commit): count the
completions towards retraining the project's model (one UPDATE; ml_services.py)."""


def on_items_completed(sender, *, project_id: int, item_ids: list[int], **kwargs) -> None:
    from .ml_services import model_completions_count

    model_completions_count(project_id=project_id, count=len(item_ids))
