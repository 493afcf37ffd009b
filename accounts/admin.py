from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Classroom, Enrollment, School, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "is_active", "is_staff", "last_login"]
    list_filter = ["role", "school", "is_active", "is_staff", "is_superuser"]
    fieldsets = [
        (None, {"fields": ["username", "password", "role", "school"]}),
        (_("Personal info"), {"fields": ["first_name", "last_name", "email"]}),
        (
            _("Permissions"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["username", "role", "school", "usable_password", "password1", "password2"],
            },
        ),
    ]


class EnrollmentInline(admin.TabularInline):
    model = Enrollment
    extra = 0
    raw_id_fields = ["student"]
    readonly_fields = ["joined_at"]
    fields = ["student", "joined_at", "ended_at"]


@admin.register(Classroom)
class ClassroomAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "school",
        "join_code",
        "join_code_enabled",
        "student_count",
        "created_at",
        "archived_at",
    ]
    list_filter = ["school", "join_code_enabled", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "join_code", "teachers__username"]
    filter_horizontal = ["teachers"]
    inlines = [EnrollmentInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_student_count=Count("enrollments", filter=Q(enrollments__ended_at__isnull=True)))
        )

    @admin.display(description=_("students"), ordering="_student_count")
    def student_count(self, obj):
        return obj._student_count


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["student", "classroom", "joined_at", "ended_at"]
    list_filter = ["classroom", ("ended_at", admin.EmptyFieldListFilter)]
    list_select_related = ["student", "classroom"]
    search_fields = ["student__username", "student__first_name", "student__last_name", "classroom__name"]
    raw_id_fields = ["student"]


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
