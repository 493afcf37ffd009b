from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from analysis.library import packs
from analysis.models import (
    AssignedPupil,
    Assignment,
    Background,
    CommentBankEntry,
    Evidence,
    Exercise,
    ExerciseSource,
    Extension,
    GlossaryTerm,
    Level,
    Mark,
    MarkChange,
    MarkScheme,
    Passage,
    Question,
    Region,
    Response,
    Source,
    StudentSupport,
    Submission,
)

# --- Library: what site admins load by hand ---------------------------------


# Long inlines start folded ("collapse") with short text boxes, so a source or an exercise page
# opens at its own fields instead of thousands of pixels of passages and questions.
COMPACT_TEXT = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 80})}}


class PassageInline(admin.StackedInline):
    model = Passage
    extra = 0
    fields = [("position", "label"), "text", "modified"]
    ordering = ["position", "pk"]
    classes = ["collapse"]
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 5, "cols": 80})}}


class RegionInline(admin.TabularInline):
    """An image source's regions (fractions of the image; the teachers' editor takes percent).
    A region pupils have cited cannot be moved (Region.clean) or deleted (PROTECT)."""

    model = Region
    extra = 0
    fields = ["position", "label", "x", "y", "w", "h"]
    ordering = ["position", "pk"]


class GlossaryTermInline(admin.TabularInline):
    model = GlossaryTerm
    extra = 0
    fields = ["position", "term", "definition"]
    ordering = ["position", "pk"]
    classes = ["collapse"]
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 60})}}


class SourcePackUploadForm(forms.Form):
    pack = forms.FileField(
        label=_("Source pack"),
        help_text=_(
            "A UTF-8 YAML file in the source-pack format, or a .zip pack (pack.yaml and images/) for "
            "image sources. A pack with any error changes nothing; re-uploading a pack updates its "
            "sources, mark schemes and exercises by slug."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".yaml,.yml,.zip,application/yaml,text/yaml"}),
    )


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    change_list_template = "admin/analysis/source/change_list.html"
    actions = ["export_pack"]
    list_display = ["title", "slug", "author", "date_text", "kind", "passage_count", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["title", "slug", "author", "publication"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [PassageInline, GlossaryTermInline, RegionInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "title",
                    "slug",
                    "author",
                    ("date_text", "sort_date"),
                    "publication",
                    "kind",
                    "audience",
                ]
            },
        ),
        (
            _("Notes"),
            {"fields": ["caption", "context", "teacher_notes", "citation", "rights", "translation"]},
        ),
        # The image itself comes only through the checked upload (/teach/sources/new-image/) or a
        # .zip pack (docs/visual-sources.md), never as a raw admin upload.
        (_("Image"), {"fields": ["image_info", "alt_text", "transcription"]}),
    ]
    readonly_fields = ["image_info"]

    @admin.display(description=_("image"))
    def image_info(self, obj):
        if not obj or not obj.image:
            return "—"
        return f"{obj.image_width} × {obj.image_height} px, {obj.image.name}"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_passages=Count("passages"))

    @admin.display(description=_("passages"), ordering="_passages")
    def passage_count(self, obj):
        return obj._passages

    # Source packs: upload (same service as `manage.py import_sources`) and export.

    def get_urls(self):
        upload = path(
            "upload/",
            self.admin_site.admin_view(self.upload_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_upload",
        )
        return [upload, *super().get_urls()]

    @method_decorator(require_http_methods(["GET", "POST"]))
    def upload_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SourcePackUploadForm(*(request.POST, request.FILES) if request.method == "POST" else ())
        errors = []
        if form.is_valid():
            upload = form.cleaned_data["pack"]
            try:
                summary = packs.pack_import_file(file=upload, filename=upload.name)
            except packs.PackInvalid as exc:
                errors = exc.errors
            else:
                message = _("Imported %(file)s: %(summary)s") % {"file": upload.name, "summary": summary}
                self.message_user(request, message, messages.SUCCESS)
                return redirect("admin:analysis_source_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Upload a source pack"),
            "form": form,
            "pack_errors": errors,
        }
        return TemplateResponse(request, "admin/analysis/source/upload.html", context)

    @admin.action(description=_("Export selected sources as a source pack"), permissions=["view"])
    def export_pack(self, request, queryset):
        slugs = list(queryset.order_by("sort_date", "title", "pk").values_list("slug", flat=True))
        if queryset.exclude(image="").exists():  # image sources travel as a .zip pack
            response = HttpResponse(packs.pack_export_zip(source_slugs=slugs), content_type="application/zip")
            filename = f"{slugs[0]}.zip" if len(slugs) == 1 else "source-pack.zip"
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        response = HttpResponse(
            packs.pack_export(source_slugs=slugs), content_type="application/yaml; charset=utf-8"
        )
        filename = f"{slugs[0]}.yaml" if len(slugs) == 1 else "source-pack.yaml"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class LevelInline(admin.TabularInline):
    model = Level
    extra = 0
    fields = ["number", "min_marks", "max_marks", "descriptor", "common_level"]
    ordering = ["number"]


@admin.register(MarkScheme)
class MarkSchemeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "level_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "objective"]
    inlines = [LevelInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_levels=Count("levels"))

    @admin.display(description=_("levels"), ordering="_levels")
    def level_count(self, obj):
        return obj._levels


class ExerciseSourceInline(admin.TabularInline):
    model = ExerciseSource
    extra = 0
    fields = ["position", "source"]
    autocomplete_fields = ["source"]
    ordering = ["position"]


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 0
    ordering = ["position", "pk"]
    classes = ["collapse"]
    formfield_overrides = COMPACT_TEXT
    fields = [
        ("position", "stage"),
        "source",
        "prompt",
        ("max_marks", "mark_scheme"),
        "hints",
        "sentence_starters",
        "checks",
        "indicative_content",
        "model_answer",
    ]
    autocomplete_fields = ["source", "mark_scheme"]


@admin.register(Background)
class BackgroundAdmin(admin.ModelAdmin):
    """A timeline (a JSON list of {"date", "event"}) and key people ({"name", "role"})."""

    list_display = ["title", "slug", "updated_at"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    fields = ["title", "slug", "timeline", "people"]


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "question_count", "updated_at"]
    search_fields = ["title", "slug", "summary"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["background"]
    inlines = [ExerciseSourceInline, QuestionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_questions=Count("questions"))

    @admin.display(description=_("questions"), ordering="_questions")
    def question_count(self, obj):
        return obj._questions


# --- Classroom work: for looking, not for marking ------------------------------


class ExtensionInline(admin.TabularInline):
    model = Extension
    extra = 0
    raw_id_fields = ["student"]


class StudentSupportInline(admin.TabularInline):
    model = StudentSupport
    extra = 0
    raw_id_fields = ["student"]


class AssignedPupilInline(admin.TabularInline):
    """The chosen pupils of an assignment set to chosen pupils only."""

    model = AssignedPupil
    extra = 0
    raw_id_fields = ["student"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["exercise", "classroom", "opens_at", "due_at", "archived_at"]
    list_filter = ["classroom", "exercise", ("archived_at", admin.EmptyFieldListFilter)]
    list_select_related = ["exercise", "classroom"]
    search_fields = ["exercise__title", "classroom__name"]
    raw_id_fields = ["created_by"]
    inlines = [ExtensionInline, StudentSupportInline, AssignedPupilInline]


class ResponseInline(admin.StackedInline):
    model = Response
    extra = 0
    can_delete = False
    fields = ["question", "text", "version", "hints_used", "updated_at", "mark_summary"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("question__exercise", "mark")

    @admin.display(description=_("mark"))
    def mark_summary(self, obj):
        mark = getattr(obj, "mark", None)
        if mark is None:
            return "—"
        return f"{mark.marks}/{mark.max_marks} (level {mark.level or '—'})"

    def has_add_permission(self, request, obj=None):
        return False


class PupilsWorkReadOnly:
    """Pupils' work (hand-ins, answers, their evidence) is shown in the admin but never written
    there: what was handed in, and the receipt that vouches for it, change only through the
    pupil's own workspace and the teacher's reopen. Deleting stays possible for a superuser, so
    that deleting a pupil (their right to erasure) can take their work with it."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class AssignmentListFilter(admin.RelatedFieldListFilter):
    """The assignment filter, with each choice's exercise and class fetched in the same
    query (an assignment's name needs both; the stock filter fetched them per choice)."""

    def field_choices(self, field, request, model_admin):
        assignments = Assignment.objects.select_related("exercise", "classroom").order_by(
            "classroom__name", "exercise__title", "pk"
        )
        return [(assignment.pk, str(assignment)) for assignment in assignments]


@admin.register(Submission)
class SubmissionAdmin(PupilsWorkReadOnly, admin.ModelAdmin):
    list_display = ["student", "assignment", "status", "submitted_at", "returned_at", "is_late"]
    list_filter = ["status", "assignment__classroom", ("assignment", AssignmentListFilter), "is_late"]
    list_select_related = ["student", "assignment__exercise", "assignment__classroom"]
    search_fields = [
        "student__username",
        "student__first_name",
        "student__last_name",
        "assignment__exercise__title",
        "assignment__classroom__name",
    ]
    raw_id_fields = ["student", "assignment"]
    readonly_fields = ["started_at", "submitted_at", "returned_at", "receipt_hash"]
    inlines = [ResponseInline]
    date_hierarchy = "submitted_at"


class EvidenceInline(admin.TabularInline):
    model = Evidence
    extra = 0
    fields = ["passage", "start", "end", "quote"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Response)
class ResponseAdmin(PupilsWorkReadOnly, admin.ModelAdmin):
    list_display = ["submission", "question_number", "version", "updated_at", "mark_display"]
    list_filter = [
        "submission__status",
        "submission__assignment__classroom",
        ("submission__assignment", AssignmentListFilter),
    ]
    list_select_related = [
        "submission__student",
        "submission__assignment__exercise",
        "submission__assignment__classroom",
        "question",
        "mark",
    ]
    search_fields = ["text", "submission__student__username", "submission__student__last_name"]
    raw_id_fields = ["submission", "question"]
    inlines = [EvidenceInline]

    @admin.display(description=_("question"), ordering="question__position")
    def question_number(self, obj):
        return obj.question.number

    @admin.display(description=_("mark"))
    def mark_display(self, obj):
        mark = getattr(obj, "mark", None)
        return f"{mark.marks}/{mark.max_marks}" if mark else "—"


class MarkChangeInline(admin.TabularInline):
    model = MarkChange
    extra = 0
    can_delete = False
    fields = ["changed_at", "changed_by", "from_level", "to_level", "from_marks", "to_marks", "to_comment"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Mark)
class MarkAdmin(admin.ModelAdmin):
    list_display = ["response", "level", "marks", "max_marks", "marker", "updated_at"]
    list_filter = ["response__submission__assignment__classroom", "response__submission__status"]
    list_select_related = [
        "response__submission__student",
        "response__submission__assignment__exercise",
        "response__submission__assignment__classroom",
        "response__question",
        "marker",
    ]
    search_fields = ["response__submission__student__username", "comment"]
    inlines = [MarkChangeInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Marks are never edited here, but deleting a pupil (their right to erasure) must be
        # able to take their marks with them: the admin refuses a cascade it may not delete.
        return request.user.is_superuser


@admin.register(CommentBankEntry)
class CommentBankEntryAdmin(admin.ModelAdmin):
    list_display = ["text", "teacher", "created_at"]
    list_select_related = ["teacher"]
    search_fields = ["text", "teacher__username"]
