from django import forms
from django.utils.translation import gettext_lazy as _

from analysis.teaching.forms import AssignmentForm


class DeepLinkForm(AssignmentForm):
    """The assign form for an LMS activity: the class is the course's own, so it is not asked."""

    launch_id = forms.CharField(widget=forms.HiddenInput, max_length=100)

    class Meta(AssignmentForm.Meta):
        fields = [name for name in AssignmentForm.Meta.fields if name not in ("classroom", "note")]

    def __init__(self, *args, teacher, classroom, **kwargs):
        super().__init__(*args, teacher=teacher, **kwargs)
        del self.fields["classroom"]
        self.instance.classroom = classroom
        self.instance.created_by = teacher
        self.fields["exercise"].help_text = _("The activity opens this exercise for your course's learners.")
