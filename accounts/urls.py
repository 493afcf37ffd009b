from django.contrib.auth.decorators import login_not_required
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", login_not_required(views.LoginView.as_view()), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("signup/", views.signup, name="signup"),
    path("join/", views.join, name="join"),
    path("password/", views.password_choose, name="password-choose"),
    path("notifications/", views.notifications, name="notifications"),
]
