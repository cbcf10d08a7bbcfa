from django.contrib import admin

from hotline.directory.models import Stationing, Unit, UnitGroup, UpstreamPlatform


class StationingInline(admin.TabularInline):
    model = Stationing
    extra = 0


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "short_name", "kind", "group", "parent", "must_station", "active"]
    list_filter = ["kind", "group", "must_station", "active"]
    search_fields = ["code", "name", "short_name"]
    inlines = [StationingInline]


admin.site.register(UnitGroup, list_display=["key", "name", "position"])
admin.site.register(UpstreamPlatform, list_display=["code", "name", "active"])
admin.site.register(Stationing, list_display=["unit", "staff_name", "start_date", "end_date"],
                    list_filter=["unit"])
