"""Views for visual sources: a teacher's new image source, the region editor, and the image
itself, served through a view that checks who asks (never from a public media URL).

Thin views: the form checks the upload (``analysis.studio.images``), the services in
``analysis.studio.visual`` write, and every lookup is scoped to what the user may see, so
anything else is a 404."""

import hashlib

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import student_required, teacher_required
from analysis.models import Evidence, Region
from analysis.studio import visual
from analysis.studio.image_forms import ImageSourceForm, RegionForm
from analysis.studio.images import content_type_for

IMAGE_CACHE_SECONDS = 600


# --- A new image source ----------------------------------------------------------------------


@teacher_required
@require_http_methods(["GET", "POST"])
def image_source_create(request):
    form = ImageSourceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            source = visual.image_source_create(
                owner=request.user, source=form.save(commit=False), image=form.cleaned_data["upload"]
            )
        except ValidationError as invalid:
            form.add_error(None, invalid)
        else:
            messages.success(
                request, _("Image source saved. Now mark the regions pupils can cite as evidence.")
            )
            return redirect("teach:source-regions", source.pk)
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "studio/image_source_form.html", {"form": form}, status=status)


# --- The region editor -----------------------------------------------------------------------


def _editable(request, pk):
    return get_object_or_404(visual.editable_sources(request.user), pk=pk)


def _region(source, region_id) -> Region:
    return get_object_or_404(Region.objects.filter(source=source).select_related("source"), pk=region_id)


def _editor(request, source, *, new_form=None, bound=None, status=200):
    regions = list(source.regions.all())
    cited = dict(
        Evidence.objects.filter(region__source=source)
        .order_by()
        .values_list("region_id")
        .annotate(n=Count("pk"))
    )
    rows = []
    for region in regions:
        if bound is not None and bound[0] == region.pk:
            form = bound[1]
        else:
            form = RegionForm(
                prefix=f"r{region.pk}",
                initial={"label": region.label, **{k: region.percent(k) for k in "xywh"}},
            )
        rows.append({"region": region, "form": form, "cited": cited.get(region.pk, 0)})
    context = {
        "source": source,
        "rows": rows,
        "new_form": new_form or RegionForm(prefix="new"),
        "image_url": image_url(source, pupil=False),
    }
    return render(request, "studio/image_regions.html", context, status=status)


@teacher_required
@require_http_methods(["GET", "POST"])
def source_regions(request, pk):
    """The editor (GET); POST adds a region typed in, or drawn (the script fills the fields)."""
    source = _editable(request, pk)
    if request.method == "GET":
        return _editor(request, source)
    form = RegionForm(request.POST, prefix="new")
    if not form.is_valid():
        return _editor(request, source, new_form=form, status=422)
    region = visual.region_create(source=source, label=form.cleaned_data["label"], **form.fractions())
    messages.success(request, _("Region “%(label)s” added.") % {"label": region.label})
    return redirect(reverse("teach:source-regions", args=[source.pk]) + f"#region-{region.pk}")


@teacher_required
@require_POST
def region_edit(request, pk, region_id):
    source = _editable(request, pk)
    region = _region(source, region_id)
    form = RegionForm(request.POST, prefix=f"r{region.pk}")
    if not form.is_valid():
        return _editor(request, source, bound=(region.pk, form), status=422)
    try:
        visual.region_update(region=region, label=form.cleaned_data["label"], **form.fractions())
    except visual.RegionRefused as refused:
        form.add_error(None, refused.message)
        return _editor(request, source, bound=(region.pk, form), status=409)
    messages.success(request, _("Region “%(label)s” saved.") % {"label": region.label})
    return redirect(reverse("teach:source-regions", args=[source.pk]) + f"#region-{region.pk}")


@teacher_required
@require_POST
def region_delete(request, pk, region_id):
    source = _editable(request, pk)
    region = _region(source, region_id)
    try:
        visual.region_delete(region=region)
    except visual.RegionRefused as refused:
        messages.error(request, refused.message)
        return redirect(reverse("teach:source-regions", args=[source.pk]) + f"#region-{region.pk}")
    messages.success(request, _("Region “%(label)s” deleted.") % {"label": region.label})
    return redirect("teach:source-regions", source.pk)


@teacher_required
@require_POST
def region_move(request, pk, region_id):
    source = _editable(request, pk)
    region = _region(source, region_id)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        messages.error(request, _("Choose “Move up” or “Move down”."))
    else:
        visual.region_move(region=region, direction=direction)
    return redirect(reverse("teach:source-regions", args=[source.pk]) + f"#region-{region.pk}")


# --- The image itself ------------------------------------------------------------------------


def image_url(source, *, pupil: bool) -> str:
    """The URL of a source's image for pupils' or teachers' pages, versioned by its checksum so
    a replaced image is never served from a stale cache."""
    name = "learn:source-image" if pupil else "teach:source-image"
    version = (source.image_sha256 or hashlib.sha256(source.image.name.encode()).hexdigest())[:12]
    return f"{reverse(name, args=[source.pk])}?v={version}"


def _serve_image(request, pk):
    source = get_object_or_404(visual.image_sources_visible_to(request.user), pk=pk)
    etag = f'"{source.image_sha256}"' if source.image_sha256 else None
    if etag and request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        try:
            handle = source.image.open("rb")
        except (FileNotFoundError, OSError) as missing:
            raise Http404 from missing
        response = FileResponse(handle, content_type=content_type_for(source.image.name))
        response["Content-Disposition"] = content_disposition_header(
            False, f"{source.slug}.{source.image.name.rsplit('.', 1)[-1]}"
        )
    if etag:
        response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = f"private, max-age={IMAGE_CACHE_SECONDS}"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    # Opened on its own, the image is a document that can do nothing.
    response["Content-Security-Policy"] = (
        "default-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'; sandbox"
    )
    return response


@teacher_required
@require_GET
def source_image_for_teacher(request, pk):
    return _serve_image(request, pk)


@student_required
@require_GET
def source_image_for_pupil(request, pk):
    return _serve_image(request, pk)
