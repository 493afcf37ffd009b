"""Text heuristics of the workspace: splitting a passage into sentences (for keyboard
citing) and the self-check a pupil sees before handing in."""

import calendar
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from django.utils.dates import MONTHS
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from analysis.models import Source

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


@lru_cache(maxsize=16)
def _month_names(language: str) -> frozenset[str]:
    """Month names in English and in the page's language, lower case (once per language)."""
    return frozenset(name.lower() for name in calendar.month_name if name) | {
        str(name).lower() for name in MONTHS.values()
    }


def _origin_mentions_who_and_when(text: str, sources: list[Source]) -> tuple[bool, bool]:
    lowered = text.lower()
    names = set()
    for source in sources:
        for raw in (re.sub(r"\(.*?\)", " ", source.author), source.publication.split(",")[0]):
            names.update(word.lower() for word in re.findall(r"[^\W\d_]{4,}", raw) if word[0].isupper())
    words = set(re.findall(r"[^\W\d_]+", lowered))
    who = bool(names & words)
    when = bool(re.search(r"\b(1\d{3}|20\d{2})\b", text)) or bool(_month_names(get_language()) & words)
    return who, when


_PURPOSE_WORDS = {
    "purpose",
    "aim",
    "aimed",
    "aims",
    "wanted",
    "wants",
    "intended",
    "intention",
    "persuade",
    "convince",
    "because",
    "why",
    "motive",
    "motives",
}
_AUDIENCE_WORDS = {"audience", "readers", "reader", "listeners", "delegates", "addressed", "aimed"}
_JUDGEMENT_WORDS = {
    "overall",
    "therefore",
    "conclusion",
    "judgement",
    "judgment",
    "more",
    "most",
    "less",
    "least",
    "partly",
    "mostly",
    "largely",
    "valuable",
    "useful",
    "reliable",
    "extent",
    "far",
}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W\d_]+", text.lower()))


def _audience_named(text: str, sources: list[Source]) -> bool:
    words = _words(text)
    named = {w.lower() for s in sources for w in re.findall(r"[^\W\d_]{4,}", s.audience) if w[0].isupper()}
    return bool(words & (named | _AUDIENCE_WORDS))


def _both_sources(item) -> bool:
    cited = {chip.source_letter for chip in item.chips}
    mentions = set(re.findall(r"\bsource\s+([ab])\b", item.response.text.lower()))
    return len(cited | {m.upper() for m in mentions}) >= 2


def _own_knowledge(text: str, sources: list[Source]) -> bool:
    """Something dated from outside the source: a year, or a day and month. (A rough sign, as
    all of this is advice: own knowledge is mostly dates and events the source does not give.)"""
    return bool(re.search(r"\b(1\d{3}|20\d{2})\b", text)) or bool(
        re.search(r"\b\d{1,2}(?:st|nd|rd|th)?\s+[A-Z][a-z]+", text)
    )


# Each declared check: whether the answer meets it, and the advice either way. The test runs only
# when the question asks for that check; the advice is translated only when shown.
_CHECK_RULES = {
    "date": (
        lambda item, about, origin: origin()[1],
        gettext_lazy("Question %(n)s gives a date (a year or a month)."),
        gettext_lazy("Question %(n)s does not give a date yet (a year or a month)."),
    ),
    "author": (
        lambda item, about, origin: origin()[0],
        gettext_lazy("Question %(n)s names who produced the source."),
        gettext_lazy("Question %(n)s does not name who produced the source yet."),
    ),
    "audience": (
        lambda item, about, origin: _audience_named(item.response.text, about),
        gettext_lazy("Question %(n)s says who the source was for."),
        gettext_lazy("Question %(n)s does not say who the source was for (its audience) yet."),
    ),
    "purpose": (
        lambda item, about, origin: (
            bool(_words(item.response.text) & _PURPOSE_WORDS) or "in order to" in item.response.text.lower()
        ),
        gettext_lazy("Question %(n)s explains why the source was produced."),
        gettext_lazy("Question %(n)s does not yet say why the source was produced (its purpose)."),
    ),
    "both_sources": (
        lambda item, about, origin: _both_sources(item),
        gettext_lazy("Question %(n)s uses both sources."),
        gettext_lazy("Question %(n)s does not use both sources yet: quote or name Source A and Source B."),
    ),
    "judgement": (
        lambda item, about, origin: bool(_words(item.response.text) & _JUDGEMENT_WORDS),
        gettext_lazy("Question %(n)s reaches a judgement."),
        gettext_lazy(
            "Question %(n)s does not reach a judgement yet (how far, how useful, which is more valuable)."
        ),
    ),
    "own_knowledge": (
        lambda item, about, origin: _own_knowledge(item.response.text, about),
        gettext_lazy("Question %(n)s brings in knowledge of your own (a date, event or person)."),
        gettext_lazy("Question %(n)s does not bring in knowledge of your own yet (a date, event or person)."),
    ),
}


def _question_checks(item, about: list[Source]) -> list[Check]:
    """The advice for one question, from what it declares (``Question.effective_checks``).
    Evidence is advised once for all questions (``submission_self_check``)."""
    checks = [c for c in item.question.effective_checks if c != "evidence"]
    if not checks or not item.answered:
        return []
    n = item.question.number
    found = []
    origin_found: list[tuple[bool, bool]] = []

    def origin() -> tuple[bool, bool]:
        if not origin_found:
            origin_found.append(_origin_mentions_who_and_when(item.response.text, about))
        return origin_found[0]

    if "author" in checks and "date" in checks:
        who, when = origin()
        if who and when:
            message = _("Question %(n)s says who produced the source and when.")
        elif who:
            message = _("Question %(n)s names who produced the source but not when (a year or a month).")
        elif when:
            message = _("Question %(n)s says when but does not name who produced the source.")
        else:
            message = _("Question %(n)s does not yet say who produced the source or when.")
        found.append(Check(ok=who and when, message=message % {"n": n}))
        checks = [c for c in checks if c not in ("author", "date")]
    for check in checks:
        test, yes, no = _CHECK_RULES[check]
        ok = bool(test(item, about, origin))
        found.append(Check(ok=ok, message=str(yes if ok else no) % {"n": n}))
    return found


def submission_self_check(*, items: "list[QuestionItem]", sources: list[Source]) -> list[Check]:
    """Advice before submitting, computed from the answers (never a gate): every question
    answered; evidence cited where the question expects it; then, for each answered question,
    what its declared checks ask for (``Question.checks``; without them, what its stage
    suggests: an origin answer names who produced the source and when)."""
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
        about = [s for s in sources if item.question.source_id in (None, s.pk)]
        checks.extend(_question_checks(item, about))
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
