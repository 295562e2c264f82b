from django.contrib import admin

from .models import Export


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    """Read-only: an export is started through the API or its page (services.export_create),
    and its status moves only through the job."""

    list_display = ["pk", "project", "organization", "format", "status", "rows", "created_at"]
    list_filter = ["status", "format"]
    raw_id_fields = ["organization", "project", "created_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
