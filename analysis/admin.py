from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from analysis.models import (
    Assignment,
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
    Response,
    Source,
    Submission,
)

# --- Library: what site admins load by hand ---------------------------------


class PassageInline(admin.StackedInline):
    model = Passage
    extra = 0
    fields = ["position", "label", "text"]
    ordering = ["position", "pk"]


class GlossaryTermInline(admin.TabularInline):
    model = GlossaryTerm
    extra = 0
    fields = ["position", "term", "definition"]
    ordering = ["position", "pk"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "author", "date_text", "kind", "passage_count", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["title", "slug", "author", "publication"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [PassageInline, GlossaryTermInline]
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
        (_("Notes"), {"fields": ["provenance", "context", "citation", "translation"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_passages=Count("passages"))

    @admin.display(description=_("passages"), ordering="_passages")
    def passage_count(self, obj):
        return obj._passages


class LevelInline(admin.TabularInline):
    model = Level
    extra = 0
    fields = ["number", "min_marks", "max_marks", "descriptor"]
    ordering = ["number"]


@admin.register(MarkScheme)
class MarkSchemeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "level_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
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
    fields = [
        ("position", "stage"),
        "source",
        "prompt",
        ("max_marks", "mark_scheme"),
        "hints",
        "sentence_starters",
        "indicative_content",
        "model_answer",
    ]
    autocomplete_fields = ["source", "mark_scheme"]


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "question_count", "updated_at"]
    search_fields = ["title", "slug", "summary"]
    prepopulated_fields = {"slug": ["title"]}
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


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["exercise", "classroom", "opens_at", "due_at", "archived_at"]
    list_filter = ["classroom", "exercise", ("archived_at", admin.EmptyFieldListFilter)]
    list_select_related = ["exercise", "classroom"]
    search_fields = ["exercise__title", "classroom__name"]
    raw_id_fields = ["created_by"]
    inlines = [ExtensionInline]


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


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["student", "assignment", "status", "submitted_at", "returned_at", "is_late"]
    list_filter = ["status", "assignment__classroom", "assignment", "is_late"]
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
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["submission", "question_number", "version", "updated_at", "mark_display"]
    list_filter = ["submission__status", "submission__assignment__classroom", "submission__assignment"]
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

    def get_readonly_fields(self, request, obj=None):
        # Marks belong to teachers; the admin shows them but never edits them.
        return ["mark_display", "updated_at"]

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
        return False


@admin.register(CommentBankEntry)
class CommentBankEntryAdmin(admin.ModelAdmin):
    list_display = ["text", "teacher", "created_at"]
    list_select_related = ["teacher"]
    search_fields = ["text", "teacher__username"]
