from django.urls import path

from analysis.views import student

app_name = "learn"

urlpatterns = [
    path("", student.assignment_list, name="assignment-list"),
]
