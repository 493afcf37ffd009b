"""The one CSV writer: every CSV the app sends goes through ``csv_response``.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (CSV
injection). Two things keep a cell inert however the file is opened:

- every field is quoted (``csv.QUOTE_ALL``), so a separator inside a cell stays inside it for
  any program that reads quotes, whichever separator (``,``, ``;``, tab) it assumes;
- a formula trigger is neutralised with a leading ``'`` wherever a cell *could* start: at the
  start of the value, and after any character some program might split on (``,`` ``;`` tab,
  line breaks, optionally followed by spaces or quote marks). So ``Bo;=SUM(40+2);`` is written
  ``Bo;'=SUM(40+2);``, inert even for a program that splits on ``;`` and ignores the quoting.

Ordinary text ("Level 2 - good", "2026-11-03 09:15") is left alone: a trigger counts only where a
cell could begin.
"""

import csv
import io
import re

from django.http import HttpResponse

# At the very start of a value, a tab or carriage return also counts: some programs strip them
# and then read what follows.
_START_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Where a program splitting on a separator would start a new cell: the start, or after a
# separator; then any spaces or quote marks; then a trigger.
_SPLIT_TRIGGER = re.compile(r"""([,;\t\r\n][\s"]*)(?=[=+\-@])""")


def csv_safe(value):
    """A cell a spreadsheet will show as text: numbers and empty cells pass unchanged."""
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(_START_TRIGGERS) or value.lstrip(' "').startswith(("=", "+", "-", "@")):
        value = "'" + value
    return _SPLIT_TRIGGER.sub(r"\1'", value)


def csv_text(header, rows) -> str:
    """The CSV text (byte-order mark first, so spreadsheet programs read UTF-8), every field
    quoted and every cell passed through ``csv_safe``."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow([csv_safe(str(cell)) for cell in header])
    writer.writerows([csv_safe(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def csv_response(*, filename: str, header, rows) -> HttpResponse:
    """A CSV download (UTF-8 with BOM) of ``header`` and ``rows``."""
    response = HttpResponse(csv_text(header, rows).encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
