from django.contrib import admin

from .models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Read-only: versions are trained and promoted by the platform (services.py), never typed
    in (an edited is_current or status would bypass the promotion rule and the transitions)."""

    list_display = ["pk", "project", "kind", "status", "is_current", "n_labels_used", "created_at"]
    list_filter = ["status", "is_current"]
    raw_id_fields = ["organization", "project", "created_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
