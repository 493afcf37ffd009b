"""Marking and class-management services: the rules a teacher relies on."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts.classes import services as class_services
from accounts.models import Classroom, Enrollment, User
from analysis.marking import anonymity, charts, export
from analysis.marking import services as marking
from analysis.models import Assignment, Mark, MarkChange, Submission
from analysis.teaching import services as teaching_services
from tests import factories

pytestmark = pytest.mark.django_db

SUBMITTED = Submission.Status.SUBMITTED
RETURNED = Submission.Status.RETURNED


@pytest.fixture
def handed_in(assignment, student):
    """Student A1's handed-in work: answers to Q1 and Q2, Q3 left blank."""
    return factories.make_submission(
        assignment=assignment, student=student, status=SUBMITTED, answers={0: "Origin.", 1: "Purpose."}
    )


def _response(submission, position=0):
    return submission.responses.get(question__position=position)


# --- Marks within the scheme ----------------------------------------------------------


class TestMarkSave:
    """Default scheme: level 1 = 1–2 marks, level 2 = 3–4 marks; questions out of 4."""

    def test_a_mark_inside_the_level_band_is_saved_as_a_draft(self, handed_in, teacher):
        mark = marking.mark_save(
            response=_response(handed_in), marker=teacher, level=2, marks=3, comment="  Clear origin.  "
        )
        assert (mark.level, mark.marks, mark.max_marks, mark.comment) == (2, 3, 4, "Clear origin.")
        assert mark.marker == teacher
        handed_in.refresh_from_db()
        assert handed_in.status == SUBMITTED  # still a draft: nothing released

    @pytest.mark.parametrize(("level", "marks"), [(1, 3), (2, 2), (1, 0), (2, 5)])
    def test_a_mark_outside_the_level_band_is_refused(self, handed_in, teacher, level, marks):
        with pytest.raises(ValidationError):
            marking.mark_save(
                response=_response(handed_in), marker=teacher, level=level, marks=marks, comment=""
            )
        assert not Mark.objects.exists()

    def test_band_edges_are_allowed(self, handed_in, teacher):
        for level, marks in [(1, 1), (1, 2), (2, 3), (2, 4)]:
            mark = marking.mark_save(
                response=_response(handed_in), marker=teacher, level=level, marks=marks, comment=""
            )
            assert (mark.level, mark.marks) == (level, marks)

    def test_an_unknown_level_is_refused(self, handed_in, teacher):
        with pytest.raises(ValidationError, match="levels"):
            marking.mark_save(response=_response(handed_in), marker=teacher, level=7, marks=3, comment="")

    def test_no_level_means_nothing_creditable_and_only_zero(self, handed_in, teacher):
        mark = marking.mark_save(
            response=_response(handed_in), marker=teacher, level=None, marks=0, comment=""
        )
        assert (mark.level, mark.marks) == (None, 0)
        with pytest.raises(ValidationError):
            marking.mark_save(response=_response(handed_in), marker=teacher, level=None, marks=2, comment="")

    def test_without_a_scheme_any_mark_up_to_the_maximum(self, school_class, student, teacher):
        exercise = factories.make_exercise()
        exercise.questions.update(mark_scheme=None, max_marks=5)
        assignment = factories.make_assignment(classroom=school_class, exercise=exercise)
        submission = factories.make_submission(assignment=assignment, student=student, status=SUBMITTED)
        mark = marking.mark_save(
            response=_response(submission), marker=teacher, level=None, marks=5, comment=""
        )
        assert mark.marks == 5
        with pytest.raises(ValidationError):
            marking.mark_save(response=_response(submission), marker=teacher, level=None, marks=6, comment="")

    def test_work_still_in_progress_cannot_be_marked(self, assignment, student, teacher):
        submission = factories.make_submission(assignment=assignment, student=student, answers={0: "Draft"})
        with pytest.raises(ValidationError, match="handed-in"):
            marking.mark_save(response=_response(submission), marker=teacher, level=2, marks=3, comment="")

    def test_returned_work_can_still_be_corrected(self, assignment, student, teacher):
        submission = factories.make_submission(assignment=assignment, student=student, status=RETURNED)
        mark = marking.mark_save(response=_response(submission), marker=teacher, level=1, marks=2, comment="")
        assert mark.marks == 2

    def test_a_teacher_of_another_class_cannot_mark(self, handed_in, other_teacher):
        with pytest.raises(PermissionDenied):
            marking.mark_save(
                response=_response(handed_in), marker=other_teacher, level=2, marks=3, comment=""
            )

    def test_the_database_refuses_marks_above_the_maximum(self, handed_in):
        with pytest.raises(IntegrityError), transaction.atomic():
            Mark.objects.create(response=_response(handed_in), marks=5, max_marks=4)


class TestAuditTrail:
    def test_every_change_is_recorded_with_who_when_and_from_to(self, handed_in, teacher):
        response = _response(handed_in)
        marking.mark_save(response=response, marker=teacher, level=1, marks=2, comment="First go.")
        colleague = factories.make_teacher()
        handed_in.assignment.classroom.teachers.add(colleague)
        marking.mark_save(
            response=response, marker=colleague, level=2, marks=4, comment="Better on a re-read."
        )
        first, second = MarkChange.objects.order_by("pk")
        assert (first.changed_by, first.from_marks, first.to_marks, first.from_level, first.to_level) == (
            teacher,
            None,
            2,
            None,
            1,
        )
        assert (
            second.changed_by,
            second.from_marks,
            second.to_marks,
            second.from_level,
            second.to_level,
        ) == (
            colleague,
            2,
            4,
            1,
            2,
        )
        assert (second.from_comment, second.to_comment) == ("First go.", "Better on a re-read.")
        assert second.changed_at >= first.changed_at
        assert Mark.objects.get().marker == colleague

    def test_saving_the_same_mark_again_adds_no_audit_row(self, handed_in, teacher):
        response = _response(handed_in)
        marking.mark_save(response=response, marker=teacher, level=2, marks=3, comment="Good.")
        marking.mark_save(response=response, marker=teacher, level=2, marks=3, comment="Good.")
        assert MarkChange.objects.count() == 1

    def test_a_refused_mark_changes_nothing(self, handed_in, teacher):
        response = _response(handed_in)
        marking.mark_save(response=response, marker=teacher, level=2, marks=3, comment="Good.")
        with pytest.raises(ValidationError):
            marking.mark_save(response=response, marker=teacher, level=1, marks=4, comment="Changed")
        assert Mark.objects.get().marks == 3
        assert MarkChange.objects.count() == 1


# --- Releasing and reopening -----------------------------------------------------------


class TestRelease:
    def test_release_returns_fully_marked_work_and_reports_the_rest(
        self, assignment, student, classmate, teacher
    ):
        done = factories.make_submission(
            assignment=assignment, student=student, status=SUBMITTED, answers={0: "A"}
        )
        factories.make_mark(response=_response(done), marks=3, level=2)
        half = factories.make_submission(
            assignment=assignment, student=classmate, status=SUBMITTED, answers={0: "A", 1: "B"}
        )
        factories.make_mark(response=_response(half), marks=3, level=2)

        result = marking.marks_release(assignment=assignment, by=teacher)

        assert [s.pk for s in result.released] == [done.pk]
        assert [s.pk for s in result.not_ready] == [half.pk]
        done.refresh_from_db()
        half.refresh_from_db()
        assert done.status == RETURNED and done.returned_at is not None
        assert half.status == SUBMITTED and half.returned_at is None

    def test_release_can_be_limited_to_chosen_students(self, assignment, student, classmate, teacher):
        first = factories.make_submission(assignment=assignment, student=student, status=SUBMITTED)
        second = factories.make_submission(assignment=assignment, student=classmate, status=SUBMITTED)
        result = marking.marks_release(assignment=assignment, submissions=[second], by=teacher)
        assert [s.pk for s in result.released] == [second.pk]
        first.refresh_from_db()
        assert first.status == SUBMITTED

    def test_work_in_progress_is_never_released(self, assignment, student, teacher):
        draft = factories.make_submission(assignment=assignment, student=student, answers={0: "typing"})
        result = marking.marks_release(assignment=assignment, by=teacher)
        assert not result.released and not result.not_ready
        draft.refresh_from_db()
        assert draft.status == Submission.Status.IN_PROGRESS

    def test_only_a_teacher_of_the_class_can_release(self, assignment, other_teacher):
        with pytest.raises(PermissionDenied):
            marking.marks_release(assignment=assignment, by=other_teacher)

    def test_reopen_gives_work_back_and_keeps_marks_as_drafts(self, assignment, student, teacher):
        submission = factories.make_submission(assignment=assignment, student=student, status=RETURNED)
        submission.returned_at = submission.submitted_at
        submission.save()
        factories.make_mark(response=_response(submission))
        marking.submission_reopen(submission=submission, by=teacher)
        submission.refresh_from_db()
        assert submission.status == Submission.Status.IN_PROGRESS
        assert submission.returned_at is None
        assert Mark.objects.filter(response__submission=submission).count() == 1

    def test_reopening_open_work_is_refused(self, assignment, student, teacher):
        submission = factories.make_submission(assignment=assignment, student=student)
        with pytest.raises(ValidationError):
            marking.submission_reopen(submission=submission, by=teacher)


class TestAnonymousLabels:
    def test_numbers_follow_the_order_students_started_and_never_shift(self, assignment, student, classmate):
        first = factories.make_submission(assignment=assignment, student=student)
        second = factories.make_submission(assignment=assignment, student=classmate)
        assert anonymity.anonymous_numbers(assignment) == {first.pk: 1, second.pk: 2}
        factories.make_submission(assignment=assignment)
        assert anonymity.anonymous_numbers(assignment)[second.pk] == 2

    def test_names_are_hidden_until_that_submissions_marks_are_released(self, school_class, student):
        assignment = factories.make_assignment(classroom=school_class, anonymous_marking=True)
        submission = factories.make_submission(assignment=assignment, student=student, status=SUBMITTED)
        assert anonymity.hides_name(assignment, submission)
        submission.status = RETURNED
        assert not anonymity.hides_name(assignment, submission)
        assignment.anonymous_marking = False
        submission.status = SUBMITTED
        assert not anonymity.hides_name(assignment, submission)


# --- CSV safety and heat --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+1", "'+1"),
        ("-cmd", "'-cmd"),
        ("@now", "'@now"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Anna", "Anna"),
        ("", ""),
        (3, 3),
    ],
)
def test_csv_cells_that_spreadsheets_would_run_are_neutralised(value, expected):
    assert export.csv_safe(value) == expected


@pytest.mark.parametrize(
    ("count", "students", "level"), [(0, 30, 0), (1, 30, 1), (6, 30, 1), (7, 30, 2), (30, 30, 5), (3, 0, 0)]
)
def test_heat_levels_grow_with_the_share_of_students_citing(count, students, level):
    assert charts.heat_level(count, students) == level


# --- Rosters ---------------------------------------------------------------------------------


class TestRosterParse:
    def test_header_and_bom_are_optional_and_cells_are_trimmed(self):
        data = (
            "\ufeffUsername,First name,Last name\r\n"
            " apetrova , Anna ,Petrova\r\n"
            "\r\n"
            "bivanov,Boris,Ivanov,,\r\n"
        )
        rows = class_services.roster_parse(data.encode("utf-8"))
        assert [(r.line, r.username, r.first_name, r.last_name) for r in rows] == [
            (2, "apetrova", "Anna", "Petrova"),
            (4, "bivanov", "Boris", "Ivanov"),
        ]

    def test_without_header_the_first_line_is_a_student(self):
        rows = class_services.roster_parse("zoe,Zoë,Ålund\n".encode())
        assert [(r.username, r.first_name, r.last_name) for r in rows] == [("zoe", "Zoë", "Ålund")]

    def test_semicolon_separated_files_from_european_spreadsheets(self):
        rows = class_services.roster_parse(b"kim;Kim;Lee\n")
        assert rows[0].last_name == "Lee"

    def test_every_bad_row_is_reported_with_its_line(self):
        factories.make_student(username="taken")
        data = "\n".join(
            [
                "username,first,last",
                "ok1,Ann,One",
                "ok1,Ann,Again",  # 3: repeated
                "TAKEN,Tim,Taken",  # 4: existing (case-insensitive)
                "bad name,Bad,Name",  # 5: invalid characters
                "nofirst,,Last",  # 6: missing field
                "x" * 151 + ",Long,User",  # 7: too long
                "a,b,c,d",  # 8: too many fields
                "ok2,Ben,Two",
            ]
        )
        with pytest.raises(class_services.RosterInvalid) as caught:
            class_services.roster_parse(data.encode())
        messages = [str(p) for p in caught.value.problems]
        assert [p.line for p in caught.value.problems] == [3, 4, 5, 6, 7, 8]
        assert "repeated (first on line 2)" in messages[0]
        assert "already taken" in messages[1]
        assert "invalid characters" in messages[2]
        assert "missing first name" in messages[3]
        assert "too long" in messages[4]
        assert "too many fields" in messages[5]
        assert all(
            m.startswith(f"Line {p.line}:") for m, p in zip(messages, caught.value.problems, strict=True)
        )

    def test_a_file_that_is_not_utf8_is_reported_plainly(self):
        with pytest.raises(class_services.RosterInvalid, match="not UTF-8"):
            class_services.roster_parse("anna,Anna,Müller\n".encode("latin-1"))

    def test_an_empty_file_is_reported(self):
        with pytest.raises(class_services.RosterInvalid, match="no students"):
            class_services.roster_parse(b"username,first name,last name\n")


class TestRosterImport:
    def test_accounts_are_created_enrolled_and_given_readable_passwords(self, school_class, teacher):
        created = class_services.roster_import(
            classroom=school_class, data=b"apetrova,Anna,Petrova\nbivanov,Boris,Ivanov\n", by=teacher
        )
        assert [n.user.username for n in created] == ["apetrova", "bivanov"]
        for new in created:
            assert re.fullmatch(r"[a-z]{4}-[a-z]{4}-[a-z]{4}", new.password)
            user = User.objects.get(username=new.user.username)
            assert user.is_student
            assert user.check_password(new.password)
            assert new.password not in user.password  # stored hashed only
            assert Enrollment.objects.filter(classroom=school_class, student=user).exists()
        assert created[0].password != created[1].password

    def test_nothing_is_half_added_when_a_row_is_bad(self, school_class, teacher):
        users_before = User.objects.count()
        with pytest.raises(class_services.RosterInvalid):
            class_services.roster_import(
                classroom=school_class, data=b"good,Good,Row\nbad row,Bad,Row\n", by=teacher
            )
        assert User.objects.count() == users_before

    def test_a_full_roster_gets_a_working_password_for_every_row(self, school_class, teacher):
        """Passwords are hashed in parallel: each account must still get its own slip's password."""
        count = class_services.ROSTER_MAX_ROWS
        data = "".join(f"pupil{n:03d},Pupil,Number {n}\n" for n in range(count)).encode()
        created = class_services.roster_import(classroom=school_class, data=data, by=teacher)
        assert len(created) == count
        users = {u.username: u for u in User.objects.filter(username__startswith="pupil")}
        assert all(users[new.user.username].check_password(new.password) for new in created)
        assert not users["pupil000"].check_password(created[1].password)
        assert len({new.password for new in created}) > count * 0.99
        assert Enrollment.objects.filter(classroom=school_class).count() >= count

    def test_one_row_over_the_limit_is_refused_and_nobody_added(self, school_class, teacher):
        count = class_services.ROSTER_MAX_ROWS + 1
        data = "".join(f"pupil{n:03d},Pupil,Number {n}\n" for n in range(count)).encode()
        with pytest.raises(class_services.RosterInvalid, match=f"at most {count - 1} students"):
            class_services.roster_import(classroom=school_class, data=data, by=teacher)
        assert not User.objects.filter(username__startswith="pupil").exists()

    def test_only_a_teacher_of_the_class_can_import(self, school_class, other_teacher):
        with pytest.raises(PermissionDenied):
            class_services.roster_import(classroom=school_class, data=b"a,b,c\n", by=other_teacher)


class TestUnassign:
    def test_without_any_work_the_assignment_is_deleted(self, assignment, teacher):
        assert teaching_services.assignment_unassign(assignment=assignment, by=teacher) == "deleted"
        assert not Assignment.objects.filter(pk=assignment.pk).exists()

    def test_with_work_it_is_archived_and_the_work_kept(self, assignment, student, teacher):
        submission = factories.make_submission(assignment=assignment, student=student, answers={0: "Mine"})
        assert teaching_services.assignment_unassign(assignment=assignment, by=teacher) == "archived"
        assignment.refresh_from_db()
        assert assignment.archived_at is not None
        assert Submission.objects.get(pk=submission.pk).responses.get(question__position=0).text == "Mine"
        assert not Assignment.objects.for_student(student).filter(pk=assignment.pk).exists()


def test_removing_a_student_keeps_their_work(assignment, student, teacher):
    submission = factories.make_submission(assignment=assignment, student=student, status=SUBMITTED)
    class_services.enrollment_remove(classroom=assignment.classroom, student=student, by=teacher)
    enrolment = Enrollment.objects.get(classroom=assignment.classroom, student=student)
    assert enrolment.ended_at is not None
    assert not Enrollment.objects.current().filter(classroom=assignment.classroom).filter(student=student)
    assert Submission.objects.filter(pk=submission.pk).exists()
    assert User.objects.filter(pk=student.pk).exists()
    # The removed pupil no longer sees the class's work; rejoining starts a new period.
    assert not Assignment.objects.for_student(student).exists()
    Enrollment.objects.create(classroom=assignment.classroom, student=student)
    assert Enrollment.objects.filter(classroom=assignment.classroom, student=student).count() == 2
    assert Assignment.objects.for_student(student).get() == assignment


def test_a_teacher_only_reaches_classes_of_their_own_school(db):
    """Schools are separate: a second school's teacher sees none of the first school's classes."""
    here, there = factories.make_school(), factories.make_school()
    teacher_here = factories.make_teacher(school=here)
    teacher_there = factories.make_teacher(school=there)
    classroom = class_services.classroom_create(name="Year 9", teacher=teacher_here)
    assert classroom.school == here
    assert not Classroom.objects.taught_by(teacher_there).exists()
    assert class_services.classroom_create(name="Year 9", teacher=teacher_there).school == there


def test_an_extension_must_be_for_a_student_in_the_class(assignment, outsider, teacher):
    with pytest.raises(ValidationError):
        teaching_services.extension_set(
            assignment=assignment, student=outsider, due_at=assignment.due_at, by=teacher
        )
