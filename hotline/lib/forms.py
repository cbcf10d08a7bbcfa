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
