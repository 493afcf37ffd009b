from django.urls import path

from accounts.classes import views as classes
from analysis.marking import views as marking
from analysis.studio import regions as visual
from analysis.studio import views as studio
from analysis.teaching import assignments, dashboard, markbook, profiles

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
    path("classes/<int:pk>/markbook/", markbook.class_markbook, name="class-markbook"),
    path("classes/<int:pk>/markbook.csv", markbook.class_markbook_csv, name="class-markbook-csv"),
    # Skills across the year: a pupil's profile, the class skills view (analysis/teaching/profiles.py)
    path("classes/<int:pk>/students/<int:student_id>/", profiles.student_profile, name="student-profile"),
    path("classes/<int:pk>/skills/", profiles.class_skills, name="class-skills"),
    # The authoring studio: the teacher's library, their own sources, exercises and questions
    path("library/", studio.library, name="library"),
    path("library/import/", studio.pack_import, name="pack-import"),
    path("sources/new/", studio.source_create, name="source-create"),
    path("sources/<int:pk>/edit/", studio.source_edit, name="source-edit"),
    path("sources/<int:pk>/preview/", studio.source_preview, name="source-preview"),
    path("sources/<int:pk>/passages/", studio.source_passages, name="source-passages"),
    path("sources/<int:pk>/glossary/", studio.source_glossary, name="source-glossary"),
    path("sources/<int:pk>/copy/", studio.source_copy, name="source-copy"),
    path("sources/<int:pk>/manage/", studio.source_manage, name="source-manage"),
    path("exercises/new/", studio.exercise_create, name="exercise-create"),
    path("exercises/<int:pk>/edit/", studio.exercise_edit, name="exercise-edit"),
    path("exercises/<int:pk>/preview/", studio.exercise_pupil_preview, name="exercise-pupil-preview"),
    path("exercises/<int:pk>/copy/", studio.exercise_copy, name="exercise-copy"),
    path("exercises/<int:pk>/manage/", studio.exercise_manage, name="exercise-manage"),
    path("exercises/<int:pk>/export.yaml", studio.exercise_export, name="exercise-export"),
    path("exercises/<int:pk>/questions/new/", studio.question_add, name="question-add"),
    path("exercises/<int:pk>/questions/<int:question_id>/", studio.question_edit, name="question-edit"),
    path("exercises/<int:pk>/questions/<int:question_id>/move/", studio.question_move, name="question-move"),
    path(
        "exercises/<int:pk>/questions/<int:question_id>/delete/",
        studio.question_delete,
        name="question-delete",
    ),
    path(
        "exercises/<int:pk>/questions/<int:question_id>/scheme/",
        studio.question_scheme,
        name="question-scheme",
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
