"""The text boundary for Django forms (no models): every form people type into inherits it.

``CleanTextForm`` / ``CleanTextModelForm`` pass every text a bound form receives through
``hotline.lib.text.clean_text`` before any field sees it: a multi-line field (a ``Textarea``) keeps
its line breaks (``\\r\\n`` becomes ``\\n``), any other text field becomes one line. A value with NUL
is not given to the field at all; the field answers ``不能包含空字符（NUL）`` and nothing is saved.
"""

from __future__ import annotations

from django import forms

from hotline.lib.text import NUL_MESSAGE, TextError, clean_text


class CleanTextMixin:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._nul_fields: list[str] = []
        if not self.is_bound:
            return
        data = self.data.copy()  # a QueryDict's copy is mutable; a dict's is a dict
        for name, field in self.fields.items():
            if isinstance(field, forms.FileField):
                continue
            key = self.add_prefix(name)
            if key not in data:
                continue
            single = not isinstance(field.widget, forms.Textarea)
            values = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
            cleaned = []
            for value in values:
                if not isinstance(value, str):
                    cleaned.append(value)
                    continue
                try:
                    cleaned.append(clean_text(value, single_line=single))
                except TextError:
                    self._nul_fields.append(name)
                    cleaned.append("")
            if hasattr(data, "setlist"):
                data.setlist(key, cleaned)
            else:
                data[key] = cleaned[0] if len(cleaned) == 1 and not isinstance(self.data[key], list) else cleaned
        self.data = data

    def full_clean(self):
        super().full_clean()
        if not self.is_bound or not hasattr(self, "cleaned_data"):
            return
        for name in self._nul_fields:
            self.add_error(name, NUL_MESSAGE)


class CleanTextForm(CleanTextMixin, forms.Form):
    pass


class CleanTextModelForm(CleanTextMixin, forms.ModelForm):
    pass


def clean_admin_forms(site) -> None:
    """Put every form of ``site`` (each ModelAdmin's form and add form, its password form, its
    inlines' forms — Django's own and third-party admins included) behind the text boundary, once
    all admins are registered: the admin is a way in like any other, and a control character an
    admin pastes into a unit's or group's name would break every export that shows it."""
    def wrap(form_class):
        if form_class is None or issubclass(form_class, CleanTextMixin):
            return form_class
        return type(form_class.__name__, (CleanTextMixin, form_class), {"__module__": form_class.__module__})

    for model_admin in site._registry.values():
        for attr in ("form", "add_form", "change_password_form"):
            if hasattr(model_admin, attr):
                setattr(model_admin, attr, wrap(getattr(model_admin, attr)))
        for inline in model_admin.inlines:
            inline.form = wrap(inline.form)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


def upload_limits():
    """``hotline.lib.files.Limits`` from ``settings.HOTLINE_ATTACHMENTS`` (docs/attachments.md)."""
    from django.conf import settings

    from hotline.lib.files import Limits

    conf = settings.HOTLINE_ATTACHMENTS
    return Limits(max_bytes=conf["MAX_MB"] * 1024 * 1024, max_pixels=conf["MAX_MEGAPIXELS"] * 1_000_000,
                  max_side=conf["MAX_SIDE"])


class AttachmentsField(forms.FileField):
    """Several files in one ``<input type=file multiple>``, each checked by ``hotline.lib.files.inspect``
    (and clamd, when configured) while the form is cleaned: ``cleaned_data`` holds ``CleanFile``s, and
    a refused file fails the form with the reason, before anything is stored."""

    widget = MultipleFileInput

    def __init__(self, *args, images_only: bool = False, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)
        self.images_only = images_only
        accept = "image/jpeg,image/png,image/webp" if images_only else (
            "image/jpeg,image/png,image/webp,application/pdf,.docx,.xlsx,.pptx")
        self.widget.attrs.update({"accept": accept, "multiple": True})

    def clean(self, data, initial=None):
        from django.conf import settings

        from hotline.lib import clamd, files

        uploads = [f for f in (data if isinstance(data, (list, tuple)) else [data]) if f]
        if not uploads:
            if self.required:
                raise forms.ValidationError("请选择要上传的文件")
            return []
        conf = settings.HOTLINE_ATTACHMENTS
        limits = upload_limits()
        try:
            files.check_count(len(uploads), 0, per_upload=conf["MAX_PER_UPLOAD"], per_order=conf["MAX_PER_ORDER"])
        except files.FileRejected as exc:
            raise forms.ValidationError(str(exc)) from None
        cleaned, errors = [], []
        for upload in uploads:
            name = getattr(upload, "name", "") or ""
            if (getattr(upload, "size", 0) or 0) > limits.max_bytes:  # not read into memory at all
                errors.append(f"“{name[:60]}”超过 {conf['MAX_MB']} MB，请压缩后再上传")
                continue
            upload.seek(0)
            try:
                clean = files.inspect(upload.read(), name, limits=limits, images_only=self.images_only)
                if conf["CLAMD"]:
                    found = clamd.scan(clean.data, conf["CLAMD"])
                    if found:
                        raise files.FileRejected(f"“{clean.name}”含有病毒（{found}），已拒绝")
            except files.FileRejected as exc:
                errors.append(str(exc))
            except clamd.ScanUnavailable:
                errors.append("病毒扫描服务暂不可用，附件未能上传，请稍后再试")
            else:
                cleaned.append(clean)
        if errors:
            raise forms.ValidationError(errors)
        return cleaned
