from django.contrib import admin

from hotline.triage.models import Suggestion, TriageModel


@admin.register(TriageModel)
class TriageModelAdmin(admin.ModelAdmin):
    list_display = ["kind", "version", "active", "created_at"]
    list_filter = ["kind", "active"]
    exclude = ["blob"]
    readonly_fields = ["kind", "version", "metadata", "created_at", "created_by"]


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    list_display = ["order", "kind", "model_version", "top_label", "chosen", "accepted", "created_at"]
    list_filter = ["kind", "accepted"]
    raw_id_fields = ["order", "model"]
    readonly_fields = ["suggested", "created_at", "settled_at"]
