"""Admin: where units receive messages and who wants which channels. The outbox itself is read
here without addresses in the clear; failed messages are retried from /notify/failures/."""

from django.contrib import admin

from hotline.notify.models import Delivery, Preference, UnitContact


@admin.register(UnitContact)
class UnitContactAdmin(admin.ModelAdmin):
    list_display = ["unit", "has_sms", "has_email", "has_wecom", "has_dingtalk"]
    search_fields = ["unit__name", "unit__short_name"]

    @admin.display(boolean=True, description="短信")
    def has_sms(self, obj):
        return bool(obj.sms_phone or obj.unit.contact_phone)

    @admin.display(boolean=True, description="邮箱")
    def has_email(self, obj):
        return bool(obj.email)

    @admin.display(boolean=True, description="企业微信")
    def has_wecom(self, obj):
        return bool(obj.wecom_webhook)

    @admin.display(boolean=True, description="钉钉")
    def has_dingtalk(self, obj):
        return bool(obj.dingtalk_webhook)


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "sms", "email", "wecom", "dingtalk", "quiet_from", "quiet_until"]
    list_filter = ["kind"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Read-only: rows change through the worker, delivery reports and the retry button."""

    list_display = ["created_at", "order", "kind", "channel", "recipient_kind", "masked_address", "status",
                    "attempts", "report_status", "last_error"]
    list_filter = ["status", "channel", "kind"]
    list_select_related = ["order"]
    fields = ["created_at", "order", "event", "kind", "channel", "recipient_kind", "unit", "masked_address",
              "subject", "status", "attempts", "next_attempt_at", "sent_at", "gateway_id", "report_status",
              "report_at", "last_error"]
    readonly_fields = fields

    @admin.display(description="地址")
    def masked_address(self, obj):
        return obj.masked_address

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
