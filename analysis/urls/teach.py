from django.urls import path

from accounts.classes import views as classes
from analysis.marking import views as marking
from analysis.studio import regions as visual
from analysis.teaching import assignments, dashboard

app_name = "teach"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    # Classes
    path("classes/new/", classes.class_create, name="class-create"),
    path("classes/<int:pk>/", classes.class_detail, name="class-detail"),
    path("classes/<int:pk>/rename/", classes.class_rename, name="class-rename"),
    path("classes/<int:pk>/archive/", classes.class_archive, name="class-archive"),
    path("classes/<int:pk>/join-code/", classes.class_join_code, name="class-join-code"),
    path("classes/<int:pk>/roster/", classes.class_roster_upload, name="class-roster-upload"),
    path(
        "classes/<int:pk>/students/<int:student_id>/remove/",
        classes.class_student_remove,
        name="class-student-remove",
    ),
    path(
        "classes/<int:pk>/students/<int:student_id>/unlock/",
        classes.class_student_unlock,
        name="class-student-unlock",
    ),
    path(
        "classes/<int:pk>/students/<int:student_id>/password/",
        classes.class_student_password,
        name="class-student-password",
    ),
    # Exercises from the library, before assigning
    path("exercises/<int:pk>/", assignments.exercise_preview, name="exercise-preview"),
    path("exercises/<int:pk>/worksheet/", assignments.exercise_worksheet, name="exercise-worksheet"),
    # Assignments
    path("assignments/new/", assignments.assignment_create, name="assignment-create"),
    path("assignments/<int:pk>/", assignments.assignment_progress, name="assignment-progress"),
    path("assignments/<int:pk>/edit/", assignments.assignment_edit, name="assignment-edit"),
    path("assignments/<int:pk>/unassign/", assignments.assignment_unassign, name="assignment-unassign"),
    path("assignments/<int:pk>/restore/", assignments.assignment_restore, name="assignment-restore"),
    path("assignments/<int:pk>/extensions/", assignments.assignment_extensions, name="assignment-extensions"),
    path(
        "assignments/<int:pk>/extensions/<int:extension_id>/delete/",
        assignments.extension_delete,
        name="extension-delete",
    ),
    path("assignments/<int:pk>/support/", assignments.assignment_support, name="assignment-support"),
    path(
        "assignments/<int:pk>/support/<int:support_id>/delete/",
        assignments.student_support_delete,
        name="student-support-delete",
    ),
    path("assignments/<int:pk>/release/", assignments.assignment_release, name="assignment-release"),
    path("assignments/<int:pk>/export.csv", assignments.assignment_export, name="assignment-export"),
    path("assignments/<int:pk>/insight/", assignments.assignment_insight, name="assignment-insight"),
    # Marking
    path(
        "assignments/<int:pk>/submissions/<int:submission_id>/",
        marking.submission_mark,
        name="submission-mark",
    ),
    path(
        "assignments/<int:pk>/submissions/<int:submission_id>/comment/",
        marking.submission_comment,
        name="submission-comment",
    ),
    path(
        "assignments/<int:pk>/submissions/<int:submission_id>/reopen/",
        assignments.submission_reopen,
        name="submission-reopen",
    ),
    path(
        "assignments/<int:pk>/submissions/<int:submission_id>/print/",
        assignments.submission_print,
        name="submission-print",
    ),
    path(
        "assignments/<int:pk>/responses/<int:response_id>/mark/",
        marking.response_mark,
        name="response-mark",
    ),
    path(
        "assignments/<int:pk>/questions/<int:question_id>/",
        marking.question_mark,
        name="question-mark",
    ),
    # Visual sources: an image source, its regions, the image (analysis/studio/regions.py)
    path("sources/new-image/", visual.image_source_create, name="image-source-create"),
    path("sources/<int:pk>/regions/", visual.source_regions, name="source-regions"),
    path("sources/<int:pk>/regions/<int:region_id>/", visual.region_edit, name="region-edit"),
    path("sources/<int:pk>/regions/<int:region_id>/delete/", visual.region_delete, name="region-delete"),
    path("sources/<int:pk>/regions/<int:region_id>/move/", visual.region_move, name="region-move"),
    path("sources/<int:pk>/image/", visual.source_image_for_teacher, name="source-image"),
    # Comment bank
    path("comments/", marking.comment_bank, name="comment-bank"),
    path("comments/<int:entry_id>/delete/", marking.comment_bank_delete, name="comment-bank-delete"),
]
