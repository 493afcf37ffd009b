from django.urls import path

from analysis.classwork import views as student
from analysis.studio import regions as visual

app_name = "learn"

urlpatterns = [
    path("", student.assignment_list, name="assignment-list"),
    path("csrf/", student.csrf_token, name="csrf"),
    path("my-data.json", student.my_data, name="my-data"),
    path("progress/", student.progress, name="progress"),
    path("assignments/<int:assignment_id>/", student.workspace, name="workspace"),
    path("sources/<int:pk>/image/", visual.source_image_for_pupil, name="source-image"),
    path("assignments/<int:assignment_id>/submit/", student.submit, name="submit"),
    path("assignments/<int:assignment_id>/feedback/", student.feedback, name="feedback"),
    path(
        "assignments/<int:assignment_id>/responses/<int:response_id>/save/",
        student.response_save,
        name="response-save",
    ),
    path(
        "assignments/<int:assignment_id>/responses/<int:response_id>/hint/",
        student.hint,
        name="response-hint",
    ),
    path(
        "assignments/<int:assignment_id>/responses/<int:response_id>/evidence/",
        student.evidence_add,
        name="evidence-add",
    ),
    path(
        "assignments/<int:assignment_id>/responses/<int:response_id>/evidence/<int:evidence_id>/delete/",
        student.evidence_delete,
        name="evidence-delete",
    ),
]
