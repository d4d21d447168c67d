from pathlib import Path

from django import forms
from django.utils.translation import gettext_lazy as _

from allocation.services import FORMATS_BY_EXTENSION, IMPORT_KINDS

MAX_IMPORT_BYTES = 5 * 1024 * 1024


class FacilityDataImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=[(k, v[0]) for k, v in IMPORT_KINDS.items()])
    import_file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8, UTF-8 with BOM or Shift_JIS) or XLSX, at most 5 MB."),
    )

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        extension = Path(upload.name).suffix.lower().lstrip(".")
        if extension not in FORMATS_BY_EXTENSION:
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."), code="import_format")
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB; split it."), code="import_size")
        upload.extension = extension
        return upload
