"""Running the permission matrix: one request per (row, principal, method, htmx) in a
rolled-back transaction, and the check of what came back against ``expected()``."""

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse

from tests.security.conftest import PRINCIPALS, World, client_for, rolled_back
from tests.security.urls_table import Expectation, Row, expected, requests_for

HTMX = {"HX-Request": "true"}


@dataclass
class Cell:
    row: Row
    principal: str
    method: str
    htmx: bool
    expectation: Expectation
    response: HttpResponse
    changed: bool = False  # whether the request changed anything stored

    def __str__(self):
        variant = " (htmx)" if self.htmx else ""
        return (
            f"{self.method}{variant} {self.row.name} as {self.principal}: expected "
            f"{self.expectation.kind}, got {self.response.status_code}"
        )


def perform(client, world: World, row: Row, method: str, htmx: bool, *, url=None, data=None):
    url = url or row.url(world)
    headers = HTMX if htmx else {}
    if method == "GET":
        return client.get(url, headers=headers)
    return client.post(url, row.post_data(world) if data is None else data, headers=headers)


def run_row(world: World, row: Row, principals=PRINCIPALS):
    """Every principal × request variant of one row, each in its own rolled-back transaction
    so that allowed POSTs leave the world as it was for the next principal."""
    cells = []
    for principal in principals:
        with rolled_back():
            client = client_for(world, principal)
            for method, htmx in requests_for(row):
                session = _session_key(client)
                with rolled_back():
                    before = _fingerprint()
                    response = perform(client, world, row, method, htmx)
                    changed = _fingerprint() != before
                if _session_key(client) != session:
                    # Logged in or out: that change was rolled back, so log in again.
                    client = client_for(world, principal)
                expectation = expected(row, principal, method, htmx)
                cells.append(Cell(row, principal, method, htmx, expectation, response, changed))
    return cells


def _fingerprint() -> list:
    """Everything a request could change that another user owns: classes, enrolments, work,
    marks, the library. A refused request must leave it exactly as it was."""
    from django.apps import apps

    return [
        list(apps.get_model(label).objects.order_by("pk").values_list())
        for label in (
            "accounts.Classroom",
            "accounts.Enrollment",
            "analysis.Assignment",
            "analysis.Extension",
            "analysis.Submission",
            "analysis.Response",
            "analysis.Evidence",
            "analysis.Mark",
            "analysis.CommentBankEntry",
            "analysis.Source",
            "analysis.Exercise",
        )
    ]


def _session_key(client):
    morsel = client.cookies.get(settings.SESSION_COOKIE_NAME)
    return morsel.value if morsel is not None else None


def problem(cell: Cell) -> str | None:
    """Why a cell is wrong, or None when it is as the matrix says."""
    response, kind = cell.response, cell.expectation.kind
    status = response.status_code
    if kind != "ok" and cell.changed:
        return f"{cell}; a refused request changed stored data"
    if kind == "ok":
        refused_data = cell.method == "POST" and status in (409, 422)
        if 200 <= status < 400 or refused_data:
            return None
    elif kind == "login":
        location = response.get("Location", "")
        if status == 302 and location.startswith("/accounts/login/"):
            return None
        return f"{cell}; Location {location!r}"
    elif kind == "session-expired":
        if status == 401 and "session-expired" in response.get("HX-Trigger", ""):
            return None
        return f"{cell}; HX-Trigger {response.get('HX-Trigger')!r}"
    elif (kind, status) in (("not-found", 404), ("method", 405)):
        return None
    return str(cell)
