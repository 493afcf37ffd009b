"""The markbook's rows, written in Python: a class of 300 pupils and 30 assignments has 9,000
cells, and through the template engine each took a dozen node renders and a ``{% url %}``.
As in ``progress_rows``: URLs are reversed once per column and filled in with each submission's
id, labels translated and escaped once per page, and cells that look alike share one string.

Escaping: every name goes through ``html.escape`` (quotes included); everything else written is
an ``int`` or a label escaped once. The result is marked safe only at the end."""

from django import template
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext

from analysis.marking.markbook import Markbook, MarkbookCell
from analysis.templatetags.progress_rows import _esc, url_filler

register = template.Library()


class _CellWriter:
    def __init__(self):
        self.draft = _esc(gettext("draft"))
        self.late = _esc(gettext("late"))
        self.not_set = (
            '<td class="markbook__cell markbook__cell--not-set"><span aria-hidden="true">—</span>'
            f'<span class="visually-hidden">{_esc(gettext("not set"))}</span></td>'
        )
        self.cells = {}

    def extension(self, due_at) -> str:
        label = gettext("extension to %(date)s") % {"date": date_format(localtime(due_at), "j M")}
        return f' <span class="badge badge--support">{_esc(label)}</span>'

    def inner(self, cell: MarkbookCell) -> str:
        key = (cell.status, cell.marks, cell.out_of, cell.draft, cell.late)
        written = self.cells.get(key)
        if written is None:
            if cell.marks is not None:
                written = f'<strong class="markbook__mark">{int(cell.marks)}/{int(cell.out_of)}</strong>'
                written += f' <span class="markbook__percent">{int(cell.percent)}%</span>'
                if cell.draft:
                    written += f' <span class="badge badge--draft">{self.draft}</span>'
            else:
                written = f'<span class="badge badge--{_esc(cell.status)}">{_esc(cell.status_label)}</span>'
            if cell.late:
                written += f' <span class="badge badge--late">{self.late}</span>'
            self.cells[key] = written
        return written


@register.simple_tag
def markbook_rows(book: Markbook) -> SafeString:
    write = _CellWriter()
    links = [url_filler("teach:submission-mark", column.pk) for column in book.columns]
    out = []
    for row in book.rows:
        parts = [f'<tr><th scope="row" class="markbook__pupil">{_esc(row.name)}</th>']
        for link, cell in zip(links, row.cells, strict=True):
            if not cell.set_to:
                parts.append(write.not_set)
                continue
            inner = write.inner(cell)
            if cell.extension_to is not None:
                inner += write.extension(cell.extension_to)
            if cell.linked:
                inner = f'<a class="markbook__link" href="{link(cell.submission_id)}">{inner}</a>'
            parts.append(f'<td class="markbook__cell">{inner}</td>')
        if row.average is None:
            parts.append('<td class="markbook__average"><span class="muted">—</span></td>')
        else:
            parts.append(f'<td class="markbook__average">{row.average:g}%</td>')
        parts.append("</tr>")
        out.append("".join(parts))
    return mark_safe("".join(out))  # every value is escaped above
