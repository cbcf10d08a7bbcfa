from django import forms
from django.contrib import admin

from hotline.catalog import history
from hotline.catalog.models import (
    AppealType,
    CalendarOverride,
    CalendarYear,
    Category,
    CategoryVersion,
    DispatchRule,
    KnowledgeArticle,
    KnowledgeRevision,
    SlaPolicy,
)
from hotline.catalog.tree import TreeError, first_editable_day


class CategoryForm(forms.ModelForm):
    valid_from = forms.DateField(
        label="生效日期", required=False,
        help_text="修改名称或上级分类时必填：自该日起生效，不能早于本月1日；此前登记的工单和已形成的月份仍按原名称和原上级统计")

    class Meta:
        model = Category
        fields = ["code", "name", "parent", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = history.local_day()
        self.fields["valid_from"].initial = today
        self.fields["valid_from"].help_text += f"（最早 {first_editable_day(today):%Y-%m-%d}）"

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            if self.instance.pk is None:
                history.check_new_category(code=data.get("code"), name=data.get("name"), parent=data.get("parent"))
            elif {"name", "parent"} & set(self.changed_data):
                stored = Category.objects.get(pk=self.instance.pk)
                history.check_version(stored, name=data.get("name"), parent=data.get("parent"),
                                      valid_from=data.get("valid_from"))
        except TreeError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data


class CategoryVersionInline(admin.TabularInline):
    model = CategoryVersion
    fk_name = "category"
    fields = ["valid_from", "valid_to", "name", "parent", "created_by", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "版本（历史名称与上级，按生效日期）"

    def has_add_permission(self, request, obj=None):
        return False  # a version is added by editing the category with a valid-from date


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ["code", "full_name", "level", "active"]
    list_filter = ["level", "active"]
    search_fields = ["code", "name", "full_name"]
    inlines = [CategoryVersionInline]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []  # the code is the category's identity across versions

    def get_fields(self, request, obj=None):
        return ["code", "name", "parent", "active"] + (["valid_from"] if obj is not None else [])

    def save_model(self, request, obj, form, change):
        if not change:
            created = history.create_category(code=obj.code, name=obj.name, parent=obj.parent, active=obj.active)
            obj.pk, obj.code, obj.level, obj.full_name = created.pk, created.code, created.level, created.full_name
            obj._state.adding = False
            return
        stored = Category.objects.get(pk=obj.pk)
        if {"name", "parent"} & set(form.changed_data):
            history.add_version(stored, name=form.cleaned_data["name"], parent=form.cleaned_data["parent"],
                                valid_from=form.cleaned_data["valid_from"], user=request.user)
        if "active" in form.changed_data:
            stored.refresh_from_db()
            stored.active = obj.active
            stored.save(update_fields=["active"])
        obj.refresh_from_db()

    def has_delete_permission(self, request, obj=None):
        return False  # categories are deactivated, never deleted


admin.site.register(AppealType, list_display=["code", "name", "position", "active"])
admin.site.register(SlaPolicy, list_display=["name", "appeal_type", "urgency", "source", "sign_limit",
                                             "sign_limit_unit", "handle_limit", "handle_limit_unit", "auto_remind",
                                             "active"])
admin.site.register(CalendarOverride, list_display=["date", "is_workday", "note"])
admin.site.register(CalendarYear, list_display=["year", "note"])
# The published text changes only through a reviewed revision (the console's 知识库): here an
# admin may reassign the owning unit or switch an article off, and read the revisions. Neither is
# added here: an article and its revisions are written by hotline.catalog.knowledge's actions (a
# revision added by hand would have no proposer, no proposal time and no review).
@admin.register(KnowledgeArticle)
class KnowledgeArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "category", "owner_unit", "version", "public", "review_date", "active"]
    search_fields = ["title", "body", "keywords"]
    readonly_fields = ["title", "body", "keywords", "category", "public", "review_date", "expires_on", "version",
                       "reviewed_at", "reminded_on"]

    def has_add_permission(self, request):
        return False


@admin.register(KnowledgeRevision)
class KnowledgeRevisionAdmin(admin.ModelAdmin):
    list_display = ["article", "number", "state", "proposed_by", "proposed_at", "decided_by", "decided_at"]
    list_filter = ["state"]
    readonly_fields = [f.name for f in KnowledgeRevision._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.register(DispatchRule, list_display=["category", "town", "unit", "position"])
