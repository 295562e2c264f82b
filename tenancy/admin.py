from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from .models import Membership, Organization, Project, ProjectAssignment


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username", "organization__name"]
    autocomplete_fields = ["user", "organization"]


@admin.register(Project)
class ProjectAdmin(GuardedModelAdmin):
    list_display = ["name", "organization", "task_type", "overlap", "consensus", "created_at"]
    list_filter = ["task_type", "consensus", "organization"]
    search_fields = ["name", "organization__name"]


@admin.register(ProjectAssignment)
class ProjectAssignmentAdmin(admin.ModelAdmin):
    """Read-only here: assignments change through the workforce API so that the guardian
    permissions follow them."""

    list_display = ["project", "user", "role", "created_at"]
    list_filter = ["role"]
    readonly_fields = ["organization", "project", "user", "role", "assigned_by", "created_at"]

    def has_add_permission(self, request):
        return False
