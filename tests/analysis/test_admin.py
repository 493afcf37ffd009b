"""The Django admin, where site admins edit the library by hand: it keeps the library's rules."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from analysis.classwork import services as work
from analysis.models import Passage
from tests import factories


class _Form(HTMLParser):
    """The fields of the admin's change form, as a browser would post them unchanged."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self._textarea = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data[name] = attrs.get("value", "on" if attrs.get("type") == "checkbox" else "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            # As a browser reads it: the newline right after <textarea> is not part of the value.
            self.data[self._textarea] = self.data[self._textarea].removeprefix("\n")
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


@pytest.fixture
def admin_client(client, db):
    admin = factories.make_user(username="site-admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def _change_form(client, url) -> dict[str, str]:
    parser = _Form()
    parser.feed(client.get(url).content.decode())
    return parser.data


def test_an_admin_edit_that_would_break_a_pupils_quotation_is_refused(admin_client, submission, passage):
    answer = submission.responses.first()
    work.evidence_add(
        response_id=answer.pk, student=submission.student, passage_id=passage.pk, start=0, end=5
    )
    url = reverse("admin:analysis_source_change", args=[passage.source_id])
    data = _change_form(admin_client, url)
    field = next(name for name, value in data.items() if name.endswith("-text") and value == passage.text)

    data[field] = "Rewritten so that the quotation no longer stands where it did."
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "quotations would no longer match the new text" in response.content.decode()
    passage.refresh_from_db()
    assert passage.text == "First passage text."

    # A change that keeps the quoted words where they are is fine.
    data[field] = "First passage text, with a few words added."
    assert admin_client.post(url, data).status_code == 302
    passage.refresh_from_db()
    assert passage.text == "First passage text, with a few words added."


def test_a_passage_nobody_quotes_can_be_rewritten(db):
    passage = Passage.objects.get(pk=factories.make_source().passages.first().pk)
    passage.text = "Something else entirely."
    passage.full_clean()


@pytest.mark.django_db
def test_long_inlines_start_folded_so_the_page_opens_at_its_own_fields(admin_client):
    source = factories.make_source(passages=[f"Passage {n} text." for n in range(12)])
    exercise = factories.make_exercise(sources=[source])
    for url, inline in (
        (reverse("admin:analysis_source_change", args=[source.pk]), "passages"),
        (reverse("admin:analysis_exercise_change", args=[exercise.pk]), "questions"),
    ):
        page = admin_client.get(url).text
        group = page.split(f'id="{inline}-group"')[1][:400]
        assert "collapse" in group, url
        assert 'rows="5"' in page or 'rows="3"' in page
