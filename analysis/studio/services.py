"""The authoring studio's writes: teachers' own sources, exercises, questions and mark schemes.

Every function here takes items the caller has already looked up through
``editable_by(user)`` (or ``visible_to(user)`` for copies), so nothing in this module
decides who may do what; it decides what an edit may change once pupils have worked on an
item (``StudioRefusal``), keeps the wording history, and copies items deeply.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from analysis.library.models import COMMON_TOP
from analysis.library.packs import band_problems
from analysis.models import (
    Evidence,
    Exercise,
    ExerciseSource,
    GlossaryTerm,
    Level,
    LibraryEdit,
    MarkScheme,
    Passage,
    Question,
    Response,
    Source,
    Stage,
    Submission,
)
from lti.access import sees_teacher_only

AUTO_LABEL = re.compile(r"^Paragraph \d+$")
SOURCE_LETTERS = "ABCDEFGH"


class StudioRefusal(Exception):
    """An edit that would change what pupils' work means. ``new_version`` says whether saving
    a new version of the item is the way out."""

    def __init__(self, message: str, *, new_version: bool = True):
        self.message = message
        self.new_version = new_version
        super().__init__(message)


# --- Text ---------------------------------------------------------------------------------


def normalise_text(text: str) -> str:
    """Text pasted from a PDF or a web page, made plain: Unicode NFC, CRLF and CR as LF, tabs
    and no-break spaces as spaces, every other control or format character (NUL, zero-width
    spaces, soft hyphens, bidi marks) dropped, trailing spaces cut from each line."""
    text = unicodedata.normalize("NFC", text or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").replace("\u00a0", " ")
    kept = "".join(
        ch for ch in text if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
    )
    return "\n".join(line.rstrip() for line in kept.split("\n")).strip("\n")


def paragraphs(text: str) -> list[str]:
    """Normalised text cut into passages at blank lines."""
    return [part.strip() for part in re.split(r"\n\s*\n", normalise_text(text)) if part.strip()]


# --- Ownership ----------------------------------------------------------------------------


def unique_slug(model, owner, title: str) -> str:
    """A slug in the owner's own namespace: the title slugified plus a random suffix, so it
    never names (or reveals) a site-library item or a colleague's."""
    base = (slugify(title) or model._meta.model_name)[:80].strip("-") or model._meta.model_name
    while True:
        slug = f"{base}-{secrets.token_hex(3)}"
        if not model.objects.filter(owner=owner, slug=slug).exists():
            return slug


def _own(item, owner) -> None:
    item.owner = owner
    item.school_id = owner.school_id
    item.shared = False
    item.archived_at = None


def exercise_has_work(exercise: Exercise) -> bool:
    """Pupils have written, cited or handed in something for this exercise."""
    return (
        Response.objects.filter(question__exercise=exercise)
        .filter(Q(text__gt="") | Q(evidence__isnull=False))
        .exists()
        or Submission.objects.filter(assignment__exercise=exercise)
        .exclude(status=Submission.Status.IN_PROGRESS)
        .exists()
    )


def source_has_work(source: Source) -> bool:
    """Pupils' evidence quotes this source's passages."""
    return Evidence.objects.filter(passage__source=source).exists()


def scheme_has_work(scheme: MarkScheme) -> bool:
    return any(exercise_has_work(q.exercise) for q in scheme.questions.select_related("exercise"))


HISTORY_MERGE_WINDOW = timedelta(minutes=15)


def record_edits(*, item, by, before: dict, after: dict) -> None:
    """Keep the wording history of an item with pupils' work: one row per changed field. The
    autosave sends a field many times while it is typed; one sitting's changes to one field are
    one row (from the wording before the sitting to the latest)."""
    kind = "exercise" if isinstance(item, Exercise) else "source"
    since = timezone.now() - HISTORY_MERGE_WINDOW
    for name in after:
        if before.get(name) == after[name]:
            continue
        recent = (
            LibraryEdit.objects.filter(**{kind: item}, field=name, by=by, at__gte=since)
            .order_by("-at")
            .first()
        )
        if recent is not None and recent.after == before.get(name):
            recent.after = after[name]
            recent.save(update_fields=["after"])
        else:
            LibraryEdit.objects.create(
                **{kind: item}, field=name, before=before[name], after=after[name], by=by
            )


# --- Sources ------------------------------------------------------------------------------


@transaction.atomic
def source_create(*, owner, values: dict, text: str, terms=()) -> Source:
    """A text source of the owner's, private: the text becomes passages at blank lines."""
    source = Source(**values)
    _own(source, owner)
    source.slug = unique_slug(Source, owner, source.title)
    source.save()
    Passage.objects.bulk_create(
        Passage(source=source, position=n, label=f"Paragraph {n + 1}", text=part)
        for n, part in enumerate(paragraphs(text))
    )
    GlossaryTerm.objects.bulk_create(
        GlossaryTerm(source=source, position=n, term=term, definition=meaning)
        for n, (term, meaning) in enumerate(terms)
    )
    return source


@transaction.atomic
def source_update(*, source: Source, by, values: dict) -> Source:
    """Origin fields and notes: wording, always allowed; kept in the history once pupils have
    quoted the source."""
    before = {name: str(getattr(source, name) or "") for name in values}
    for name, value in values.items():
        setattr(source, name, value)
    source.save()
    if source_has_work(source) or any(exercise_has_work(e) for e in source.exercises.all()):
        after = {name: str(getattr(source, name) or "") for name in values}
        record_edits(item=source, by=by, before=before, after=after)
    return source


def _renumber(source: Source) -> None:
    """Positions 0..n-1 in order; labels that were given automatically follow their position."""
    for position, passage in enumerate(source.passages.order_by("position", "pk")):
        label = f"Paragraph {position + 1}" if AUTO_LABEL.match(passage.label) else passage.label
        if (passage.position, passage.label) != (position, label):
            passage.position, passage.label = position, label
            passage.save(update_fields=["position", "label"])


def _refuse_if_quoted(passage: Passage) -> None:
    if passage.evidence.exists():
        raise StudioRefusal(
            _(
                "Pupils have quoted “%(label)s”, so its text cannot change here: their quotations "
                "would no longer match. Save the source as a new version to change it."
            )
            % {"label": passage.label}
        )


@transaction.atomic
def passage_split(*, passage: Passage, before_words: str) -> None:
    """Split a passage before the first place the given words occur."""
    words = normalise_text(before_words).strip()
    at = passage.text.find(words) if words else -1
    if at <= 0:
        raise StudioRefusal(
            _("Type the first words of the new passage exactly as they appear in “%(label)s”.")
            % {"label": passage.label},
            new_version=False,
        )
    _refuse_if_quoted(passage)
    head, tail = passage.text[:at].rstrip(), passage.text[at:].strip()
    Passage.objects.filter(source=passage.source, position__gt=passage.position).update(
        position=F("position") + 1
    )
    passage.text = head
    passage.save(update_fields=["text"])
    Passage.objects.create(
        source=passage.source, position=passage.position + 1, label="Paragraph 0", text=tail
    )
    _renumber(passage.source)


@transaction.atomic
def passage_join(*, passage: Passage) -> None:
    """Join a passage with the one after it."""
    following = passage.source.passages.filter(position__gt=passage.position).order_by("position").first()
    if following is None:
        raise StudioRefusal(
            _("This is the last passage: there is nothing to join it with."), new_version=False
        )
    _refuse_if_quoted(passage)
    _refuse_if_quoted(following)
    passage.text = f"{passage.text}\n\n{following.text}"
    passage.save(update_fields=["text"])
    following.delete()
    _renumber(passage.source)


@transaction.atomic
def passage_move(*, passage: Passage, up: bool) -> None:
    passages = list(passage.source.passages.order_by("position", "pk"))
    index = passages.index(passage)
    other = index - 1 if up else index + 1
    if 0 <= other < len(passages):
        passages[index], passages[other] = passages[other], passages[index]
        for position, item in enumerate(passages):
            Passage.objects.filter(pk=item.pk).update(position=position)
    _renumber(passage.source)


def passage_relabel(*, passage: Passage, label: str, by) -> None:
    label = normalise_text(label).strip()[:100]
    if not label:
        raise StudioRefusal(_("A passage needs a label, e.g. “Paragraph 2” or “Opening”."), new_version=False)
    if label != passage.label:
        if source_has_work(passage.source):
            record_edits(
                item=passage.source,
                by=by,
                before={"passage label": passage.label},
                after={"passage label": label},
            )
        passage.label = label
        passage.save(update_fields=["label"])


def passage_retext(*, passage: Passage, text: str) -> None:
    text = normalise_text(text).strip()
    if not text:
        raise StudioRefusal(_("A passage cannot be empty: join it with another instead."), new_version=False)
    if text != passage.text:
        _refuse_if_quoted(passage)
        passage.text = text
        passage.save(update_fields=["text"])


def glossary_add(*, source: Source, term: str, definition: str) -> GlossaryTerm:
    term, definition = normalise_text(term).strip()[:100], normalise_text(definition).strip()
    if not term or not definition:
        raise StudioRefusal(_("Give both the term and what it means."), new_version=False)
    text = "\n".join(source.passages.values_list("text", flat=True))
    if term.casefold() not in text.casefold():
        raise StudioRefusal(
            _("“%(term)s” does not occur in the source's text: pupils would never see it explained.")
            % {"term": term},
            new_version=False,
        )
    if source.glossary.filter(term__iexact=term).exists():
        raise StudioRefusal(_("“%(term)s” is already in the glossary.") % {"term": term}, new_version=False)
    position = source.glossary.count()
    return GlossaryTerm.objects.create(source=source, term=term, definition=definition, position=position)


def _copy_source(source: Source, *, owner, title: str, based_on: Source | None) -> Source:
    passages = list(source.passages.order_by("position", "pk"))
    terms = list(source.glossary.order_by("position", "pk"))
    copy = Source.objects.get(pk=source.pk)
    copy.pk = None
    copy.title = title
    copy.based_on = based_on
    _own(copy, owner)
    copy.slug = unique_slug(Source, owner, title)
    copy.save()
    Passage.objects.bulk_create(
        Passage(source=copy, position=p.position, label=p.label, text=p.text) for p in passages
    )
    GlossaryTerm.objects.bulk_create(
        GlossaryTerm(source=copy, position=t.position, term=t.term, definition=t.definition) for t in terms
    )
    return copy


@transaction.atomic
def source_copy(*, source: Source, owner) -> Source:
    return _copy_source(
        source, owner=owner, title=_("%(title)s (copy)") % {"title": source.title}, based_on=source
    )


@transaction.atomic
def source_new_version(*, source: Source, by) -> Source:
    """A copy to change freely; the owner's exercises without pupils' work move to it and the
    old version is archived (its pupils' quotations keep pointing at the old text)."""
    copy = _copy_source(source, owner=by, title=source.title, based_on=source)
    copy.shared = source.shared
    copy.save(update_fields=["shared"])
    for link in ExerciseSource.objects.filter(source=source, exercise__owner=by).select_related("exercise"):
        if not exercise_has_work(link.exercise):
            Question.objects.filter(exercise=link.exercise, source=source).update(source=copy)
            link.source = copy
            link.save(update_fields=["source"])
    source.archived_at = timezone.now()
    source.save(update_fields=["archived_at"])
    return copy


# --- Exercises ----------------------------------------------------------------------------


@transaction.atomic
def exercise_create(*, owner, values: dict, sources: list[Source], start_questions=False) -> Exercise:
    """A new exercise of the owner's, private; with ``start_questions`` one question per stage
    from the pattern bank (corroboration only with two sources or more), ready to adapt."""
    exercise = Exercise(**values)
    _own(exercise, owner)
    exercise.slug = unique_slug(Exercise, owner, exercise.title)
    exercise.save()
    _set_sources(exercise, sources)
    if start_questions:
        for stage in Stage.values:
            if stage != Stage.CORROBORATION or len(sources) >= 2:
                question_add(exercise=exercise, stage=stage)
    return exercise


def _set_sources(exercise: Exercise, sources: list[Source]) -> None:
    current = [link.source_id for link in exercise.exercise_sources.order_by("position")]
    if current == [source.pk for source in sources]:
        return
    exercise.exercise_sources.all().delete()
    ExerciseSource.objects.bulk_create(
        ExerciseSource(exercise=exercise, source=source, position=n) for n, source in enumerate(sources)
    )
    # A question about a source the exercise no longer has is about all of them.
    Question.objects.filter(exercise=exercise).exclude(source__in=sources).exclude(source=None).update(
        source=None
    )


@transaction.atomic
def exercise_update(*, exercise: Exercise, by, values: dict, sources: list[Source]) -> Exercise:
    has_work = exercise_has_work(exercise)
    current = [link.source_id for link in exercise.exercise_sources.order_by("position")]
    if has_work and current != [source.pk for source in sources]:
        raise StudioRefusal(
            _(
                "Pupils have worked on this exercise, so its sources cannot change: "
                "their answers are about them."
            )
        )
    before = {name: str(getattr(exercise, name) or "") for name in values}
    for name, value in values.items():
        setattr(exercise, name, value)
    exercise.save()
    _set_sources(exercise, sources)
    if has_work:
        after = {name: str(getattr(exercise, name) or "") for name in values}
        record_edits(item=exercise, by=by, before=before, after=after)
    return exercise


def _copy_scheme(scheme: MarkScheme, *, owner) -> MarkScheme:
    levels = list(scheme.levels.order_by("number"))
    copy = MarkScheme.objects.get(pk=scheme.pk)
    copy.pk = None
    _own(copy, owner)
    copy.slug = unique_slug(MarkScheme, owner, scheme.name)
    copy.save()
    Level.objects.bulk_create(
        Level(
            scheme=copy,
            number=level.number,
            min_marks=level.min_marks,
            max_marks=level.max_marks,
            descriptor=level.descriptor,
            common_level=level.common_level,
        )
        for level in levels
    )
    return copy


def _deep_copy(exercise: Exercise, *, owner, title: str, based_on: Exercise) -> Exercise:
    """The exercise, its questions and its teacher-written mark schemes, as the owner's own.
    Site-library sources and schemes are referenced; other teachers' sources are copied so that
    the copy does not change when they edit theirs."""
    links = list(exercise.exercise_sources.select_related("source").order_by("position"))
    questions = list(exercise.questions.select_related("mark_scheme", "source").order_by("position", "pk"))
    copy = Exercise.objects.get(pk=exercise.pk)
    copy.pk = None
    copy.title = title[:200]
    copy.based_on = based_on
    _own(copy, owner)
    copy.slug = unique_slug(Exercise, owner, copy.title)
    copy.save()
    sources = {}
    for link in links:
        source = link.source
        if source.owner_id not in (None, owner.pk):
            source = _copy_source(source, owner=owner, title=source.title, based_on=source)
        sources[link.source_id] = source
    ExerciseSource.objects.bulk_create(
        ExerciseSource(exercise=copy, source=sources[link.source_id], position=link.position)
        for link in links
    )
    schemes = {}
    for question in questions:
        scheme = question.mark_scheme
        if scheme is not None and scheme.owner_id is not None:
            if scheme.pk not in schemes:
                schemes[scheme.pk] = _copy_scheme(scheme, owner=owner)
            scheme = schemes[scheme.pk]
        question.pk = None
        question.exercise = copy
        question.mark_scheme = scheme
        question.source = sources.get(question.source_id) if question.source_id else None
        question.save()
    return copy


@transaction.atomic
def exercise_copy(*, exercise: Exercise, owner) -> Exercise:
    """Copy to adapt: the teacher's own private copy, titled “… (copy)”; the original untouched.
    Teacher-only material the owner may not see (``lti.access``) is left out of the copy."""
    copy = _deep_copy(
        exercise, owner=owner, title=_("%(title)s (copy)") % {"title": exercise.title}, based_on=exercise
    )
    if not sees_teacher_only(owner, exercise):
        copy.questions.update(indicative_content="", model_answer="")
    return copy


@transaction.atomic
def exercise_new_version(*, exercise: Exercise, by) -> Exercise:
    """The way out of a refused edit: a copy linked to the version it came from, which future
    assignments use; the old version is archived with its pupils' work untouched."""
    copy = _deep_copy(exercise, owner=by, title=exercise.title, based_on=exercise)
    copy.shared = exercise.shared
    copy.topic = exercise.topic
    copy.save(update_fields=["shared", "topic"])
    exercise.archived_at = timezone.now()
    exercise.save(update_fields=["archived_at"])
    return copy


def item_archive(*, item, archived: bool) -> None:
    item.archived_at = timezone.now() if archived else None
    item.save(update_fields=["archived_at"])


def item_share(*, item, shared: bool) -> None:
    item.shared = shared
    item.save(update_fields=["shared"])


def exercise_delete_or_archive(*, exercise: Exercise) -> str:
    """Delete an unused draft; anything set to a class is archived instead (never deleted)."""
    if exercise.assignments.exists() or exercise.versions.exists():
        item_archive(item=exercise, archived=True)
        return "archived"
    with transaction.atomic():
        schemes = [q.mark_scheme for q in exercise.questions.select_related("mark_scheme") if q.mark_scheme]
        exercise.delete()
        for scheme in schemes:
            if scheme.owner_id is not None and not scheme.questions.exists():
                scheme.delete()
    return "deleted"


def source_delete_or_archive(*, source: Source) -> str:
    if source.exercise_links.exists() or source.questions.exists() or source.versions.exists():
        item_archive(item=source, archived=True)
        return "archived"
    source.delete()
    return "deleted"


# --- Questions ----------------------------------------------------------------------------

PROMPT_PATTERNS = {
    Stage.READING: [
        "What does Source {a} say about …? Give two details.",
        "What can you infer from Source {a} about …?",
        "Explain in your own words what the author of Source {a} means by “…”.",
    ],
    Stage.ORIGIN: [
        "Who produced Source {a}, when, and for whom?",
        "What does the provenance of Source {a} tell you about its author's position?",
        "Study Source {a}. What kind of source is it, and why does that matter?",
    ],
    Stage.PURPOSE: [
        "Why was Source {a} produced?",
        "What did the author of Source {a} want the audience to think or do?",
        "What can you infer from Source {a} about …?",
    ],
    Stage.RELIABILITY: [
        "How useful is Source {a} for an historian studying …?",
        "How reliable is Source {a} as evidence of …?",
        "How far can you trust what Source {a} says about …?",
    ],
    Stage.CORROBORATION: [
        "How far do Sources {a} and {b} agree about …?",
        "Compare Sources {a} and {b}: which is more useful for studying …?",
        "To what extent does Source {b} support the view of Source {a}?",
    ],
}
DEFAULT_MARKS = {
    Stage.READING: 3,
    Stage.ORIGIN: 4,
    Stage.PURPOSE: 4,
    Stage.RELIABILITY: 8,
    Stage.CORROBORATION: 8,
}


def prompt_patterns(exercise: Exercise) -> dict[str, list[str]]:
    """The pattern bank with this exercise's source letters filled in."""
    letters = {"a": "A", "b": "B"}
    return {stage: [p.format(**letters) for p in patterns] for stage, patterns in PROMPT_PATTERNS.items()}


def _refuse_if_worked(exercise: Exercise, what: str) -> None:
    if exercise_has_work(exercise):
        raise StudioRefusal(
            _(
                "Pupils have worked on this exercise, so %(what)s would change what their work means. "
                "Save it as a new version to make this change; their work stays with this one."
            )
            % {"what": what}
        )


@transaction.atomic
def question_add(*, exercise: Exercise, stage: str) -> Question:
    _refuse_if_worked(exercise, _("adding a question"))
    sources = [
        link.source for link in exercise.exercise_sources.select_related("source").order_by("position")
    ]
    position = exercise.questions.count()
    source = None if stage == Stage.CORROBORATION or not sources else sources[min(position, len(sources) - 1)]
    letter = SOURCE_LETTERS[sources.index(source)] if source in sources else "A"
    prompt = PROMPT_PATTERNS[stage][0].format(a=letter, b="B")
    return Question.objects.create(
        exercise=exercise,
        position=position,
        stage=stage,
        source=source,
        prompt=prompt,
        max_marks=DEFAULT_MARKS[stage],
    )


# What may change on a question with pupils' work (wording) and what may not (meaning).
WORDING = ("prompt", "hints", "sentence_starters", "indicative_content", "model_answer")
MEANING = ("stage", "source", "max_marks", "mark_scheme")


@transaction.atomic
def question_update(*, question: Question, by, values: dict) -> list[str]:
    """Save a question's fields. With pupils' work, changes of meaning are refused (nothing is
    saved) and wording changes are kept in the history. Returns the fields that changed."""
    changed = [name for name, value in values.items() if getattr(question, name) != value]
    if not changed:
        return []
    exercise = question.exercise
    has_work = exercise_has_work(exercise)
    if has_work and any(name in MEANING for name in changed):
        names = ", ".join(str(Question._meta.get_field(n).verbose_name) for n in changed if n in MEANING)
        _refuse_if_worked(exercise, _("changing the question's %(fields)s") % {"fields": names})
    before = {f"Q{question.number} {n}": _as_text(getattr(question, n)) for n in changed}
    for name in changed:
        setattr(question, name, values[name])
    question.save()
    if has_work:
        after = {f"Q{question.number} {n}": _as_text(getattr(question, n)) for n in changed}
        record_edits(item=exercise, by=by, before=before, after=after)
    return changed


def _as_text(value) -> str:
    if isinstance(value, list):
        return "\n".join(value)
    return "" if value is None else str(value)


@transaction.atomic
def question_move(*, question: Question, up: bool) -> None:
    exercise = question.exercise
    _refuse_if_worked(exercise, _("renumbering the questions"))
    questions = list(exercise.questions.order_by("position", "pk"))
    index = questions.index(question)
    other = index - 1 if up else index + 1
    if 0 <= other < len(questions):
        questions[index], questions[other] = questions[other], questions[index]
    for position, item in enumerate(questions):
        Question.objects.filter(pk=item.pk).update(position=position)


@transaction.atomic
def question_remove(*, question: Question) -> None:
    exercise = question.exercise
    _refuse_if_worked(exercise, _("removing a question"))
    scheme = question.mark_scheme
    question.delete()
    for position, item in enumerate(exercise.questions.order_by("position", "pk")):
        Question.objects.filter(pk=item.pk).update(position=position)
    if scheme is not None and scheme.owner_id is not None and not scheme.questions.exists():
        scheme.delete()


@dataclass
class LevelRow:
    min: int | None
    max: int | None
    descriptor: str
    # Where the level sits on the common 0–4 scale (docs/skills.md); None: the proportional default.
    # A value that is not a whole number from 0 to 4 arrives as -1 and is refused.
    common: int | None = None


@transaction.atomic
def question_write_scheme(*, question: Question, by, rows: list[LevelRow]) -> MarkScheme:
    """A mark scheme written for this question: checked by the same band rules as a source
    pack's, the top band ending at the question's marks. A scheme the teacher wrote for this
    question alone is updated in place; otherwise a new one of theirs is made."""
    _refuse_if_worked(question.exercise, _("changing the mark scheme"))
    levels = [{"level": n, "min": r.min, "max": r.max} for n, r in enumerate(rows, start=1)]
    messages = []
    if not rows:
        messages.append(_("Write at least one level: its lowest and highest mark and what it looks like."))
    for n, row in enumerate(rows, start=1):
        if row.min is None or row.max is None or not row.descriptor:
            messages.append(_("Level %(n)s: give its lowest mark, highest mark and descriptor.") % {"n": n})
    highest = 0
    for n, row in enumerate(rows, start=1):
        if row.common is None:
            continue
        if not 0 <= row.common <= COMMON_TOP:
            messages.append(
                _("Level %(n)s: the common level is a whole number from 0 to %(top)s, or empty.")
                % {"n": n, "top": COMMON_TOP}
            )
        elif row.common < highest:
            messages.append(
                _("Level %(n)s: its common level may not be below a lower level's (%(before)s).")
                % {"n": n, "before": highest}
            )
        highest = max(highest, row.common)
    if not messages:
        messages += [
            _("Level %(n)s: %(message)s") % {"n": p.index + 1, "message": p.message}
            for p in band_problems(levels, max_marks=question.max_marks)
        ]
        if rows[0].min not in (0, 1):
            messages.append(_("Level 1 should start at 0 or 1 mark."))
    if messages:
        raise StudioRefusal(" ".join(messages), new_version=False)
    scheme = question.mark_scheme
    if not (
        scheme is not None
        and scheme.owner_id == by.pk
        and not scheme.questions.exclude(pk=question.pk).exists()
    ):
        name = _("%(exercise)s — question %(number)s") % {
            "exercise": question.exercise.title,
            "number": question.number,
        }
        scheme = MarkScheme(name=name[:200])
        _own(scheme, by)
        scheme.slug = unique_slug(MarkScheme, by, name)
        scheme.save()
    scheme.levels.all().delete()
    Level.objects.bulk_create(
        Level(
            scheme=scheme,
            number=n,
            min_marks=r.min,
            max_marks=r.max,
            descriptor=normalise_text(r.descriptor),
            common_level=r.common,
        )
        for n, r in enumerate(rows, start=1)
    )
    if question.mark_scheme_id != scheme.pk:
        question.mark_scheme = scheme
        question.save(update_fields=["mark_scheme"])
    return scheme
