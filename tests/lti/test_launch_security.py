"""Every launch refusal: a clear 4xx page naming what went wrong, and one security-log record
with the refusal's code. And the launches that should work, do."""

import json
import time

import pytest
from django.urls import reverse

from accounts.models import Enrollment, User
from config.logging import JsonFormatter
from lti.models import Course, LtiIdentity, ResourceLink
from tests import factories
from tests.lti.conftest import CLIENT_ID, ISS, C, PlatformKeys, claims, start_login

pytestmark = pytest.mark.django_db


def _launch(client, token, state):
    return client.post("/lti/launch/", {"id_token": token, "state": state})


def _launch_and_continue(client, token, state):
    """A launch, then the hand-over page it redirects to (where a first launch makes its user)."""
    response = _launch(client, token, state)
    assert response.status_code == 302 and response["Location"].startswith("/lti/continue/"), response
    return client.get(response["Location"])


def _refusal(caplog, response, code):
    assert response.status_code == 422, response.status_code
    assert b"could not open this activity" in response.content
    assert code.encode() in response.content
    records = [
        r
        for r in caplog.records
        if r.name == "provenance.security" and getattr(r, "event", "") == "lti_refused"
    ]
    assert len(records) == 1, [r.__dict__ for r in records]
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["outcome"] == code and line["status"] == 422 and line["path"] == "/lti/launch/"


@pytest.fixture
def course_with_link(platform, platform_keys, client):
    """An instructor's first launch made the course's class; an activity is linked to it."""
    state, nonce = start_login(client)
    token = platform_keys.sign(claims(nonce=nonce, sub="teacher-1", role="Instructor"))
    assert _launch_and_continue(client, token, state).status_code == 302
    course = Course.objects.get(platform=platform, context_id="course-1")
    assignment = factories.make_assignment(classroom=course.classroom)
    link = ResourceLink.objects.create(course=course, assignment=assignment, resource_link_id="rl-1")
    client.logout()
    return course, link


def test_a_learner_launch_lands_in_the_workspace(course_with_link, platform_keys, client):
    course, link = course_with_link
    state, nonce = start_login(client)
    token = platform_keys.sign(claims(nonce=nonce, **{C + "resource_link": {"id": "rl-1"}}))
    response = _launch(client, token, state)
    assert response.status_code == 302
    # The state cookie is spent; the session cookie keeps its own settings.
    assert response.cookies[f"lti1p3-{state}"]["max-age"] == 0
    followed = client.get(response["Location"])
    assert followed.cookies["sessionid"]["samesite"] == "Lax"
    assert followed["Location"] == reverse("learn:workspace", args=[link.assignment_id])
    pupil = LtiIdentity.objects.get(issuer=ISS, sub="learner-1").user
    assert pupil.is_student and pupil.first_name == "Sam" and not pupil.has_usable_password()
    assert Enrollment.objects.current().filter(classroom=course.classroom, student=pupil).exists()


def test_state_cookie_is_samesite_none_and_secure(platform, client):
    client.get("/lti/login/", {"iss": ISS, "login_hint": "x", "client_id": CLIENT_ID})
    (cookie,) = [c for name, c in client.cookies.items() if name.startswith("lti1p3-state-")]
    assert cookie["samesite"] == "None" and cookie["secure"] and cookie["httponly"] and cookie["partitioned"]
    assert cookie["path"] == "/lti/"


def test_an_instructor_launch_makes_the_class_and_teaches_only_it(platform, platform_keys, client):
    other = factories.make_classroom()
    state, nonce = start_login(client)
    _launch_and_continue(client, platform_keys.sign(claims(nonce=nonce, sub="t-9", role="Instructor")), state)
    teacher = LtiIdentity.objects.get(sub="t-9").user
    assert teacher.role == User.Role.TEACHER and teacher.school == platform.school
    assert list(teacher.classrooms_taught.all()) == [Course.objects.get().classroom]
    assert not other.teachers.filter(pk=teacher.pk).exists()


def test_an_existing_account_with_the_same_name_is_not_matched(platform, platform_keys, client):
    factories.make_student(username="sam", first_name="Sam", last_name="Lee", email="sam@example.org")
    state, nonce = start_login(client)
    _launch_and_continue(client, platform_keys.sign(claims(nonce=nonce, sub="t-1", role="Instructor")), state)
    client.logout()
    state, nonce = start_login(client)
    _launch_and_continue(client, platform_keys.sign(claims(nonce=nonce, email="sam@example.org")), state)
    assert LtiIdentity.objects.get(sub="learner-1").user.username != "sam"


def test_wrong_signature(platform, platform_keys, client, caplog):
    state, nonce = start_login(client)
    forger = PlatformKeys()
    token = platform_keys.sign(claims(nonce=nonce), key=forger.key)  # the platform's kid, another key
    _refusal(caplog, _launch(client, token, state), "bad_signature")


def test_unknown_key_id_is_fetched_again_then_refused(platform, platform_keys, client, caplog):
    state, nonce = start_login(client)
    _refusal(
        caplog,
        _launch(client, platform_keys.sign(claims(nonce=nonce), kid="no-such-kid"), state),
        "unknown_key",
    )
    assert platform_keys.fetches == 2  # the cached set, then once more in case the platform rotated


def test_rotated_platform_key_is_picked_up(platform, platform_keys, client):
    state, nonce = start_login(client)
    _launch(client, platform_keys.sign(claims(nonce=nonce, sub="t", role="Instructor")), state)
    old_fetches = platform_keys.fetches
    rotated = PlatformKeys()
    platform_keys.key, platform_keys.kid = rotated.key, rotated.kid
    state, nonce = start_login(client)
    response = _launch(client, platform_keys.sign(claims(nonce=nonce, sub="t", role="Instructor")), state)
    assert response.status_code == 302
    assert platform_keys.fetches == old_fetches + 1


def test_expired_token(platform, platform_keys, client, caplog):
    state, nonce = start_login(client)
    past = int(time.time()) - 3600
    token = platform_keys.sign(claims(nonce=nonce, iat=past - 60, exp=past))
    _refusal(caplog, _launch(client, token, state), "expired")


def test_replayed_nonce(platform, platform_keys, client, caplog):
    state, nonce = start_login(client)
    cookie = client.cookies[f"lti1p3-{state}"].value
    token = platform_keys.sign(claims(nonce=nonce, sub="t", role="Instructor"))
    assert _launch(client, token, state).status_code == 302
    client.logout()
    client.cookies[f"lti1p3-{state}"] = cookie  # the same browser, the same post, again
    _refusal(caplog, _launch(client, token, state), "nonce_replayed")


def test_wrong_audience(platform, platform_keys, client, caplog):
    state, nonce = start_login(client)
    _refusal(
        caplog,
        _launch(client, platform_keys.sign(claims(nonce=nonce, aud="another-tool")), state),
        "wrong_audience",
    )


def test_azp_naming_another_party(platform, platform_keys, client, caplog):
    state, nonce = start_login(client)
    token = platform_keys.sign(claims(nonce=nonce, aud=[CLIENT_ID, "another-tool"], azp="another-tool"))
    _refusal(caplog, _launch(client, token, state), "wrong_audience")


def test_unregistered_deployment(platform, platform_keys, client, caplog):
    state, nonce = start_login(client)
    token = platform_keys.sign(claims(nonce=nonce, **{C + "deployment_id": "not-registered"}))
    _refusal(caplog, _launch(client, token, state), "unregistered_deployment")


def test_state_mismatch(platform, platform_keys, client, caplog):
    state, nonce = start_login(client)
    client.cookies.clear()  # another browser posts the launch
    _refusal(caplog, _launch(client, platform_keys.sign(claims(nonce=nonce)), state), "state_mismatch")


def test_nonce_not_issued_with_this_state(platform, platform_keys, client, caplog):
    state, _nonce = start_login(client)
    _other_state, other_nonce = start_login(client)
    _refusal(caplog, _launch(client, platform_keys.sign(claims(nonce=other_nonce)), state), "nonce_mismatch")


def test_wrong_version(platform, platform_keys, client, caplog):
    state, nonce = start_login(client)
    token = platform_keys.sign(claims(nonce=nonce, **{C + "version": "1.1"}))
    _refusal(caplog, _launch(client, token, state), "bad_message")


def test_a_learner_token_claiming_another_course_s_activity(course_with_link, platform_keys, client, caplog):
    """The learner's own course exists, but the activity's custom parameter names an assignment
    of the instructor's other class: refused, and no link is made."""
    _course, link = course_with_link
    elsewhere = factories.make_assignment()
    state, nonce = start_login(client)
    token = platform_keys.sign(
        claims(
            nonce=nonce,
            **{
                C + "resource_link": {"id": "rl-new"},
                C + "custom": {"provenance_assignment": str(elsewhere.pk)},
            },
        )
    )
    _refusal(caplog, _launch(client, token, state), "foreign_resource")
    assert not ResourceLink.objects.filter(resource_link_id="rl-new").exists()


def test_a_learner_cannot_open_a_course_no_instructor_has_set_up(platform, platform_keys, client, caplog):
    state, nonce = start_login(client)
    _refusal(caplog, _launch(client, platform_keys.sign(claims(nonce=nonce)), state), "course_not_set_up")


def test_a_learner_cannot_deep_link(course_with_link, platform_keys, client, caplog):
    state, nonce = start_login(client)
    token = platform_keys.sign(claims(nonce=nonce, message="LtiDeepLinkingRequest"))
    _refusal(caplog, _launch(client, token, state), "deep_link_learner")


def test_the_demo_platform_is_refused_when_debug_is_off(platform, platform_keys, client, caplog, settings):
    platform.is_demo = True
    platform.save()
    settings.DEBUG = False
    response = client.get("/lti/login/", {"iss": ISS, "login_hint": "x", "client_id": CLIENT_ID}, secure=True)
    assert response.status_code == 400
    assert b"demo platform" in response.content


def test_the_refusal_page_frames_only_in_the_platform_s_origins(platform, platform_keys, client):
    state, nonce = start_login(client)
    response = _launch(client, platform_keys.sign(claims(nonce=nonce, exp=int(time.time()) - 10)), state)
    assert (
        "frame-ancestors https://lms.example.org https://frames.example.net"
        in response["Content-Security-Policy"]
    )
    assert "X-Frame-Options" not in response
    other = client.get(reverse("home"))
    assert "frame-ancestors 'none'" in other["Content-Security-Policy"] and other["X-Frame-Options"] == "DENY"


def test_a_framed_login_checks_cookies_first(platform, client):
    response = client.get(
        "/lti/login/",
        {"iss": ISS, "login_hint": "x", "client_id": CLIENT_ID},
        headers={"Sec-Fetch-Dest": "iframe"},
    )
    assert response.status_code == 200
    assert b"Open in a new tab" in response.content and b"lti1p3_new_window=1" in response.content
    assert "frame-ancestors https://lms.example.org" in response["Content-Security-Policy"]


def test_jwks_publishes_public_keys_only(db, client):
    from django.core.management import call_command

    call_command("lti_keys")
    call_command("lti_keys", "--rotate")
    keys = client.get("/lti/jwks.json").json()["keys"]
    assert len(keys) == 2
    assert all(set(key) == {"kty", "n", "e", "kid", "alg", "use"} for key in keys)


def test_a_logged_in_teacher_links_their_lms_account_explicitly(platform, platform_keys, client, caplog):
    teacher = factories.make_teacher(school=platform.school, first_name="Ada", last_name="Byron")
    client.force_login(teacher)
    state, nonce = start_login(client)
    page = _launch_and_continue(
        client, platform_keys.sign(claims(nonce=nonce, sub="ada", role="Instructor")), state
    )
    assert page.status_code == 200 and b"Is this LMS account yours?" in page.content
    assert not LtiIdentity.objects.exists()  # nothing until they choose
    form = {"ticket": page.context["ticket"], "choice": "link"}
    response = client.post(reverse("lti:link"), form)
    assert response.status_code == 302
    assert LtiIdentity.objects.get(sub="ada").user == teacher
    assert Course.objects.get().classroom.teachers.filter(pk=teacher.pk).exists()
    assert any(getattr(r, "event", "") == "lti_identity_linked" for r in caplog.records)
    assert client.post(reverse("lti:link"), form).status_code == 422  # the ticket is spent


def test_keeping_them_apart_makes_a_new_user(platform, platform_keys, client):
    teacher = factories.make_teacher(school=platform.school)
    client.force_login(teacher)
    state, nonce = start_login(client)
    page = _launch_and_continue(
        client, platform_keys.sign(claims(nonce=nonce, sub="ada", role="Instructor")), state
    )
    client.post(reverse("lti:link"), {"ticket": page.context["ticket"], "choice": "new"})
    linked = LtiIdentity.objects.get(sub="ada").user
    assert linked != teacher and linked.is_teacher
    assert int(client.session["_auth_user_id"]) == linked.pk


def test_no_link_is_offered_across_roles(platform, platform_keys, client):
    pupil = factories.make_student()
    client.force_login(pupil)
    state, nonce = start_login(client)
    response = _launch_and_continue(
        client, platform_keys.sign(claims(nonce=nonce, sub="x", role="Instructor")), state
    )
    assert response.status_code == 302
    assert LtiIdentity.objects.get(sub="x").user != pupil


def test_frame_origins_must_be_origins(platform):
    from django.core.exceptions import ValidationError

    platform.frame_origins = "https://lms.example.org\n* 'unsafe-inline'"
    with pytest.raises(ValidationError):
        platform.full_clean()
    assert platform.frame_origin_list == ["https://lms.example.org"]  # nothing else reaches the CSP


def test_a_removed_identity_launches_again_without_a_clash(platform, platform_keys, client):
    state, nonce = start_login(client)
    _launch_and_continue(client, platform_keys.sign(claims(nonce=nonce, sub="t-2", role="Instructor")), state)
    first = LtiIdentity.objects.get(sub="t-2")
    first.delete()  # an admin unlinks it; the user stays
    client.logout()
    state, nonce = start_login(client)
    response = _launch_and_continue(
        client, platform_keys.sign(claims(nonce=nonce, sub="t-2", role="Instructor")), state
    )
    assert response.status_code == 302
    assert LtiIdentity.objects.get(sub="t-2").user_id != first.user_id


def test_no_link_is_offered_to_a_teacher_of_another_school(platform, platform_keys, client):
    elsewhere = factories.make_teacher(school=factories.make_school())
    client.force_login(elsewhere)
    state, nonce = start_login(client)
    token = platform_keys.sign(claims(nonce=nonce, sub="y", role="Instructor"))
    assert _launch_and_continue(client, token, state).status_code == 302
    assert LtiIdentity.objects.get(sub="y").user != elsewhere


def _deep_link_page(client, platform_keys, **settings_override):
    state, nonce = start_login(client)
    body = claims(nonce=nonce, sub="t-dl", role="Instructor", message="LtiDeepLinkingRequest")
    body["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"].update(settings_override)
    page = _launch(client, platform_keys.sign(body), state)
    assert page.status_code == 200 and b"Add a Provenance activity" in page.content
    return page.context["form"]["launch_id"].value()


def test_deep_linking_returns_a_signed_response_once(platform, platform_keys, client):
    import jwt

    exercise = factories.make_exercise(title="Offer and refusal")
    launch_id = _deep_link_page(client, platform_keys)
    form = {"launch_id": launch_id, "exercise": exercise.pk, "opens_at": "2026-01-05T09:00"}
    form |= {"support_level": "standard", "on_time_limit": "hand_in"}
    response = client.post(reverse("lti:deep-link"), form)
    assert response.status_code == 200, response.content[:400]
    assert "form-action 'self' https://lms.example.org" in response["Content-Security-Policy"]
    token = response.context["jwt"]
    claims_back = jwt.decode(token, options={"verify_signature": False})
    (item,) = claims_back["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    link = ResourceLink.objects.get()
    assert item["custom"] == {"provenance_assignment": str(link.assignment_id)}
    assert item["lineItem"]["scoreMaximum"] == exercise.total_marks
    assert claims_back["aud"] == [ISS] and claims_back["iss"] == CLIENT_ID
    assert client.post(reverse("lti:deep-link"), form).status_code == 422  # the launch is spent


def test_a_deep_link_return_address_that_is_not_a_web_address_is_refused(
    platform, platform_keys, client, caplog
):
    exercise = factories.make_exercise()
    launch_id = _deep_link_page(client, platform_keys, deep_link_return_url="javascript:alert(1)")
    form = {"launch_id": launch_id, "exercise": exercise.pk, "opens_at": "2026-01-05T09:00"}
    response = client.post(reverse("lti:deep-link"), form)
    assert response.status_code == 422 and not ResourceLink.objects.exists()
