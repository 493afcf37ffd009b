"""The library: sources (with passages and glossary terms), mark schemes with their
levels, and exercises with their questions. Loaded from source packs or the admin."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

SLUG_REGEX = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class OwnedQuerySet(models.QuerySet):
    """Who may see and change which library items (every teacher view goes through these)."""

    def visible_to(self, user):
        """The site library, the teacher's own items and what colleagues of their school share."""
        if not (user.is_authenticated and user.is_teacher):
            return self.none()
        mine = Q(owner__isnull=True) | Q(owner=user)
        if user.school_id:
            mine |= Q(shared=True, school_id=user.school_id)
        return self.filter(mine)

    def editable_by(self, user):
        """Only the teacher's own items: site-library and colleagues' items are read-only."""
        if not (user.is_authenticated and user.is_teacher):
            return self.none()
        return self.filter(owner=user)

    def current(self):
        return self.filter(archived_at__isnull=True)


class SlugManager(models.Manager.from_queryset(OwnedQuerySet)):
    def get_by_natural_key(self, slug):
        """Natural keys name site-library items (teachers' items are never loaded by slug)."""
        return self.get(slug=slug, owner__isnull=True)


class Owned(models.Model):
    """Who an item of the library belongs to. Site-library items (loaded by admins from source
    packs) have no owner and serve every school, read-only to teachers. A teacher's own items
    belong to them and their school: private until shared with colleagues of that school, who
    may then preview, set and copy them, not edit them. Archiving hides an item; nothing with
    pupils' work is ever deleted."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
        help_text=_("Empty for the site library."),
    )
    school = models.ForeignKey(
        "accounts.School",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("school"),
    )
    shared = models.BooleanField(_("shared with colleagues"), default=False)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_site_library(self) -> bool:
        return self.owner_id is None


def _slug_constraints(prefix: str) -> list:
    """A slug is unique in the site library, and within each owner's own items."""
    return [
        models.UniqueConstraint(
            fields=["slug"], condition=Q(owner__isnull=True), name=f"{prefix}_site_slug_unique"
        ),
        models.UniqueConstraint(fields=["owner", "slug"], name=f"{prefix}_owner_slug_unique"),
    ]


# --- Library: sources, passages, glossary ----------------------------------


class Source(Owned):
    slug = models.SlugField(_("slug"), max_length=100)
    title = models.CharField(_("title"), max_length=200)
    author = models.CharField(_("author"), max_length=200)
    date_text = models.CharField(
        _("date"), max_length=100, help_text=_("As written, e.g. “26 October (8 November) 1917”.")
    )
    sort_date = models.DateField(_("sortable date"), null=True, blank=True)
    publication = models.CharField(_("publication or occasion"), max_length=200)
    kind = models.CharField(_("kind"), max_length=100, help_text=_("Speech, newspaper report…"))
    audience = models.CharField(_("audience"), max_length=300, blank=True)
    caption = models.TextField(
        _("caption"),
        blank=True,
        help_text=_("What an exam paper prints with the source, in a line or two. Pupils always see it."),
    )
    context = models.TextField(
        _("context note"), blank=True, help_text=_("Background for pupils that does not argue the answer.")
    )
    teacher_notes = models.TextField(
        _("teacher notes"),
        blank=True,
        help_text=_("Provenance analysis, uncertainties, debate. Teachers only: never shown to pupils."),
    )
    citation = models.TextField(_("citation"), blank=True)
    rights = models.CharField(
        _("rights"),
        max_length=300,
        blank=True,
        help_text=_("Public domain, a licence, or “used under an educational exception”."),
    )
    translation = models.TextField(_("translation note"), blank=True)
    topic = models.CharField(
        _("topic"), max_length=100, blank=True, help_text=_("E.g. “Russian Revolution”.")
    )
    based_on = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="versions",
        verbose_name=_("based on"),
        help_text=_("The item this one was copied from, or the version it replaces."),
    )
    # Visual sources (docs/visual-sources.md): an image whose citable units are its regions.
    image = models.FileField(
        _("image"),
        upload_to="sources/",
        blank=True,
        max_length=200,
        help_text=_("PNG, JPEG or WebP, checked and re-encoded on upload (analysis.studio.images)."),
    )
    image_width = models.PositiveIntegerField(_("image width"), null=True, blank=True)
    image_height = models.PositiveIntegerField(_("image height"), null=True, blank=True)
    image_sha256 = models.CharField(
        _("image checksum"), max_length=64, blank=True, help_text=_("Of the stored (re-encoded) bytes.")
    )
    alt_text = models.TextField(
        _("alt text"), blank=True, help_text=_("What the image shows, for pupils who cannot see it.")
    )
    transcription = models.TextField(
        _("transcription"), blank=True, help_text=_("Any words in the image, written out.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = SlugManager()

    class Meta:
        ordering = ["sort_date", "title"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        constraints = [
            models.CheckConstraint(condition=Q(slug__regex=SLUG_REGEX), name="source_slug_format"),
            *_slug_constraints("source"),
            models.CheckConstraint(
                condition=Q(image="") | (Q(image_width__gte=1) & Q(image_height__gte=1) & ~Q(alt_text="")),
                name="source_image_has_size_and_alt_text",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("sources:source-detail", args=[self.slug])

    @property
    def is_visual(self) -> bool:
        return bool(self.image)

    def natural_key(self):
        return (self.slug,)


class Passage(models.Model):
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="passages", verbose_name=_("source")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    label = models.CharField(_("label"), max_length=100)
    text = models.TextField(_("text"))
    modified = models.TextField(
        _("modified text"),
        blank=True,
        help_text=_(
            "A simplified version of the passage, shown beside it as a reading aid under Guided "
            "support. Pupils always cite the original."
        ),
    )

    class Meta:
        ordering = ["source", "position", "pk"]
        verbose_name = _("passage")
        verbose_name_plural = _("passages")
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="passage_text_not_empty"),
        ]

    def __str__(self):
        return f"{self.source.title}: {self.label}"

    def clean(self):
        super().clean()
        if self.pk is not None:
            problem = self.quotation_problem(self.text)
            if problem:
                raise ValidationError({"text": problem})

    def quotation_problem(self, new_text: str) -> str:
        """Why ``new_text`` may not replace this passage's stored text, or "" if it may: pupils'
        evidence points into the passage by offsets, so every quotation must still be found at
        its offsets. The admin (through ``clean``) and the source-pack importer both ask here."""
        quotations = list(self.evidence.only("start", "end", "quote"))
        broken = [e for e in quotations if new_text[e.start : e.end] != e.quote]
        if not broken:
            return ""
        return _(
            "students' evidence quotes this passage, and %(broken)s of %(total)s quotations "
            "would no longer match the new text; keep the quoted wording where it is"
        ) % {"broken": len(broken), "total": len(quotations)}


# --- Visual sources: regions of an image --------------------------------------------

REGION_SLACK = 0.000001  # x + w and y + h may reach 1 (the floating-point sum may overshoot a hair)


class Region(models.Model):
    """A rectangle of a source's image that pupils can cite, stored as fractions (0..1) of the
    image's width and height, so it survives any display size. Evidence protects it."""

    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="regions", verbose_name=_("source")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    label = models.CharField(_("label"), max_length=100)
    x = models.FloatField(_("left"))
    y = models.FloatField(_("top"))
    w = models.FloatField(_("width"))
    h = models.FloatField(_("height"))

    class Meta:
        ordering = ["source", "position", "pk"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        constraints = [
            models.CheckConstraint(condition=~Q(label=""), name="region_label_not_empty"),
            models.CheckConstraint(
                condition=Q(x__gte=0) & Q(y__gte=0) & Q(w__gt=0) & Q(h__gt=0),
                name="region_positive",
            ),
            models.CheckConstraint(
                condition=Q(x__lte=1 - models.F("w") + REGION_SLACK)
                & Q(y__lte=1 - models.F("h") + REGION_SLACK),
                name="region_within_image",
            ),
        ]

    def __str__(self):
        return f"{self.source.title}: {self.label}"

    def clean(self):
        super().clean()
        if self.pk is not None:
            stored = Region.objects.filter(pk=self.pk).values("x", "y", "w", "h").first()
            moved = stored and any(abs(stored[k] - (getattr(self, k) or 0)) > 1e-9 for k in "xywh")
            if moved and self.evidence.exists():
                raise ValidationError(
                    _(
                        "Pupils have cited this region, so it cannot be moved or resized; "
                        "its label can change."
                    )
                )

    def percent(self, name: str) -> float:
        return round(getattr(self, name) * 100, 2)

    @property
    def box(self) -> dict[str, float]:
        """Left, top, width and height in percent, for the page's overlay."""
        return {name: self.percent(name) for name in ("x", "y", "w", "h")}


class GlossaryTerm(models.Model):
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="glossary", verbose_name=_("source")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    term = models.CharField(_("term"), max_length=100)
    definition = models.TextField(_("definition"))

    class Meta:
        ordering = ["source", "position"]
        verbose_name = _("glossary term")
        verbose_name_plural = _("glossary terms")
        constraints = [
            models.UniqueConstraint(fields=["source", "term"], name="glossary_term_unique_per_source")
        ]

    def __str__(self):
        return self.term


# --- Mark schemes ------------------------------------------------------------


class MarkScheme(Owned):
    slug = models.SlugField(_("slug"), max_length=100)
    name = models.CharField(_("name"), max_length=200)
    objective = models.TextField(
        _("assessment objective"), blank=True, help_text=_("The assessment objective the scheme rewards.")
    )

    objects = SlugManager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("mark scheme")
        verbose_name_plural = _("mark schemes")
        constraints = _slug_constraints("markscheme")

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)

    @property
    def max_marks(self) -> int:
        return max((level.max_marks for level in self.levels.all()), default=0)

    @property
    def has_level_zero(self) -> bool:
        """Whether the scheme names its own Level 0 ("No creditable response")."""
        return any(level.number == 0 for level in self.levels.all())

    def common_levels(self) -> dict[int, int]:
        """Each of the scheme's level numbers → its level on the common scale (``common_level``):
        the one the scheme declares, or the proportional default. Reads ``levels.all()``, so a
        prefetch serves it."""
        levels = list(self.levels.all())
        top = max((level.number for level in levels), default=0)
        return {level.number: common_level(level.number, top, level.common_level) for level in levels}


# The common scale every mark scheme's levels map onto, so that one pupil's answers marked against
# different schemes read as one line (docs/skills.md): Level 0 (nothing creditable) to COMMON_TOP.
COMMON_TOP = 4


def common_level(number: int | None, top: int, declared: int | None = None) -> int:
    """A scheme's level on the common 0..COMMON_TOP scale: the declared value if there is one,
    else proportional: level k of a scheme whose top level is n → k/n × COMMON_TOP, rounded half
    up (Level 1 of 2 → 2, Level 1 of 3 → 1, Level 2 of 3 → 3). No level ("nothing creditable")
    and Level 0 → 0."""
    if declared is not None:
        return declared
    if not number or top <= 0:
        return 0
    return min(COMMON_TOP, (2 * number * COMMON_TOP + top) // (2 * top))


class Level(models.Model):
    scheme = models.ForeignKey(
        MarkScheme, on_delete=models.CASCADE, related_name="levels", verbose_name=_("mark scheme")
    )
    number = models.PositiveSmallIntegerField(_("level"))
    min_marks = models.PositiveSmallIntegerField(_("lowest mark"))
    max_marks = models.PositiveSmallIntegerField(_("highest mark"))
    descriptor = models.TextField(_("descriptor"))
    # Where this level sits on the common scale (``common_level``); empty: the proportional default.
    common_level = models.PositiveSmallIntegerField(
        _("common level"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(COMMON_TOP)],
        help_text=_("0–4 on the scale shared by every scheme; leave empty for the proportional default."),
    )

    class Meta:
        ordering = ["scheme", "number"]
        verbose_name = _("level")
        verbose_name_plural = _("levels")
        constraints = [
            models.UniqueConstraint(fields=["scheme", "number"], name="level_number_unique_per_scheme"),
            models.CheckConstraint(
                condition=Q(min_marks__lte=models.F("max_marks")), name="level_band_ordered"
            ),
            models.CheckConstraint(
                condition=Q(common_level__isnull=True) | Q(common_level__lte=COMMON_TOP),
                name="level_common_level_on_scale",
            ),
        ]

    def __str__(self):
        return _("Level %(number)s (%(min)s–%(max)s)") % {
            "number": self.number,
            "min": self.min_marks,
            "max": self.max_marks,
        }

    def contains(self, marks: int) -> bool:
        return self.min_marks <= marks <= self.max_marks


# --- Backgrounds: a timeline and key people beside the sources --------------


def _validate_entries(value, keys: tuple[str, str], what: str) -> None:
    from django.core.exceptions import ValidationError

    if not isinstance(value, list) or not all(
        isinstance(item, dict)
        and set(item) == set(keys)
        and all(isinstance(item[key], str) and item[key].strip() for key in keys)
        for item in value
    ):
        raise ValidationError(
            _("Each %(what)s entry needs exactly %(keys)s, as text.")
            % {"what": what, "keys": " and ".join(keys)}
        )


def validate_timeline(value) -> None:
    _validate_entries(value, ("date", "event"), _("timeline"))


def validate_people(value) -> None:
    _validate_entries(value, ("name", "role"), _("people"))


class Background(Owned):
    """Neutral facts for the pupils beside the sources: a dated timeline and cards on the key
    people and bodies. Shown under Guided and Standard support, never under exam conditions.
    Both lists keep their order: ``[{"date", "event"}]`` and ``[{"name", "role"}]``."""

    slug = models.SlugField(_("slug"), max_length=100)
    title = models.CharField(_("title"), max_length=200)
    timeline = models.JSONField(_("timeline"), default=list, blank=True, validators=[validate_timeline])
    people = models.JSONField(_("key people"), default=list, blank=True, validators=[validate_people])
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = SlugManager()

    class Meta:
        ordering = ["title"]
        verbose_name = _("background")
        verbose_name_plural = _("backgrounds")
        constraints = [
            models.CheckConstraint(condition=Q(slug__regex=SLUG_REGEX), name="background_slug_format"),
            *_slug_constraints("background"),
        ]

    def __str__(self):
        return self.title

    def natural_key(self):
        return (self.slug,)


# --- Exercises and questions ------------------------------------------------


class Exercise(Owned):
    slug = models.SlugField(_("slug"), max_length=100)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"))
    instructions = models.TextField(_("instructions"), blank=True)
    sources = models.ManyToManyField(
        Source, through="ExerciseSource", related_name="exercises", verbose_name=_("sources")
    )
    background = models.ForeignKey(
        Background,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exercises",
        verbose_name=_("background"),
    )
    topic = models.CharField(
        _("topic"), max_length=100, blank=True, help_text=_("E.g. “Russian Revolution”.")
    )
    based_on = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="versions",
        verbose_name=_("based on"),
        help_text=_("The item this one was copied from, or the version it replaces."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = SlugManager()

    class Meta:
        ordering = ["title"]
        verbose_name = _("exercise")
        verbose_name_plural = _("exercises")
        constraints = _slug_constraints("exercise")

    def __str__(self):
        return self.title

    def natural_key(self):
        return (self.slug,)

    @property
    def total_marks(self) -> int:
        return sum(q.max_marks for q in self.questions.all())


class ExerciseSource(models.Model):
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="exercise_sources")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="exercise_links")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["exercise", "position"]
        verbose_name = _("exercise source")
        verbose_name_plural = _("exercise sources")
        constraints = [
            models.UniqueConstraint(fields=["exercise", "source"], name="exercise_source_once"),
        ]

    def __str__(self):
        return f"{self.exercise} / {self.source}"


class Stage(models.TextChoices):
    READING = "reading", _("Close reading")
    ORIGIN = "origin", _("Origin")
    PURPOSE = "purpose", _("Purpose")
    RELIABILITY = "reliability", _("Reliability")
    CORROBORATION = "corroboration", _("Corroboration")


STAGE_ORDER = {stage: index for index, stage in enumerate(Stage.values)}


class SelfCheck(models.TextChoices):
    """What a pupil's self-check looks for in an answer (``Question.checks``)."""

    DATE = "date", _("says when")
    AUTHOR = "author", _("says who produced the source")
    AUDIENCE = "audience", _("says who it was for")
    PURPOSE = "purpose", _("says why it was produced")
    EVIDENCE = "evidence", _("quotes the source")
    BOTH_SOURCES = "both_sources", _("uses both sources")
    JUDGEMENT = "judgement", _("reaches a judgement")
    OWN_KNOWLEDGE = "own_knowledge", _("brings in own knowledge")


# A question that declares no checks is checked as its stage suggests.
STAGE_DEFAULT_CHECKS = {
    Stage.READING: [SelfCheck.EVIDENCE],
    Stage.ORIGIN: [SelfCheck.AUTHOR, SelfCheck.DATE],
    Stage.PURPOSE: [SelfCheck.EVIDENCE],
    Stage.RELIABILITY: [SelfCheck.EVIDENCE],
    Stage.CORROBORATION: [SelfCheck.EVIDENCE],
}


def validate_checks(value) -> None:
    from django.core.exceptions import ValidationError

    if not isinstance(value, list) or any(item not in SelfCheck.values for item in value):
        raise ValidationError(
            _("Checks must be a list of: %(names)s.") % {"names": ", ".join(SelfCheck.values)}
        )


class Question(models.Model):
    exercise = models.ForeignKey(
        Exercise, on_delete=models.CASCADE, related_name="questions", verbose_name=_("exercise")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="questions",
        verbose_name=_("source"),
        help_text=_("Leave empty for a corroboration question across the exercise's sources."),
    )
    prompt = models.TextField(_("prompt"))
    max_marks = models.PositiveSmallIntegerField(_("maximum marks"))
    mark_scheme = models.ForeignKey(
        MarkScheme,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="questions",
        verbose_name=_("mark scheme"),
    )
    hints = models.JSONField(_("hints"), default=list, blank=True)
    sentence_starters = models.JSONField(_("sentence starters"), default=list, blank=True)
    checks = models.JSONField(
        _("self-check"),
        default=list,
        blank=True,
        validators=[validate_checks],
        help_text=_("What the pupil's self-check looks for; empty: what the stage suggests."),
    )
    indicative_content = models.TextField(_("indicative content"), blank=True, help_text=_("Teachers only."))
    model_answer = models.TextField(
        _("model answer"),
        blank=True,
        help_text=_("Shown to students only when the assignment releases it with marks."),
    )

    class Meta:
        ordering = ["exercise", "position", "pk"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.CheckConstraint(condition=Q(max_marks__gte=1), name="question_max_marks_positive"),
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="question_stage_valid"),
        ]

    def __str__(self):
        return f"{self.exercise.title} Q{self.number}: {self.get_stage_display()}"

    @property
    def number(self) -> int:
        return self.position + 1

    def get_checks_display(self) -> list[str]:
        return [str(SelfCheck(check).label) for check in self.checks if check in SelfCheck.values]

    @property
    def effective_checks(self) -> list[str]:
        """The declared checks, or the stage's default ones."""
        return (
            list(self.checks) if self.checks else [str(c) for c in STAGE_DEFAULT_CHECKS.get(self.stage, [])]
        )

    @property
    def expects_evidence(self) -> bool:
        """Whether an answer should quote the text: declared by the question's checks, else by its
        stage (origin answers rest on the origin card; every other stage quotes)."""
        return bool({SelfCheck.EVIDENCE, SelfCheck.BOTH_SOURCES} & set(self.effective_checks))
