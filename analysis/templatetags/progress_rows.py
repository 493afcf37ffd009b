"""The per-student rows of the teacher's progress page, written in Python.

A class of 300 has 1,500 grid cells and up to 300 "Return marks" rows, on a page that htmx
fetches again every ten seconds. Through the template engine each cell took a dozen node
renders (variable lookups, ``{% blocktranslate %}``, number localisation) and each row a
``{% url %}`` or two and a ``{% csrf_token %}``, so the page cost grew several times faster
than its fixed part. Here:

- the few distinct cell looks (state, mark, hints) are built once per page and reused;
- URLs are reversed once with a placeholder id, then filled in with each submission's id;
- labels are translated and escaped once per page, not once per row;
- the CSRF token is read once.

Escaping: every name goes through ``html.escape`` (quotes included, so it is safe in
attributes too); everything else written is an ``int`` or a translated label escaped once.
The whole result is marked safe only at the end. The markup is what the template wrote, less
its whitespace and the ``cell--<state>`` classes on grid cells that no style or script used
(the badge inside each cell carries the state).
"""

import html
from collections.abc import Callable

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from analysis.models import Submission

register = template.Library()

# A submission id no real row has; only used to find where the id goes in a reversed URL.
_PLACEHOLDER = 987654321


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def url_filler(name: str, assignment_pk: int) -> Callable[[int], str]:
    """``reverse(name, args=[assignment_pk, id])`` for many ids at the cost of one reverse:
    the submission id is the last number in these URLs, so it is what follows the last
    placeholder. The returned function writes ``int(id)``, so nothing else can get in."""
    url = reverse(name, args=[assignment_pk, _PLACEHOLDER])
    head, found, tail = url.rpartition(str(_PLACEHOLDER))
    if not found:  # a URL pattern that changed shape: fail loudly rather than link wrongly
        raise ValueError(f"{name} does not end with the submission id: {url}")
    head, tail = _esc(head), _esc(tail)
    return lambda pk: f"{head}{int(pk)}{tail}"


class _CellWriter:
    """Writes a grid cell; cells that look the same share one string."""

    def __init__(self):
        no_answer = _esc(gettext("no answer"))
        self.no_answer = f' <span class="small muted">{no_answer}</span>'
        self.hints = {}
        self.cells = {}

    def hint(self, count: int) -> str:
        if count not in self.hints:
            explained = ngettext("%(counter)s hint used", "%(counter)s hints used", count)
            explained %= {"counter": count}
            self.hints[count] = (
                f' <span class="hint-marker" aria-hidden="true">H{int(count)}</span>'
                f'<span class="visually-hidden">{_esc(explained)}</span>'
            )
        return self.hints[count]

    def __call__(self, cell) -> str:
        key = (cell.state, cell.label, cell.marks, cell.max_marks, cell.answered, cell.hints_used)
        written = self.cells.get(key)
        if written is None:
            state, label, marks, max_marks, answered, hints_used = key
            written = f'<td><span class="badge badge--{_esc(state)}">{_esc(label)}</span>'
            if marks is not None:
                written += f' <span class="cell__mark">{int(marks)}/{int(max_marks)}</span>'
            elif state == "submitted" and not answered:
                written += self.no_answer
            if hints_used:
                written += self.hint(hints_used)
            written += "</td>"
            self.cells[key] = written
        return written


def grid_rows_html(rows, assignment) -> SafeString:
    """The grid's ``<tbody>`` rows: the student (a link to mark their work once they have
    started), one cell per question, and the status of their work."""
    mark_url = url_filler("teach:submission-mark", assignment.pk)
    cell_html = _CellWriter()
    late = _esc(gettext("late"))
    late = f' <span class="badge badge--late">{late}</span>'
    statuses = {
        look: f'<span class="badge badge--{look}">{_esc(Submission.status_label(look))}</span>'
        for look in ("not-started", "in-progress", "submitted", "returned")
    }
    out = []
    for row in rows:
        name = _esc(row.name)
        submission = row.submission
        if submission is None:
            head = name
        else:
            pk = int(submission.pk)
            head = f'<a href="{mark_url(pk)}" id="grid-s-{pk}">{name}</a>'
        status = row.status
        status_html = statuses[status] + (late if status == "submitted" and submission.is_late else "")
        cells = "".join(map(cell_html, row.cells))
        out.append(f'<tr><th scope="row">{head}</th>{cells}<td>{status_html}</td></tr>\n')
    return mark_safe("".join(out))


def release_rows_html(rows, assignment) -> SafeString:
    """The "Return marks" table's rows: a release checkbox while the work is handed in and
    not returned, how much is marked, whether it is ready, and links to print and reopen
    (the reopen buttons submit the hidden forms of ``reopen_forms_html``)."""
    print_url = url_filler("teach:submission-print", assignment.pk)
    mark_url = url_filler("teach:submission-mark", assignment.pk)
    release_for = _esc(gettext("Release marks for %(name)s"))
    marked_of = _esc(gettext("%(marked)s of %(answered)s answers"))
    returned, ready, to_mark = (
        f'<span class="badge badge--{look}">{_esc(label)}</span>'
        for look, label in (
            ("returned", gettext("Returned")),
            ("marked", gettext("Ready")),
            ("submitted", gettext("Still to mark")),
        )
    )
    print_label = _esc(gettext("Print"))
    mark_label = _esc(gettext("Mark"))
    reopen_label = _esc(gettext("Reopen for revision"))
    out = []
    for row in rows:
        name = _esc(row.name)
        pk = int(row.submission.pk)
        if row.submission.status == "submitted":
            aria = release_for % {"name": name}
            tick = (
                f'<input type="checkbox" name="submissions" value="{pk}" id="release-{pk}" '
                f'aria-label="{aria}">'
            )
            who = f'<label for="release-{pk}">{name}</label>'
            state = ready if row.ready_to_release else to_mark
        else:
            tick, who, state = "", name, returned
        marked = marked_of % {"marked": int(row.marked_count), "answered": int(row.answered_count)}
        out.append(
            f'<tr><td>{tick}</td><th scope="row">{who}</th><td>{marked}</td><td>{state}</td>'
            '<td class="cluster">'
            f'<a href="{mark_url(pk)}">{mark_label}<span class="visually-hidden"> {name}</span></a> '
            f'<a href="{print_url(pk)}">{print_label}<span class="visually-hidden"> {name}</span></a> '
            f'<button type="submit" form="reopen-{pk}" class="button button--secondary button--small">'
            f'{reopen_label}<span class="visually-hidden"> {name}</span></button></td></tr>\n'
        )
    return mark_safe("".join(out))


def reopen_forms_html(rows, assignment, csrf_token) -> SafeString:
    """One hidden form per release row, asking for confirmation (app.js reads
    ``data-confirm``) before the work is reopened for revision."""
    reopen_url = url_filler("teach:submission-reopen", assignment.pk)
    confirm = _esc(
        gettext(
            "Reopen %(name)s's work so they can revise it? Its marks are kept as drafts and hidden "
            "from them until you release again."
        )
    )
    token = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{_esc(csrf_token)}">'
        if csrf_token and csrf_token != "NOTPROVIDED"
        else ""
    )
    out = []
    for row in rows:
        pk = int(row.submission.pk)
        question = confirm % {"name": _esc(row.name)}
        out.append(
            f'<form method="post" id="reopen-{pk}" action="{reopen_url(pk)}" hidden '
            f'data-confirm="{question}">{token}</form>\n'
        )
    return mark_safe("".join(out))


@register.simple_tag
def grid_rows(rows, assignment):
    return grid_rows_html(rows, assignment)


@register.simple_tag
def release_rows(rows, assignment):
    return release_rows_html(rows, assignment)


@register.simple_tag(takes_context=True)
def reopen_forms(context, rows, assignment):
    return reopen_forms_html(rows, assignment, context.get("csrf_token"))
