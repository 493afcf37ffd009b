from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from analysis import health

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("learn/", include("analysis.urls.learn")),
    path("teach/", include("analysis.urls.teach")),
    path("sources/", include("analysis.urls.sources")),
    path("lti/", include("lti.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("healthz/db", health.healthz_db, name="healthz-db"),
]
