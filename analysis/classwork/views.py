"""The student's pages under /learn/: assignments, the workspace and its htmx endpoints,
submit and feedback.

Thin views: they fetch what the student may see (``assignments_visible_to`` → 404 otherwise),
call a service in ``analysis.classwork.services`` and choose the response. The workspace's
endpoints answer htmx/fetch requests (``HX-Request: true``) with fragments or JSON, and plain
form posts (no JavaScript) with a redirect back to the question.
"""

from functools import lru_cache, wraps

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event
from django_htmx.middleware import HtmxDetails
from django_ratelimit.core import get_usage

from accounts.decorators import student_required
from analysis.classwork import errors, panels, privacy
from analysis.classwork import selectors as work_reads
from analysis.classwork import services as work
from analysis.classwork.forms import AnswerSaveForm, EvidenceForm, RegionEvidenceForm, form_error_message
from analysis.marking import skills
from analysis.models import Evidence, Response, Submission
from analysis.news.services import feedback_read
from config.logging import log_refused

WORKSPACE = "analysis/assignment_workspace.html"


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _workspace_url(assignment_id: int, anchor: str = "") -> str:
    url = reverse("learn:workspace", args=[assignment_id])
    return f"{url}#{anchor}" if anchor else url


def _plain(message: str, status: int):
    """A short plain-text answer for htmx/fetch callers to show in a status line."""
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


# --- Pages ----------------------------------------------------------------------------------


@student_required
@require_GET
def assignment_list(request: HtmxHttpRequest):
    rows = work_reads.assignment_rows_for_student(student=request.user)
    # The navigation's "what's new" count, from the rows already read (no query of its own).
    request.whats_new_count = sum(row.is_new + row.feedback_unread for row in rows)
    template = "analysis/assignment_list.html"
    if request.htmx:
        template += "#assignment-rows"
    return render(request, template, {"rows": rows})


@student_required
@require_GET
def workspace(request: HtmxHttpRequest, assignment_id: int):
    """The sources beside the staged questions. An htmx GET returns only the self-check (the
    review stage refreshes it after the last autosave)."""
    assignment = work_reads.workspace_assignment(student=request.user, pk=assignment_id)
    if assignment is None:
        raise Http404
    if not assignment.is_open():
        return render(request, WORKSPACE, {"assignment": assignment, "not_open": True})
    ws = work_reads.workspace_load(assignment=assignment, student=request.user)
    context = {"assignment": assignment, "ws": ws}
    if request.htmx:
        return render(request, WORKSPACE + "#self-check", context)
    context.update(
        sentences={pk: items for panel in ws.sources for pk, items in panel.sentences.items()},
        highlights={str(pk): spans for pk, spans in ws.highlights_by_passage.items()},
        max_chars=settings.ANSWER_MAX_CHARS,
        workspace_messages=_js_messages(get_language()),
    )
    return render(request, WORKSPACE, context)


@lru_cache(maxsize=16)
def _js_messages(language: str | None) -> dict:
    """The words workspace.js shows or announces, translated here once per language (%s is
    filled in by JS). The dict is shared: read it, never change it."""
    return {
        "saving": _("Saving…"),
        "saved": _("Saved %s"),
        "unsaved": _("Not saved yet"),
        "retrying": _("Not saved — retrying"),
        "offline": _("Not saved — no connection. Retrying…"),
        "sessionEnded": _(
            "Not saved — your session has ended. Log in again in another tab; saving resumes by itself."
        ),
        "conflict": _("Not saved — this answer was also changed elsewhere. Choose a version below."),
        "closed": _("Not saved"),
        "restored": _("Restored your unsaved text from this tab; saving it now."),
        "keptMine": _("Keeping your text from this tab; saving it now."),
        "tookTheirs": _("Using the saved version."),
        "attachTo": _("Attach to question %s"),
        "selectFirst": _("Select some words in a source first, then attach them."),
        "stageShown": _("Showing stage: %s"),
        "pendingSaves": _("Your latest changes are not saved yet. Wait for “Saved”, then submit."),
        "submitting": _("Submitting…"),
        "hintShown": _("Hint: %s"),
        "tryAgain": _("That did not work. Please try again."),
        "stageCount": _("{answered} of {total} answered"),
        "sources": _("Sources"),
        "citeFrom": _("Cite from “%s”"),
    }


@student_required
@require_GET
def feedback(request: HtmxHttpRequest, assignment_id: int):
    """Marks and comments once the teacher has returned the work; before that, a friendly
    "not returned yet" page (200). Indicative content is never in the context."""
    assignment = get_object_or_404(work_reads.assignments_visible_to(request.user), pk=assignment_id)
    submission = work_reads.submission_for_student(assignment=assignment, student=request.user)
    context = {"assignment": assignment, "submission": submission}
    if submission is not None and submission.status == Submission.Status.RETURNED:
        submission.assignment = assignment
        items, total, maximum = work_reads.feedback_load(submission=submission)
        context.update(items=items, total=total, maximum=maximum, returned=True)
        feedback_read(submission=submission)
    template = "analysis/submission_feedback.html"
    if request.htmx:
        template += "#feedback"
    return render(request, template, context)


@student_required
@require_GET
def progress(request: HtmxHttpRequest):
    """The pupil's own progress: their levels per stage over time, from released marks only, what
    the next level asks for, and their returned work (``analysis.marking.skills``)."""
    stages, work = skills.pupil_progress(student=request.user)
    return render(
        request, "analysis/progress.html", {"stages": stages, "work": work, "top": skills.COMMON_TOP}
    )


# --- Workspace endpoints ----------------------------------------------------------------------

# Rate-limit groups and the setting holding each one's rate (config/settings.py). Counted per
# pupil (user pk) in the shared cache: Redis in production.
AUTOSAVE, WORK_WRITE, SUBMIT = "learn:autosave", "learn:work-write", "learn:submit"
RATE_LIMITS = {
    AUTOSAVE: "AUTOSAVE_RATE",
    WORK_WRITE: "WORK_WRITE_RATE",  # evidence add and remove, hints: one budget
    SUBMIT: "SUBMIT_RATE",
}


def _rate_from_settings(group, request) -> str:
    """Read at request time, so that a changed setting (or a test's override) applies at once."""
    return getattr(settings, RATE_LIMITS[group])


def _rate_limited(group: str):
    """Allow a pupil at most the group's rate of these posts; past it nothing is written and
    the answer is 429 (``_too_often``). Inside ``student_required``/``require_POST``, so only a
    pupil's posts count."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            usage = get_usage(request, group=group, key="user", rate=_rate_from_settings, increment=True)
            if usage is not None and usage["should_limit"]:
                return _too_often(request, group, usage["time_left"], **kwargs)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _too_often(request, group: str, time_left: int, *, assignment_id: int, response_id=None, **_ids):
    """htmx/fetch: 429 JSON with ``Retry-After`` (workspace.js keeps the text and retries).
    Without JavaScript: the save-problem page with the typed text for an autosave, else a message
    on the workspace. One ``rate_limited`` record in the security log, never the text."""
    if request.htmx:
        message = {
            AUTOSAVE: _("Saving too often — waiting a moment, then trying again."),
            WORK_WRITE: _("Too many changes at once — wait a moment, then try again."),
            SUBMIT: _("Handing in was tried too often — wait a moment, then try again."),
        }[group]
        reply = JsonResponse({"error": "rate_limited", "message": message}, status=429)
    elif group == AUTOSAVE:
        message = _("Saved too often in a short time. Wait a minute, then go back and save again.")
        reply = _save_problem(request, assignment_id, {"error": "rate_limited", "message": message}, 429)
    else:
        if group == SUBMIT:
            message = _("Not handed in yet: that was tried too often. Wait a minute, then hand it in again.")
        else:
            message = _("Too many changes in a short time. Wait a minute, then try again.")
        messages.error(request, message)
        anchor = f"response-{response_id}" if response_id else ""
        reply = redirect(_workspace_url(assignment_id, anchor))
    if reply.status_code == 429:
        # The window's last second is ``time_left`` from now, so the next one starts a second later
        # (-1: the counter could not be read).
        reply["Retry-After"] = str(time_left + 1 if time_left >= 0 else 60)
    log_refused(request, status=reply.status_code, outcome="rate_limited")
    return reply


@student_required
@require_POST
@_rate_limited(AUTOSAVE)
def response_save(request: HtmxHttpRequest, assignment_id: int, response_id: int):
    """Autosave (compare-and-set on the answer's version). JSON for htmx/fetch callers:
    200 ``{version, saved_at, saved_at_display, answered}``; 409 ``{error: "conflict", text,
    version, …}`` when the answer moved on, or ``{error: "submitted"|"late"|"not_open"}`` when it is
    closed; 422 ``{error: "invalid", message}`` when it cannot be stored (nothing is stored)."""
    form = AnswerSaveForm(request.POST)
    try:
        if not form.is_valid():
            _own_response_or_404(request, assignment_id, response_id)
            raise errors.AnswerRejected(form_error_message(form))
        saved = work.response_save(
            response_id=response_id,
            student=request.user,
            text=form.cleaned_data["text"],
            base_version=form.cleaned_data["version"],
            assignment_id=assignment_id,
        )
    except Response.DoesNotExist as missing:
        raise Http404 from missing
    except errors.VersionConflict as conflict:
        payload = {
            "error": "conflict",
            "message": conflict.message,
            "text": conflict.text,
            "version": conflict.version,
            "saved_at_display": _clock(conflict.updated_at),
        }
        return _save_problem(request, assignment_id, payload, status=409)
    except errors.WorkClosed as closed:
        return _save_problem(request, assignment_id, {"error": closed.reason, "message": closed.message}, 409)
    except errors.AnswerRejected as rejected:
        return _save_problem(request, assignment_id, {"error": "invalid", "message": rejected.message}, 422)

    if request.htmx:
        return JsonResponse(
            {
                "version": saved.version,
                "saved_at": saved.updated_at.isoformat(),
                "saved_at_display": _clock(saved.updated_at),
                "answered": saved.answered,
            }
        )
    messages.success(request, _("Answer saved."))
    return redirect(_workspace_url(assignment_id, f"response-{response_id}"))


def _own_response_or_404(request, assignment_id: int, response_id: int) -> None:
    """On the refusal path only (the happy path's service call does this lookup itself):
    a malformed body for someone else's answer is a 404, like any other request for it."""
    if not Response.objects.filter(
        pk=response_id, submission__student=request.user, submission__assignment__pk=assignment_id
    ).exists():
        raise Http404


def _clock(moment) -> str:
    return formats.time_format(timezone.localtime(moment), "H:i")


def _save_problem(request, assignment_id, payload: dict, status: int):
    if request.htmx:
        return JsonResponse(payload, status=status)
    # Without JavaScript: show the problem and give back what was typed, so nothing is lost.
    context = {
        "assignment_id": assignment_id,
        "problem": payload,
        "typed": request.POST.get("text", ""),
    }
    return render(request, "analysis/response_save_problem.html", context, status=status)


def _evidence_reply(request, *, evidence: Evidence, message: str):
    """htmx: the answer's chips, the passage re-rendered out of band with its highlights, and
    an ``evidence-changed`` event carrying the message to announce. Plain post: redirect."""
    answer = evidence.response
    assignment_id = answer.submission.assignment_id
    if not request.htmx:
        messages.success(request, message)
        return redirect(_workspace_url(assignment_id, f"response-{answer.pk}"))
    sources = work_reads.exercise_sources(answer.submission.assignment.exercise_id)
    if evidence.region_id:  # an image region: the chips; regions.js outlines what is cited
        context = {
            "assignment_id": assignment_id,
            "response_id": answer.pk,
            "chips": work_reads.response_chips(response=answer, sources=sources),
            "editable": True,
            "number": answer.question.number,
        }
        reply = render(request, WORKSPACE + "#evidence-update", context)
        return trigger_client_event(reply, "evidence-changed", {"message": message, "response": answer.pk})
    context = {
        "assignment_id": assignment_id,
        "response_id": answer.pk,
        "chips": work_reads.response_chips(response=answer, sources=sources),
        "first_line": panels.source_first_lines(sources).get(evidence.passage_id, 1),
        "editable": True,
        "number": answer.question.number,
        "passage": evidence.passage,
        "highlights": work_reads.passage_highlights(
            submission_id=answer.submission_id, passage=evidence.passage
        ),
        "glossary": list(evidence.passage.source.glossary.all()),
    }
    reply = render(request, WORKSPACE + "#evidence-update", context)
    return trigger_client_event(reply, "evidence-changed", {"message": message, "response": answer.pk})


@student_required
@require_POST
@_rate_limited(WORK_WRITE)
def evidence_add(request: HtmxHttpRequest, assignment_id: int, response_id: int):
    """Attach ``passage``/``start``/``end`` (character offsets into the passage) to the answer,
    or ``region`` (a region of an image source)."""
    if "region" in request.POST:
        form = RegionEvidenceForm(request.POST)
        unreadable = _("That region could not be read. Choose it again.")

        def cite(data):
            return work.evidence_add_region(
                response_id=response_id,
                student=request.user,
                region_id=data["region"],
                assignment_id=assignment_id,
            )

        def said(evidence, created):
            values = {"n": evidence.response.question.number, "label": evidence.region.label}
            if created:
                return _("Region “%(label)s” cited in question %(n)s.") % values
            return _("Region “%(label)s” is already cited in question %(n)s.") % values

    else:
        form = EvidenceForm(request.POST)
        unreadable = _("That selection could not be read. Select the words again.")

        def cite(data):
            return work.evidence_add(
                response_id=response_id,
                student=request.user,
                passage_id=data["passage"],
                start=data["start"],
                end=data["end"],
                assignment_id=assignment_id,
            )

        def said(evidence, created):
            number = evidence.response.question.number
            if created:
                return _("Quotation added to question %(n)s.") % {"n": number}
            return _("That quotation is already attached to question %(n)s.") % {"n": number}

    try:
        if not form.is_valid():
            _own_response_or_404(request, assignment_id, response_id)
            raise errors.EvidenceRejected(unreadable)
        evidence, created = cite(form.cleaned_data)
    except Response.DoesNotExist as missing:
        raise Http404 from missing
    except errors.WorkClosed as closed:
        return _refused(request, assignment_id, closed.message, 409)
    except errors.EvidenceRejected as rejected:
        return _refused(request, assignment_id, rejected.message, 422)
    return _evidence_reply(request, evidence=evidence, message=said(evidence, created))


@student_required
@require_POST
@_rate_limited(WORK_WRITE)
def evidence_delete(request: HtmxHttpRequest, assignment_id: int, response_id: int, evidence_id: int):
    try:
        evidence = work.evidence_remove(
            evidence_id=evidence_id,
            response_id=response_id,
            student=request.user,
            assignment_id=assignment_id,
        )
    except (Response.DoesNotExist, Evidence.DoesNotExist) as missing:
        raise Http404 from missing
    except errors.WorkClosed as closed:
        # Someone else's quotation is not there for this pupil, closed work or not.
        if not Evidence.objects.filter(
            pk=evidence_id, response_id=response_id, response__submission__student=request.user
        ).exists():
            raise Http404 from closed
        return _refused(request, assignment_id, closed.message, 409)
    message = _("Quotation removed from question %(n)s.") % {"n": evidence.response.question.number}
    if evidence.region_id:
        message = _("Region removed from question %(n)s.") % {"n": evidence.response.question.number}
    return _evidence_reply(request, evidence=evidence, message=message)


@student_required
@require_POST
@_rate_limited(WORK_WRITE)
def hint(request: HtmxHttpRequest, assignment_id: int, response_id: int):
    """Reveal the next hint (recorded in ``Response.hints_used`` for the teacher)."""
    try:
        response_obj = work.response_hint_reveal(
            response_id=response_id, student=request.user, assignment_id=assignment_id
        )
    except (Response.DoesNotExist, errors.HintsUnavailable) as missing:
        raise Http404 from missing
    except errors.WorkClosed as closed:
        return _refused(request, assignment_id, closed.message, 409)
    if not request.htmx:
        return redirect(_workspace_url(assignment_id, f"response-{response_id}"))
    item = work_reads.QuestionItem(question=response_obj.question, response=response_obj, chips=[])
    context = {"item": item, "assignment_id": assignment_id, "hints_enabled": True, "editable": True}
    return render(request, WORKSPACE + "#hint-list", context)


def _refused(request, assignment_id: int, message: str, status: int):
    if request.htmx:
        return _plain(message, status)
    messages.error(request, message)
    return redirect(_workspace_url(assignment_id))


@student_required
@require_POST
@_rate_limited(SUBMIT)
def submit(request: HtmxHttpRequest, assignment_id: int):
    """Hand the work in (idempotent: repeated or parallel posts submit once and all land on the
    same receipt)."""
    try:
        try:
            work.submission_submit_own(student=request.user, assignment_id=assignment_id)
        except Response.DoesNotExist:
            # Not started yet (submitting from a page that never opened the workspace), or not
            # an assignment this student can see: that one is a 404.
            assignment = get_object_or_404(work_reads.assignments_visible_to(request.user), pk=assignment_id)
            submission = work.submission_start(assignment=assignment, student=request.user)
            work.submission_submit(submission=submission)
    except errors.WorkClosed as closed:
        if closed.reason != "submitted":
            return _refused(request, assignment_id, closed.message, 409)
    url = _workspace_url(assignment_id, "receipt")
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@student_required
@require_GET
def csrf_token(request: HtmxHttpRequest):
    """A fresh CSRF token for a tab whose token went stale when the student logged in again
    in another tab (logging in rotates the token)."""
    return JsonResponse({"csrfToken": get_token(request)})


@student_required
@require_GET
def my_data(request: HtmxHttpRequest):
    """Download everything the app holds about me, as JSON."""
    data = privacy.student_data_export(student=request.user)
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    filename = f"provenance-{request.user.username}-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response
