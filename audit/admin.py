"""Django admin shows the audit trail and change history read-only: no add, change or delete."""

from django.contrib import admin

from audit.models import AuditEvent, ChangeRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        return {}


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "sequence",
        "occurred_at",
        "action",
        "actor_username",
        "actor_role",
        "actor_organisation",
        "outcome",
        "result_count",
    ]
    list_filter = ["action", "outcome"]
    search_fields = ["actor_username", "request_id"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


# django-auditlog registers its own admin for the history model; ours is read-only.
if admin.site.is_registered(ChangeRecord):
    admin.site.unregister(ChangeRecord)


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "timestamp",
        "action",
        "content_type",
        "object_pk",
        "object_repr",
        "actor_email",
    ]
    list_filter = ["action", "content_type"]
    date_hierarchy = "timestamp"
