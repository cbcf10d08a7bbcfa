from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from hotline.accounts.models import AuditLog, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "display_name", "role", "unit", "is_active"]
    list_filter = ["role", "unit", "is_active"]
    fieldsets = [*BaseUserAdmin.fieldsets, ("热线角色", {"fields": ["display_name", "role", "unit", "phone"]})]


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id", "ip"]
    list_filter = ["action"]
    search_fields = ["object_id", "actor__username"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
