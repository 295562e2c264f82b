from django.contrib import admin

from .models import Dataset, Item


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "organization", "created_at"]
    search_fields = ["name", "project__name"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "status", "done", "needed", "label", "created_at"]
    list_filter = ["status"]
    search_fields = ["external_id"]
    raw_id_fields = ["organization", "project", "dataset"]
    show_full_result_count = False  # no COUNT(*) over millions of items on each page
