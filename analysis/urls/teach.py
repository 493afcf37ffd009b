from django.urls import path

from analysis.views import teacher

app_name = "teach"

urlpatterns = [
    path("", teacher.dashboard, name="dashboard"),
]
