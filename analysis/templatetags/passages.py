"""Render a passage as numbered lines with cited spans and glossary terms.

The text nodes inside the rendered ``<ol>`` concatenate to exactly the passage
text (line breaks become list items), so the workspace script can turn a
selection back into character offsets. Glossary definitions are popovers placed
after the list, outside the text.
"""

import re
from dataclasses import dataclass

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from analysis.classwork.heuristics import passage_lines

register = template.Library()


@dataclass(frozen=True)
class Segment:
    text: str
    marked: bool
    term_index: int | None


def _spans(highlights) -> list[tuple[int, int]]:
    spans = []
    for item in highlights or ():
        if isinstance(item, tuple | list):
            start, end = item[0], item[1]
        else:
            start, end = item.start, item.end
        if end > start:
            spans.append((start, end))
    return spans


def _term_matches(text: str, terms) -> list[tuple[int, int, int]]:
    """(start, end, term index) of the first whole-word occurrence of each term,
    longest terms first so that "City Duma" wins over "Duma"."""
    taken: list[tuple[int, int]] = []
    matches = []
    for index, term in sorted(enumerate(terms), key=lambda pair: -len(pair[1].term)):
        pattern = r"(?<!\w)" + re.escape(term.term) + r"(?!\w)"
        found = re.search(pattern, text) or re.search(pattern, text, re.IGNORECASE)
        if not found:
            continue
        start, end = found.span()
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        taken.append((start, end))
        matches.append((start, end, index))
    return matches


def segment_line(line: str, offset: int, spans, matches) -> list[Segment]:
    """Cut one line (starting at ``offset`` in the passage) wherever a cited span
    or a glossary match begins or ends."""
    end_of_line = offset + len(line)
    cuts = {offset, end_of_line}
    for start, end in spans:
        cuts.update(c for c in (start, end) if offset < c < end_of_line)
    for start, end, _index in matches:
        cuts.update(c for c in (start, end) if offset < c < end_of_line)
    points = sorted(cuts)
    segments = []
    for left, right in zip(points, points[1:], strict=False):
        if left == right:
            continue
        marked = any(start <= left and right <= end for start, end in spans)
        term = next((index for start, end, index in matches if start <= left and right <= end), None)
        segments.append(Segment(line[left - offset : right - offset], marked, term))
    return segments


def _render_segments(segments, passage_id, terms) -> SafeString:
    html = []
    position = 0
    while position < len(segments):
        term_index = segments[position].term_index
        group = [segments[position]]
        position += 1
        while (
            term_index is not None
            and position < len(segments)
            and segments[position].term_index == term_index
        ):
            group.append(segments[position])
            position += 1
        inner = format_html_join(
            "",
            "{}",
            ((format_html("<mark>{}</mark>", s.text) if s.marked else s.text,) for s in group),
        )
        if term_index is None:
            html.append(inner)
        else:
            popover_id = f"gloss-{passage_id}-{term_index}"
            html.append(
                format_html(
                    '<button type="button" class="glossary-term" popovertarget="{}" '
                    'aria-describedby="{}">{}</button>',
                    popover_id,
                    popover_id,
                    inner,
                )
            )
    return mark_safe("".join(html))  # every piece above was escaped by format_html


@register.simple_tag
def render_passage(passage, highlights=None, glossary=None, first_line=None) -> SafeString:
    """``first_line``: the number of the passage's first line, counted through its source
    (``numbered_passages``); by default the passage's own ``first_line``, else 1."""
    terms = list(glossary or ())
    text = passage.text
    spans = _spans(highlights)
    matches = _term_matches(text, terms)
    items = []
    offset = 0
    if first_line is None:
        first_line = getattr(passage, "first_line", 1)
    for number, line in enumerate(passage_lines(text), start=first_line):
        segments = segment_line(line, offset, spans, matches)
        items.append(
            format_html(
                '<li class="passage__line" data-line="{}" data-start="{}">{}</li>',
                number,
                offset,
                _render_segments(segments, passage.pk, terms) if segments else "",
            )
        )
        offset += len(line) + 1  # the "\n"
    used = sorted({index for _s, _e, index in matches})
    popovers = format_html_join(
        "",
        '<div class="glossary-popover" id="gloss-{}-{}" popover role="tooltip"><strong>{}</strong>: {}</div>',
        ((passage.pk, index, terms[index].term, terms[index].definition) for index in used),
    )
    return format_html(
        '<ol class="passage__lines" data-passage="{}" aria-label="{}">{}</ol>{}',
        passage.pk,
        _("%(label)s, %(count)s lines") % {"label": passage.label, "count": len(items)},
        mark_safe("".join(items)),
        popovers,
    )


def first_lines(passages) -> dict[int, int]:
    """Passage id → the number of its first line, for the passages of one source in order.
    Lines are numbered continuously through a source (the second passage goes on from the
    first's last line), so that "Source A, line 14" names one line a teacher can point to."""
    numbers = {}
    line = 1
    for passage in passages:
        numbers[passage.pk] = line
        line += len(passage_lines(passage.text))
    return numbers


@register.filter
def numbered_passages(passages) -> list:
    """The passages of one source, each given ``first_line`` (see ``first_lines``)."""
    passages = list(passages)
    numbers = first_lines(passages)
    for passage in passages:
        passage.first_line = numbers[passage.pk]
    return passages


@register.filter
def get_item(mapping, key):
    """``{{ mapping|get_item:key }}`` for dicts built in views."""
    if not hasattr(mapping, "get"):  # a missing context variable renders as ""
        return None
    return mapping.get(key)
