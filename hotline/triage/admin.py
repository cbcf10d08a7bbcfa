from django.contrib import admin

from hotline.triage.models import Suggestion, TriageModel


# Models are trained and activated by hotline.triage's commands, suggestions written when an order
# is classified: the admin may switch a model off or read, never add a row by hand (it would have
# no trained blob, or no order and model behind it).
@admin.register(TriageModel)
class TriageModelAdmin(admin.ModelAdmin):
    list_display = ["kind", "version", "active", "created_at"]
    list_filter = ["kind", "active"]
    exclude = ["blob"]
    readonly_fields = ["kind", "version", "metadata", "created_at", "created_by"]

    def has_add_permission(self, request):
        return False


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    list_display = ["order", "kind", "model_version", "top_label", "chosen", "accepted", "created_at"]
    list_filter = ["kind", "accepted"]
    raw_id_fields = ["order", "model"]
    readonly_fields = ["suggested", "created_at", "settled_at"]

    def has_add_permission(self, request):
        return False
