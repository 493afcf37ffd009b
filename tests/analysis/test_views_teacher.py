"""The teachers' dashboard, page by page: permissions, behaviour and query counts."""

import csv
import io
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Classroom, Enrollment, User
from analysis.models import (
    Assignment,
    CommentBankEntry,
    Extension,
    Mark,
    MarkChange,
    StudentSupport,
    Submission,
)
from tests import factories

pytestmark = pytest.mark.django_db

SUBMITTED = Submission.Status.SUBMITTED
RETURNED = Submission.Status.RETURNED
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(assignment, student, classmate, teacher):
    """A class with one handed-in submission (with evidence and a mark) and one draft."""
    submission = factories.make_submission(
        assignment=assignment,
        student=student,
        status=SUBMITTED,
        answers={0: "Written by Trotsky.", 1: "To win."},
    )
    purpose = submission.responses.get(question__position=1)
    factories.make_evidence(response=purpose, start=0, end=5)
    draft = factories.make_submission(assignment=assignment, student=classmate, answers={0: "Half done"})
    extension = Extension.objects.create(
        assignment=assignment, student=classmate, due_at=assignment.due_at + timedelta(days=2)
    )
    entry = CommentBankEntry.objects.create(teacher=teacher, text="Quote the source.")
    support = StudentSupport.objects.create(assignment=assignment, student=classmate, extra_time_percent=25)
    question = assignment.exercise.questions.get(position=1)
    return {
        "assignment": assignment,
        "classroom": assignment.classroom,
        "submission": submission,
        "draft": draft,
        "question": question,
        "extension": extension,
        "support": support,
        "entry": entry,
        "student": student,
    }


# Who may reach each URL is the permission matrix's job (tests/security/test_permission_matrix.py).


# --- Dashboard --------------------------------------------------------------------------------


class TestDashboard:
    def test_lists_my_classes_with_join_codes_and_counts(self, teacher_client, world, other_class):
        page = teacher_client.get(reverse("teach:dashboard")).text
        assert "Year 11 A" in page
        assert world["classroom"].join_code in page
        assert "2 students" in page
        assert "Year 11 B" not in page and other_class.join_code not in page

    def test_shows_handed_in_over_total_and_what_is_waiting(self, teacher_client, world):
        response = teacher_client.get(reverse("teach:dashboard"))
        assignment = response.context["assignments"][0]
        assert (assignment.submitted_count, assignment.student_total) == (1, 2)
        assert (assignment.to_mark_count, assignment.to_release_count) == (1, 0)
        assert "1 of 2" in response.text
        assert "1 handed-in submission has answers to mark" in response.text

    def test_what_is_waiting_is_a_link_to_where_it_is_done(self, teacher_client, world):
        page = teacher_client.get(reverse("teach:dashboard")).text
        progress = reverse("teach:assignment-progress", args=[world["assignment"].pk])
        assert f'<a href="{progress}">1 handed-in submission has answers to mark.</a>' in page
        assert f'href="{progress}#return-heading">1<span class="visually-hidden"> to mark</span>' in page
        assert f'href="{reverse("teach:class-detail", args=[world["classroom"].pk])}"' in page

    def test_a_new_teacher_is_told_what_to_do_first(self, client):
        client.force_login(factories.make_teacher(username="newcomer"))
        page = client.get(reverse("teach:dashboard")).text
        assert "Create your first class" in page and "Set an exercise" in page
        assert "Nothing to mark" in page

    def test_due_soon_lists_only_the_next_week(self, teacher_client, school_class):
        soon = factories.make_assignment(classroom=school_class, due_at=timezone.now() + timedelta(days=2))
        later = factories.make_assignment(classroom=school_class, due_at=timezone.now() + timedelta(days=30))
        due_soon = teacher_client.get(reverse("teach:dashboard")).context["due_soon"]
        assert soon in due_soon and later not in due_soon

    def test_query_count_does_not_grow_with_classes_or_students(
        self, teacher_client, teacher, django_assert_num_queries
    ):
        def grow(students):
            classroom = factories.make_classroom(
                teacher=teacher, students=[factories.make_student() for _ in range(students)]
            )
            assignment = factories.make_assignment(classroom=classroom)
            for enrollment in classroom.enrollments.all()[:2]:
                factories.make_submission(assignment=assignment, student=enrollment.student, status=SUBMITTED)

        grow(3)
        with django_assert_num_queries(6) as small:
            teacher_client.get(reverse("teach:dashboard"))
        for _ in range(3):
            grow(10)
        with django_assert_num_queries(len(small.captured_queries)):
            teacher_client.get(reverse("teach:dashboard"))


# --- Classes ----------------------------------------------------------------------------------


class TestClasses:
    def test_create_a_class_which_i_then_teach(self, teacher_client, teacher):
        response = teacher_client.post(reverse("teach:class-create"), {"name": "Year 10 C"}, follow=True)
        classroom = Classroom.objects.get(name="Year 10 C")
        assert teacher in classroom.teachers.all()
        assert classroom.join_code in response.text

    def test_rename_and_archive_and_restore(self, teacher_client, school_class):
        teacher_client.post(
            reverse("teach:class-rename", args=[school_class.pk]), {"rename-name": "Year 11 Alpha"}
        )
        school_class.refresh_from_db()
        assert school_class.name == "Year 11 Alpha"
        teacher_client.post(reverse("teach:class-archive", args=[school_class.pk]), {"action": "archive"})
        school_class.refresh_from_db()
        assert school_class.archived_at is not None and not school_class.join_code_enabled
        page = teacher_client.get(reverse("teach:dashboard"))
        assert school_class not in page.context["classes"]
        teacher_client.post(reverse("teach:class-archive", args=[school_class.pk]), {"action": "restore"})
        school_class.refresh_from_db()
        assert school_class.archived_at is None

    def test_an_empty_name_is_refused(self, teacher_client, school_class):
        response = teacher_client.post(
            reverse("teach:class-rename", args=[school_class.pk]), {"rename-name": " "}
        )
        assert response.status_code == 200
        school_class.refresh_from_db()
        assert school_class.name == "Year 11 A"

    def test_regenerate_and_turn_off_the_join_code(self, teacher_client, school_class):
        old = school_class.join_code
        teacher_client.post(
            reverse("teach:class-join-code", args=[school_class.pk]), {"action": "regenerate"}
        )
        school_class.refresh_from_db()
        assert school_class.join_code != old
        teacher_client.post(reverse("teach:class-join-code", args=[school_class.pk]), {"action": "disable"})
        school_class.refresh_from_db()
        assert not school_class.join_code_enabled
        page = teacher_client.get(reverse("teach:class-detail", args=[school_class.pk])).text
        assert "join-code--large" not in page and "nobody new can join with a code" in page
        teacher_client.post(reverse("teach:class-join-code", args=[school_class.pk]), {"action": "enable"})
        school_class.refresh_from_db()
        assert school_class.join_code_enabled

    def test_removing_a_student_asks_first_and_keeps_their_work(self, teacher_client, world):
        classroom, student = world["classroom"], world["student"]
        url = reverse("teach:class-student-remove", args=[classroom.pk, student.pk])
        confirm = teacher_client.get(url)
        assert "Their work on 1 assignment is kept" in confirm.text
        assert Enrollment.objects.filter(classroom=classroom, student=student).exists()
        teacher_client.post(url)
        assert not Enrollment.objects.current().filter(classroom=classroom, student=student).exists()
        assert Enrollment.objects.get(classroom=classroom, student=student).ended_at is not None
        assert Submission.objects.filter(pk=world["submission"].pk).exists()
        grid = teacher_client.get(reverse("teach:assignment-progress", args=[world["assignment"].pk]))
        assert student.pk not in [row.student.pk for row in grid.context["rows"]]

    def test_roster_upload_shows_the_passwords_once(self, teacher_client, school_class):
        upload = io.BytesIO("\ufeffusername,first name,last name\nnpetrova,Nadia,Petrova\n".encode())
        upload.name = "roster.csv"
        response = teacher_client.post(
            reverse("teach:class-roster-upload", args=[school_class.pk]), {"file": upload}
        )
        assert response.status_code == 200
        new = response.context["created"][0]
        assert new.password in response.text
        assert User.objects.get(username="npetrova").check_password(new.password)
        assert Enrollment.objects.filter(classroom=school_class, student__username="npetrova").exists()
        # The password is never shown again.
        assert (
            new.password not in teacher_client.get(reverse("teach:class-detail", args=[school_class.pk])).text
        )

    def test_a_bad_roster_lists_every_problem_and_adds_nobody(self, teacher_client, school_class):
        upload = io.BytesIO(b"ok,Ok,Fine\nbad name,Bad,Name\nnolast,No\n")
        upload.name = "roster.csv"
        response = teacher_client.post(
            reverse("teach:class-roster-upload", args=[school_class.pk]), {"file": upload}
        )
        assert "Nothing was added: 2 problems to fix" in response.text
        assert "Line 2:" in response.text and "Line 3:" in response.text
        assert not User.objects.filter(username="ok").exists()


# --- Assigning ---------------------------------------------------------------------------------


def _assignment_data(exercise, classroom, **overrides):
    data = {
        "exercise": exercise.pk,
        "classroom": classroom.pk,
        "opens_at": "2030-03-02T09:00",
        "due_at": "2030-03-09T15:30",
        "hints_enabled": "on",
        "late_allowed": "on",
    }
    data.update(overrides)
    return data


class TestAssign:
    def test_the_form_has_the_labelled_fields_and_only_my_classes(
        self, teacher_client, school_class, other_class
    ):
        response = teacher_client.get(reverse("teach:assignment-create"))
        form = response.context["form"]
        assert [form[f].label for f in ("exercise", "classroom", "opens_at", "due_at")] == [
            "Exercise",
            "Class",
            "Opens",
            "Due",
        ]
        assert list(form.fields["classroom"].queryset) == [school_class]
        assert 'type="datetime-local"' in response.text

    def test_set_an_exercise_with_times_in_the_schools_time_zone(self, teacher_client, teacher, school_class):
        exercise = factories.make_exercise()
        response = teacher_client.post(
            reverse("teach:assignment-create"),
            _assignment_data(exercise, school_class, anonymous_marking="on"),
        )
        assignment = Assignment.objects.get(exercise=exercise)
        assert response["Location"] == reverse("teach:assignment-progress", args=[assignment.pk])
        zone = ZoneInfo(settings.TIME_ZONE)
        assert assignment.opens_at == datetime(2030, 3, 2, 9, 0, tzinfo=zone)
        assert assignment.due_at == datetime(2030, 3, 9, 15, 30, tzinfo=zone)
        assert (
            assignment.anonymous_marking and assignment.hints_enabled and not assignment.release_model_answers
        )
        assert assignment.created_by == teacher

    def test_due_must_be_after_opens(self, teacher_client, school_class):
        exercise = factories.make_exercise()
        response = teacher_client.post(
            reverse("teach:assignment-create"),
            _assignment_data(exercise, school_class, due_at="2030-03-01T09:00"),
        )
        assert "The due date must be after the opening date." in response.text
        assert not Assignment.objects.filter(exercise=exercise).exists()

    def test_labels_are_words_without_colons(self, teacher_client):
        page = teacher_client.get(reverse("teach:assignment-create")).text
        assert ">Exercise</label>" in page and ">Opens</label>" in page and "Exercise:" not in page

    def test_one_exercise_to_several_classes_at_once(self, teacher_client, teacher, school_class):
        second = factories.make_classroom(name="Year 10 B", teacher=teacher)
        exercise = factories.make_exercise()
        data = _assignment_data(exercise, school_class, note="Bring your textbook.")
        data["classroom"] = [school_class.pk, second.pk]
        response = teacher_client.post(reverse("teach:assignment-create"), data)
        assert response["Location"] == reverse("teach:dashboard")
        created = Assignment.objects.filter(exercise=exercise).order_by("classroom__name")
        assert [a.classroom for a in created] == [second, school_class]
        assert {(a.note, a.anonymous_marking, a.created_by) for a in created} == {
            ("Bring your textbook.", False, teacher)
        }

    def test_several_classes_are_all_or_nothing(self, teacher_client, school_class, other_class):
        exercise = factories.make_exercise()
        data = _assignment_data(exercise, school_class)
        data["classroom"] = [school_class.pk, other_class.pk]  # the second is not mine
        response = teacher_client.post(reverse("teach:assignment-create"), data)
        assert response.status_code == 200 and "Select a valid choice" in response.text
        assert not Assignment.objects.filter(exercise=exercise).exists()

    def test_a_link_from_the_library_chooses_the_exercise(self, teacher_client):
        exercise = factories.make_exercise(title="Chosen one")
        url = reverse("teach:assignment-create")
        form = teacher_client.get(f"{url}?exercise={exercise.pk}").context["form"]
        assert form["exercise"].value() == exercise.pk
        assert teacher_client.get(f"{url}?exercise=999999").context["form"]["exercise"].value() is None

    def test_the_note_reaches_the_pupils(self, teacher_client, school_class, student, client):
        exercise = factories.make_exercise()
        teacher_client.post(
            reverse("teach:assignment-create"),
            _assignment_data(
                exercise, school_class, opens_at="2020-01-01T09:00", due_at="", note="Read <b>both</b>."
            ),
        )
        assignment = Assignment.objects.get(exercise=exercise)
        client.force_login(student)
        listing = client.get(reverse("learn:assignment-list")).text
        assert "Read &lt;b&gt;both&lt;/b&gt;." in listing
        workspace = client.get(reverse("learn:workspace", args=[assignment.pk]))
        assert workspace.context["assignment"].note == "Read <b>both</b>."

    def test_another_teachers_class_cannot_be_chosen(self, teacher_client, other_class):
        exercise = factories.make_exercise()
        response = teacher_client.post(
            reverse("teach:assignment-create"), _assignment_data(exercise, other_class)
        )
        assert response.status_code == 200
        assert "Select a valid choice" in response.text
        assert not Assignment.objects.filter(classroom=other_class).exists()

    def test_preview_shows_what_teachers_need_and_the_worksheet_does_not(self, teacher_client, assignment):
        exercise = assignment.exercise
        preview = teacher_client.get(reverse("teach:exercise-preview", args=[exercise.pk])).text
        assert "Teacher-only indicative content." in preview
        assert "Level 2 descriptor" in preview
        assert "First passage text." in preview
        worksheet = teacher_client.get(reverse("teach:exercise-worksheet", args=[exercise.pk])).text
        assert "First passage text." in worksheet
        assert "Question 1 about origin?" in worksheet
        assert "Teacher-only indicative content." not in worksheet
        assert "Level 2 descriptor" not in worksheet

    def test_once_work_exists_exercise_and_class_are_fixed(self, teacher_client, world, school_class):
        assignment = world["assignment"]
        other_exercise = factories.make_exercise()
        teacher_client.post(
            reverse("teach:assignment-edit", args=[assignment.pk]),
            _assignment_data(other_exercise, school_class, due_at="2030-04-01T09:00", anonymous_marking="on"),
        )
        assignment.refresh_from_db()
        assert assignment.exercise != other_exercise
        assert assignment.anonymous_marking
        assert assignment.due_at.date().isoformat() == "2030-04-01"

    def test_unassign_with_work_says_how_many_and_archives(self, teacher_client, world):
        assignment = world["assignment"]
        url = reverse("teach:assignment-unassign", args=[assignment.pk])
        assert "2 students have already started" in teacher_client.get(url).text
        teacher_client.post(url)
        assignment.refresh_from_db()
        assert assignment.archived_at is not None
        assert Submission.objects.filter(assignment=assignment).count() == 2
        # Still reachable (work kept), and restorable.
        assert (
            teacher_client.get(reverse("teach:assignment-progress", args=[assignment.pk])).status_code == 200
        )
        teacher_client.post(reverse("teach:assignment-restore", args=[assignment.pk]))
        assignment.refresh_from_db()
        assert assignment.archived_at is None

    def test_extensions_for_students_in_the_class(self, teacher_client, world, outsider):
        assignment, student = world["assignment"], world["student"]
        url = reverse("teach:assignment-extensions", args=[assignment.pk])
        teacher_client.post(url, {"student": student.pk, "due_at": "2031-01-10T12:00"})
        extension = Extension.objects.get(assignment=assignment, student=student)
        assert assignment.due_for(student) == extension.due_at
        response = teacher_client.post(url, {"student": outsider.pk, "due_at": "2031-01-10T12:00"})
        assert "Select a valid choice" in response.text
        teacher_client.post(reverse("teach:extension-delete", args=[assignment.pk, extension.pk]))
        assert not Extension.objects.filter(pk=extension.pk).exists()


# --- Progress grid -----------------------------------------------------------------------------


def _class_with_work(teacher, size, **assignment_options):
    """A class of ``size`` students, each in a different state, with marks and evidence."""
    students = [factories.make_student() for _ in range(size)]
    classroom = factories.make_classroom(teacher=teacher, students=students)
    assignment = factories.make_assignment(classroom=classroom, **assignment_options)
    for index, student in enumerate(students):
        kind = index % 4
        if kind == 0:
            continue  # not started
        status = SUBMITTED if kind >= 2 else Submission.Status.IN_PROGRESS
        submission = factories.make_submission(
            assignment=assignment, student=student, status=status, answers={0: "Answer", 1: "Another"}
        )
        response = submission.responses.get(question__position=1)
        factories.make_evidence(response=response, start=0, end=5)
        response.hints_used = 2
        response.save()
        if kind == 3:
            factories.make_mark(response=submission.responses.get(question__position=0))
            factories.make_mark(response=response)
    return assignment


class TestProgressGrid:
    def test_cells_show_each_state_in_words_with_a_legend(self, teacher_client, world):
        response = teacher_client.get(reverse("teach:assignment-progress", args=[world["assignment"].pk]))
        rows = {row.student.username: [cell.state for cell in row.cells] for row in response.context["rows"]}
        assert rows["student_a1"] == ["submitted", "submitted", "submitted"]
        assert rows["student_a2"] == ["answered", "not-started", "not-started"]
        page = response.text
        assert "<caption>" in page and '<th scope="row">' in page
        for label in ("Not started", "Draft", "Answered", "Handed in", "Marked"):
            assert label in page
        assert "What the cells mean" in page

    def test_draft_means_text_without_evidence_on_an_evidence_question(
        self, teacher_client, assignment, student
    ):
        factories.make_submission(assignment=assignment, student=student, answers={1: "No quote yet"})
        response = teacher_client.get(reverse("teach:assignment-progress", args=[assignment.pk]))
        row = next(r for r in response.context["rows"] if r.student.pk == student.pk)
        assert row.cells[1].state == "draft"

    def test_marked_cells_show_the_mark_and_hint_use_is_visible(self, teacher_client, world):
        submission = world["submission"]
        factories.make_mark(response=submission.responses.get(question__position=0), marks=3)
        purpose = submission.responses.get(question__position=1)
        purpose.hints_used = 2
        purpose.save()
        page = teacher_client.get(reverse("teach:assignment-progress", args=[world["assignment"].pk])).text
        assert "3/4" in page
        assert ">H2</span>" in page and "2 hints used" in page

    def test_return_marks_lists_handed_in_work_to_release_print_or_reopen(self, teacher_client, world):
        assignment, submission = world["assignment"], world["submission"]
        Submission.objects.filter(pk=submission.pk).update(is_late=True)
        page = teacher_client.get(reverse("teach:assignment-progress", args=[assignment.pk])).text
        name, pk = submission.student.display_name, submission.pk
        assert '"badge badge--submitted">Handed in</span> <span class="badge badge--late">late</span>' in page
        mark = reverse("teach:submission-mark", args=[assignment.pk, pk])
        assert f'<a href="{mark}">Mark<span class="visually-hidden"> {name}</span></a>' in page
        assert f'value="{pk}" id="release-{pk}" aria-label="Release marks for {name}"' in page
        assert "0 of 2 answers" in page and "Still to mark" in page
        assert f'href="{reverse("teach:submission-print", args=[assignment.pk, pk])}"' in page
        assert f'<button type="submit" form="reopen-{pk}"' in page
        reopen = reverse("teach:submission-reopen", args=[assignment.pk, pk])
        form = page.split(f'<form method="post" id="reopen-{pk}" action="{reopen}" hidden ')[1].split(
            "</form>"
        )[0]
        assert f'data-confirm="Reopen {name}&#x27;s work so they can revise it?' in form
        assert 'name="csrfmiddlewaretoken"' in form
        # Work still in progress is not offered for release.
        assert f"Release marks for {world['draft'].student.display_name}" not in page

    def test_htmx_polling_gets_only_the_grid(self, teacher_client, world):
        url = reverse("teach:assignment-progress", args=[world["assignment"].pk])
        page = teacher_client.get(url).text
        assert 'hx-trigger="every 10s"' in page and f'hx-get="{url}?polls=1"' in page
        fragment = teacher_client.get(url, headers=HTMX).text
        assert "<html" not in fragment and "<caption>" in fragment
        assert 'id="progress-grid"' in fragment and "Return marks" not in fragment

    def test_polling_pauses_after_half_an_hour_so_an_unattended_session_can_time_out(
        self, teacher_client, world
    ):
        url = reverse("teach:assignment-progress", args=[world["assignment"].pk])
        assert f'hx-get="{url}?polls=180"' in teacher_client.get(f"{url}?polls=179", headers=HTMX).text
        paused = teacher_client.get(f"{url}?polls=180", headers=HTMX).text
        assert "hx-trigger" not in paused and "Refresh and resume" in paused

    def test_anonymous_marking_hides_names_of_unreleased_work(self, teacher_client, teacher):
        assignment = _class_with_work(teacher, 4, anonymous_marking=True)
        submitted = Submission.objects.filter(assignment=assignment, status=SUBMITTED).select_related(
            "student"
        )
        page = teacher_client.get(reverse("teach:assignment-progress", args=[assignment.pk])).text
        for submission in submitted:
            assert submission.student.display_name not in page
        assert "Student 1" in page

    @pytest.mark.parametrize("anonymous", [False, True])
    def test_queries_are_the_same_for_5_and_40_students(
        self, teacher_client, teacher, django_assert_num_queries, anonymous
    ):
        for size in (5, 40):
            assignment = _class_with_work(teacher, size, anonymous_marking=anonymous)
            # session, user, assignment, questions, levels, students, submissions, answers,
            # the LMS gradebook counts
            with django_assert_num_queries(9):
                response = teacher_client.get(reverse("teach:assignment-progress", args=[assignment.pk]))
            assert len(response.context["rows"]) == size


# --- Marking ------------------------------------------------------------------------------------


def _mark_data(response, **overrides):
    prefix = f"r{response.pk}"
    data = {
        f"{prefix}-level": "2",
        f"{prefix}-marks": "3",
        f"{prefix}-comment": "Well argued.",
    }
    data.update(
        {f"{prefix}-{key}" if key not in ("by", "then") else key: value for key, value in overrides.items()}
    )
    return data


def _mark_url(answer):
    return reverse("teach:response-mark", args=[answer.submission.assignment_id, answer.pk])


class TestMarkingBySubmission:
    def test_shows_answer_evidence_scheme_and_indicative_content(self, teacher_client, world):
        url = reverse("teach:submission-mark", args=[world["assignment"].pk, world["submission"].pk])
        page = teacher_client.get(url).text
        assert "Written by Trotsky." in page
        assert "<mark>First</mark>" in page  # the student's evidence, highlighted in the passage
        assert "Level 2 descriptor" in page and "Level 2 · 3–4 marks" in page
        assert "Teacher-only indicative content." in page
        assert 'type="radio"' in page

    def test_the_page_only_shows_marks_are_saved_elsewhere(self, teacher_client, world):
        url = reverse("teach:submission-mark", args=[world["assignment"].pk, world["submission"].pk])
        first = world["submission"].responses.get(question__position=0)
        assert teacher_client.post(url, _mark_data(first)).status_code == 405
        assert f'hx-post="{_mark_url(first)}"' in teacher_client.get(url).text

    def test_saving_a_mark_and_moving_to_the_next_question(self, teacher_client, world, teacher):
        assignment, submission = world["assignment"], world["submission"]
        first = submission.responses.get(question__position=0)
        second = submission.responses.get(question__position=1)
        url = reverse("teach:submission-mark", args=[assignment.pk, submission.pk])
        response = teacher_client.post(_mark_url(first), _mark_data(first, then="next"))
        assert response.status_code == 302
        assert response["Location"] == f"{url}#item-{second.pk}"
        mark = Mark.objects.get(response=first)
        assert (mark.level, mark.marks, mark.comment, mark.marker) == (2, 3, "Well argued.", teacher)
        assert MarkChange.objects.filter(mark=mark).count() == 1
        submission.refresh_from_db()
        assert submission.status == SUBMITTED  # a draft until released

    def test_an_out_of_band_mark_is_refused_by_the_form(self, teacher_client, world):
        first = world["submission"].responses.get(question__position=0)
        response = teacher_client.post(_mark_url(first), _mark_data(first, level="1", marks="4"))
        assert response.status_code == 200
        assert "Level 1 allows 1 to 2 marks." in response.text
        assert "check the level and mark" in response.text
        assert not Mark.objects.exists()

    def test_a_mark_above_the_maximum_is_refused(self, teacher_client, world):
        first = world["submission"].responses.get(question__position=0)
        response = teacher_client.post(_mark_url(first), _mark_data(first, level="2", marks="9"))
        assert "less than or equal to 4" in response.text
        assert not Mark.objects.exists()

    def test_htmx_save_returns_the_answer_and_updates_the_page_around_it(self, teacher_client, world):
        submission = world["submission"]
        first = submission.responses.get(question__position=0)
        second = submission.responses.get(question__position=1)
        response = teacher_client.post(_mark_url(first), _mark_data(first, then="next"), headers=HTMX)
        assert response.status_code == 200
        text = response.text
        assert "<html" not in text
        assert f'id="item-{first.pk}"' in text
        assert "Question 1 about origin?" in text  # the question stays on its card
        assert "3/4 (draft until released)" in text
        assert 'id="marking-status" hx-swap-oob="innerHTML"' in text
        assert 'hx-swap-oob="outerHTML">marks so far: 3/' in text
        assert f"#item-{second.pk}" in response["HX-Trigger-After-Settle"]

    def test_a_refusal_is_an_alert(self, teacher_client, world):
        first = world["submission"].responses.get(question__position=0)
        response = teacher_client.post(
            _mark_url(first), _mark_data(first, level="1", marks="4"), headers=HTMX
        )
        status = response.text[response.text.index('id="marking-status"') :]
        assert 'role="alert"' in status and "Not saved for" in status and "check the level and mark" in status
        assert "marks so far: 0/" in response.text

    def test_a_comment_saved_to_the_bank_is_announced_to_the_other_answers(
        self, teacher_client, world, teacher
    ):
        first = world["submission"].responses.get(question__position=0)
        response = teacher_client.post(
            _mark_url(first), _mark_data(first, comment="Use <b>dates</b>.", add_to_bank="on"), headers=HTMX
        )
        entry = CommentBankEntry.objects.get(teacher=teacher, text="Use <b>dates</b>.")
        assert json.loads(response["HX-Trigger"]) == {
            "comment-bank-added": {"id": entry.pk, "text": "Use <b>dates</b>."}
        }
        again = teacher_client.post(
            _mark_url(first), _mark_data(first, comment="Use <b>dates</b>.", add_to_bank="on"), headers=HTMX
        )
        assert "HX-Trigger" not in again  # already in the bank: nothing new to offer

    def test_the_comment_bank_fills_and_grows(self, teacher_client, world, teacher):
        first = world["submission"].responses.get(question__position=0)
        url = reverse("teach:submission-mark", args=[world["assignment"].pk, world["submission"].pk])
        assert "Quote the source." in teacher_client.get(url).text
        teacher_client.post(
            _mark_url(first),
            _mark_data(first, comment="Good start.", bank_entry=str(world["entry"].pk), add_to_bank="on"),
        )
        assert Mark.objects.get(response=first).comment == "Good start.\nQuote the source."
        assert CommentBankEntry.objects.filter(
            teacher=teacher, text="Good start.\nQuote the source."
        ).exists()

    def test_work_in_progress_is_shown_without_a_mark_form(self, teacher_client, world):
        draft = world["draft"]
        url = reverse("teach:submission-mark", args=[world["assignment"].pk, draft.pk])
        page = teacher_client.get(url).text
        assert "Not handed in yet" in page and 'type="radio"' not in page
        answer = draft.responses.get(question__position=0)
        refused = teacher_client.post(_mark_url(answer), _mark_data(answer), headers=HTMX)
        assert "no longer handed in" in refused.text and 'role="alert"' in refused.text
        assert not Mark.objects.exists()

    def test_an_answer_of_another_assignment_is_404(self, teacher_client, world, school_class):
        other = world["submission"].responses.get(question__position=0)
        elsewhere = factories.make_assignment(classroom=school_class)
        url = reverse("teach:response-mark", args=[elsewhere.pk, other.pk])
        assert teacher_client.post(url, _mark_data(other)).status_code == 404

    def test_a_submission_of_another_assignment_is_404(self, teacher_client, world, school_class, student):
        elsewhere = factories.make_assignment(classroom=school_class)
        url = reverse("teach:submission-mark", args=[elsewhere.pk, world["submission"].pk])
        assert teacher_client.get(url).status_code == 404

    def test_overall_comment(self, teacher_client, world):
        submission = world["submission"]
        url = reverse("teach:submission-comment", args=[world["assignment"].pk, submission.pk])
        response = teacher_client.post(url, {"overall-overall_comment": "A thoughtful piece."}, headers=HTMX)
        assert "Saved." in response.text and "<html" not in response.text
        submission.refresh_from_db()
        assert submission.overall_comment == "A thoughtful piece."

    @pytest.mark.parametrize("anonymous", [False, True])
    def test_queries_are_the_same_for_5_and_40_students(
        self, teacher_client, teacher, django_assert_num_queries, anonymous
    ):
        for size in (5, 40):
            assignment = _class_with_work(teacher, size, anonymous_marking=anonymous)
            submission = Submission.objects.filter(
                assignment=assignment, responses__mark__isnull=False
            ).first()
            url = reverse("teach:submission-mark", args=[assignment.pk, submission.pk])
            with django_assert_num_queries(16):  # + the pupil's support level
                response = teacher_client.get(url)
            assert len(response.context["items"]) == 3


class TestMarkingByQuestion:
    def test_lists_every_handed_in_answer_with_scheme_beside(self, teacher_client, teacher):
        assignment = _class_with_work(teacher, 8)
        question = assignment.exercise.questions.get(position=1)
        response = teacher_client.get(reverse("teach:question-mark", args=[assignment.pk, question.pk]))
        assert len(response.context["items"]) == 4  # students 2, 3, 6, 7 handed in
        page = response.text
        assert page.count("<mark>First</mark>") == 4
        assert "Teacher-only indicative content." in page and "Level 1 descriptor" in page

    def test_save_and_next_moves_to_the_next_student_then_the_next_question(
        self, teacher_client, world, classmate
    ):
        assignment = world["assignment"]
        question = world["question"]
        answer = world["submission"].responses.get(question=question)
        response = teacher_client.post(_mark_url(answer), _mark_data(answer, then="next", by="question"))
        next_question = assignment.exercise.questions.get(position=2)
        assert response["Location"] == reverse("teach:question-mark", args=[assignment.pk, next_question.pk])
        assert Mark.objects.get(response=answer).marks == 3

    def test_anonymous_marking_hides_names_until_released(
        self, teacher_client, teacher, school_class, student, classmate
    ):
        assignment = factories.make_assignment(classroom=school_class, anonymous_marking=True)
        first = factories.make_submission(
            assignment=assignment, student=student, status=SUBMITTED, answers={0: "A"}
        )
        factories.make_submission(assignment=assignment, student=classmate, status=RETURNED, answers={0: "B"})
        question = assignment.exercise.questions.get(position=0)
        url = reverse("teach:question-mark", args=[assignment.pk, question.pk])
        page = teacher_client.get(url).text
        assert student.display_name not in page
        assert "Student 1" in page
        assert classmate.display_name in page  # released: the name may show
        mark_page = teacher_client.get(reverse("teach:submission-mark", args=[assignment.pk, first.pk])).text
        assert student.display_name not in mark_page and "Student 1" in mark_page
        export = teacher_client.get(reverse("teach:assignment-export", args=[assignment.pk])).content.decode()
        assert student.display_name not in export and student.username not in export

    @pytest.mark.parametrize("anonymous", [False, True])
    def test_queries_are_the_same_for_5_and_40_students(
        self, teacher_client, teacher, django_assert_num_queries, anonymous
    ):
        for size in (5, 40):
            assignment = _class_with_work(teacher, size, anonymous_marking=anonymous)
            question = assignment.exercise.questions.get(position=1)
            # + work past an exam time limit handed in
            with django_assert_num_queries(14):
                response = teacher_client.get(
                    reverse("teach:question-mark", args=[assignment.pk, question.pk])
                )
            assert len(response.context["items"]) == (size + 1) // 4 + (size + 2) // 4  # kinds 2 and 3


# --- Returning ------------------------------------------------------------------------------------


class TestReturn:
    def test_release_all_returns_fully_marked_work_only(self, teacher_client, world):
        assignment, submission = world["assignment"], world["submission"]
        for response in submission.responses.exclude(text=""):
            factories.make_mark(response=response)
        response = teacher_client.post(
            reverse("teach:assignment-release", args=[assignment.pk]), {"scope": "all"}, follow=True
        )
        submission.refresh_from_db()
        assert submission.status == RETURNED
        assert "Marks released to 1 student." in response.text

    def test_unmarked_work_is_reported_not_released(self, teacher_client, world):
        response = teacher_client.post(
            reverse("teach:assignment-release", args=[world["assignment"].pk]), {"scope": "all"}, follow=True
        )
        world["submission"].refresh_from_db()
        assert world["submission"].status == SUBMITTED
        assert "Not released for 1 student with unmarked answers" in response.text

    def test_release_selected_needs_a_choice(self, teacher_client, world):
        response = teacher_client.post(
            reverse("teach:assignment-release", args=[world["assignment"].pk]),
            {"scope": "selected"},
            follow=True,
        )
        assert "Tick the students" in response.text

    def test_release_cannot_touch_another_assignments_work(
        self, teacher_client, world, school_class, student
    ):
        elsewhere = factories.make_assignment(classroom=school_class)
        response = teacher_client.post(
            reverse("teach:assignment-release", args=[elsewhere.pk]),
            {"scope": "selected", "submissions": [world["submission"].pk]},
            follow=True,
        )
        assert "Select a valid choice" in response.text or "Tick the students" in response.text
        world["submission"].refresh_from_db()
        assert world["submission"].status == SUBMITTED

    def test_reopen_for_revision(self, teacher_client, world):
        submission = world["submission"]
        factories.make_mark(response=submission.responses.get(question__position=0))
        teacher_client.post(reverse("teach:submission-reopen", args=[world["assignment"].pk, submission.pk]))
        submission.refresh_from_db()
        assert submission.status == Submission.Status.IN_PROGRESS
        assert Mark.objects.filter(response__submission=submission).exists()

    def test_printable_copy_has_marks_and_feedback(self, teacher_client, world):
        submission = world["submission"]
        factories.make_mark(response=submission.responses.get(question__position=0), comment="Precise.")
        page = teacher_client.get(
            reverse("teach:submission-print", args=[world["assignment"].pk, submission.pk])
        ).text
        assert "Precise." in page and "3/4" in page and "Written by Trotsky." in page
        assert "data-print" in page


# --- Export and insight -----------------------------------------------------------------------------


class TestExport:
    def test_one_row_per_enrolled_student_with_marks_total_status_and_time(self, teacher_client, world):
        submission = world["submission"]
        factories.make_mark(response=submission.responses.get(question__position=0), marks=3)
        factories.make_mark(response=submission.responses.get(question__position=1), marks=4)
        response = teacher_client.get(reverse("teach:assignment-export", args=[world["assignment"].pk]))
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith("attachment; filename=")
        assert response.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0][:4] == ["Student", "Username", "Support", "Q1 Origin (/4)"]
        for row in rows:
            del row[2]  # the support column (tests/analysis/test_support_levels.py)
        assert rows[0][-7:] == ["Total", "Out of", "Marks", "Status", "Handed in at", "Late", "Returned at"]
        assert len(rows) == 3
        by_user = {row[1]: row for row in rows[1:]}
        a1 = by_user["student_a1"]
        assert a1[2:5] == ["3", "4", ""]
        assert a1[5:9] == ["7", "12", "draft", "Handed in"]  # not released: flagged as a draft
        assert a1[9] == timezone.localtime(submission.submitted_at).strftime("%Y-%m-%d %H:%M")
        # Nothing marked: a blank total, not a 0 that reads as a result.
        assert by_user["student_a2"][5:9] == ["", "12", "", "In progress"]

    def test_released_marks_are_flagged_released_and_a_pupil_not_started_has_a_blank_total(
        self, teacher_client, world, school_class
    ):
        submission = world["submission"]
        factories.make_mark(response=submission.responses.get(question__position=0), marks=0)
        Submission.objects.filter(pk=submission.pk).update(status=RETURNED, returned_at=timezone.now())
        newcomer = factories.make_student(username="newcomer")
        Enrollment.objects.create(classroom=school_class, student=newcomer)
        response = teacher_client.get(reverse("teach:assignment-export", args=[world["assignment"].pk]))
        rows = {
            row[1]: row[:2] + row[3:] for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
        }
        assert rows["student_a1"][5:9] == ["0", "12", "released", "Returned"]  # a real 0 stays 0
        assert rows["newcomer"][2:9] == ["", "", "", "", "12", "", "Not started"]

    def test_formula_like_cells_are_neutralised(self, teacher_client, school_class, teacher):
        sneaky = factories.make_student(
            first_name='=HYPERLINK("http://x")', last_name="Evil", username="sneaky"
        )
        Enrollment.objects.create(classroom=school_class, student=sneaky)
        assignment = factories.make_assignment(classroom=school_class)
        content = teacher_client.get(reverse("teach:assignment-export", args=[assignment.pk])).content.decode(
            "utf-8-sig"
        )
        rows = list(csv.reader(io.StringIO(content)))
        cell = next(row[0] for row in rows if row[1] == "sneaky")
        assert cell.startswith("'=HYPERLINK")
        assert not any(c.startswith(("=", "+", "-", "@")) for row in rows for c in row)


class TestInsight:
    def test_level_chart_is_accessible_svg_with_a_table(self, teacher_client, world):
        submission = world["submission"]
        factories.make_mark(response=submission.responses.get(question__position=0), level=2, marks=3)
        response = teacher_client.get(reverse("teach:assignment-insight", args=[world["assignment"].pk]))
        page = response.text
        assert page.count('role="img"') == 3
        assert "<title" in page and "<desc" in page
        assert "Level 2 (3–4): 1" in page  # the chart's description, in words
        assert "<table>" in page and "style=" not in page
        first = response.context["insights"][0]
        assert [bar.count for bar in first.bars] == [0, 0, 1]

    def test_heat_map_shades_passages_by_how_many_students_cited_them(self, teacher_client, world):
        assignment = world["assignment"]
        passage = assignment.exercise.sources.first().passages.first()
        response = teacher_client.get(reverse("teach:assignment-insight", args=[assignment.pk]))
        assert response.context["heat"][passage.pk] == 1
        page = response.text
        assert "heat-3" in page  # 1 of 2 students who started
        assert "cited by 1 student" in page and "cited by 0 students" in page

    def test_heat_map_for_one_question(self, teacher_client, world):
        assignment = world["assignment"]
        origin = assignment.exercise.questions.get(position=0)
        url = reverse("teach:assignment-insight", args=[assignment.pk]) + f"?question={origin.pk}"
        response = teacher_client.get(url)
        assert set(response.context["heat"].values()) == {0}


class TestCommentBank:
    def test_add_list_and_remove_my_own_comments(self, teacher_client, teacher, other_teacher):
        teacher_client.post(reverse("teach:comment-bank"), {"text": "Use the provenance."})
        entry = CommentBankEntry.objects.get(teacher=teacher, text="Use the provenance.")
        theirs = CommentBankEntry.objects.create(teacher=other_teacher, text="Their secret comment")
        page = teacher_client.get(reverse("teach:comment-bank")).text
        assert "Use the provenance." in page and "Their secret comment" not in page
        assert teacher_client.post(reverse("teach:comment-bank-delete", args=[theirs.pk])).status_code == 404
        teacher_client.post(reverse("teach:comment-bank-delete", args=[entry.pk]))
        assert not CommentBankEntry.objects.filter(pk=entry.pk).exists()


# --- Django admin for site admins --------------------------------------------------------------------


@pytest.mark.parametrize("model", ["submission", "response", "mark"])
def test_admin_list_pages_do_not_grow_queries_with_rows(client, teacher, model):
    admin = User.objects.create_superuser(username="admin", password="pw", email="")
    client.force_login(admin)
    url = reverse(f"admin:analysis_{model}_changelist")
    counts, rows = [], []
    for size in (4, 24):
        _class_with_work(teacher, size)  # another class, assignment and exercise each time
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(captured))
        rows.append(response.context["cl"].result_count)
    assert rows[1] >= rows[0] * 5
    assert counts[0] == counts[1]


def test_admin_marks_are_read_only(client, world):
    admin = User.objects.create_superuser(username="admin", password="pw", email="")
    client.force_login(admin)
    mark = factories.make_mark(response=world["submission"].responses.first())
    page = client.get(reverse("admin:analysis_mark_change", args=[mark.pk]))
    assert page.status_code == 200
    assert 'name="marks"' not in page.text
