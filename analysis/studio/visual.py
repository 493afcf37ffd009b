"""Writes and reads for visual sources: creating an image source, its regions (add, change,
delete, reorder) and who may see an image.

Regions are stored as fractions of the image. Once pupils' evidence cites a region, its
rectangle is fixed (moving it would change what they cited) and it cannot be deleted
(``Evidence.region`` is PROTECT); its label can still be corrected."""

from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils.text import slugify
from django.utils.translation import gettext as _

from analysis.models import Assignment, Evidence, ExerciseSource, Region, Source
from analysis.studio.images import CheckedImage, image_discard, image_store


class RegionRefused(Exception):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


# --- Sources ------------------------------------------------------------------------------


def unique_slug(*, owner, title: str) -> str:
    base = (slugify(title) or "image-source")[:80].strip("-") or "image-source"
    # Unique across the whole library, not only the owner's own items: /sources/<slug>/ names
    # a source by its slug alone.
    taken = set(Source.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def image_source_create(*, owner, source: Source, image: CheckedImage) -> Source:
    """Save an unsaved ``source`` (from the form) as ``owner``'s, with the checked image. The
    image is written first and removed again if the row cannot be saved: nothing is left over."""
    name = image_store(image)
    try:
        with transaction.atomic():
            source.owner, source.school = owner, owner.school
            source.slug = unique_slug(owner=owner, title=source.title)
            source.image.name = name
            source.image_width, source.image_height = image.width, image.height
            source.image_sha256 = image.sha256
            source.full_clean()
            source.save()
    except Exception:
        image_discard(name)
        raise
    return source


def editable_sources(user) -> QuerySet:
    """Sources whose regions this teacher may edit: their own."""
    if not user.is_authenticated or not user.is_teacher:
        return Source.objects.none()
    return Source.objects.filter(owner=user, archived_at__isnull=True).exclude(image="")


def image_sources_visible_to(user) -> QuerySet:
    """Sources with an image this user may see: the site library's to anyone logged in; a
    teacher's own, colleagues' shared ones, and those set to a class they teach; a pupil's, those
    of exercises set to a class they are in."""
    with_image = Source.objects.exclude(image="")
    if not user.is_authenticated:
        return with_image.none()
    visible = Q(owner__isnull=True)
    if user.is_teacher:
        set_to_class = Assignment.objects.taught_by(user)
        visible |= Q(owner=user)
        if user.school_id:
            visible |= Q(shared=True, school_id=user.school_id)
    elif user.is_student:
        set_to_class = Assignment.objects.for_student(user)
    else:
        return with_image.filter(visible)
    used = ExerciseSource.objects.filter(
        source=OuterRef("pk"), exercise__in=set_to_class.values("exercise_id")
    )
    return with_image.filter(visible | Exists(used))


# --- Regions ------------------------------------------------------------------------------


def _cited(region: Region) -> int:
    return Evidence.objects.filter(region=region).count()


def region_create(*, source: Source, label: str, x: float, y: float, w: float, h: float) -> Region:
    with transaction.atomic():
        Source.objects.select_for_update().filter(pk=source.pk).first()
        last = source.regions.aggregate(top=Max("position"))["top"]
        region = Region(
            source=source, label=label, x=x, y=y, w=w, h=h, position=0 if last is None else last + 1
        )
        region.full_clean()
        region.save()
        source.save(update_fields=["updated_at"])  # a new panel version for the workspace cache
    return region


def region_update(*, region: Region, label: str, x: float, y: float, w: float, h: float) -> Region:
    new = {"x": x, "y": y, "w": w, "h": h}
    moved = any(abs(getattr(region, name) - value) > 1e-9 for name, value in new.items())
    with transaction.atomic():
        if moved:
            count = _cited(region)
            if count:
                raise RegionRefused(
                    _(
                        "Pupils have cited “%(label)s” (%(count)s times), so it cannot be moved or "
                        "resized: their evidence points at this part of the image. You can still "
                        "change its label, or add a new region."
                    )
                    % {"label": region.label, "count": count}
                )
        region.label, region.x, region.y, region.w, region.h = label, x, y, w, h
        region.full_clean()
        region.save()
        region.source.save(update_fields=["updated_at"])
    return region


def region_delete(*, region: Region) -> None:
    with transaction.atomic():
        count = _cited(region)
        if count:
            raise RegionRefused(
                _(
                    "Pupils have cited “%(label)s” (%(count)s times), so it cannot be deleted: their "
                    "evidence points at it."
                )
                % {"label": region.label, "count": count}
            )
        source = region.source
        region.delete()
        for position, other in enumerate(source.regions.order_by("position", "pk")):
            if other.position != position:
                Region.objects.filter(pk=other.pk).update(position=position)
        source.save(update_fields=["updated_at"])


def region_move(*, region: Region, direction: str) -> None:
    """Swap the region with the one before ("up") or after ("down") it. Order is only how the
    regions are listed; it changes nothing pupils cited."""
    with transaction.atomic():
        regions = list(region.source.regions.select_for_update().order_by("position", "pk"))
        index = next(i for i, other in enumerate(regions) if other.pk == region.pk)
        target = index - 1 if direction == "up" else index + 1
        if 0 <= target < len(regions):
            regions[index], regions[target] = regions[target], regions[index]
        for position, other in enumerate(regions):
            if other.position != position:
                Region.objects.filter(pk=other.pk).update(position=position)
        region.source.save(update_fields=["updated_at"])
