"""The markbook of a class: its pupils against its assignments, on a page and as a CSV.
Teachers only, their own classes only (another class's id answers 404)."""

from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from accounts.decorators import teacher_required
from analysis.marking import markbook as reads
from analysis.teaching import scope
from config.spreadsheet import csv_response


def _sort(request) -> str:
    raw = request.GET.get("sort", "name")
    return raw if raw.isascii() and len(raw) <= 24 else "name"


@teacher_required
@require_GET
def class_markbook(request, pk):
    classroom = scope.classroom(request, pk)
    book = reads.markbook(classroom, sort=_sort(request))
    return render(request, "analysis/class_markbook.html", {"classroom": classroom, "book": book})


@teacher_required
@require_GET
def class_markbook_csv(request, pk):
    classroom = scope.classroom(request, pk)
    header, rows = reads.csv_table(reads.markbook(classroom, sort=_sort(request)))
    return csv_response(
        filename=f"{slugify(classroom.name) or 'class'}-markbook.csv", header=header, rows=rows
    )
