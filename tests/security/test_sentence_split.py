"""Splitting a passage into sentences is linear in its length: a passage (from a pack, which a
site admin loads, or any text the workspace splits) of 20,000 dots ending in a letter took
~10 s, and ". " repeated took seconds more, holding a worker. The split is the same as before."""

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.classwork.heuristics import passage_sentences, trim_span
from tests.security.conftest import fuzz_settings


def _reference(text: str) -> list[tuple[int, int]]:
    """The earlier (quadratic) split, kept as the oracle for what a sentence is."""
    sentence_end = re.compile(r"[.!?…]+[\"”’)\]]*(?=\s+|$)")
    spans, offset = [], 0
    for line in text.split("\n"):
        cursor = offset
        for match in sentence_end.finditer(line):
            before = line[: match.start()].split()
            token = before[-1] if before else ""
            if re.fullmatch(r"\d+|[A-Z]", token):
                continue
            spans.append((cursor, offset + match.end()))
            cursor = offset + match.end()
        spans.append((cursor, offset + len(line)))
        offset += len(line) + 1
    return [span for span in (trim_span(text, s, e) for s, e in spans) if span[0] < span[1]]


@pytest.mark.parametrize(
    "text",
    [
        "." * 20_000 + "x",
        ". " * 20_000,
        "a. " * 20_000,
        "!?" * 10_000 + "”" * 10_000 + "x",
        "1. " * 20_000,
        " " * 20_000 + "." + "x. " * 10_000,
        "…" * 20_000 + ")",
    ],
    ids=[
        "dots then a letter",
        "dot space",
        "short sentences",
        "marks and quotes",
        "numbers",
        "spaces",
        "ellipses",
    ],
)
def test_sentence_splitting_is_fast_on_hostile_text(text):
    started = time.perf_counter()
    passage_sentences(text)
    assert time.perf_counter() - started < 0.5


@fuzz_settings()
@given(st.text(st.sampled_from(list('.!?…"”’)] \n\tx1JAb')), max_size=60))
def test_the_split_is_unchanged(text):
    assert [(s.start, s.end) for s in passage_sentences(text)] == _reference(text)


def test_a_few_sentences():
    text = "J. Reed wrote it. In 1917. he left!  Then?\nA new line"
    assert [s.text for s in passage_sentences(text)] == [
        "J. Reed wrote it.",
        "In 1917. he left!",
        "Then?",
        "A new line",
    ]
