"""The class markbook (/teach/classes/<id>/markbook/ and its CSV): what each cell shows, the
anonymous-marking rule, sorting, the class average, spreadsheet safety, and who may see it."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Enrollment
from analysis.models import AssignedPupil, Submission
from tests import factories

pytestmark = pytest.mark.django_db


def page(client, classroom, **query):
    url = reverse("teach:class-markbook", args=[classroom.pk])
    response = client.get(url, query)
    assert response.status_code == 200
    return response.content.decode()


def csv_rows(client, classroom, **query):
    response = client.get(reverse("teach:class-markbook-csv", args=[classroom.pk]), query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def row_of(html, name):
    """The markup of the table row headed by ``name``."""
    start = html.index(f'<th scope="row" class="markbook__pupil">{name}</th>')
    return html[start : html.index("</tr>", start)]


def pupil_order(html):
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return re.findall(r'<th scope="row" class="markbook__pupil">([^<]+)</th>', body)


def marked(assignment, student, marks, *, status="submitted", late=False):
    """Work handed in (or returned), every answer marked: ``marks`` per question in order."""
    submission = factories.make_submission(
        assignment=assignment,
        student=student,
        answers={n: f"Answer {n}." for n in range(len(marks))},
        status=status,
        is_late=late,
        returned_at=timezone.now() if status == "returned" else None,
    )
    for response, mark in zip(submission.responses.order_by("question__position"), marks, strict=True):
        factories.make_mark(response=response, marks=mark, level=1 if mark <= 2 else 2)
    return submission


@pytest.fixture
def pupils(school_class, student, classmate):
    """Three pupils by surname: Adams (student), Brown (classmate), Carter."""
    student.first_name, student.last_name = "Ann", "Adams"
    student.save()
    classmate.first_name, classmate.last_name = "Ben", "Brown"
    classmate.save()
    carter = factories.make_student(first_name="Cal", last_name="Carter")
    Enrollment.objects.create(classroom=school_class, student=carter)
    return student, classmate, carter


def test_a_cell_shows_released_marks_and_percentage_and_flags_a_draft(
    teacher_client, school_class, assignment, pupils
):
    adams, brown, carter = pupils  # the exercise has 3 questions of 4 marks: out of 12
    returned = marked(assignment, adams, [3, 3, 3], status="returned")
    draft = marked(assignment, brown, [1, 2, 3])

    html = page(teacher_client, school_class)

    adams_row, brown_row = row_of(html, "Ann Adams"), row_of(html, "Ben Brown")
    assert "9/12" in adams_row and "75%" in adams_row and "draft" not in adams_row
    assert "6/12" in brown_row and "50%" in brown_row and 'badge--draft">draft' in brown_row
    mark_url = reverse("teach:submission-mark", args=[assignment.pk, returned.pk])
    assert f'href="{mark_url}"' in adams_row
    assert reverse("teach:submission-mark", args=[assignment.pk, draft.pk]) in brown_row
    # The column heading leads to the assignment's grid.
    assert f'href="{reverse("teach:assignment-progress", args=[assignment.pk])}"' in html
    assert "Not started" in row_of(html, "Cal Carter")


def test_unmarked_work_shows_its_state_in_the_grids_words(teacher_client, school_class, pupils):
    adams, brown, carter = pupils
    now = timezone.now()
    past_due = factories.make_assignment(
        classroom=school_class, opens_at=now - timedelta(days=5), due_at=now - timedelta(days=1)
    )
    factories.make_submission(assignment=past_due, student=adams, answers={0: "Started."})
    factories.make_submission(
        assignment=past_due, student=brown, answers={0: "Done."}, status="submitted", is_late=True
    )
    factories.make_extension(assignment=past_due, student=carter, days=3)

    html = page(teacher_client, school_class)

    assert "In progress" in row_of(html, "Ann Adams") and "late" in row_of(html, "Ann Adams")
    assert "Handed in" in row_of(html, "Ben Brown") and "badge--late" in row_of(html, "Ben Brown")
    carter_row = row_of(html, "Cal Carter")
    assert "Not started" in carter_row and "extension to" in carter_row
    assert "badge--late" not in carter_row  # the extension moved the date on


def test_opening_the_workspace_without_writing_is_not_started(
    teacher_client, school_class, assignment, pupils
):
    factories.make_submission(assignment=assignment, student=pupils[0])  # empty answers
    assert "Not started" in row_of(page(teacher_client, school_class), "Ann Adams")


def test_anonymous_marking_keeps_names_and_draft_marks_apart_until_release(
    teacher_client, school_class, pupils
):
    adams, brown, _carter = pupils
    blind = factories.make_assignment(classroom=school_class, anonymous_marking=True)
    draft = marked(blind, adams, [4, 4, 4])
    released = marked(blind, brown, [1, 1, 1], status="returned")

    html = page(teacher_client, school_class)
    rows = csv_rows(teacher_client, school_class)

    adams_row = row_of(html, "Ann Adams")
    assert "12/12" not in adams_row and "100%" not in adams_row and "Handed in" in adams_row
    # No link from a name into the blind marking page (it would say who "Student N" is).
    assert reverse("teach:submission-mark", args=[blind.pk, draft.pk]) not in html
    assert "3/12" in row_of(html, "Ben Brown")
    assert reverse("teach:submission-mark", args=[blind.pk, released.pk]) in html
    # Nor do the average, the sort order or the export give the hidden mark away.
    assert "100" not in html[html.index("<tfoot>") :]
    by_name = {row[0]: row for row in rows}
    assert by_name["Ann Adams"][2:5] == ["", "", "Handed in"]
    assert by_name["Ben Brown"][2:5] == ["3", "25", "released"]
    for direction in ("", "-"):
        order = pupil_order(page(teacher_client, school_class, sort=f"{direction}a{blind.pk}"))
        assert order.index("Ben Brown") < order.index("Ann Adams")  # a mark shown sorts before a state


def test_sorting_by_a_column_both_ways_with_aria_sort(teacher_client, school_class, assignment, pupils):
    adams, brown, carter = pupils
    marked(assignment, adams, [1, 1, 1], status="returned")  # 25%
    marked(assignment, brown, [4, 4, 4], status="returned")  # 100%
    key = f"a{assignment.pk}"

    by_name = page(teacher_client, school_class)
    highest_first = page(teacher_client, school_class, sort=f"-{key}")
    lowest_first = page(teacher_client, school_class, sort=key)
    by_name_backwards = page(teacher_client, school_class, sort="-name")

    assert pupil_order(by_name) == ["Ann Adams", "Ben Brown", "Cal Carter"]
    assert pupil_order(highest_first) == ["Ben Brown", "Ann Adams", "Cal Carter"]
    assert pupil_order(lowest_first) == ["Ann Adams", "Ben Brown", "Cal Carter"]
    assert pupil_order(by_name_backwards) == ["Cal Carter", "Ben Brown", "Ann Adams"]
    assert 'aria-sort="descending"' in highest_first and f'href="?sort={key}"' in highest_first
    assert 'aria-sort="ascending"' in lowest_first
    assert by_name.count("aria-sort=") == 1  # the pupil column, sorted by default


def test_sorting_by_average_and_nonsense_sorts_fall_back_to_names(teacher_client, school_class, pupils):
    adams, brown, carter = pupils
    first, second = (factories.make_assignment(classroom=school_class) for _ in range(2))
    marked(first, adams, [2, 2, 2], status="returned")  # 50%
    marked(first, carter, [4, 4, 4], status="returned")  # 100%
    marked(second, carter, [2, 2, 2], status="returned")  # 50%: Carter averages 75%

    html = page(teacher_client, school_class, sort="-average")

    assert pupil_order(html) == ["Cal Carter", "Ann Adams", "Ben Brown"]
    assert "75%" in row_of(html, "Cal Carter")
    for nonsense in ("a999999", "²", "a" * 40, "drop table", "-a"):
        assert pupil_order(page(teacher_client, school_class, sort=nonsense)) == [
            "Ann Adams",
            "Ben Brown",
            "Cal Carter",
        ]


def test_the_class_average_row_averages_the_marks_shown(teacher_client, school_class, assignment, pupils):
    adams, brown, _carter = pupils
    marked(assignment, adams, [3, 3, 3], status="returned")  # 75%
    marked(assignment, brown, [1, 1, 0])  # 17% (a draft: shown, so counted)

    html = page(teacher_client, school_class)
    footer = html[html.index("<tfoot>") : html.index("</tfoot>")]
    rows = csv_rows(teacher_client, school_class)

    assert "Class average" in footer and "46%" in footer  # (75 + 17) / 2
    assert rows[-1][0] == "Class average" and rows[-1][3] == "46.0"


def test_archived_assignments_and_pupils_who_left_are_not_in_the_markbook(
    teacher_client, school_class, assignment, pupils
):
    gone = factories.make_assignment(classroom=school_class, archived_at=timezone.now())
    Enrollment.objects.filter(student=pupils[2]).update(ended_at=timezone.now())

    html = page(teacher_client, school_class)

    assert reverse("teach:assignment-progress", args=[gone.pk]) not in html
    assert reverse("teach:assignment-progress", args=[assignment.pk]) in html
    assert pupil_order(html) == ["Ann Adams", "Ben Brown"]


def test_a_pupil_not_set_chosen_pupils_work_shows_not_set(teacher_client, school_class, pupils):
    adams, brown, _carter = pupils
    chosen = factories.make_assignment(classroom=school_class, chosen_pupils_only=True)
    AssignedPupil.objects.create(assignment=chosen, student=adams)
    marked(chosen, adams, [2, 2, 2], status="returned")

    html = page(teacher_client, school_class)
    rows = {row[0]: row for row in csv_rows(teacher_client, school_class)}

    assert "50%" in row_of(html, "Ann Adams")
    assert "markbook__cell--not-set" in row_of(html, "Ben Brown") and "not set" in row_of(html, "Ben Brown")
    assert rows["Ben Brown"][2:5] == ["", "", "not set"]
    assert "chosen pupils" in html


def test_the_csv_is_spreadsheet_safe(teacher_client, school_class, pupils):
    adams = pupils[0]
    adams.first_name, adams.last_name = '=HYPERLINK("x")', "@Adams"
    adams.save()
    exercise = factories.make_exercise(title="+SUM(1,2);-3")
    factories.make_assignment(classroom=school_class, exercise=exercise)

    response = teacher_client.get(reverse("teach:class-markbook-csv", args=[school_class.pk]))
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))

    assert response["Content-Disposition"] == 'attachment; filename="year-11-a-markbook.csv"'
    assert rows[0][2].startswith("'+SUM(1,2);'-3")
    assert any(row[0] == '\'=HYPERLINK("x") @Adams' for row in rows)
    assert all(line.startswith('"') for line in text.splitlines() if line)


def test_names_are_escaped(teacher_client, school_class, assignment, pupils):
    adams = pupils[0]
    adams.first_name = "<script>alert(1)</script>"
    adams.save()
    html = page(teacher_client, school_class)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("name", ["teach:class-markbook", "teach:class-markbook-csv"])
def test_another_teachers_class_and_pupils_get_nothing(client, other_teacher, student, school_class, name):
    url = reverse(name, args=[school_class.pk])
    client.force_login(other_teacher)
    assert client.get(url).status_code == 404
    client.force_login(student)
    assert client.get(url).status_code in (403, 404)
    assert client.get(reverse(name, args=[10**12])).status_code in (403, 404)


def test_the_class_page_and_dashboard_link_to_the_markbook(teacher_client, school_class):
    url = reverse("teach:class-markbook", args=[school_class.pk])
    assert url in teacher_client.get(reverse("teach:class-detail", args=[school_class.pk])).content.decode()
    assert url in teacher_client.get(reverse("teach:dashboard")).content.decode()


def test_an_empty_class_says_so(teacher_client, school_class):
    html = page(teacher_client, school_class)
    assert "Nothing is set to this class yet." in html
    assert Submission.objects.count() == 0


def test_columns_run_soonest_due_first_and_undated_work_last(teacher_client, school_class, pupils):
    now = timezone.now()
    undated = factories.make_assignment(classroom=school_class, due_at=None)
    later = factories.make_assignment(classroom=school_class, due_at=now + timedelta(days=9))
    sooner = factories.make_assignment(classroom=school_class, due_at=now + timedelta(days=2))

    html = page(teacher_client, school_class)
    links = [reverse("teach:assignment-progress", args=[a.pk]) for a in (sooner, later, undated)]
    positions = [html.index(link) for link in links]

    assert positions == sorted(positions)
