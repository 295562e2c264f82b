from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from .forms import AdminLoginForm
from .models import (
    AuditEvent,
    Membership,
    Organization,
    OrganizationQuota,
    Project,
    ProjectAssignment,
)

# The admin's login counts failures and locks like the site's (tenancy.logins).
admin.site.login_form = AdminLoginForm


class OrganizationQuotaInline(admin.StackedInline):
    model = OrganizationQuota
    can_delete = True
    verbose_name_plural = "quotas (blank: the installation's default, settings.LQA_QUOTAS)"


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    inlines = [OrganizationQuotaInline]
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


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: audit events are never added, changed or deleted by hand."""

    list_display = ["created_at", "event", "verdict", "actor_name", "organization_id", "address"]
    list_filter = ["event", "verdict"]
    search_fields = ["actor_name", "path", "address"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
