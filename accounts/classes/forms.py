"""Teachers' forms for their classes: name, roster upload."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Classroom

ROSTER_MAX_BYTES = 256 * 1024


class ClassroomForm(forms.ModelForm):
    class Meta:
        model = Classroom
        fields = ["name"]
        labels = {"name": _("Class name")}
        help_texts = {"name": _("As your students know it, e.g. “Year 11 History A”.")}


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Roster file (CSV)"),
        help_text=_(
            "One student per line: username, first name, last name. A header line is optional. "
            "Save from your spreadsheet as “CSV UTF-8”."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > ROSTER_MAX_BYTES:
            raise ValidationError(
                _("The file is too large (at most %(kb)s KB)."), params={"kb": ROSTER_MAX_BYTES // 1024}
            )
        return upload
