"""The client's address behind the app's proxies, and the log-in lock-out keyed on it.

Behind one proxy every request reaches the app from the proxy's address; the client is the
entry the proxy appended to ``X-Forwarded-For``. If lock-outs were keyed on the connection's
address, ten wrong passwords from anywhere would lock the real user out from everywhere.
"""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from config.clientip import client_ip
from tests import factories

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.1"  # the balancer: every request arrives from here
ATTACKER = "203.0.113.9"
VICTIM = "198.51.100.7"


def _through_proxy(client, forwarded_for: str, **data):
    """A log-in post as the proxy delivers it: from the proxy's address, with the header it built
    (whatever the client sent, then the client's address appended)."""
    return client.post(
        reverse("accounts:login"), data, REMOTE_ADDR=PROXY, headers={"X-Forwarded-For": forwarded_for}
    )


def _request(remote="10.0.0.1", forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, headers=headers)


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),  # no proxy configured: the header is anyone's to write
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # the client's own entry is ignored
        (2, "198.51.100.7, 203.0.113.9, 192.0.2.1", "203.0.113.9"),  # rightmost-N
        (2, "192.0.2.1", "10.0.0.1"),  # shorter than N: did not come through every proxy
        (1, "not-an-address", "10.0.0.1"),
        (1, "", "10.0.0.1"),
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "[2001:db8::2]:4431", "2001:db8::2"),
    ],
)
def test_client_ip_is_the_nth_forwarded_entry_from_the_right(settings, count, forwarded, expected):
    settings.PROXY_COUNT = count
    assert client_ip(_request(forwarded=forwarded)) == expected


def test_wrong_passwords_from_one_client_do_not_lock_the_user_out_from_another(client, settings):
    """Ten wrong passwords sent through the proxy from one address lock that (user name, address)
    pair; the same user name with the right password from another address still logs in."""
    settings.PROXY_COUNT = 1
    factories.make_teacher(username="ms_reed", password="right-password-1917")
    statuses = [
        _through_proxy(client, ATTACKER, username="ms_reed", password=f"guess-{n}").status_code
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert statuses[-1] == 429, statuses
    assert (
        _through_proxy(client, ATTACKER, username="ms_reed", password="right-password-1917").status_code
        == 429
    )

    victim = _through_proxy(client, VICTIM, username="ms_reed", password="right-password-1917")
    assert victim.status_code == 302, "the attacker's guesses locked the real user out"


def test_a_forged_forwarded_for_entry_does_not_move_the_lock(client, settings):
    """The attacker writes the victim's address into its own X-Forwarded-For; the proxy appends
    the attacker's real address, and that is the one the failures count against."""
    settings.PROXY_COUNT = 1
    factories.make_student(username="pupil_x", password="right-password-1917")
    for n in range(settings.AXES_FAILURE_LIMIT):
        _through_proxy(client, f"{VICTIM}, {ATTACKER}", username="pupil_x", password=f"guess-{n}")
    assert (
        _through_proxy(client, VICTIM, username="pupil_x", password="right-password-1917").status_code == 302
    )
    client.logout()
    locked = _through_proxy(client, ATTACKER, username="pupil_x", password="right-password-1917")
    assert locked.status_code == 429


def test_a_teacher_unlocks_a_pupil_of_their_class(client, settings):
    """Pupils behind one school address share its lock: their teacher can lift it."""
    settings.AXES_FAILURE_LIMIT = 3
    teacher, other_teacher = factories.make_teacher(), factories.make_teacher()
    pupil = factories.make_student(username="pupil_locked", password="right-password-1917")
    classroom = factories.make_classroom(teacher=teacher, students=[pupil])
    for n in range(3):
        client.post(reverse("accounts:login"), {"username": "pupil_locked", "password": f"guess-{n}"})
    locked = client.post(
        reverse("accounts:login"), {"username": "pupil_locked", "password": "right-password-1917"}
    )
    assert locked.status_code == 429

    url = reverse("teach:class-student-unlock", args=[classroom.pk, pupil.pk])
    client.force_login(teacher)
    page = client.get(reverse("teach:class-detail", args=[classroom.pk]))
    assert url in page.text, "the class page offers to unlock the locked-out pupil"
    client.force_login(other_teacher)
    assert client.post(url).status_code == 404  # not their class
    client.force_login(teacher)
    assert client.post(url).status_code == 302
    client.logout()
    again = client.post(
        reverse("accounts:login"), {"username": "pupil_locked", "password": "right-password-1917"}
    )
    assert again.status_code == 302
