from django.urls import path

from analysis.library import views as library

app_name = "sources"

urlpatterns = [
    path("", library.source_list, name="source-list"),
    path("<slug:slug>/", library.source_detail, name="source-detail"),
]
