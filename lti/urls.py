from django.urls import path

from lti import views

app_name = "lti"

urlpatterns = [
    path("jwks.json", views.jwks, name="jwks"),
    path("login/", views.login_initiation, name="login"),
    path("launch/", views.launch, name="launch"),
    path("continue/", views.launch_continue, name="continue"),
    path("link/", views.link_confirm, name="link"),
    path("deep-link/", views.deep_link, name="deep-link"),
    path("courses/<int:pk>/", views.course_detail, name="course"),
    path("courses/<int:pk>/roster/", views.course_roster_sync, name="course-roster-sync"),
    path("assignments/<int:assignment_id>/grades/resend/", views.grades_resend, name="grades-resend"),
    path("connect/", views.connect, name="connect"),
    path("connect/registration-url/", views.register_invite, name="register-invite"),
    path("register/", views.register, name="register"),
]
