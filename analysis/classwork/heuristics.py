"""Text heuristics of the workspace: splitting a passage into sentences (for keyboard
citing) and the self-check a pupil sees before handing in."""

import calendar
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.dates import MONTHS
from django.utils.translation import gettext as _

from analysis.models import (
    Source,
    Stage,
)

if TYPE_CHECKING:
    from analysis.classwork.selectors import QuestionItem


@dataclass
class Check:
    ok: bool
    message: str


@dataclass
class Sentence:
    start: int
    end: int
    text: str


def _origin_mentions_who_and_when(text: str, sources: list[Source]) -> tuple[bool, bool]:
    lowered = text.lower()
    names = set()
    for source in sources:
        for raw in (re.sub(r"\(.*?\)", " ", source.author), source.publication.split(",")[0]):
            names.update(word.lower() for word in re.findall(r"[^\W\d_]{4,}", raw) if word[0].isupper())
    words = set(re.findall(r"[^\W\d_]+", lowered))
    who = bool(names & words)
    months = {name.lower() for name in calendar.month_name if name} | {
        str(name).lower() for name in MONTHS.values()
    }
    when = bool(re.search(r"\b(1\d{3}|20\d{2})\b", text)) or bool(months & words)
    return who, when


def submission_self_check(*, items: "list[QuestionItem]", sources: list[Source]) -> list[Check]:
    """Advice before submitting, computed from the answers (never a gate): every question
    answered; evidence cited where the question expects it; the origin answer names who
    produced the source (a name from its author or publication) and when (a year or a month)."""
    unanswered = [item.question.number for item in items if not item.answered]
    uncited = [item.question.number for item in items if item.question.expects_evidence and not item.chips]
    checks = [
        Check(
            ok=not unanswered,
            message=_("Every question has an answer.")
            if not unanswered
            else _("Not answered yet: question %(numbers)s.") % {"numbers": ", ".join(map(str, unanswered))},
        ),
        Check(
            ok=not uncited,
            message=_("Every answer that needs evidence quotes the source.")
            if not uncited
            else _("No quotation attached to question %(numbers)s.")
            % {"numbers": ", ".join(map(str, uncited))},
        ),
    ]
    for item in items:
        if item.question.stage != Stage.ORIGIN:
            continue
        about = [s for s in sources if item.question.source_id in (None, s.pk)]
        who, when = _origin_mentions_who_and_when(item.response.text, about)
        if who and when:
            message = _("Question %(n)s says who produced the source and when.")
        elif who:
            message = _("Question %(n)s names who produced the source but not when (a year or a month).")
        elif when:
            message = _("Question %(n)s says when but does not name who produced the source.")
        else:
            message = _("Question %(n)s does not yet say who produced the source or when.")
        checks.append(Check(ok=who and when, message=message % {"n": item.question.number}))
    return checks


# A run of sentence-ending marks (and closing quotes or brackets) followed by white space or the
# end of the line. The look-behind lets a match start only where a run starts, and the
# possessive quantifiers never give characters back: each character is looked at a bounded
# number of times, so the split is linear even in 20,000 dots that end in a letter.
_SENTENCE_END = re.compile(r"(?<![.!?…])[.!?…]++[\"”’)\]]*+(?=\s|$)")
_NO_SENTENCE_END_AFTER = re.compile(r"\d+|[A-Z]")


def _token_before(line: str, position: int) -> str:
    """The last run of non-space characters before ``position`` (as ``line[:position].split()[-1]``
    would give, without splitting the whole prefix again for every sentence end)."""
    end = position
    while end > 0 and line[end - 1].isspace():
        end -= 1
    start = end
    while start > 0 and not line[start - 1].isspace():
        start -= 1
    return line[start:end]


def passage_sentences(text: str) -> list[Sentence]:
    """Split a passage into sentences (start/end offsets into ``text``, whitespace trimmed), for
    citing a sentence from the keyboard. A full stop after a bare number or a single capital
    ("1.", "J.") does not end a sentence; a line break always does. Linear in the text's length."""
    spans = []
    for line_start, line in _lines_with_offsets(text):
        cursor = line_start
        for match in _SENTENCE_END.finditer(line):
            if _NO_SENTENCE_END_AFTER.fullmatch(_token_before(line, match.start())):
                continue
            spans.append((cursor, line_start + match.end()))
            cursor = line_start + match.end()
        spans.append((cursor, line_start + len(line)))
    sentences = []
    for raw_start, raw_end in spans:
        s, e = trim_span(text, raw_start, raw_end)
        if s < e:
            sentences.append(Sentence(start=s, end=e, text=text[s:e]))
    return sentences


def passage_lines(text: str) -> list[str]:
    """A passage's lines as the workspace shows and numbers them: a text ending in a line
    break has no extra, empty last line."""
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return lines


def _lines_with_offsets(text: str):
    offset = 0
    for line in text.split("\n"):
        yield offset, line
        offset += len(line) + 1


_JOINERS = "'’-"  # inside a word ("All-Russian", "Soviet's") they belong to it
_LEADING_JUNK = ".,;:!?)]}”’»…-–—"  # what a quotation does not start with
_TRAILING_JUNK = "([{“‘«-–—"  # what it does not end with


def _wordish(char: str) -> bool:
    return char.isalnum() or char == "_"


def _in_word(text: str, index: int) -> bool:
    if not 0 <= index < len(text):
        return False
    if _wordish(text[index]):
        return True
    return (
        text[index] in _JOINERS
        and 0 < index < len(text) - 1
        and _wordish(text[index - 1])
        and _wordish(text[index + 1])
    )


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Snap a quotation to whole words: a word cut in two is taken whole ("Second All-" becomes
    "Second All-Russian"), and white space or stray punctuation at either end is dropped
    (". Unrelenting" becomes "Unrelenting"). workspace.js snaps a selection the same way before
    sending it."""
    while 0 < start < end and _in_word(text, start) and _in_word(text, start - 1):
        start -= 1
    while start < end < len(text) and _in_word(text, end - 1) and _in_word(text, end):
        end += 1
    while (
        start < end and (text[start].isspace() or text[start] in _LEADING_JUNK) and not _in_word(text, start)
    ):
        start += 1
    while (
        end > start
        and (text[end - 1].isspace() or text[end - 1] in _TRAILING_JUNK)
        and not _in_word(text, end - 1)
    ):
        end -= 1
    return start, end
