import pytest
from django.urls import reverse

from accounts.models import JOIN_CODE_ALPHABET, Classroom, Enrollment, User, generate_join_code
from tests import factories

pytestmark = pytest.mark.django_db


def test_join_codes_avoid_ambiguous_characters():
    for _ in range(200):
        code = generate_join_code()
        assert len(code) == 8
        assert not set(code) & set("0O1IL5S2Z8B")
        assert set(code) <= set(JOIN_CODE_ALPHABET)


def test_regenerated_code_differs_and_old_code_stops_working(client):
    classroom = factories.make_classroom()
    old = classroom.join_code
    new = classroom.regenerate_join_code()
    assert new != old
    response = client.post(reverse("accounts:signup"), _signup_data(old))
    assert response.status_code == 200
    assert "does not match an open class" in response.text
    assert not User.objects.filter(username="newpupil").exists()


def test_join_codes_are_unique_in_the_database():
    from django.db import IntegrityError

    classroom = factories.make_classroom()
    with pytest.raises(IntegrityError):
        Classroom.objects.create(name="Copy", join_code=classroom.join_code, school=classroom.school)


def _signup_data(code, **overrides):
    data = {
        "join_code": code,
        "first_name": "Nadia",
        "last_name": "Petrova",
        "username": "newpupil",
        "password1": "red-kite-fortress-42",
        "password2": "red-kite-fortress-42",
    }
    data.update(overrides)
    return data


class TestSignup:
    def test_student_signs_up_with_a_code_and_lands_on_learn(self, client):
        classroom = factories.make_classroom(name="Year 11 A")
        typed = classroom.join_code.lower()[:4] + "-" + classroom.join_code.lower()[4:]
        response = client.post(reverse("accounts:signup"), _signup_data(typed), follow=True)
        user = User.objects.get(username="newpupil")
        assert user.role == User.Role.STUDENT
        assert user.email == ""
        assert Enrollment.objects.filter(classroom=classroom, student=user).exists()
        assert response.redirect_chain[-1][0] == reverse("learn:assignment-list")
        assert "You have joined Year 11 A" in response.text

    def test_turned_off_code_is_refused_and_nothing_is_created(self, client):
        classroom = factories.make_classroom(join_code_enabled=False)
        response = client.post(reverse("accounts:signup"), _signup_data(classroom.join_code))
        assert "does not match an open class" in response.text
        assert not User.objects.filter(username="newpupil").exists()

    def test_archived_class_code_is_refused(self, client):
        from django.utils import timezone

        classroom = factories.make_classroom(archived_at=timezone.now())
        response = client.post(reverse("accounts:signup"), _signup_data(classroom.join_code))
        assert "does not match an open class" in response.text

    def test_signup_form_asks_for_no_email_or_birth_date(self, client):
        response = client.get(reverse("accounts:signup"))
        assert response.status_code == 200
        assert 'name="email"' not in response.text
        assert "birth" not in response.text.lower().replace("date of birth.", "")

    def test_mismatched_passwords_keep_the_other_fields(self, client):
        classroom = factories.make_classroom()
        response = client.post(
            reverse("accounts:signup"), _signup_data(classroom.join_code, password2="different-one-99")
        )
        assert response.status_code == 200
        assert 'value="Nadia"' in response.text
        assert not User.objects.filter(username="newpupil").exists()


class TestLogin:
    def test_login_then_root_redirects_student_to_learn(self, client):
        factories.make_student(username="pupil", password="correct-horse")
        response = client.post(
            reverse("accounts:login"), {"username": "pupil", "password": "correct-horse"}, follow=True
        )
        assert response.redirect_chain[-1][0] == reverse("learn:assignment-list")

    def test_teacher_goes_to_teach(self, client):
        teacher = factories.make_teacher()
        client.force_login(teacher)
        assert client.get("/").url == reverse("teach:dashboard")

    def test_site_admin_without_classes_goes_to_admin(self, client):
        admin = factories.make_teacher(is_staff=True, is_superuser=True)
        client.force_login(admin)
        assert client.get("/").url == reverse("admin:index")

    def test_anonymous_root_goes_to_login(self, client):
        assert client.get("/").url == reverse("accounts:login")

    def test_same_message_for_unknown_user_and_wrong_password(self, client):
        factories.make_student(username="pupil", password="correct-horse")
        wrong = client.post(reverse("accounts:login"), {"username": "pupil", "password": "nope"})
        unknown = client.post(reverse("accounts:login"), {"username": "nobody", "password": "nope"})
        assert wrong.status_code == unknown.status_code == 200
        message = "That user name and password do not match"
        assert message in wrong.text and message in unknown.text

    def test_session_key_changes_at_login(self, client):
        factories.make_student(username="pupil", password="correct-horse")
        client.get(reverse("accounts:login"))
        client.session.save()
        before = client.session.session_key
        client.post(reverse("accounts:login"), {"username": "pupil", "password": "correct-horse"})
        assert client.session.session_key != before

    def test_logout_is_post_only_and_clears_site_data(self, client):
        client.force_login(factories.make_student())
        assert client.get(reverse("accounts:logout")).status_code == 405
        response = client.post(reverse("accounts:logout"))
        assert response.status_code == 302
        assert "storage" in response["Clear-Site-Data"]
        assert client.get(reverse("learn:assignment-list")).status_code == 302

    def test_one_pupils_lockout_does_not_lock_out_classmates(self, client, settings):
        settings.AXES_FAILURE_LIMIT = 5
        factories.make_student(username="unlucky", password="right-password")
        factories.make_student(username="classmate", password="right-password")
        for _ in range(6):
            client.post(reverse("accounts:login"), {"username": "unlucky", "password": "wrong"})
        locked = client.post(reverse("accounts:login"), {"username": "unlucky", "password": "right-password"})
        assert locked.status_code == 429
        ok = client.post(
            reverse("accounts:login"), {"username": "classmate", "password": "right-password"}, follow=True
        )
        assert ok.redirect_chain[-1][0] == reverse("learn:assignment-list")


class TestJoin:
    def test_student_joins_a_second_class(self, client):
        student = factories.make_student()
        factories.make_classroom(students=[student])
        second = factories.make_classroom(name="History club")
        client.force_login(student)
        response = client.post(reverse("accounts:join"), {"join_code": second.join_code}, follow=True)
        assert "You have joined History club" in response.text
        assert student.enrollments.count() == 2

    def test_joining_twice_is_harmless(self, client):
        student = factories.make_student()
        classroom = factories.make_classroom(students=[student])
        client.force_login(student)
        response = client.post(reverse("accounts:join"), {"join_code": classroom.join_code}, follow=True)
        assert "already in" in response.text
        assert student.enrollments.count() == 1

    def test_teachers_do_not_join_with_codes(self, client):
        client.force_login(factories.make_teacher())
        assert client.get(reverse("accounts:join")).status_code == 404

    def test_bad_code_is_explained(self, client):
        client.force_login(factories.make_student())
        response = client.post(reverse("accounts:join"), {"join_code": "NOPE-NOPE"})
        assert "does not match an open class" in response.text


def test_healthz_answers_without_login(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200
    with django_assert_num_queries(1):
        response = client.get("/healthz/db")
    assert response.status_code == 200
    assert response.text.startswith("ok")


def test_pages_carry_a_nonce_csp_and_no_store_when_logged_in(client):
    client.force_login(factories.make_student())
    response = client.get(reverse("accounts:join"))
    csp = response["Content-Security-Policy"]
    assert "'nonce-" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.text


def test_expired_session_htmx_request_gets_401_and_event_not_the_login_page(client):
    response = client.get(reverse("learn:assignment-list"), headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert "session-expired" in response["HX-Trigger"]
    assert "<form" not in response.text
