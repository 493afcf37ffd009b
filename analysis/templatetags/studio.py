"""Template helpers for the authoring studio."""

from dataclasses import dataclass

from django import template

from analysis.studio.forms import MAX_LEVELS

register = template.Library()


@dataclass
class SchemeRow:
    number: int
    min: object
    max: object
    descriptor: str
    common: object = ""  # the declared common level (docs/skills.md); empty: the default


def suggested_bands(marks: int) -> list[tuple[int, int]]:
    """Even bands from 1 to the question's marks: two levels up to 4 marks, three up to 6, four above."""
    count = 2 if marks <= 4 else 3 if marks <= 6 else 4
    count = min(count, marks)
    bands, low = [], 1
    for n in range(count):
        high = low + (marks - low + 1) // (count - n) - 1
        bands.append((low, high))
        low = high + 1
    return bands


@register.filter
def scheme_rows_for(question, posted=None) -> list[SchemeRow]:
    """The rows of the written-scheme table: what was just posted (after a refusal), else the
    question's own scheme, else bands suggested from its marks; one empty row to grow into."""
    if posted:
        rows = [
            SchemeRow(
                n,
                posted.get(f"level-{n}-min", ""),
                posted.get(f"level-{n}-max", ""),
                posted.get(f"level-{n}-descriptor", ""),
                posted.get(f"level-{n}-common", ""),
            )
            for n in range(1, MAX_LEVELS + 1)
        ]
        filled = [n for n, row in enumerate(rows, start=1) if row.min or row.max or row.descriptor]
        return rows[: min(MAX_LEVELS, max(filled, default=1) + 1)]
    if question.mark_scheme_id:
        levels = list(question.mark_scheme.levels.all())
        rows = [
            SchemeRow(
                lv.number,
                lv.min_marks,
                lv.max_marks,
                lv.descriptor,
                "" if lv.common_level is None else lv.common_level,
            )
            for lv in levels
        ]
    else:
        rows = [
            SchemeRow(n, low, high, "")
            for n, (low, high) in enumerate(suggested_bands(question.max_marks), 1)
        ]
    if len(rows) < MAX_LEVELS:
        rows.append(SchemeRow(len(rows) + 1, "", "", ""))
    return rows
