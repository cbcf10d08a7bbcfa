"""Forms of the citizen pages: every check a citizen can fail has a Chinese message."""

from __future__ import annotations

from django import forms
from django.db.models import Q

from hotline.catalog.models import AppealType, Category
from hotline.directory.models import Unit
from hotline.lib import parsing
from hotline.lib.forms import AttachmentsField, CleanTextForm
from hotline.workorders.models import SATISFIED_LEVELS, Satisfaction


def clean_phone(value: str) -> str:
    try:
        phone = parsing.parse_phone(value, "联系电话", required=True)
    except parsing.ParseError:
        phone = ""
    if len(phone.replace("-", "")) < 7:  # the citizen is called back: a service number will not do
        raise forms.ValidationError("请填写正确的联系电话（手机号或带区号的固定电话）")
    return phone


def category_choices(group_id=None):
    """Level-2 and level-3 categories grouped under their level-1 ancestor (``<optgroup>``): a two-level select
    that works without JavaScript; htmx narrows it to one group when the first select changes."""
    qs = Category.objects.classifiable().filter(parent__active=True).select_related("parent", "parent__parent")
    if group_id:
        qs = qs.filter(Q(parent_id=group_id) | Q(parent__parent_id=group_id))
    grouped: dict[str, list] = {}
    rows = []
    for c in qs:
        top = c.parent.parent or c.parent  # a level-3 category shows under its level-1 group
        rows.append(((top.code, c.code), top.name, c.pk, c.full_name.removeprefix(top.name + "—")))
    for _, group, pk, label in sorted(rows):
        grouped.setdefault(group, []).append((pk, label))
    return [("", "请选择具体分类")] + list(grouped.items())


class SubmitForm(CleanTextForm):
    caller_name = forms.CharField(label="姓名", max_length=40,
                                  error_messages={"required": "请填写姓名"})
    caller_phone = forms.CharField(label="联系电话", max_length=30,
                                   error_messages={"required": "请填写联系电话，查询进度时需要核对"})
    town = forms.ModelChoiceField(label="所在乡镇（街道）", queryset=Unit.objects.none(), empty_label="请选择",
                                  error_messages={"required": "请选择所在乡镇（街道）",
                                                  "invalid_choice": "所选乡镇（街道）无效"})
    address = forms.CharField(label="详细地址", max_length=200, required=False)
    appeal_type = forms.ModelChoiceField(label="诉求类型", queryset=AppealType.objects.none(), empty_label="请选择",
                                         error_messages={"required": "请选择诉求类型",
                                                         "invalid_choice": "所选诉求类型无效"})
    category_group = forms.ModelChoiceField(label="问题大类", queryset=Category.objects.none(), required=False,
                                            empty_label="全部大类",
                                            error_messages={"invalid_choice": "所选问题大类无效"})
    category = forms.TypedChoiceField(label="具体分类", coerce=int, required=False,
                                      error_messages={"invalid_choice": "所选分类无效"})
    title = forms.CharField(label="标题", max_length=60, error_messages={"required": "请填写标题",
                                                                       "max_length": "标题不能超过60个字"})
    content = forms.CharField(label="诉求内容", max_length=2000, widget=forms.Textarea(attrs={"rows": 6}),
                              error_messages={"required": "请填写诉求内容", "max_length": "诉求内容不能超过2000字"})
    confidential = forms.BooleanField(label="请为我保密（承办单位看不到我的姓名和电话）", required=False)
    photos = AttachmentsField(label="现场照片（可选）", images_only=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["town"].queryset = Unit.objects.filter(kind__in=Unit.LOCALITY_KINDS, active=True)
        self.fields["appeal_type"].queryset = AppealType.objects.filter(active=True)
        self.fields["category_group"].queryset = Category.objects.filter(level=1, active=True)
        group = self.data.get("category_group") if self.is_bound else None
        self.fields["category"].choices = category_choices(group if str(group or "").isdigit() else None)
        self.fields["category"].widget.attrs["id"] = "id_category"

    def clean_caller_phone(self):
        return clean_phone(self.cleaned_data["caller_phone"])

    def clean_category(self):
        pk = self.cleaned_data.get("category")
        if pk in (None, ""):
            return None
        category = Category.objects.classifiable().filter(pk=pk).select_related("parent").first()
        if category is None:
            raise forms.ValidationError("所选分类无效")
        return category

    def clean(self):
        data = super().clean()
        group, category = data.get("category_group"), data.get("category")
        if group and category and category.parent_id != group.pk:
            self.add_error("category", "具体分类不属于所选大类")
        return data


class TrackForm(CleanTextForm):
    number = forms.CharField(label="工单编号", max_length=24, error_messages={"required": "请填写工单编号"})
    phone = forms.CharField(label="登记时的联系电话", max_length=30, error_messages={"required": "请填写联系电话"})

    def clean_number(self):
        return self.cleaned_data["number"].strip().upper()


class RateForm(CleanTextForm):
    satisfaction = forms.ChoiceField(label="满意度", choices=Satisfaction.choices, widget=forms.RadioSelect,
                                     error_messages={"required": "请选择满意度", "invalid_choice": "满意度取值无效"})
    solved = forms.TypedChoiceField(label="问题是否解决", choices=[("yes", "已解决"), ("no", "未解决")],
                                    coerce=lambda v: v == "yes", widget=forms.RadioSelect,
                                    error_messages={"required": "请选择问题是否解决",
                                                    "invalid_choice": "请选择问题是否解决"})
    comment = forms.CharField(label="意见和建议", max_length=500, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))

    @property
    def satisfied(self) -> bool:
        return self.cleaned_data["satisfaction"] in SATISFIED_LEVELS
