"""The authoring studio (/teach/library/, /teach/sources/…, /teach/exercises/…): teachers make
text sources, exercises, questions and mark schemes of their own, copy and adapt the library's,
share with colleagues and move packs in and out.

Every lookup goes through ``visible_to`` (preview, copy, set) or ``editable_by`` (change), so
another teacher's private item, or a colleague's shared one for editing, answers 404. Views
called by htmx answer with the partial they replace; without htmx they redirect back."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import teacher_required
from analysis.library import packs
from analysis.models import Source, Stage
from analysis.studio import selectors
from analysis.studio import services as studio
from analysis.studio.forms import (
    ExerciseForm,
    LibraryFilterForm,
    PackUploadForm,
    QuestionForm,
    SourceForm,
    scheme_rows,
)
from analysis.studio.services import StudioRefusal

SOURCE_KINDS = (
    "Speech",
    "Newspaper report",
    "Newspaper article",
    "Letter",
    "Diary",
    "Memoir",
    "Official document",
    "Pamphlet",
    "Decree",
    "Poster text",
    "Song",
    "Interview",
)


def _render(request, template, context):
    """The studio's pages: the site navigation marks the library as the current section."""
    return render(request, template, {"studio_page": True, **context})


def _htmx(request) -> bool:
    return bool(getattr(request, "htmx", False))


# --- The library --------------------------------------------------------------------------


@teacher_required
@require_GET
def library(request):
    periods, topics, kinds = selectors.library_choices(request.user)
    form = LibraryFilterForm(request.GET or None, periods=periods, topics=topics, kinds=kinds)
    form.is_valid()  # a stale choice in a bookmarked link drops that filter, not the others
    filters = getattr(form, "cleaned_data", {})
    items = selectors.library(
        request.user,
        q=filters.get("q", ""),
        period=filters.get("period", ""),
        topic=filters.get("topic", ""),
        kind=filters.get("kind", ""),
        stage=filters.get("stage", ""),
        owner=filters.get("owner", ""),
        archived=filters.get("archived", False),
    )
    return _render(request, "studio/library.html", {"form": form, "library": items})


# --- Sources --------------------------------------------------------------------------------


@teacher_required
@require_http_methods(["GET", "POST"])
def source_create(request):
    """A new text source. ``?with=`` carries the sources made just before, so that “Save and
    build an exercise” starts the exercise with all of them, in order."""
    earlier = list(
        Source.objects.editable_by(request.user)
        .filter(pk__in=[pk for pk in map(_int, request.GET.getlist("with")[:3]) if pk is not None])
        .order_by("pk")
    )
    form = SourceForm(request.POST or None)
    if form.is_valid():
        source = studio.source_create(
            owner=request.user,
            values=form.values(),
            text=form.cleaned_data["text"],
            terms=form.cleaned_data["terms"],
        )
        messages.success(
            request,
            _("“%(title)s” is saved in your library, private to you (%(count)s passages).")
            % {"title": source.title, "count": source.passages.count()},
        )
        chain = urlencode(
            [
                ("with" if request.POST.get("then") == "another" else "source", s.pk)
                for s in [*earlier, source]
            ]
        )
        if request.POST.get("then") == "another":
            return redirect(f"{reverse('teach:source-create')}?{chain}")
        if request.POST.get("then") == "exercise":
            return redirect(f"{reverse('teach:exercise-create')}?{chain}")
        return redirect("teach:source-edit", source.pk)
    return _render(
        request,
        "studio/source_form.html",
        {"form": form, "source": None, "kinds": SOURCE_KINDS, "earlier": earlier},
    )


def _source_page(request, source, form, **extra):
    return _render(
        request,
        "studio/source_form.html",
        {
            "form": form,
            "source": source,
            "kinds": SOURCE_KINDS,
            "passages": list(source.passages.order_by("position", "pk")),
            "glossary": list(source.glossary.order_by("position", "pk")),
            "history": selectors.source_history(source),
            "has_work": studio.source_has_work(source),
            "earlier": [],
            **extra,
        },
    )


@teacher_required
@require_http_methods(["GET", "POST"])
def source_edit(request, pk):
    source = selectors.editable_source(request.user, pk)
    form = SourceForm(request.POST or None, instance=source, with_text=False)
    if request.method == "POST":
        if form.is_valid():
            studio.source_update(source=source, by=request.user, values=form.values())
            if _htmx(request):
                return _status(request, saved=True)
            messages.success(request, _("Saved."))
            return redirect("teach:source-edit", source.pk)
        if _htmx(request):
            return _status(request, form=form)
        source.refresh_from_db()
    return _source_page(request, source, form)


@teacher_required
@require_GET
def source_preview(request, pk):
    source = selectors.visible_source(request.user, pk)
    return _render(request, "studio/source_preview.html", {"source": source})


def _passages_partial(request, source, error=None, new_version=False):
    context = {
        "source": source,
        "passages": list(source.passages.order_by("position", "pk")),
        "error": error,
        "new_version": new_version,
    }
    return _render(request, "studio/_passages.html", context)


@teacher_required
@require_POST
def source_passages(request, pk):
    """One change to the passages: split, join, move up or down, relabel or retext."""
    source = selectors.editable_source(request.user, pk)
    passage = source.passages.filter(pk=_int(request.POST.get("passage"))).first()
    action = request.POST.get("action", "")
    error, new_version = None, False
    if passage is None:
        error = _("That passage is no longer in this source; the list below is up to date.")
    else:
        try:
            if action == "split":
                studio.passage_split(passage=passage, before_words=request.POST.get("at", ""))
            elif action == "join":
                studio.passage_join(passage=passage)
            elif action in ("up", "down"):
                studio.passage_move(passage=passage, up=action == "up")
            elif action == "relabel":
                studio.passage_relabel(passage=passage, label=request.POST.get("label", ""), by=request.user)
            elif action == "text":
                studio.passage_retext(passage=passage, text=request.POST.get("text", ""))
            else:
                error = _("Choose what to do with the passage.")
        except StudioRefusal as refusal:
            error, new_version = refusal.message, refusal.new_version
    if _htmx(request):
        return _passages_partial(request, source, error, new_version)
    if error:
        messages.error(request, error)
    return redirect(reverse("teach:source-edit", args=[source.pk]) + "#passages")


@teacher_required
@require_POST
def source_glossary(request, pk):
    source = selectors.editable_source(request.user, pk)
    error = None
    if request.POST.get("action") == "remove":
        source.glossary.filter(pk=_int(request.POST.get("term_id"))).delete()
    else:
        try:
            studio.glossary_add(
                source=source,
                term=request.POST.get("term", ""),
                definition=request.POST.get("definition", ""),
            )
        except StudioRefusal as refusal:
            error = refusal.message
    if _htmx(request):
        return render(
            request,
            "studio/_glossary.html",
            {"source": source, "glossary": list(source.glossary.order_by("position", "pk")), "error": error},
        )
    if error:
        messages.error(request, error)
    return redirect(reverse("teach:source-edit", args=[source.pk]) + "#glossary")


@teacher_required
@require_POST
def source_copy(request, pk):
    source = selectors.visible_source(request.user, pk)
    copy = studio.source_copy(source=source, owner=request.user)
    messages.success(
        request, _("This is your own copy of “%(title)s”: change it freely.") % {"title": source.title}
    )
    return redirect("teach:source-edit", copy.pk)


def _share_or_archive(request, item, action: str, shared_message: str) -> bool:
    """The share/unshare and archive/restore actions every library item has; False for others."""
    if action in ("share", "unshare"):
        studio.item_share(item=item, shared=action == "share")
        messages.success(
            request, shared_message if action == "share" else _("Private again: only you can see it.")
        )
    elif action in ("archive", "restore"):
        studio.item_archive(item=item, archived=action == "archive")
        messages.success(request, _("Archived.") if action == "archive" else _("Restored."))
    else:
        return False
    return True


@teacher_required
@require_POST
def source_manage(request, pk):
    """Share or unshare, archive or restore, delete an unused source, or save a new version."""
    source = selectors.editable_source(request.user, pk)
    action = request.POST.get("action", "")
    shared = _("Shared with the teachers of your school: they can preview, use and copy it.")
    if _share_or_archive(request, source, action, shared):
        return redirect("teach:source-edit", source.pk)
    if action == "delete":
        outcome = studio.source_delete_or_archive(source=source)
        if outcome == "deleted":
            messages.success(request, _("Deleted."))
            return redirect("teach:library")
        messages.info(request, _("Exercises use this source, so it is archived instead of deleted."))
    elif action == "new-version":
        copy = studio.source_new_version(source=source, by=request.user)
        messages.success(
            request,
            _(
                "This is the new version: change it freely. Pupils' quotations stay with the old one, "
                "now archived."
            ),
        )
        return redirect("teach:source-edit", copy.pk)
    return redirect("teach:source-edit", source.pk)


# --- Exercises --------------------------------------------------------------------------------


@teacher_required
@require_http_methods(["GET", "POST"])
def exercise_create(request):
    initial = {"start_questions": True}
    chosen = [_int(raw) for raw in request.GET.getlist("source")[:4]]
    for n, source_id in enumerate(source_id for source_id in chosen if source_id is not None):
        initial[f"source_{n}"] = source_id
    form = ExerciseForm(request.POST or None, teacher=request.user, initial=initial)
    if form.is_valid():
        exercise = studio.exercise_create(
            owner=request.user,
            values=form.values(),
            sources=form.cleaned_data["sources"],
            start_questions=form.cleaned_data["start_questions"],
        )
        messages.success(request, _("Saved, private to you. Now add its questions."))
        return redirect(reverse("teach:exercise-edit", args=[exercise.pk]) + "#questions")
    return _render(request, "studio/exercise_form.html", {"form": form, "exercise": None})


def _question_forms(request, exercise, questions, bound=None):
    forms = []
    for question in questions:
        if bound is not None and bound.instance.pk == question.pk:
            forms.append(bound)
        else:
            forms.append(QuestionForm(instance=question, teacher=request.user))
    return forms


def _questions_context(request, exercise, **extra):
    editor = selectors.exercise_editor(exercise)
    return {
        "exercise": exercise,
        "question_forms": _question_forms(request, exercise, editor["questions"]),
        "stages": Stage.choices,
        "patterns": studio.prompt_patterns(exercise),
        "has_work": studio.exercise_has_work(exercise),
        "refusal": None,
        "focus": None,
        "scheme_error": None,
        "scheme_for": None,
        "scheme_post": None,
        "scheme_saved": None,
        **editor,
        **extra,
    }


@teacher_required
@require_http_methods(["GET", "POST"])
def exercise_edit(request, pk):
    exercise = selectors.editable_exercise(request.user, pk)
    form = ExerciseForm(request.POST or None, instance=exercise, teacher=request.user)
    if request.method == "POST":
        if form.is_valid():
            try:
                studio.exercise_update(
                    exercise=exercise,
                    by=request.user,
                    values=form.values(),
                    sources=form.cleaned_data["sources"],
                )
            except StudioRefusal as refusal:
                if _htmx(request):
                    return _status(request, refusal=refusal, exercise=exercise)
                messages.error(request, refusal.message)
                return redirect("teach:exercise-edit", exercise.pk)
            if _htmx(request):
                return _status(request, saved=True)
            messages.success(request, _("Saved."))
            return redirect("teach:exercise-edit", exercise.pk)
        if _htmx(request):
            return _status(request, form=form)
        exercise.refresh_from_db()
    return _render(
        request, "studio/exercise_form.html", {"form": form, **_questions_context(request, exercise)}
    )


@teacher_required
@require_GET
def exercise_pupil_preview(request, pk):
    """The exercise exactly as a pupil sees it: sources, prompts, hints and starters; nothing
    that is for teachers only."""
    exercise = selectors.visible_exercise(request.user, pk)
    questions = list(exercise.questions.select_related("source").order_by("position", "pk"))
    return _render(
        request,
        "studio/exercise_pupil_preview.html",
        {"exercise": exercise, "questions": questions, "sources": selectors.exercise_with_sources(exercise)},
    )


@teacher_required
@require_POST
def exercise_copy(request, pk):
    exercise = selectors.visible_exercise(request.user, pk)
    copy = studio.exercise_copy(exercise=exercise, owner=request.user)
    messages.success(
        request,
        _("This is your own copy of “%(title)s”, private to you: adapt it freely. The original is unchanged.")
        % {"title": exercise.title},
    )
    return redirect("teach:exercise-edit", copy.pk)


@teacher_required
@require_POST
def exercise_manage(request, pk):
    """Share or unshare, archive or restore, delete an unused draft, or save a new version."""
    exercise = selectors.editable_exercise(request.user, pk)
    action = request.POST.get("action", "")
    shared = _("Shared with the teachers of your school: they can preview, set and copy it, not change it.")
    if _share_or_archive(request, exercise, action, shared):
        return redirect("teach:exercise-edit", exercise.pk)
    if action == "delete":
        if studio.exercise_delete_or_archive(exercise=exercise) == "deleted":
            messages.success(request, _("Deleted."))
            return redirect("teach:library")
        messages.info(
            request, _("This exercise has been set to a class, so it is archived instead of deleted.")
        )
    elif action == "new-version":
        copy = studio.exercise_new_version(exercise=exercise, by=request.user)
        messages.success(
            request,
            _(
                "This is the new version: change it freely. New assignments use it; pupils' work stays "
                "with the old version, now archived."
            ),
        )
        return redirect("teach:exercise-edit", copy.pk)
    return redirect("teach:exercise-edit", exercise.pk)


@teacher_required
@require_GET
def exercise_export(request, pk):
    exercise = selectors.editable_exercise(request.user, pk)
    text, images = packs.pack_export_files(exercise_slugs=[exercise.slug], owner=request.user)
    name = slugify(exercise.title) or "exercise"
    if images:  # image sources travel in a .zip pack beside the YAML
        response = HttpResponse(packs.pack_zip(text, images), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{name}.zip"'
        return response
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.yaml"'
    return response


# --- Questions ----------------------------------------------------------------------------------


def _questions_partial(request, exercise, **extra):
    return _render(request, "studio/_questions.html", _questions_context(request, exercise, **extra))


def _question_done(request, exercise, refusal=None, focus=None):
    if _htmx(request):
        return _questions_partial(request, exercise, refusal=refusal, focus=focus)
    if refusal is not None:
        messages.error(request, refusal.message)
    return redirect(reverse("teach:exercise-edit", args=[exercise.pk]) + "#questions")


@teacher_required
@require_POST
def question_add(request, pk):
    exercise = selectors.editable_exercise(request.user, pk)
    stage = request.POST.get("stage", "")
    if stage not in Stage.values:
        stage = Stage.ORIGIN
    try:
        question = studio.question_add(exercise=exercise, stage=stage)
    except StudioRefusal as refusal:
        return _question_done(request, exercise, refusal)
    return _question_done(request, exercise, focus=question.pk)


@teacher_required
@require_POST
def question_edit(request, pk, question_id):
    """Autosave: the question form posts on change and after a pause; the answer is its status."""
    exercise = selectors.editable_exercise(request.user, pk)
    question = selectors.editable_question(request.user, exercise, question_id)
    form = QuestionForm(request.POST, instance=question, teacher=request.user)
    if not form.is_valid():
        # form.is_valid() has set the unsaved values on the instance; nothing is written.
        if _htmx(request):
            return _status(request, form=form)
        messages.error(request, _("Not saved: %(errors)s") % {"errors": _errors(form)})
        return redirect(reverse("teach:exercise-edit", args=[exercise.pk]) + f"#q-{question_id}")
    question = selectors.editable_question(request.user, exercise, question_id)
    try:
        studio.question_update(question=question, by=request.user, values=form.values())
    except StudioRefusal as refusal:
        if _htmx(request):
            return _status(request, refusal=refusal, exercise=exercise)
        messages.error(request, refusal.message)
        return redirect(reverse("teach:exercise-edit", args=[exercise.pk]) + f"#q-{question_id}")
    if _htmx(request):
        return _status(request, saved=True)
    messages.success(request, _("Question %(number)s saved.") % {"number": question.number})
    return redirect(reverse("teach:exercise-edit", args=[exercise.pk]) + f"#q-{question_id}")


@teacher_required
@require_POST
def question_move(request, pk, question_id):
    exercise = selectors.editable_exercise(request.user, pk)
    question = selectors.editable_question(request.user, exercise, question_id)
    try:
        studio.question_move(question=question, up=request.POST.get("direction") == "up")
    except StudioRefusal as refusal:
        return _question_done(request, exercise, refusal)
    return _question_done(request, exercise, focus=question.pk)


@teacher_required
@require_POST
def question_delete(request, pk, question_id):
    exercise = selectors.editable_exercise(request.user, pk)
    question = selectors.editable_question(request.user, exercise, question_id)
    try:
        studio.question_remove(question=question)
    except StudioRefusal as refusal:
        return _question_done(request, exercise, refusal)
    return _question_done(request, exercise)


@teacher_required
@require_POST
def question_scheme(request, pk, question_id):
    """A mark scheme written for this question (levels, bands, descriptors)."""
    exercise = selectors.editable_exercise(request.user, pk)
    question = selectors.editable_question(request.user, exercise, question_id)
    try:
        studio.question_write_scheme(question=question, by=request.user, rows=scheme_rows(request.POST))
    except StudioRefusal as refusal:
        if _htmx(request):
            return _questions_partial(
                request, exercise, scheme_error=refusal, scheme_for=question.pk, scheme_post=request.POST
            )
        messages.error(request, refusal.message)
        return redirect(reverse("teach:exercise-edit", args=[exercise.pk]) + f"#q-{question.pk}")
    if _htmx(request):
        return _questions_partial(request, exercise, scheme_saved=question.pk, focus=question.pk)
    messages.success(request, _("Mark scheme saved."))
    return redirect(reverse("teach:exercise-edit", args=[exercise.pk]) + f"#q-{question.pk}")


# --- Packs ------------------------------------------------------------------------------------------


@teacher_required
@require_http_methods(["GET", "POST"])
def pack_import(request):
    form = PackUploadForm(request.POST or None, request.FILES or None)
    errors, summary = [], None
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            summary = packs.pack_import_file(file=upload, filename=upload.name[:100], owner=request.user)
        except packs.PackInvalid as invalid:
            errors = invalid.errors
        else:
            messages.success(request, _("Imported into your library, private to you."))
            return redirect(reverse("teach:library") + "?owner=mine")
    return _render(request, "studio/pack_import.html", {"form": form, "errors": errors, "summary": summary})


# --- Helpers -------------------------------------------------------------------------------------------


def _int(raw) -> int | None:
    raw = str(raw or "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def _errors(form) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


def _status(request, *, saved=False, form=None, refusal=None, exercise=None):
    """The autosave answer: saved (with the time), not saved (why), or refused (with the way out)."""
    return _render(
        request,
        "studio/_save_status.html",
        {
            "saved": saved,
            "saved_at": timezone.localtime(),
            "form_errors": _errors(form) if form is not None else "",
            "refusal": refusal,
            "exercise": exercise,
        },
    )
