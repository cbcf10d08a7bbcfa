from django.contrib import admin

from hotline.intake.models import ReportBackAttempt, UpstreamCredential


@admin.register(UpstreamCredential)
class UpstreamCredentialAdmin(admin.ModelAdmin):
    """Keys are created and rotated with ``hotline upstream secret <code>`` and never shown here."""

    list_display = ["platform", "active", "last_seen"]
    fields = ["platform", "active", "last_seen"]
    readonly_fields = ["platform", "last_seen"]

    def has_add_permission(self, request):
        return False


@admin.register(ReportBackAttempt)
class ReportBackAttemptAdmin(admin.ModelAdmin):
    list_display = ["order", "at", "ok", "http_status", "error"]
    list_filter = ["ok"]
    search_fields = ["order__number", "order__upstream_number"]
    list_select_related = ["order"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
