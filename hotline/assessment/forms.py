"""Forms of the assessment pages: every text a person types passes the text boundary
(``hotline.lib.forms``: controls removed, NUL refused), months and units are parsed, and every
check has a Chinese message. The actions (``hotline.assessment.actions``) check the rest."""

from __future__ import annotations

from django import forms

from hotline.directory.models import Unit
from hotline.lib import parsing
from hotline.lib.forms import CleanTextForm

REASON = forms.Textarea(attrs={"rows": 3})


def first_error(form: forms.Form) -> str:
    """The first problem of an invalid form, as one line for a flash message."""
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        return f"{label}：{errors[0]}" if label else errors[0]
    return "提交的内容无效"


class AppealForm(CleanTextForm):
    line_code = forms.CharField(label="申诉指标", max_length=40, error_messages={"required": "请选择要申诉的扣分项"})
    reason = forms.CharField(label="申诉理由", max_length=2000, widget=REASON,
                             error_messages={"required": "请填写申诉理由"})


class AppealDecisionForm(CleanTextForm):
    decision = forms.ChoiceField(label="处理结果", choices=[("accept", "采纳"), ("reject", "不采纳")],
                                 error_messages={"required": "请选择采纳或不采纳",
                                                 "invalid_choice": "请选择采纳或不采纳"})
    reason = forms.CharField(label="处理意见", max_length=2000, required=False, widget=REASON)
    correction_points = forms.CharField(label="更正分值", max_length=20, required=False)


class AdjustmentForm(CleanTextForm):
    unit = forms.ModelChoiceField(label="单位", queryset=Unit.objects.filter(active=True, group__isnull=False),
                                  error_messages={"required": "请选择参加考核的单位",
                                                  "invalid_choice": "请选择参加考核的单位"})
    period = forms.CharField(label="月份", max_length=20)
    points = forms.CharField(label="分值", max_length=20)
    reason = forms.CharField(label="理由", max_length=2000, required=False, widget=REASON)

    def clean_period(self):
        try:
            return parsing.parse_month(self.cleaned_data["period"], "月份", required=True)
        except parsing.ParseError as e:
            raise forms.ValidationError(f"{e.message}（请按 2023-07 的格式填写）") from None


class AdjustmentDecisionForm(CleanTextForm):
    decision = forms.ChoiceField(label="审批结果", choices=[("approve", "批准"), ("reject", "不批准")],
                                 error_messages={"required": "请选择批准或不批准",
                                                 "invalid_choice": "请选择批准或不批准"})
    note = forms.CharField(label="审批意见", max_length=200, required=False)
