"""The workspace's source panels, rendered once per source version and language.

A source's origin card, context notes, numbered passages and glossary popovers are the same
for every student, and they are most of the workspace page's HTML and of its rendering time.
So they are rendered without any student's highlights and kept in the cache (Redis in
production, shared by every server; per process otherwise), together with the sentence spans
the keyboard citing tools need and the number of each passage's first line (lines are numbered
through the whole source, so evidence chips can say "Source A, line 14"). The workspace page
adds each student's highlights in the browser from a small JSON list of spans
(``workspace.js``), and re-renders a passage with its highlights on the server when evidence
is attached or removed.

The cache key carries the source's ``updated_at``, which changes whenever the source, one of
its passages or one of its glossary terms is saved or deleted (``analysis.library.signals``), so a
stale panel is never shown: an edited source simply renders once more under a new key.
``PANEL_FORMAT`` is bumped when the panel's markup changes, for the same reason across deploys.
"""

from django.core.cache import cache
from django.db.models import prefetch_related_objects
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from analysis.classwork.heuristics import passage_sentences
from analysis.models import Source
from analysis.templatetags.passages import first_lines

PANEL_FORMAT = 3  # 2: image sources' figure with region buttons; 3: lines numbered through each source
PANEL_TIMEOUT = 7 * 24 * 60 * 60  # seconds; a new version gets a new key anyway


def _key(source: Source) -> str:
    stamp = source.updated_at.isoformat() if source.updated_at else "new"
    return f"source-panel:{PANEL_FORMAT}:{get_language()}:{source.pk}:{stamp}"


def _render(source: Source) -> dict:
    html = render_to_string("analysis/_source.html", {"source": source, "pupil": True})
    sentences = {
        str(passage.pk): [[s.start, s.end, s.text] for s in passage_sentences(passage.text)]
        for passage in source.passages.all()
    }
    return {"html": str(html), "sentences": sentences, "first_lines": first_lines(source.passages.all())}


def source_panels(sources: list[Source]) -> list[dict]:
    """For each source, in order: ``{"html": SafeString, "sentences": {passage id: [[start,
    end, text], …]}, "first_lines": {passage id: its first line's number}}``. One cache round
    trip for all of them; the sources missing from the cache are rendered with their passages
    and glossary loaded in two queries, then stored."""
    keys = {source.pk: _key(source) for source in sources}
    found = cache.get_many(list(keys.values()))
    missing = [source for source in sources if keys[source.pk] not in found]
    if missing:
        prefetch_related_objects(missing, "passages", "glossary")
        prefetch_related_objects([source for source in missing if source.image], "regions")
        rendered = {keys[source.pk]: _render(source) for source in missing}
        cache.set_many(rendered, PANEL_TIMEOUT)
        found.update(rendered)
    panels = []
    for source in sources:
        entry = found[keys[source.pk]]
        # Rendered by the template engine above, which escaped every value it was given.
        html: SafeString = mark_safe(entry["html"])
        panels.append({"html": html, "sentences": entry["sentences"], "first_lines": entry["first_lines"]})
    return panels


def source_first_lines(sources: list[Source]) -> dict[int, int]:
    """Passage id → the number of its first line in its source, for every passage of
    ``sources`` (from the cached panels: no query once they are cached)."""
    return {pk: line for entry in source_panels(sources) for pk, line in entry["first_lines"].items()}
