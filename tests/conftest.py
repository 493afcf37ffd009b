import pytest

from tests import factories


@pytest.fixture
def teacher(db):
    return factories.make_teacher(username="teacher_a")


@pytest.fixture
def other_teacher(db):
    return factories.make_teacher(username="teacher_b")


@pytest.fixture
def student(db):
    return factories.make_student(username="student_a1")


@pytest.fixture
def classmate(db):
    return factories.make_student(username="student_a2")


@pytest.fixture
def outsider(db):
    """A student of another class."""
    return factories.make_student(username="student_b")


@pytest.fixture
def school_class(db, teacher, student, classmate):
    return factories.make_classroom(name="Year 11 A", teacher=teacher, students=[student, classmate])


@pytest.fixture
def other_class(db, other_teacher, outsider):
    return factories.make_classroom(name="Year 11 B", teacher=other_teacher, students=[outsider])


@pytest.fixture
def assignment(db, school_class):
    return factories.make_assignment(classroom=school_class)


@pytest.fixture
def student_client(client, student):
    client.force_login(student)
    return client


@pytest.fixture
def teacher_client(client, teacher):
    client.force_login(teacher)
    return client
