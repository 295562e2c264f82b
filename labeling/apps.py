from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    verbose_name = "Labeling"

    def ready(self) -> None:
        from tenancy.selectors import project_counter_register

        from .selectors import item_counts_by_project

        # tenancy shows item counts on projects without importing labeling.
        project_counter_register(item_counts_by_project)
