from django.urls import path

from analysis.views import library

app_name = "sources"

urlpatterns = [
    path("", library.source_list, name="source-list"),
    path("<slug:slug>/", library.source_detail, name="source-detail"),
]
