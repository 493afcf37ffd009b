"""The studio's forms: a text source, an exercise, a question, a written mark scheme, the
library's filters and a pack upload. Every choice of library item is limited to what the
teacher may see (``visible_to``)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from analysis.models import Exercise, MarkScheme, Question, Source, Stage
from analysis.studio.services import LevelRow, normalise_text

PUBLIC_DOMAIN = "public-domain"
LICENCE = "licence"
EXCEPTION = "exception"
RIGHTS_TEXT = {
    PUBLIC_DOMAIN: _("Public domain"),
    EXCEPTION: _("Used under an educational exception"),
}
MAX_SOURCES = 4
MAX_LEVELS = 5


class NormalisedTextMixin:
    """Every text a teacher types or pastes is normalised (NFC, LF, no control characters),
    before the fields' own checks (which would otherwise refuse a NUL from a PDF). Labels are
    words, not "Title:"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def full_clean(self):
        if self.is_bound and hasattr(self.data, "getlist"):
            data = self.data.copy()
            for key in data:
                data.setlist(key, [normalise_text(v) if isinstance(v, str) else v for v in data.getlist(key)])
            self.data = data
        super().full_clean()

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if isinstance(value, str) and not isinstance(self.fields[name], forms.ChoiceField):
                cleaned[name] = normalise_text(value).strip()
        return cleaned


class SourceForm(NormalisedTextMixin, forms.ModelForm):
    """A text source. Its origin first (what an exam paper prints), then notes, rights and the
    text itself. The section for images is added by the image studio (see the template)."""

    rights_kind = forms.ChoiceField(
        label=_("Rights"),
        choices=[
            (PUBLIC_DOMAIN, _("Public domain")),
            (LICENCE, _("A licence (name it)")),
            (EXCEPTION, _("Used under an educational exception")),
        ],
        widget=forms.RadioSelect,
        help_text=_("May pupils be shown this text? Say on what terms."),
    )
    licence_name = forms.CharField(
        label=_("Licence"), required=False, max_length=250, help_text=_("E.g. CC BY 4.0, or Crown copyright.")
    )
    text = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_(
            "Paste the text. A blank line starts a new passage; you can split, join and reorder "
            "passages after saving."
        ),
    )

    glossary = forms.CharField(
        label=_("Glossary"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Optional. One term a line, then a colon and its meaning, e.g. “Soviet: an elected council”."
        ),
    )

    class Meta:
        model = Source
        fields = [
            "title",
            "author",
            "date_text",
            "sort_date",
            "publication",
            "kind",
            "audience",
            "topic",
            "caption",
            "context",
            "teacher_notes",
            "citation",
            "translation",
        ]
        labels = {
            "title": _("Title"),
            "author": _("Author"),
            "date_text": _("Date"),
            "sort_date": _("Sortable date"),
            "publication": _("Publication or occasion"),
            "kind": _("Kind of source"),
            "audience": _("Audience"),
            "topic": _("Topic"),
            "caption": _("Caption"),
            "context": _("Context note"),
            "teacher_notes": _("Teacher notes"),
            "citation": _("Citation"),
            "translation": _("Translation note"),
        }
        widgets = {
            "sort_date": forms.DateInput(attrs={"type": "date"}),
            "caption": forms.Textarea(attrs={"rows": 2}),
            "context": forms.Textarea(attrs={"rows": 3}),
            "teacher_notes": forms.Textarea(attrs={"rows": 3}),
            "citation": forms.Textarea(attrs={"rows": 2}),
            "translation": forms.Textarea(attrs={"rows": 2}),
            "kind": forms.TextInput(attrs={"list": "source-kinds"}),
        }

    def __init__(self, *args, with_text=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_text:
            del self.fields["text"]
            del self.fields["glossary"]
        rights = (self.instance.rights or "").strip() if self.instance.pk else ""
        if rights:
            for key, label in RIGHTS_TEXT.items():
                if rights == str(label):
                    self.initial.setdefault("rights_kind", key)
                    break
            else:
                self.initial.setdefault("rights_kind", LICENCE)
                self.initial.setdefault("licence_name", rights.removeprefix(str(_("Licence:"))).strip())

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("rights_kind")
        if kind == LICENCE:
            if not cleaned.get("licence_name"):
                self.add_error("licence_name", _("Name the licence, e.g. CC BY 4.0."))
            else:
                cleaned["rights"] = f"{_('Licence:')} {cleaned['licence_name']}"
        elif kind:
            cleaned["rights"] = str(RIGHTS_TEXT[kind])
        if "text" in self.fields and cleaned.get("text") is not None and not cleaned["text"].strip():
            self.add_error("text", _("Paste the source's text."))
        if "glossary" in self.fields:
            cleaned["terms"] = self._terms(cleaned.get("glossary", ""), cleaned.get("text") or "")
        return cleaned

    def _terms(self, raw: str, text: str) -> list[tuple[str, str]]:
        terms, seen = [], set()
        for line in (line.strip() for line in raw.split("\n")):
            if not line:
                continue
            term, colon, meaning = line.partition(":")
            term, meaning = term.strip(), meaning.strip()
            if not colon or not term or not meaning:
                self.add_error(
                    "glossary", _("“%(line)s”: write the term, a colon, then its meaning.") % {"line": line}
                )
            elif len(term) > 100:
                self.add_error("glossary", _("“%(term)s…” is too long for a term.") % {"term": term[:30]})
            elif term.casefold() not in text.casefold():
                self.add_error("glossary", _("“%(term)s” does not occur in the text.") % {"term": term})
            elif term.casefold() not in seen:
                seen.add(term.casefold())
                terms.append((term, meaning))
        return terms

    def values(self) -> dict:
        values = {name: self.cleaned_data[name] for name in self.Meta.fields}
        values["rights"] = self.cleaned_data["rights"]
        return values


class SourceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.title} — {obj.author}, {obj.date_text}"


class ExerciseForm(NormalisedTextMixin, forms.ModelForm):
    start_questions = forms.BooleanField(
        label=_("Start with one question for each stage"),
        required=False,
        initial=True,
        help_text=_(
            "Origin, purpose and reliability questions on Source A, B…, and a corroboration question "
            "when there are two sources or more. Change or remove them on the next page."
        ),
    )

    class Meta:
        model = Exercise
        fields = ["title", "summary", "instructions", "topic"]
        labels = {
            "title": _("Title"),
            "summary": _("Summary"),
            "instructions": _("Instructions for pupils"),
            "topic": _("Topic"),
        }
        help_texts = {"summary": _("One or two sentences: what the exercise is about (pupils see it).")}
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 2}),
            "instructions": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, teacher, **kwargs):
        super().__init__(*args, **kwargs)
        visible = Source.objects.visible_to(teacher)
        current = []
        if self.instance.pk:
            del self.fields["start_questions"]
            current = [link.source for link in self.instance.exercise_sources.select_related("source")]
        queryset = (visible.current() | visible.filter(pk__in=[s.pk for s in current])).order_by(
            "sort_date", "title"
        )
        for n in range(MAX_SOURCES):
            letter = "ABCD"[n]
            self.fields[f"source_{n}"] = SourceChoiceField(
                queryset=queryset,
                required=n == 0,
                label=_("Source %(letter)s") % {"letter": letter},
                empty_label=_("(none)") if n else _("Choose a source"),
                initial=current[n].pk if n < len(current) else None,
            )

    def source_fields(self):
        return [self[f"source_{n}"] for n in range(MAX_SOURCES)]

    def clean(self):
        cleaned = super().clean()
        chosen = [cleaned.get(f"source_{n}") for n in range(MAX_SOURCES)]
        chosen = [source for source in chosen if source is not None]
        if len({source.pk for source in chosen}) < len(chosen):
            raise ValidationError(_("Each source can be in the exercise once."))
        cleaned["sources"] = chosen
        return cleaned

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


def _lines(value: str) -> list[str]:
    return [line.strip() for line in normalise_text(value).split("\n") if line.strip()]


class SchemeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} (/{obj.max_marks})"


class QuestionForm(NormalisedTextMixin, forms.ModelForm):
    hints = forms.CharField(
        label=_("Hints"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line."),
    )
    sentence_starters = forms.CharField(
        label=_("Sentence starters"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line."),
    )

    class Meta:
        model = Question
        fields = [
            "stage",
            "prompt",
            "max_marks",
            "source",
            "mark_scheme",
            "indicative_content",
            "model_answer",
        ]
        labels = {
            "stage": _("Stage"),
            "prompt": _("Prompt"),
            "max_marks": _("Marks"),
            "source": _("About"),
            "mark_scheme": _("Mark scheme"),
            "indicative_content": _("Indicative content"),
            "model_answer": _("Model answer"),
        }
        help_texts = {"source": _("Leave on “all sources” for a corroboration question.")}
        widgets = {
            "prompt": forms.Textarea(attrs={"rows": 2}),
            "indicative_content": forms.Textarea(attrs={"rows": 3}),
            "model_answer": forms.Textarea(attrs={"rows": 3}),
            "max_marks": forms.NumberInput(attrs={"min": 1, "max": 100}),
        }

    def __init__(self, *args, teacher, **kwargs):
        kwargs.setdefault("prefix", f"q{kwargs['instance'].pk}")
        super().__init__(*args, **kwargs)
        question = self.instance
        self.fields["source"] = SourceChoiceField(
            queryset=Source.objects.filter(exercise_links__exercise=question.exercise).order_by(
                "exercise_links__position"
            ),
            required=False,
            label=_("About"),
            empty_label=_("All the exercise's sources"),
            help_text=self.fields["source"].help_text,
        )
        schemes = MarkScheme.objects.visible_to(teacher)
        queryset = schemes.current()
        if question.mark_scheme_id:
            queryset = queryset | schemes.filter(pk=question.mark_scheme_id)
        self.fields["mark_scheme"] = SchemeChoiceField(
            queryset=queryset.prefetch_related("levels").order_by("name").distinct(),
            required=False,
            label=_("Mark scheme"),
            empty_label=_("(none yet: pick one or write one below)"),
        )
        self.fields["max_marks"].min_value = 1
        self.fields["max_marks"].max_value = 100
        self.initial["hints"] = "\n".join(question.hints or [])
        self.initial["sentence_starters"] = "\n".join(question.sentence_starters or [])

    def clean(self):
        cleaned = super().clean()
        stage, source = cleaned.get("stage"), cleaned.get("source")
        if stage and stage != Stage.CORROBORATION and source is None:
            self.add_error("source", _("Choose the source this question is about."))
        scheme, marks = cleaned.get("mark_scheme"), cleaned.get("max_marks")
        if scheme is not None and marks and scheme.max_marks != marks:
            self.add_error(
                "mark_scheme",
                _("This scheme's top band ends at %(top)s, but the question is marked out of %(marks)s.")
                % {"top": scheme.max_marks, "marks": marks},
            )
        return cleaned

    def values(self) -> dict:
        values = {name: self.cleaned_data[name] for name in self.Meta.fields}
        values["hints"] = _lines(self.cleaned_data["hints"])
        values["sentence_starters"] = _lines(self.cleaned_data["sentence_starters"])
        return values


def _common(raw: str) -> int:
    """A typed common level (docs/skills.md): 0–4, or -1 for anything else (refused by the service)."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) == 1 else -1


def scheme_rows(data) -> list[LevelRow]:
    """The written levels from a POST (``level-N-min``, ``-max``, ``-descriptor``); empty rows
    are left out, numbers that are not whole numbers read as missing."""

    def number(raw):
        raw = (raw or "").strip()
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else None

    rows = []
    for n in range(1, MAX_LEVELS + 1):
        low, high = data.get(f"level-{n}-min", ""), data.get(f"level-{n}-max", "")
        descriptor = normalise_text(data.get(f"level-{n}-descriptor", "")).strip()
        if not (low.strip() or high.strip() or descriptor):
            continue
        common = data.get(f"level-{n}-common", "").strip()
        rows.append(LevelRow(number(low), number(high), descriptor, None if not common else _common(common)))
    return rows


class LibraryFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    period = forms.ChoiceField(label=_("Period"), required=False)
    topic = forms.ChoiceField(label=_("Topic"), required=False)
    kind = forms.ChoiceField(label=_("Kind of source"), required=False)
    stage = forms.ChoiceField(
        label=_("Stage"), required=False, choices=[("", _("Any stage")), *Stage.choices]
    )
    owner = forms.ChoiceField(
        label=_("Whose"),
        required=False,
        choices=[
            ("", _("Everything I can use")),
            ("site", _("Site library")),
            ("mine", _("Mine")),
            ("shared", _("Shared by colleagues")),
        ],
    )
    archived = forms.BooleanField(label=_("Show my archived items"), required=False)

    def __init__(self, *args, periods, topics, kinds, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = [("", _("Any period")), *periods]
        self.fields["topic"].choices = [("", _("Any topic")), *((t, t) for t in topics)]
        self.fields["kind"].choices = [("", _("Any kind")), *((k, k) for k in kinds)]


class PackUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Source pack (.yaml)"),
        help_text=_("A pack exported from Provenance. Everything in it becomes your own, private."),
    )
