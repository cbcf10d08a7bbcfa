from django.contrib import admin

from hotline.assessment.models import (
    Appeal,
    BonusAward,
    ExclusionDecision,
    ManualAdjustment,
    MonthlyResult,
    ScorecardVersion,
)


@admin.register(ScorecardVersion)
class ScorecardVersionAdmin(admin.ModelAdmin):
    """Scorecards are configuration: the admin edits them here (validated by ``load_scorecard``)."""

    list_display = ("group", "valid_from", "note", "created_at")
    list_filter = ("group",)

    def save_model(self, request, obj, form, change):
        if not obj.created_by_id:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written only by hotline.assessment.actions; the admin may look."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MonthlyResult)
class MonthlyResultAdmin(ReadOnlyAdmin):
    list_display = ("year", "month", "version", "state", "computed_at", "published_at")
    list_filter = ("state", "year")


@admin.register(ManualAdjustment)
class ManualAdjustmentAdmin(ReadOnlyAdmin):
    list_display = ("unit", "year", "month", "points", "state", "entered_by", "approved_by")
    list_filter = ("state", "year", "month")


@admin.register(BonusAward)
class BonusAwardAdmin(ReadOnlyAdmin):
    list_display = ("unit", "year", "month", "kind", "order", "entered_by")
    list_filter = ("kind", "year", "month")


@admin.register(ExclusionDecision)
class ExclusionDecisionAdmin(ReadOnlyAdmin):
    list_display = ("order", "excluded", "decided_by", "decided_at")


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    list_display = ("unit", "year", "month", "line_label", "state", "filed_by", "decided_by")
    list_filter = ("state", "year", "month")
