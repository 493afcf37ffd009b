"""T1: every URL × 8 principals × (GET, POST, htmx variants) answers as the matrix says.

The matrix is data (``urls_table.ROWS``); the list of URLs comes from the resolver, so a new
view without a row fails ``test_every_url_has_a_matrix_row``. The admin has its own test:
only staff get past its login.
"""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from tests.security import matrix
from tests.security.conftest import LOGGED_OUT, PRINCIPALS, client_for
from tests.security.html_audit import Recorded, header_problems
from tests.security.urls_table import ROWS, ROWS_BY_NAME, url_names

pytestmark = pytest.mark.django_db


def test_every_url_has_a_matrix_row():
    names = [name for name in url_names() if not name.startswith("admin:")]
    missing = sorted(set(names) - set(ROWS_BY_NAME))
    assert not missing, f"URL patterns with no row in the permission matrix: {missing}"
    stale = sorted(set(ROWS_BY_NAME) - set(names))
    assert not stale, f"matrix rows for URLs that no longer exist: {stale}"
    assert len(names) == len(set(names)), "two URL patterns share a name"


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_matrix_row(world, row):
    cells = matrix.run_row(world, row)
    assert len(cells) == len(PRINCIPALS) * len(matrix.requests_for(row))
    problems = [p for p in map(matrix.problem, cells) if p]
    assert not problems, "\n".join(problems)
    # T5: every one of these responses carries the security headers (test_headers.py).
    headers = [p for cell in cells for p in header_problems(Recorded.of(cell.response, str(cell)))]
    assert not headers, "\n".join(headers)


# --- The admin site: staff only ------------------------------------------------------------


def _admin_targets(world):
    """The admin index, every app index, and for every registered model its changelist, add
    page, and change/history/delete pages of one object from the world."""
    urls = [reverse("admin:index")]
    urls += [reverse("admin:app_list", args=[label]) for label in ("accounts", "analysis")]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        urls.append(reverse("admin:{}_{}_add".format(*info)))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            for view in ("change", "history", "delete"):
                urls.append(reverse("admin:{}_{}_{}".format(*info, view), args=[obj.pk]))
    urls.append(reverse("admin:analysis_source_upload"))
    urls.append(reverse("admin:jsi18n"))
    urls.append(reverse("admin:password_change"))
    urls.append(
        reverse("admin:autocomplete") + "?app_label=analysis&model_name=exercisesource&field_name=source"
    )
    return urls


def test_admin_is_reachable_only_by_staff(world):
    urls = _admin_targets(world)
    assert len(urls) > 40  # every registered model contributes several pages
    problems = []
    for principal in PRINCIPALS:
        if principal == "admin":
            continue
        client = client_for(world, principal)
        for url in urls:
            response = client.get(url)
            location = response.get("Location", "")
            logins = ("/accounts/login/", "/admin/login/") if principal in LOGGED_OUT else ("/admin/login/",)
            if response.status_code != 302 or not location.startswith(logins):
                problems.append(f"{principal} GET {url}: {response.status_code} {location}")
    assert not problems, "\n".join(problems)


STAFF_PAGES = [
    "admin:index",
    "admin:analysis_source_changelist",
    "admin:analysis_exercise_changelist",
    "admin:analysis_submission_changelist",
    "admin:accounts_user_changelist",
    "admin:accounts_classroom_changelist",
    "admin:analysis_source_upload",
]


def test_admin_pages_open_for_the_site_admin(world):
    client = client_for(world, "admin")
    for name in STAFF_PAGES:
        assert client.get(reverse(name)).status_code == 200, name
    source = apps.get_model("analysis", "Source").objects.get(slug=world.source_slug)
    assert client.get(reverse("admin:analysis_source_change", args=[source.pk])).status_code == 200
