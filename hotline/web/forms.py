"""Forms of the staff console, and the table that maps each workflow action to its form and action call.

The forms only parse what people type; every rule about whether an action may happen lives in
``hotline.workorders.actions`` (which raises ``WorkflowError`` with the message shown to the user).
"""

from __future__ import annotations

from django import forms

from hotline.catalog.models import AppealType, Category, KnowledgeArticle, Source, Urgency
from hotline.directory.models import Unit, UpstreamPlatform
from hotline.lib import parsing
from hotline.lib.forms import AttachmentsField, CleanTextForm
from hotline.workorders import actions
from hotline.workorders.models import Satisfaction, TransferTarget, Truth
from hotline.workorders.workflow import BY_ACTION, Status, WorkflowError, allowed

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_FORMAT)


def datetime_field(label, required=False):
    return forms.DateTimeField(label=label, required=required, widget=DateTimeLocal(),
                               input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"])


def yes_no(label, required=True):
    return forms.TypedChoiceField(label=label, required=required, choices=[("", "—"), ("1", "是"), ("0", "否")],
                                  coerce=lambda v: v == "1", empty_value=None)


def units():
    return Unit.objects.filter(active=True).exclude(kind=Unit.Kind.CENTER).order_by("position", "code")


def towns():
    return Unit.objects.filter(active=True, kind__in=Unit.LOCALITY_KINDS).order_by("position", "code")


class CategoryField(forms.CharField):
    """A level-2 or level-3 category typed into a searchable list (``<datalist>``): full name or code."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        value = value.strip()
        found = (Category.objects.classifiable().filter(full_name=value).first()
                 or Category.objects.classifiable().filter(code=value).first())
        if found is None:
            matches = list(Category.objects.classifiable().filter(full_name__contains=value)[:2])
            found = matches[0] if len(matches) == 1 else None
        if found is None:
            raise forms.ValidationError("请从列表中选择一个二级或三级热点分类")
        return found


# ---------------------------------------------------------------------------------------------
# Intake

INTAKE_DISPOSITIONS = ("direct_answer", "coordinate", "submit_for_dispatch", "transfer", "inform", "not_accept",
                       "merge", "repeat_rework")


def disposition_choices(role) -> list[tuple[str, str]]:
    """The dispositions this role may pick at intake: read from the workflow table."""
    permitted = {t.action for t in allowed(Status.RECEIVED, role)}
    return [(a, BY_ACTION[a].label) for a in INTAKE_DISPOSITIONS if a in permitted]


class IntakeForm(CleanTextForm):
    caller_phone = forms.CharField(label="来电号码", max_length=30, required=False)
    caller_name = forms.CharField(label="来电人", max_length=40, required=False)
    confidential = forms.BooleanField(label="保密", required=False)
    source = forms.ChoiceField(label="来源", choices=Source.choices, initial=Source.PHONE)
    upstream_platform = forms.ModelChoiceField(label="上级平台", required=False,
                                               queryset=UpstreamPlatform.objects.filter(active=True))
    upstream_number = forms.CharField(label="上级工单号", max_length=40, required=False)
    upstream_deadline = datetime_field("上级时限")
    town = forms.ModelChoiceField(label="所在乡镇街道", required=False, queryset=towns())
    address = forms.CharField(label="详细地址", max_length=200, required=False)
    appeal_type = forms.ModelChoiceField(label="诉求类型", queryset=AppealType.objects.filter(active=True),
                                         empty_label=None)
    category = CategoryField(label="热点分类", required=False)
    urgency = forms.ChoiceField(label="紧急程度", choices=Urgency.choices, initial=Urgency.NORMAL)
    title = forms.CharField(label="标题", max_length=120)
    content = forms.CharField(label="诉求内容", widget=forms.Textarea(attrs={"rows": 4}))
    disposition = forms.ChoiceField(label="处置方式", choices=[])
    answer = forms.CharField(label="答复内容 / 说明", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    transfer_target = forms.ChoiceField(label="转接号码", required=False,
                                        choices=[("", "—"), *TransferTarget.choices])
    merge_into = forms.CharField(label="并入工单号", max_length=24, required=False)
    repeat_of = forms.CharField(label="原工单号（已办结）", max_length=24, required=False)
    # Filled by the knowledge-base panel's 用作直接答复 button: the answer counts for that article.
    kb_article = forms.ModelChoiceField(queryset=KnowledgeArticle.objects.filter(active=True, version__gt=0),
                                        required=False, widget=forms.HiddenInput)
    attachments = AttachmentsField(label="附件（来电人提供的照片、材料）")

    def __init__(self, *args, role=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["disposition"].choices = disposition_choices(role)
        self.fields["appeal_type"].initial = AppealType.objects.filter(code="problem").values_list(
            "pk", flat=True).first()

    def clean_caller_phone(self):
        try:
            return parsing.parse_phone(self.cleaned_data["caller_phone"], "来电号码")
        except parsing.ParseError as e:
            raise forms.ValidationError(e.message) from None

    def register_fields(self) -> dict:
        d = self.cleaned_data
        return {k: d[k] for k in ("caller_phone", "caller_name", "confidential", "source", "upstream_platform",
                                  "upstream_number", "upstream_deadline", "town", "address", "appeal_type",
                                  "category", "urgency", "title", "content", "attachments")}


# ---------------------------------------------------------------------------------------------
# Action forms: one per workflow action, each with the call that performs it.


class NoteForm(CleanTextForm):
    note = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, transition=None, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        if transition is not None and transition.needs_note:
            self.fields["note"].required = True
            self.fields["note"].label = "理由"


class AnswerForm(NoteForm):
    answer = forms.CharField(label="答复内容", widget=forms.Textarea(attrs={"rows": 4}))
    field_order = ["answer"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["note"]


class TransferForm(NoteForm):
    target = forms.ChoiceField(label="转接号码", choices=TransferTarget.choices)
    field_order = ["target", "note"]


class MergeForm(NoteForm):
    into = forms.CharField(label="并入工单号", max_length=24)
    field_order = ["into", "note"]


class _UnitSearch:
    """Options that carry the unit's full name and code for the picker's search box (console.js
    puts a filter box before every ``select[data-searchable]``; 46 units are too many to scroll)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        unit = getattr(value, "instance", None)
        if unit is not None:
            option["attrs"]["data-search"] = f"{unit.short_name} {unit.name} {unit.code}"
        return option


class UnitSelect(_UnitSearch, forms.Select):
    pass


class UnitSelectMultiple(_UnitSearch, forms.SelectMultiple):
    pass


class DispatchForm(NoteForm):
    lead_unit = forms.ModelChoiceField(label="主办单位", queryset=units(),
                                       widget=UnitSelect(attrs={"data-searchable": "输入单位名称筛选主办单位"}))
    co_units = forms.ModelMultipleChoiceField(label="协办单位", queryset=units(), required=False,
                                              widget=UnitSelectMultiple(attrs={
                                                  "size": 4, "data-searchable": "输入单位名称筛选协办单位"}))
    handle_deadline = datetime_field("办理时限（可选，默认按时限规则）")
    field_order = ["lead_unit", "co_units", "handle_deadline", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.order is not None and not self.is_bound:
            from hotline.workorders.queries import suggest_units

            self.suggested = suggest_units(self.order)
            if self.suggested:
                self.fields["lead_unit"].initial = self.suggested[0].pk
        else:
            self.suggested = []


class ReasonBasisForm(CleanTextForm):
    reason = forms.CharField(label="理由", widget=forms.Textarea(attrs={"rows": 3}))
    basis = forms.CharField(label="依据（职责文件或法规条款）", max_length=200, required=False)
    basis_files = AttachmentsField(label="依据文件（职责文件、批复等）")

    def __init__(self, *args, transition=None, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order


class ReturnForm(ReasonBasisForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["basis"].required = True


class ExtensionForm(ReasonBasisForm):
    new_deadline = datetime_field("申请延至", required=True)
    field_order = ["new_deadline", "reason", "basis", "basis_files"]


class ApproveExtensionForm(NoteForm):
    deadline = datetime_field("批准延至（默认为申请日期）")


class ReplyForm(CleanTextForm):
    public_reply = forms.CharField(label="答复内容（向来电人公开）", widget=forms.Textarea(attrs={"rows": 4}))
    internal_note = forms.CharField(label="内部说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    is_true = forms.ChoiceField(label="是否属实", choices=[("", "—"), *Truth.choices], required=False)
    solved = yes_no("是否解决")
    contacted_at = datetime_field("联系来电人时间")
    evidence = AttachmentsField(label="办理佐证（现场照片、文件）")
    evidence_public = forms.BooleanField(label="佐证向来电人公开（答复审核通过后在网站查询页显示）", required=False)

    def __init__(self, *args, transition=None, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order


class CoReplyForm(CleanTextForm):
    public_reply = forms.CharField(label="协办意见", widget=forms.Textarea(attrs={"rows": 4}))
    internal_note = forms.CharField(label="内部说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, transition=None, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order


class CallbackForm(CleanTextForm):
    reached = yes_no("是否接通")
    satisfaction = forms.ChoiceField(label="满意度", choices=[("", "—"), *Satisfaction.choices], required=False)
    solved = yes_no("是否解决", required=False)
    reasonable = yes_no("诉求是否合理")
    note = forms.CharField(label="回访记录", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, transition=None, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.fields["reached"].initial = "1"
        self.fields["reasonable"].initial = "1"
        if transition is not None and transition.needs_note:
            self.fields["note"].required = True


class SuperviseForm(CleanTextForm):
    notice = forms.CharField(label="督办通知", widget=forms.Textarea(attrs={"rows": 3}))
    respond_within_days = forms.IntegerField(label="限期反馈（工作日）", min_value=1, max_value=15, initial=2)
    documents = AttachmentsField(label="督办材料")

    def __init__(self, *args, transition=None, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order


class RemindForm(CleanTextForm):
    notice = forms.CharField(label="催办内容", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, transition=None, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order


class SupervisionResponseForm(CleanTextForm):
    response = forms.CharField(label="督办反馈（书面说明办理进展和措施）", widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, transition=None, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order


class ExclusionForm(CleanTextForm):
    excluded = forms.TypedChoiceField(label="考核", choices=[("1", "不计入考核"), ("0", "恢复计入考核")],
                                      coerce=lambda v: v == "1")
    reason = forms.CharField(label="理由（经审核认定诉求不合理或恶意）", widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, transition=None, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        if order is not None:
            self.fields["excluded"].initial = "0" if order.excluded_from_assessment else "1"


def _merge(order, user, d):
    from hotline.workorders.queries import merge_target

    target = merge_target(user, d["into"])
    if target is None:
        raise WorkflowError(f"工单 {d['into']} 不存在")
    return actions.merge(order, acting_user=user, into=target, note=d.get("note", ""))


def _callback(rework):
    def run(order, user, d):
        return actions.record_callback(order, acting_user=user, satisfaction=d.get("satisfaction") or "",
                                       solved=d.get("solved"), reached=bool(d.get("reached")), rework=rework,
                                       reasonable=bool(d.get("reasonable")), note=d.get("note", ""))
    return run


def _note(fn):
    return lambda order, user, d: fn(order, acting_user=user, note=d.get("note", ""))


# action -> (form class, call(order, user, cleaned_data))
ACTION_FORMS = {
    "direct_answer": (AnswerForm, lambda o, u, d: actions.direct_answer(o, acting_user=u, answer=d["answer"])),
    "coordinate": (AnswerForm, lambda o, u, d: actions.coordinate(o, acting_user=u, answer=d["answer"])),
    "submit_for_dispatch": (NoteForm, _note(actions.submit_for_dispatch)),
    "transfer": (TransferForm, lambda o, u, d: actions.transfer(o, acting_user=u, target=d["target"],
                                                                 note=d["note"])),
    "inform": (NoteForm, _note(actions.inform)),
    "not_accept": (NoteForm, _note(actions.not_accept)),
    "merge": (MergeForm, _merge),
    "dispatch": (DispatchForm, lambda o, u, d: actions.dispatch(
        o, acting_user=u, lead_unit=d["lead_unit"], co_units=list(d["co_units"]),
        handle_deadline=d["handle_deadline"], note=d["note"])),
    "sign": (NoteForm, _note(actions.sign)),
    "co_sign": (NoteForm, _note(actions.co_sign)),
    "request_return": (ReturnForm, lambda o, u, d: actions.request_return(
        o, acting_user=u, reason=d["reason"], basis=d["basis"], basis_files=d["basis_files"])),
    "approve_return": (NoteForm, _note(actions.approve_return)),
    "reject_return": (NoteForm, _note(actions.reject_return)),
    "request_extension": (ExtensionForm, lambda o, u, d: actions.request_extension(
        o, acting_user=u, new_deadline=d["new_deadline"], reason=d["reason"], basis=d["basis"],
        basis_files=d["basis_files"])),
    "approve_extension": (ApproveExtensionForm, lambda o, u, d: actions.approve_extension(
        o, acting_user=u, note=d["note"], deadline=d["deadline"])),
    "reject_extension": (NoteForm, _note(actions.reject_extension)),
    "request_suspension": (ReasonBasisForm, lambda o, u, d: actions.request_suspension(
        o, acting_user=u, reason=d["reason"], basis=d["basis"], basis_files=d["basis_files"])),
    "approve_suspension": (NoteForm, _note(actions.approve_suspension)),
    "reject_suspension": (NoteForm, _note(actions.reject_suspension)),
    "resume": (NoteForm, _note(actions.resume)),
    "reply": (ReplyForm, lambda o, u, d: actions.reply(
        o, acting_user=u, public_reply=d["public_reply"], internal_note=d["internal_note"], is_true=d["is_true"],
        solved=d["solved"], contacted_at=d["contacted_at"], evidence=d["evidence"],
        evidence_public=d["evidence_public"])),
    "co_reply": (CoReplyForm, lambda o, u, d: actions.co_reply(o, acting_user=u, public_reply=d["public_reply"],
                                                                internal_note=d["internal_note"])),
    "approve_reply": (NoteForm, _note(actions.approve_reply)),
    "send_back": (NoteForm, _note(actions.send_back)),
    "callback_close": (CallbackForm, _callback(False)),
    "callback_rework": (CallbackForm, _callback(True)),
    "callback_redispatch": (CallbackForm, _callback(True)),
    "remind": (RemindForm, lambda o, u, d: actions.remind(o, acting_user=u, notice=d["notice"])),
    "supervise": (SuperviseForm, lambda o, u, d: actions.supervise(
        o, acting_user=u, notice=d["notice"], respond_within_days=d["respond_within_days"],
        documents=d["documents"])),
    "acknowledge_reminder": (NoteForm, _note(actions.acknowledge_reminders)),
    "respond_supervision": (SupervisionResponseForm, lambda o, u, d: actions.respond_supervision(
        o, acting_user=u, response=d["response"])),
    "annotate": (NoteForm, _note(actions.annotate)),
    "report_back": (NoteForm, _note(actions.report_back)),
    "exclude_from_assessment": (ExclusionForm, lambda o, u, d: actions.set_assessment_exclusion(
        o, acting_user=u, excluded=d["excluded"], reason=d["reason"])),
}


class KnowledgeForm(CleanTextForm):
    """A proposed text of a knowledge-base article (a revision the center reviews)."""

    title = forms.CharField(label="标题", max_length=120)
    body = forms.CharField(label="内容", widget=forms.Textarea(attrs={"rows": 12}))
    keywords = forms.CharField(label="关键词（空格分隔）", max_length=200, required=False)
    category = CategoryField(label="分类", required=False)
    public = forms.BooleanField(label="向市民公开（在市民服务页可检索）", required=False)
    review_date = forms.DateField(label="复核日期（默认一年后）", required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    expires_on = forms.DateField(label="失效日期（到期不再提供）", required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    owner_unit = forms.ModelChoiceField(label="维护单位（空 = 热线中心）", queryset=Unit.objects.none(), required=False)
    note = forms.CharField(label="修改说明", max_length=200, required=False)

    def __init__(self, *args, article=None, may_choose_owner=False, **kwargs):
        if article is not None and "initial" not in kwargs:
            kwargs["initial"] = {"title": article.title, "body": article.body, "keywords": article.keywords,
                                 "category": article.category.full_name if article.category_id else "",
                                 "public": article.public, "review_date": article.review_date,
                                 "expires_on": article.expires_on}
        super().__init__(*args, **kwargs)
        if may_choose_owner and article is None:
            self.fields["owner_unit"].queryset = Unit.objects.filter(active=True).order_by("position", "code")
        else:
            del self.fields["owner_unit"]

    def values(self) -> dict:
        d = self.cleaned_data
        return {k: d.get(k) for k in ("title", "body", "keywords", "category", "public", "review_date", "expires_on")}
