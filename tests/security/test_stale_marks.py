"""A mark belongs to the answer as it was marked (its text and evidence). After a reopen the
pupil may rewrite the answer and hand it in again: the old mark must not go back to the pupil
beside the new answer until a teacher has looked again. The grid and the marking page flag it;
"Release all" holds it back; saving the mark again (even unchanged) confirms it."""

import pytest
from django.urls import reverse

from accounts.models import Enrollment
from analysis.classwork import services as work
from analysis.marking import services as marking
from analysis.models import Mark, Response, Submission
from tests import factories

pytestmark = pytest.mark.django_db

SUBMITTED, RETURNED = Submission.Status.SUBMITTED, Submission.Status.RETURNED


@pytest.fixture
def setting(db):
    teacher = factories.make_teacher()
    pupil = factories.make_student()
    classroom = factories.make_classroom(teacher=teacher, students=[pupil])
    assignment = factories.make_assignment(classroom=classroom)
    submission = work.submission_start(assignment=assignment, student=pupil)
    answer = submission.responses.order_by("question__position").first()
    saved = work.response_save(
        response_id=answer.pk, student=pupil, text="Written by Trotsky.", base_version=0
    )
    answer.version = saved.version
    work.submission_submit(submission=submission)
    marking.mark_save(response=answer, marker=teacher, level=2, marks=3, comment="Good.")
    marking.marks_release(assignment=assignment, by=teacher)
    marking.submission_reopen(submission=submission, by=teacher)
    return teacher, pupil, assignment, submission, answer


def _rewrite(pupil, answer, text):
    answer.refresh_from_db()
    work.response_save(response_id=answer.pk, student=pupil, text=text, base_version=answer.version)


def _release_all(client, teacher, assignment):
    client.force_login(teacher)
    return client.post(
        reverse("teach:assignment-release", args=[assignment.pk]), {"scope": "all"}, follow=True
    )


def test_a_rewritten_answer_is_not_released_with_its_old_mark(client, setting):
    teacher, pupil, assignment, submission, answer = setting
    _rewrite(pupil, answer, "Something else entirely, never marked.")
    work.submission_submit(submission=submission)

    response = _release_all(client, teacher, assignment)
    submission.refresh_from_db()
    assert submission.status == SUBMITTED, "the old mark went back beside the new answer"
    assert "changed after they were marked" in response.text


def test_the_grid_and_the_marking_page_flag_the_changed_answer(client, setting):
    teacher, pupil, assignment, submission, answer = setting
    _rewrite(pupil, answer, "Rewritten.")
    work.submission_submit(submission=submission)
    client.force_login(teacher)
    grid = client.get(reverse("teach:assignment-progress", args=[assignment.pk]))
    assert "Changed since marked" in grid.text
    page = client.get(reverse("teach:submission-mark", args=[assignment.pk, submission.pk]))
    assert "Changed since marked" in page.text and "changed this answer after it was marked" in page.text


def test_new_evidence_alone_counts_as_a_change(client, setting):
    teacher, pupil, assignment, submission, answer = setting
    passage = assignment.exercise.sources.first().passages.first()
    work.evidence_add(response_id=answer.pk, student=pupil, passage_id=passage.pk, start=0, end=5)
    work.submission_submit(submission=submission)
    _release_all(client, teacher, assignment)
    submission.refresh_from_db()
    assert submission.status == SUBMITTED


def test_saving_the_mark_again_confirms_it_for_the_new_answer(client, setting):
    teacher, pupil, assignment, submission, answer = setting
    _rewrite(pupil, answer, "Rewritten.")
    work.submission_submit(submission=submission)
    marking.mark_save(
        response=Response.objects.get(pk=answer.pk), marker=teacher, level=2, marks=3, comment="Good."
    )
    _release_all(client, teacher, assignment)
    submission.refresh_from_db()
    assert submission.status == RETURNED
    assert Mark.objects.get(response=answer).answer_hash == Response.objects.get(pk=answer.pk).content_hash


def test_handing_in_unchanged_after_a_reopen_releases_as_before(client, setting):
    teacher, pupil, assignment, submission, answer = setting
    _rewrite(pupil, answer, "Something different")
    _rewrite(pupil, answer, "Written by Trotsky.")  # typed, then put back as it was
    work.submission_submit(submission=submission)
    _release_all(client, teacher, assignment)
    submission.refresh_from_db()
    assert submission.status == RETURNED


def test_other_pupils_are_released_as_usual(client, setting):
    teacher, pupil, assignment, submission, answer = setting
    other = factories.make_student()
    Enrollment.objects.create(classroom=assignment.classroom, student=other)
    theirs = work.submission_start(assignment=assignment, student=other)
    first = theirs.responses.order_by("question__position").first()
    work.response_save(response_id=first.pk, student=other, text="Mine.", base_version=0)
    work.submission_submit(submission=theirs)
    marking.mark_save(response=first, marker=teacher, level=1, marks=1, comment="")
    _rewrite(pupil, answer, "Rewritten.")
    work.submission_submit(submission=submission)
    result = marking.marks_release(assignment=assignment, by=teacher)
    assert [s.pk for s in result.released] == [theirs.pk]
    assert [s.pk for s in result.changed] == [submission.pk]
