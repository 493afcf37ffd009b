from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from lti.models import Course, Deployment, GradePost, LtiIdentity, Platform, ResourceLink, ToolKey


class DeploymentInline(admin.TabularInline):
    model = Deployment
    extra = 1


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "issuer",
        "client_id",
        "school",
        "active",
        "is_demo",
        "instructors_see_teacher_only",
    ]
    list_filter = ["active", "is_demo", "school"]
    search_fields = ["name", "issuer", "client_id"]
    inlines = [DeploymentInline]
    fieldsets = [
        (None, {"fields": ["name", "school", "active", "is_demo"]}),
        (
            _("What the platform gave you"),
            {
                "fields": [
                    "issuer",
                    "client_id",
                    "auth_login_url",
                    "auth_token_url",
                    "key_set_url",
                    "auth_audience",
                ]
            },
        ),
        (_("In the LMS"), {"fields": ["frame_origins", "instructors_see_teacher_only"]}),
    ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "connect_url": reverse("lti:connect")}
        return super().changelist_view(request, extra_context)


@admin.register(ToolKey)
class ToolKeyAdmin(admin.ModelAdmin):
    """The public half only: the private key never leaves the server, not even to the admin."""

    list_display = ["kid", "status", "created_at", "retired_at"]
    fields = ["kid", "status", "public_jwk", "created_at", "retired_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # made by `manage.py lti_keys`

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LtiIdentity)
class LtiIdentityAdmin(admin.ModelAdmin):
    list_display = ["user", "platform", "sub", "created_at"]
    list_filter = ["platform"]
    raw_id_fields = ["user"]
    search_fields = ["sub", "user__username"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "platform", "classroom_link", "roster_synced_at"]
    list_filter = ["platform"]
    readonly_fields = ["roster_synced_at", "roster_error"]
    raw_id_fields = ["classroom"]

    @admin.display(description=_("class"))
    def classroom_link(self, course):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:accounts_classroom_change", args=[course.classroom_id]),
            course.classroom,
        )


@admin.register(ResourceLink)
class ResourceLinkAdmin(admin.ModelAdmin):
    list_display = ["__str__", "course", "assignment", "lineitem_url"]
    raw_id_fields = ["assignment"]


@admin.register(GradePost)
class GradePostAdmin(admin.ModelAdmin):
    list_display = ["submission", "step", "status", "attempts", "score_given", "score_maximum", "updated_at"]
    list_filter = ["status", "step"]
    readonly_fields = [field.name for field in GradePost._meta.fields]

    def has_add_permission(self, request):
        return False  # written by hand-ins and releases only
