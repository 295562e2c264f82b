from django.contrib import admin

from .models import DailyUsage, ProjectSla, RateCard


@admin.register(DailyUsage)
class DailyUsageAdmin(admin.ModelAdmin):
    """Read-only: usage is counted by the platform (services.usage_add), never typed in."""

    list_display = ["day", "organization", "project", "items_imported", "annotations"]
    list_display += ["items_completed", "reviews", "exported_items", "annotator_seconds"]
    list_filter = ["organization"]
    date_hierarchy = "day"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RateCard)
class RateCardAdmin(admin.ModelAdmin):
    """Read-only here: cards are made through the API (POST organizations/{id}/rate-cards/),
    whose service keeps a client's periods from overlapping."""

    list_display = ["organization", "currency", "effective_from", "effective_to"]
    list_display += ["per_completed_item", "per_annotation", "per_review", "per_exported_item"]
    list_filter = ["organization", "currency"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ProjectSla)
class ProjectSlaAdmin(admin.ModelAdmin):
    list_display = ["project", "organization", "target_hours", "updated_at"]
    readonly_fields = ["organization", "project", "updated_by", "updated_at"]

    def has_add_permission(self, request):
        return False  # through the API (PUT projects/{id}/sla/), which fills the organization
