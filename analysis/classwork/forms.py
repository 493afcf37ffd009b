"""Forms that parse the student workspace's POSTs. They only check shapes (an integer
version, integer offsets); the rules live in ``analysis.classwork.services``."""

from django import forms
from django.utils.translation import gettext_lazy as _


class AnswerSaveForm(forms.Form):
    # strip=False: an answer is stored exactly as typed, spaces and blank lines included.
    # No max_length here: the service gives the over-long answer its own clear message (422).
    text = forms.CharField(required=False, strip=False)
    version = forms.IntegerField(
        min_value=0, error_messages={"required": _("The answer's version is missing.")}
    )


class EvidenceForm(forms.Form):
    passage = forms.IntegerField(min_value=1)
    start = forms.IntegerField(min_value=0)
    end = forms.IntegerField(min_value=0)


class RegionEvidenceForm(forms.Form):
    """Citing a region of an image source (analysis.studio): the region's id only."""

    region = forms.IntegerField(min_value=1)


def form_error_message(form: forms.Form) -> str:
    """All of a bound form's errors as one sentence for a status line."""
    return " ".join(str(message) for errors in form.errors.values() for message in errors)
