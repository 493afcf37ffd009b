"""Teachers' forms for setting work: the assign form, extensions, release."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Classroom, Enrollment, User
from analysis.models import Assignment, Exercise, Submission, SupportLevel, TimeLimitAction

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


class ClassroomsChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def _check_values(self, value):
        """An id no database integer can hold is no class of the teacher's: refuse it as an
        invalid choice instead of letting the query overflow (a 500)."""
        for pk in value:
            text = str(pk)
            if not (text.isascii() and text.isdigit() and len(text) <= 18):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)


class PupilsChoiceField(ClassroomsChoiceField):
    """Pupils as checkboxes, refusing ids too large for the database like ``ClassroomsChoiceField``."""


class AssignmentForm(forms.ModelForm):
    """Set an exercise to one of the teacher's classes. Once students have started,
    the exercise and class are fixed (their answers belong to that exercise)."""

    exercise = forms.ModelChoiceField(queryset=Exercise.objects.none(), label=_("Exercise"))
    classroom = forms.ModelChoiceField(queryset=Classroom.objects.none(), label=_("Class"))
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
            "note",
            "support_level",
            "time_limit_minutes",
            "on_time_limit",
        ]
        widgets = {
            "note": forms.Textarea(attrs={"rows": 3, "maxlength": 1000}),
            "support_level": forms.RadioSelect,
            "on_time_limit": forms.RadioSelect,
        }
        help_texts = {
            "support_level": _(
                "Guided: caption, source information, context, timeline and people, glossary, hints, "
                "sentence starters and modified texts. Standard: caption, source information, timeline "
                "and people, glossary and hints. Exam conditions: caption and glossary only. You can "
                "change it for one pupil on the Support page."
            ),
            "time_limit_minutes": _(
                "Exam conditions only; leave empty for none. Each pupil's clock starts when they "
                "first open the work, and extra time is added per pupil."
            ),
            "hints_enabled": _(
                "Students may reveal the question's hints; the grid shows how many they used."
            ),
            "late_allowed": _("Students may still hand in after the due date (marked late)."),
            "anonymous_marking": _("Hide students' names while you mark, until you release their marks."),
            "release_model_answers": _("Students see the model answers when their marks are released."),
        }

    def __init__(self, *args, teacher, has_work=False, **kwargs):
        kwargs.setdefault("label_suffix", "")  # labels are words, not "Class:"
        super().__init__(*args, **kwargs)
        # What the teacher may set; an assignment keeps its own exercise even once it is archived.
        settable = exercises_for(teacher)
        if self.instance.pk:
            settable = settable | Exercise.objects.visible_to(teacher).filter(pk=self.instance.exercise_id)
        self.fields["exercise"].queryset = settable.order_by("title")
        self.fields["classroom"].queryset = Classroom.objects.taught_by(teacher).active().order_by("name")
        # Not sent by older forms: the model's defaults apply (standard; hand in at the limit).
        self.fields["support_level"].required = False
        self.fields["on_time_limit"].required = False
        if has_work:
            for name in ("exercise", "classroom"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Fixed: students have already started this assignment.")
        elif self.instance.pk and self.instance.chosen_pupils_only:
            # Its pupils are pupils of this class: another class would leave the work set to nobody.
            self.fields["classroom"].disabled = True
            self.fields["classroom"].help_text = _("Fixed: the work is set to chosen pupils of this class.")

    def option_fields(self):
        return [
            self[name]
            for name in ("hints_enabled", "late_allowed", "anonymous_marking", "release_model_answers")
        ]

    def clean_support_level(self):
        return self.cleaned_data.get("support_level") or SupportLevel.STANDARD

    def clean_on_time_limit(self):
        return self.cleaned_data.get("on_time_limit") or TimeLimitAction.HAND_IN

    def support_fields(self):
        return [self[name] for name in ("support_level", "time_limit_minutes", "on_time_limit")]

    def clean(self):
        cleaned = super().clean()
        opens_at, due_at = cleaned.get("opens_at"), cleaned.get("due_at")
        if opens_at and due_at and due_at <= opens_at:
            self.add_error("due_at", _("The due date must be after the opening date."))
        limit = cleaned.get("time_limit_minutes")
        if limit is not None and not 1 <= limit <= 600:
            self.add_error(
                "time_limit_minutes", _("Give a time limit from 1 to 600 minutes, or leave it empty.")
            )
        return cleaned


def exercises_for(teacher):
    """The exercises a teacher may set (and link to with ``?exercise=<id>``): the site library,
    their own, and those colleagues of their school share; never archived ones."""
    return Exercise.objects.visible_to(teacher).current().order_by("title")


class AssignmentCreateForm(AssignmentForm):
    """Setting new work: the same form, but one exercise may go to several of the teacher's
    classes at once (one assignment each). The field keeps its name and its label, Class.

    Work can also be set to chosen pupils of one class (``pupils``; none ticked: the whole
    class). Only pupils in that class now may be chosen, and not with several classes at once."""

    classroom = ClassroomsChoiceField(queryset=Classroom.objects.none(), label=_("Class"))
    pupils = PupilsChoiceField(
        queryset=User.objects.none(),
        required=False,
        label=_("Pupils"),
        help_text=_("Leave every box empty to set the work to the whole class."),
    )

    class Meta(AssignmentForm.Meta):
        fields = [name for name in AssignmentForm.Meta.fields if name != "classroom"]

    def __init__(self, *args, teacher, **kwargs):
        super().__init__(*args, teacher=teacher, **kwargs)
        classes = self.fields["classroom"].queryset
        self.fields["classroom"].help_text = _("Tick one class or several: each gets its own copy to mark.")
        if not self.is_bound and "classroom" not in self.initial and len(classes) == 1:
            self.initial["classroom"] = [classes[0].pk]
        self._enrolments = Enrollment.objects.current().filter(classroom__in=classes)
        self.fields["pupils"].queryset = User.objects.filter(
            pk__in=self._enrolments.values("student_id"), role=User.Role.STUDENT
        )

    def pupil_groups(self):
        """Each of the teacher's classes with its pupils now, and whether each is ticked: the
        "Pupils" checkboxes, grouped by class (one query)."""
        if self.is_bound:
            ticked = {str(pk) for pk in self.data.getlist(self.add_prefix("pupils"))}
        else:
            ticked = {str(pk) for pk in self.initial.get("pupils", [])}
        chosen_classes = {str(pk) for pk in (self["classroom"].value() or [])}
        groups = {}
        enrolments = self._enrolments.select_related("classroom", "student").order_by(
            "classroom__name",
            "classroom_id",
            "student__last_name",
            "student__first_name",
            "student__username",
        )
        for enrolment in enrolments:
            classroom = enrolment.classroom
            group = groups.setdefault(
                classroom.pk,
                {"classroom": classroom, "chosen": str(classroom.pk) in chosen_classes, "pupils": []},
            )
            group["pupils"].append((enrolment.student, str(enrolment.student_id) in ticked))
        return list(groups.values())

    def clean(self):
        cleaned = super().clean()
        pupils, classes = cleaned.get("pupils"), cleaned.get("classroom")
        if pupils and classes:
            if len(classes) > 1:
                self.add_error(
                    "pupils",
                    _(
                        "Chosen pupils can be set work in one class at a time: tick one class, or "
                        "clear the pupils to set the work to every class you ticked."
                    ),
                )
            else:
                (classroom,) = classes
                enrolled = set(
                    self._enrolments.filter(classroom=classroom, student__in=pupils).values_list(
                        "student_id", flat=True
                    )
                )
                outside = [pupil for pupil in pupils if pupil.pk not in enrolled]
                if outside:
                    self.add_error(
                        "pupils",
                        _("Not in %(class)s now: %(names)s. Choose pupils of the class you are setting.")
                        % {"class": classroom.name, "names": ", ".join(p.display_name for p in outside)},
                    )
        return cleaned


class ExtensionForm(forms.Form):
    student = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Student"))
    due_at = _datetime_field(_("New due date"))

    def __init__(self, *args, students, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"].queryset = students
        self.fields["student"].label_from_instance = lambda user: f"{user.display_name} ({user.username})"


class StudentSupportForm(forms.Form):
    """One pupil's support: another level than the class's, and extra time."""

    student = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Pupil"))
    support_level = forms.ChoiceField(
        label=_("Support"),
        required=False,
        choices=[("", _("As the assignment"))] + list(SupportLevel.choices),
    )
    extra_time_percent = forms.IntegerField(
        label=_("Extra time (%)"),
        min_value=0,
        max_value=300,
        initial=0,
        help_text=_("Added to an exam-conditions time limit, e.g. 25."),
    )

    def __init__(self, *args, students, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"].queryset = students
        self.fields["student"].label_from_instance = lambda user: f"{user.display_name} ({user.username})"


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
