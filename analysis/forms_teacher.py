"""Forms for the teachers' dashboard. They validate; services in
``analysis/services/`` write anything touching more than one row."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Classroom, User
from analysis.models import Assignment, CommentBankEntry, Exercise, Submission
from analysis.services.marking import check_mark

ROSTER_MAX_BYTES = 256 * 1024
COMMENT_MAX_CHARS = 5000
DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    """``<input type="datetime-local">``: the browser's picker, read in the school's time zone."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_LOCAL_FORMAT)


def _datetime_field(label, *, required=True, help_text=""):
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=help_text,
        widget=DateTimeLocalInput(),
        input_formats=[DATETIME_LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )


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


class ExerciseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.title


class ClassroomChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class AssignmentForm(forms.ModelForm):
    """Set an exercise to one of the teacher's classes. Once students have started,
    the exercise and class are fixed (their answers belong to that exercise)."""

    exercise = ExerciseChoiceField(queryset=Exercise.objects.none(), label=_("Exercise"))
    classroom = ClassroomChoiceField(queryset=Classroom.objects.none(), label=_("Class"))
    opens_at = _datetime_field(_("Opens"), help_text=_("Students can start from this time."))
    due_at = _datetime_field(_("Due"), required=False, help_text=_("Leave empty for no deadline."))

    class Meta:
        model = Assignment
        fields = [
            "exercise",
            "classroom",
            "opens_at",
            "due_at",
            "hints_enabled",
            "late_allowed",
            "anonymous_marking",
            "release_model_answers",
        ]
        help_texts = {
            "hints_enabled": _(
                "Students may reveal the question's hints; the grid shows how many they used."
            ),
            "late_allowed": _("Students may still hand in after the due date (marked late)."),
            "anonymous_marking": _("Hide students' names while you mark, until you release their marks."),
            "release_model_answers": _("Students see the model answers when their marks are released."),
        }

    def __init__(self, *args, teacher, has_work=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exercise"].queryset = Exercise.objects.order_by("title")
        self.fields["classroom"].queryset = Classroom.objects.taught_by(teacher).active().order_by("name")
        if has_work:
            for name in ("exercise", "classroom"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Fixed: students have already started this assignment.")

    def option_fields(self):
        return [
            self[name]
            for name in ("hints_enabled", "late_allowed", "anonymous_marking", "release_model_answers")
        ]

    def clean(self):
        cleaned = super().clean()
        opens_at, due_at = cleaned.get("opens_at"), cleaned.get("due_at")
        if opens_at and due_at and due_at <= opens_at:
            self.add_error("due_at", _("The due date must be after the opening date."))
        return cleaned


class ExtensionForm(forms.Form):
    student = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Student"))
    due_at = _datetime_field(_("New due date"))

    def __init__(self, *args, students, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"].queryset = students
        self.fields["student"].label_from_instance = lambda user: f"{user.display_name} ({user.username})"


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


class ReleaseForm(forms.Form):
    submissions = forms.ModelMultipleChoiceField(
        queryset=Submission.objects.none(), required=False, label=_("Students")
    )
    scope = forms.ChoiceField(choices=[("all", _("All")), ("selected", _("Selected"))], initial="all")

    def __init__(self, *args, assignment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["submissions"].queryset = Submission.objects.filter(assignment=assignment)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") == "selected" and not cleaned.get("submissions"):
            raise ValidationError(_("Tick the students whose marks you want to release."))
        return cleaned
