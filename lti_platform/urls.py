from django.urls import path

from lti_platform import views

urlpatterns = [
    path("", views.course, name="course"),
    path("act-as/", views.act_as, name="act-as"),
    path("learners/", views.learner_add, name="learner-add"),
    path("open/<str:kind>/", views.open_tool, name="open"),
    path("auth", views.auth, name="auth"),
    path("jwks", views.jwks, name="jwks"),
    path("token", views.token, name="token"),
    path("deep-link/return", views.deep_link_return, name="deep-link-return"),
    path("nrps/memberships", views.memberships, name="memberships"),
    path("ags/lineitems", views.lineitems, name="lineitems"),
    path("ags/lineitems/<int:item_id>", views.lineitem, name="lineitem"),
    path("ags/lineitems/<int:item_id>/scores", views.scores, name="scores"),
    path("received/", views.received, name="received"),
    path("received.json", views.received_json, name="received-json"),
]
