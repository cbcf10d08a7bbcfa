from django.contrib import admin

from hotline.catalog.models import (
    AppealType,
    CalendarOverride,
    CalendarYear,
    Category,
    DispatchRule,
    KnowledgeArticle,
    SlaPolicy,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "full_name", "level", "active"]
    list_filter = ["level", "active"]
    search_fields = ["code", "name", "full_name"]

    def has_delete_permission(self, request, obj=None):
        return False  # categories are deactivated, never deleted


admin.site.register(AppealType, list_display=["code", "name", "position", "active"])
admin.site.register(SlaPolicy, list_display=["name", "appeal_type", "urgency", "source", "sign_limit",
                                             "sign_limit_unit", "handle_limit", "handle_limit_unit", "active"])
admin.site.register(CalendarOverride, list_display=["date", "is_workday", "note"])
admin.site.register(CalendarYear, list_display=["year", "note"])
admin.site.register(KnowledgeArticle, list_display=["title", "category", "owner_unit", "review_date", "active"],
                    search_fields=["title", "body", "keywords"])
admin.site.register(DispatchRule, list_display=["category", "town", "unit", "position"])
