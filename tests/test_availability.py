from unittest import mock

import pytest
from django.db import OperationalError
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def test_a_database_outage_answers_503_with_retry_after(client):
    client.force_login(factories.make_student())
    with mock.patch(
        "analysis.classwork.selectors.assignment_rows_for_student", side_effect=OperationalError("down")
    ):
        response = client.get(reverse("learn:assignment-list"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "try again" in response.text
