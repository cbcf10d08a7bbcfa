"""The forms of the preferences pages: a person's own channels per kind, a unit's channels and
addresses. They parse what was typed; ``notify.actions`` decides what may be set and writes it."""

from __future__ import annotations

from django import forms

from hotline.lib.forms import CleanTextForm
from hotline.lib.parsing import ParseError, parse_phone
from hotline.notify import rules
from hotline.notify.models import Channel, Kind

CHANNEL_LABELS = dict(Channel.choices)
KIND_LABELS = dict(Kind.choices)


class PreferenceForm(CleanTextForm):
    """One multiple choice per kind the rules send this owner (``ch_<kind>``), over the channels
    the owner can be reached on, and the quiet hours."""

    quiet_from = forms.TimeField(label="免打扰开始", required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    quiet_until = forms.TimeField(label="免打扰结束", required=False, widget=forms.TimeInput(attrs={"type": "time"}))

    def __init__(self, *args, kinds, channels, **kwargs):
        super().__init__(*args, **kwargs)
        self.kinds, self.channels = list(kinds), list(channels)
        for kind in self.kinds:
            self.fields[f"ch_{kind}"] = forms.MultipleChoiceField(
                label=KIND_LABELS[kind], required=False, widget=forms.CheckboxSelectMultiple,
                choices=[(c, CHANNEL_LABELS[c]) for c in self.channels])

    def channels_labels(self):
        return [(c, CHANNEL_LABELS[c]) for c in self.channels]

    def rows(self):
        """(kind, label, {channel: checked}) for the table the page shows."""
        for kind in self.kinds:
            field = self[f"ch_{kind}"]
            chosen = set(field.value() or ())
            yield kind, KIND_LABELS[kind], [(c, CHANNEL_LABELS[c], c in chosen, field.html_name)
                                             for c in self.channels], field.errors

    def choices(self) -> dict[str, set[str]]:
        return {kind: set(self.cleaned_data.get(f"ch_{kind}") or ()) for kind in self.kinds}

    def clean(self):
        data = super().clean()
        # A key for a kind this owner is not offered is a forged or stale page: refused, not ignored.
        for key in self.data:
            if key.startswith("ch_") and key[3:] not in self.kinds:
                raise forms.ValidationError(f"不能设置“{KIND_LABELS.get(key[3:], key[3:])}”的通知方式")
        return data


def initial_for(chosen: dict[str, set[str]], sample) -> dict:
    initial = {f"ch_{kind}": sorted(channels) for kind, channels in chosen.items()}
    if sample is not None:
        initial.update(quiet_from=sample.quiet_from, quiet_until=sample.quiet_until)
    return initial


class UnitContactForm(CleanTextForm):
    """Where a unit receives messages. The SMS number must be a mobile (Kannel sends to mobiles);
    left blank, the directory's contact phone is used when it is one."""

    sms_phone = forms.CharField(label="短信号码", required=False, max_length=30,
                                help_text="留空则用单位联系电话（须为手机号）")
    email = forms.EmailField(label="电子邮箱", required=False)
    wecom_webhook = forms.URLField(label="企业微信机器人地址", required=False, max_length=500,
                                   assume_scheme="https")
    dingtalk_webhook = forms.URLField(label="钉钉机器人地址", required=False, max_length=500, assume_scheme="https")
    dingtalk_secret = forms.CharField(label="钉钉加签密钥", required=False, max_length=100)

    def clean_sms_phone(self):
        try:
            phone = parse_phone(self.cleaned_data.get("sms_phone", ""), "短信号码")
        except ParseError as exc:
            raise forms.ValidationError(exc.message) from exc
        if phone and not rules.is_mobile(phone):
            raise forms.ValidationError(f"短信号码须为手机号，“{phone}”不是手机号")
        return phone

    def clean(self):
        data = super().clean()
        for field in ("wecom_webhook", "dingtalk_webhook"):
            url = data.get(field) or ""
            if url and not url.startswith(("https://", "http://")):
                self.add_error(field, "机器人地址须以 https:// 开头")
        return data
