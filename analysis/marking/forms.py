"""Forms of the marking pages: a mark, the overall comment, a comment-bank entry."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from analysis.marking.services import check_mark
from analysis.models import CommentBankEntry, Submission

COMMENT_MAX_CHARS = 5000


class MarkForm(forms.Form):
    """A level, a mark inside that level's band, and a comment (typed, or taken from
    the teacher's comment bank). Used with a per-answer prefix so many answers can
    share one page."""

    NO_LEVEL = "0"

    level = forms.ChoiceField(label=_("Level"), widget=forms.RadioSelect, required=False)
    marks = forms.IntegerField(label=_("Mark"), min_value=0)
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=COMMENT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    bank_entry = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label=_("Add a comment from your bank")
    )
    add_to_bank = forms.BooleanField(label=_("Save this comment to my bank"), required=False)

    def __init__(self, *args, response, levels, bank_entries, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.response = response
        self.question = response.question
        self.levels = list(levels)
        self.fields["marks"] = forms.IntegerField(
            label=_("Mark"),
            min_value=0,
            max_value=self.question.max_marks,
            help_text=_("out of %(max)s") % {"max": self.question.max_marks},
        )
        # The bank is fetched once per page and shared by every answer's form.
        self.bank_entries = {entry.pk: entry for entry in bank_entries}
        self.fields["bank_entry"].choices = [("", _("— choose a saved comment —"))] + [
            (entry.pk, entry.text) for entry in bank_entries
        ]
        if self.levels:
            self.fields["level"].required = True
            self.fields["level"].choices = [(self.NO_LEVEL, _("No creditable response (0 marks)"))] + [
                (str(level.number), str(level)) for level in self.levels
            ]
        else:
            del self.fields["level"]
        mark = getattr(response, "mark", None)
        if mark is not None and not self.is_bound:
            self.initial.update(
                {
                    "level": str(mark.level) if mark.level is not None else self.NO_LEVEL,
                    "marks": mark.marks,
                    "comment": mark.comment,
                }
            )

    def clean(self):
        cleaned = super().clean()
        level = self.level_number
        marks = cleaned.get("marks")
        if marks is None or ("level" in self.fields and "level" not in cleaned):
            return cleaned
        try:
            check_mark(question=self.question, levels=self.levels, level=level, marks=marks)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)
        entry = self.bank_entries.get(cleaned.get("bank_entry"))
        comment = (cleaned.get("comment") or "").strip()
        if entry is not None and entry.text not in comment:
            # Without JavaScript the chosen bank comment is added here; with it, it is
            # already in the text box and the menu is reset.
            comment = f"{comment}\n{entry.text}".strip()
        if len(comment) > COMMENT_MAX_CHARS:
            self.add_error("comment", _("The comment is too long."))
        cleaned["comment"] = comment
        return cleaned

    @property
    def level_number(self) -> int | None:
        if "level" not in self.fields:
            return None
        raw = self.cleaned_data.get("level")
        if raw in (None, "", self.NO_LEVEL):
            return None
        return int(raw)

    def level_options(self):
        """(value, level or None, checked) for the template's radio list, with descriptors."""
        current = str(self["level"].value() or "") if "level" in self.fields else ""
        options = [(self.NO_LEVEL, None, current == self.NO_LEVEL)]
        options += [(str(level.number), level, current == str(level.number)) for level in self.levels]
        return options


class OverallCommentForm(forms.ModelForm):
    class Meta:
        model = Submission
        fields = ["overall_comment"]
        labels = {"overall_comment": _("Overall comment for the student")}
        widgets = {"overall_comment": forms.Textarea(attrs={"rows": 3})}

    def clean_overall_comment(self):
        comment = self.cleaned_data["overall_comment"].strip()
        if len(comment) > COMMENT_MAX_CHARS:
            raise ValidationError(_("The comment is too long."))
        return comment


class CommentBankEntryForm(forms.ModelForm):
    class Meta:
        model = CommentBankEntry
        fields = ["text"]
        labels = {"text": _("New comment")}
        widgets = {"text": forms.Textarea(attrs={"rows": 2, "maxlength": COMMENT_MAX_CHARS})}

    def clean_text(self):
        text = self.cleaned_data["text"].strip()
        if not text:
            raise ValidationError(_("Write the comment first."))
        if len(text) > COMMENT_MAX_CHARS:
            raise ValidationError(_("The comment is too long."))
        return text
