"""Teachers' forms for visual sources: the image source itself and its regions.

``SOURCE_FIELDS`` is the one list of a source's origin fields a teacher fills in; the image
form adds the image, its alt text and transcription. Regions are typed in percent of the
image (what a person can estimate); the service stores fractions."""

from django import forms
from django.utils.translation import gettext_lazy as _

from analysis.models import Region, Source
from analysis.studio.images import ImageRejected, image_check, read_limited

SOURCE_FIELDS = [
    "title",
    "author",
    "date_text",
    "sort_date",
    "publication",
    "kind",
    "audience",
    "caption",
    "context",
    "teacher_notes",
    "citation",
    "rights",
]
IMAGE_FIELDS = ["alt_text", "transcription"]


class ImageSourceForm(forms.ModelForm):
    """A new image source. The upload is checked (and re-encoded) in ``clean_upload``; the
    result is in ``cleaned_data["upload"]`` as a ``CheckedImage``, nothing stored yet."""

    upload = forms.FileField(
        label=_("Image"),
        help_text=_("PNG, JPEG or WebP, at most 10 MiB and 40 megapixels."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )

    class Meta:
        model = Source
        fields = [*SOURCE_FIELDS, *IMAGE_FIELDS]
        widgets = {
            "sort_date": forms.DateInput(attrs={"type": "date"}),
            "caption": forms.Textarea(attrs={"rows": 2}),
            "context": forms.Textarea(attrs={"rows": 3}),
            "teacher_notes": forms.Textarea(attrs={"rows": 3}),
            "citation": forms.Textarea(attrs={"rows": 2}),
            "alt_text": forms.Textarea(attrs={"rows": 3}),
            "transcription": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"alt_text": _("Required: describe what the image shows, in a sentence or three.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["alt_text"].required = True

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        try:
            return image_check(read_limited(upload))
        except ImageRejected as rejected:
            raise forms.ValidationError(rejected.message, code="image") from rejected


def _percent(label):
    return forms.DecimalField(
        label=label, min_value=0, max_value=100, max_digits=7, decimal_places=3, localize=False
    )


class RegionForm(forms.Form):
    """A region as typed (or as drawn: the editor's script fills in the same fields)."""

    label = forms.CharField(label=_("Label"), max_length=Region._meta.get_field("label").max_length)
    x = _percent(_("Left (%)"))
    y = _percent(_("Top (%)"))
    w = _percent(_("Width (%)"))
    h = _percent(_("Height (%)"))

    def clean(self):
        data = super().clean()
        if all(name in data for name in "xywh"):
            if data["w"] <= 0 or data["h"] <= 0:
                raise forms.ValidationError(_("A region needs a width and a height above 0%."))
            if data["x"] + data["w"] > 100 or data["y"] + data["h"] > 100:
                raise forms.ValidationError(
                    _("The region runs off the image: left + width and top + height must be at most 100%.")
                )
        return data

    def fractions(self) -> dict:
        return {name: float(self.cleaned_data[name]) / 100 for name in "xywh"}
