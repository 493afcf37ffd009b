"""The workspace's question cards (answer box, hints, evidence), written in Python.

The cards were half of the workspace page's cost: each card took some hundred template node
renders (variable lookups, number localisation, ``{% url %}``, ``{% csrf_token %}``,
``{% translate %}``), and the workspace is the page every pupil opens. Here, as in
``progress_rows``:

- labels said on every card are translated and escaped once per language (``_Labels``);
- URLs are reversed once with a placeholder id, then filled in with each answer's id;
- the CSRF token is read once.

Escaping: everything a user or a teacher wrote (prompts, answers, hints, sentence starters,
quotations) goes through ``html.escape`` (quotes included, so it is safe in attributes too) or
Django's ``linebreaks``/``linebreaksbr`` filters with autoescaping on; everything else written
is an ``int`` or a translated label escaped once. The result is marked safe only at the end.
The three tags are used by ``assignment_workspace.html``: the whole page writes the stages
with ``workspace_stages``; its htmx partials reuse ``evidence_chips`` and ``hint_list``, so the
markup of a chip or a hint list is defined once.
"""

import html
from functools import cached_property, lru_cache

from django import template
from django.conf import settings
from django.template.defaultfilters import floatformat, linebreaks_filter, linebreaksbr
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext

from analysis.models import Stage
from analysis.templatetags.progress_rows import url_filler

register = template.Library()

_PLACEHOLDER = 987654321


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _csrf_input(token: str) -> str:
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{_esc(token)}">'


def _token(context) -> str:
    token = context.get("csrf_token")
    return "" if token is None else str(token)


class _Labels:
    """The words every card repeats, translated and escaped once per page."""

    def __init__(self):
        self.save_now = _esc(gettext("Save now"))
        self.evidence = _esc(gettext("Evidence"))
        self.quote_the_source = _esc(gettext("(quote the source)"))
        self.evidence_help = _esc(
            gettext(
                "Select words in a source, then attach them. From the keyboard: move to a passage "
                "with Tab and use its “Cite” buttons."
            )
        )
        self.attach_selected = _esc(gettext("Attach selected text"))
        self.saves_as_you_type = _esc(
            gettext("Saves as you type (up to %(max)s characters).")
            % {"max": floatformat(settings.ANSWER_MAX_CHARS, "0g")}
        )
        self.starters = _esc(gettext("Sentence starters"))
        self.starters_help = _esc(gettext("Choose one to add it to your answer where the cursor is."))
        self.insert = _esc(gettext("Insert:"))
        self.your_answer = _esc(gettext("Your answer"))
        self.no_answer = _esc(gettext("No answer."))
        self.hints = _esc(gettext("Hints"))
        self.show_hint = _esc(gettext("Show a hint"))
        self.show_another = _esc(gettext("Show another hint"))
        self.no_quotations = _esc(gettext("No quotations yet."))
        self.remove = _esc(gettext("Remove"))
        self.intros = {
            Stage.READING: _esc(gettext("Read closely: what does the source say, and what does it suggest?")),
            Stage.ORIGIN: _esc(gettext("Who produced the source, when, in what form and for whom?")),
            Stage.PURPOSE: _esc(
                gettext("Why was it produced? What did its author want the audience to think or do?")
            ),
            Stage.RELIABILITY: _esc(
                gettext(
                    "How far can you trust it, and for what? Weigh its origin and purpose against "
                    "what it says."
                )
            ),
        }
        self.intro_compare = _esc(
            gettext("Compare the sources: where do they agree, where do they differ, and why?")
        )

    def save_for(self, number: int) -> str:
        return _esc(gettext("(question %(n)s)") % {"n": number})

    def attach_to(self, number: int) -> str:
        return _esc(gettext("to question %(n)s") % {"n": number})

    def quotations_for(self, number: int) -> str:
        return _esc(gettext("Quotations for question %(n)s") % {"n": number})

    def hints_left(self, left: int) -> str:
        return _esc(ngettext("%(left)s left", "%(left)s left", left) % {"left": left})


@lru_cache(maxsize=16)
def _labels_in(language: str | None) -> _Labels:
    """The labels in one language, translated once per process (they hold no one's data)."""
    return _Labels()


class _Urls:
    """The workspace's per-answer URLs for one assignment, reversed once each."""

    def __init__(self, assignment_id: int):
        self.assignment_id = assignment_id
        self.save = url_filler("learn:response-save", assignment_id)
        self.hint = url_filler("learn:response-hint", assignment_id)
        self.evidence = url_filler("learn:evidence-add", assignment_id)

    def delete(self, response_id: int):
        """A filler of evidence ids for one answer's "Remove" forms."""
        url = reverse("learn:evidence-delete", args=[self.assignment_id, response_id, _PLACEHOLDER])
        head, _found, tail = url.rpartition(str(_PLACEHOLDER))
        head, tail = _esc(head), _esc(tail)
        return lambda pk: f"{head}{int(pk)}{tail}"


class _Page:
    """What one rendering shares: labels, URLs and the CSRF field."""

    def __init__(self, assignment_id: int, csrf_token: str):
        self.assignment_id = assignment_id
        self.csrf = _csrf_input(csrf_token)

    @cached_property
    def labels(self) -> _Labels:
        return _labels_in(get_language())

    @cached_property
    def urls(self) -> _Urls:
        return _Urls(self.assignment_id)


def _chips(page: _Page, chips, *, response_id: int, editable: bool, number: int) -> str:
    labels = page.labels
    if not chips:
        return f'<p class="small muted evidence__empty">{labels.no_quotations}</p>'
    delete = page.urls.delete(response_id) if editable else None
    target = f"#evidence-{int(response_id)}"
    out = [f'<ul class="chips" aria-label="{labels.quotations_for(number)}">']
    for chip in chips:
        evidence = chip.evidence
        if evidence.region_id:  # a region of an image source (analysis/studio): regions.js outlines it
            out.append(
                f'<li class="chip" data-cited-region="{int(evidence.region_id)}">'
                f'<span class="chip__where">{_esc(chip.where)}</span>'
            )
            what = _esc(gettext("region “%(label)s”") % {"label": evidence.region.label})
        else:
            quote = evidence.quote
            out.append(
                f'<li class="chip"><q>{_esc(quote)}</q> <span class="chip__where">{_esc(chip.where)}</span>'
            )
            short = quote if len(quote) <= 60 else quote[:59] + "…"
            what = _esc(gettext("quotation “%(quote)s”") % {"quote": short})
        if editable:
            url = delete(evidence.pk)
            out.append(
                f'<form method="post" action="{url}" hx-post="{url}" hx-target="{target}" '
                'hx-swap="innerHTML">'
                f"{page.csrf}"
                '<button type="submit" class="button button--small button--secondary chip__remove">'
                f'{labels.remove}<span class="visually-hidden"> {what}</span></button></form>'
            )
        out.append("</li>")
    out.append("</ul>")
    return "".join(out)


def _hints(page: _Page, item, *, editable: bool) -> str:
    labels = page.labels
    response_id = int(item.response.pk)
    out = [f'<div class="hints" id="hints-{response_id}">']
    shown = item.hints_shown
    if shown:
        out.append(f'<h4 class="hints__title">{labels.hints}</h4><ol class="hints__list">')
        out.extend(
            f'<li tabindex="-1"><span class="hints__tier">{_esc(tier)}:</span> {_esc(text)}</li>'
            for tier, text in item.hint_tiers
        )
        out.append("</ol>")
    more = item.more_hints
    if editable and more:
        url = page.urls.hint(response_id)
        out.append(
            f'<form method="post" action="{url}" hx-post="{url}" hx-target="#hints-{response_id}" '
            f'hx-swap="outerHTML">{page.csrf}'
            '<button type="submit" class="button button--small button--secondary">'
            f"{labels.show_another if shown else labels.show_hint} "
            f'<span class="small">({labels.hints_left(more)})</span></button></form>'
        )
    out.append("</div>")
    return "".join(out)


def _card(page: _Page, item, *, editable: bool, hints_enabled: bool, starters: bool = True) -> str:
    labels, urls = page.labels, page.urls
    q, r = item.question, item.response
    rid, number = int(r.pk), int(q.number)
    source = f' data-source="{int(q.source_id)}"' if q.source_id else ""
    out = [
        f'<article class="question card" id="response-{rid}" aria-labelledby="question-{rid}-title" '
        f'data-response-id="{rid}" data-question-number="{number}" data-stage="{_esc(q.stage)}"{source} '
        f'data-answered="{"true" if item.answered else "false"}" data-evidence-url="{urls.evidence(rid)}">'
        f'<h3 id="question-{rid}-title">{_esc(item.title)} '
        f'<span class="question__marks">{_esc(item.marks_label)}</span></h3>'
        f'<p class="question__prompt">{linebreaksbr(q.prompt, autoescape=True)}</p>'
    ]
    if editable:
        saved = ""
        if r.version:
            clock = formats.time_format(timezone.localtime(r.updated_at), "H:i")
            saved = _esc(gettext("Saved %(time)s") % {"time": clock})
        url = urls.save(rid)
        out.append(
            f'<form class="answer-form" method="post" action="{url}" data-autosave>{page.csrf}'
            f'<input type="hidden" name="version" value="{int(r.version)}">'
            f'<label for="answer-{rid}">{_esc(item.answer_label)}</label>'
            f'<textarea id="answer-{rid}" name="text" rows="9" maxlength="{int(settings.ANSWER_MAX_CHARS)}" '
            f'aria-describedby="status-{rid} limit-{rid}">\n{_esc(r.text)}</textarea>'
            '<div class="answer-form__footer">'
            f'<p class="save-status" id="status-{rid}" role="status" '
            f'data-state="{"saved" if r.version else "idle"}">{saved}</p>'
            f'<p class="small muted" id="limit-{rid}">{labels.saves_as_you_type}</p>'
            f'<button type="submit" class="button button--small button--secondary">{labels.save_now}'
            f'<span class="visually-hidden"> {labels.save_for(number)}</span></button>'
            "</div>"
            f'<div class="conflict" id="conflict-{rid}" hidden></div>'
            "</form>"
        )
        if starters and q.sentence_starters:
            out.append(
                f'<details class="starters js-only"><summary>{labels.starters}</summary>'
                f'<p class="small muted">{labels.starters_help}</p><ul class="starters__list">'
            )
            out.extend(
                f'<li><button type="button" class="link-button" data-starter="{_esc(starter)}" '
                f'data-target="answer-{rid}"><span class="visually-hidden">{labels.insert} </span>'
                f"{_esc(starter)}</button></li>"
                for starter in q.sentence_starters
            )
            out.append("</ul></details>")
    else:
        text = (
            linebreaks_filter(r.text, autoescape=True)
            if r.text.strip()
            else f'<p class="muted">{labels.no_answer}</p>'
        )
        out.append(
            f'<h4 class="visually-hidden">{labels.your_answer}</h4>'
            f'<div class="answer-readonly" id="answer-{rid}">{text}</div>'
        )
    if hints_enabled and q.hints:
        out.append(_hints(page, item, editable=editable))
    quote_note = f' <span class="small muted">{labels.quote_the_source}</span>' if q.expects_evidence else ""
    out.append(
        f'<div class="evidence"><h4 class="evidence__title">{labels.evidence}{quote_note}</h4>'
        f'<div id="evidence-{rid}" class="evidence__chips" tabindex="-1">'
        f"{_chips(page, item.chips, response_id=rid, editable=editable, number=number)}</div>"
    )
    if editable:
        out.append(
            '<p class="evidence__status small" data-evidence-status></p>'
            f'<p class="evidence__help small muted js-only">{labels.evidence_help}</p>'
            '<button type="button" class="button button--small button--secondary js-only" '
            f"data-attach-selection>{labels.attach_selected}"
            f'<span class="visually-hidden"> {labels.attach_to(number)}</span></button>'
        )
    out.append("</div></article>")
    return "".join(out)


def _stage(page: _Page, group, *, editable: bool, hints_enabled: bool, starters: bool) -> str:
    labels = page.labels
    value = _esc(group.value)
    intro = labels.intros.get(group.value, labels.intro_compare)
    cards = "".join(
        _card(page, item, editable=editable, hints_enabled=hints_enabled, starters=starters)
        for item in group.items
    )
    following = _esc(group.next_value)
    next_label = _esc(gettext("Next: %(label)s") % {"label": group.next_label})
    return (
        f'<section class="stage" id="stage-{value}" data-stage="{value}" '
        f'aria-labelledby="stage-{value}-title">'
        f'<h2 id="stage-{value}-title" tabindex="-1">{int(group.number)}. {_esc(group.label)}</h2>'
        f'<p class="stage__intro muted">{intro}</p>{cards}'
        '<p class="stage__next no-print">'
        f'<a class="button button--secondary" href="#stage-{following}" data-stage-link="{following}">'
        f'{next_label} <span aria-hidden="true">→</span></a></p></section>'
    )


@register.simple_tag
def workspace_stepper(ws) -> SafeString:
    """The stages as steps (links that show one stage at a time), each with how many of its
    questions are answered; the last step is checking and submitting."""
    current = ws.current_stage
    out = [f'<nav class="stage-nav" aria-label="{_esc(gettext("Stages"))}"><ol class="stepper">']
    for group in ws.stages:
        value = _esc(group.value)
        count = gettext("%(answered)s of %(total)s answered") % {
            "answered": group.answered_count,
            "total": len(group.items),
        }
        out.append(
            f'<li><a href="#stage-{value}" data-stage-link="{value}" class="{"done" if group.done else ""}"'
            f"{' aria-current="step"' if current == group.value else ''}>"
            f"{int(group.number)}. {_esc(group.label)} "
            f'<span class="stepper__count small" data-stage-count="{value}">{_esc(count)}</span></a></li>'
        )
    last = gettext("Check and submit") if ws.submission.is_editable else gettext("Submitted")
    out.append(
        f'<li><a href="#stage-review" data-stage-link="review"'
        f"{' aria-current="step"' if current == 'review' else ''}>{_esc(last)}</a></li></ol></nav>"
    )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped or an int


@register.simple_tag(takes_context=True)
def workspace_stages(context, ws, assignment) -> SafeString:
    """Every stage of the workspace with its question cards."""
    page = _Page(assignment.pk, _token(context))
    editable = ws.is_editable
    # The pupil's support level decides whether hints and sentence starters are offered at all.
    hints_enabled = assignment.hints_enabled and ws.support.hints
    html_out = "".join(
        _stage(page, group, editable=editable, hints_enabled=hints_enabled, starters=ws.support.starters)
        for group in ws.stages
    )
    return mark_safe(html_out)  # noqa: S308 - every value above is escaped or an int


@register.simple_tag(takes_context=True)
def evidence_chips(context, chips, response_id, editable, assignment_id, number) -> SafeString:
    """One answer's quotations (the reply to attaching or removing one)."""
    page = _Page(assignment_id, _token(context))
    return mark_safe(_chips(page, chips, response_id=response_id, editable=editable, number=number))  # noqa: S308


@register.simple_tag(takes_context=True)
def hint_list(context, item, editable, assignment_id) -> SafeString:
    """One answer's hints and the button for the next (the reply to "Show a hint")."""
    page = _Page(assignment_id, _token(context))
    return mark_safe(_hints(page, item, editable=editable))  # noqa: S308
