from django.urls import path

from analysis.views import teacher

app_name = "teach"

urlpatterns = [
    path("", teacher.dashboard, name="dashboard"),
    # Classes
    path("classes/new/", teacher.class_create, name="class-create"),
    path("classes/<int:pk>/", teacher.class_detail, name="class-detail"),
    path("classes/<int:pk>/rename/", teacher.class_rename, name="class-rename"),
    path("classes/<int:pk>/archive/", teacher.class_archive, name="class-archive"),
    path("classes/<int:pk>/join-code/", teacher.class_join_code, name="class-join-code"),
    path("classes/<int:pk>/roster/", teacher.class_roster_upload, name="class-roster-upload"),
    path(
        "classes/<int:pk>/students/<int:student_id>/remove/",
        teacher.class_student_remove,
        name="class-student-remove",
    ),
    # Exercises from the library, before assigning
    path("exercises/<int:pk>/", teacher.exercise_preview, name="exercise-preview"),
    path("exercises/<int:pk>/worksheet/", teacher.exercise_worksheet, name="exercise-worksheet"),
    # Assignments
    path("assignments/new/", teacher.assignment_create, name="assignment-create"),
    path("assignments/<int:pk>/", teacher.assignment_progress, name="assignment-progress"),
    path("assignments/<int:pk>/edit/", teacher.assignment_edit, name="assignment-edit"),
    path("assignments/<int:pk>/unassign/", teacher.assignment_unassign, name="assignment-unassign"),
    path("assignments/<int:pk>/restore/", teacher.assignment_restore, name="assignment-restore"),
    path("assignments/<int:pk>/extensions/", teacher.assignment_extensions, name="assignment-extensions"),
    path(
        "assignments/<int:pk>/extensions/<int:extension_id>/delete/",
        teacher.extension_delete,
        name="extension-delete",
    ),
    path("assignments/<int:pk>/release/", teacher.assignment_release, name="assignment-release"),
    path("assignments/<int:pk>/export.csv", teacher.assignment_export, name="assignment-export"),
    path("assignments/<int:pk>/insight/", teacher.assignment_insight, name="assignment-insight"),
    # Marking
    path(
        "assignments/<int:pk>/submissions/<int:submission_id>/",
        teacher.submission_mark,
        name="submission-mark",
    ),
    path(
        "assignments/<int:pk>/submissions/<int:submission_id>/comment/",
        teacher.submission_comment,
        name="submission-comment",
    ),
    path(
        "assignments/<int:pk>/submissions/<int:submission_id>/reopen/",
        teacher.submission_reopen,
        name="submission-reopen",
    ),
    path(
        "assignments/<int:pk>/submissions/<int:submission_id>/print/",
        teacher.submission_print,
        name="submission-print",
    ),
    path(
        "assignments/<int:pk>/questions/<int:question_id>/",
        teacher.question_mark,
        name="question-mark",
    ),
    # Comment bank
    path("comments/", teacher.comment_bank, name="comment-bank"),
    path("comments/<int:entry_id>/delete/", teacher.comment_bank_delete, name="comment-bank-delete"),
]
