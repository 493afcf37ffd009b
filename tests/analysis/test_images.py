"""Visual sources: image uploads checked and re-encoded, the protected image view, regions
(editor, refusals once cited) and pupils' region evidence."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from analysis.classwork import services as work
from analysis.classwork.errors import EvidenceRejected
from analysis.models import Evidence, Region, Source
from analysis.studio.images import ImageRejected, image_check
from tests import factories

pytestmark = pytest.mark.django_db


def stored_files() -> set[str]:
    try:
        return set(default_storage.listdir("sources")[1])
    except FileNotFoundError:
        return set()


def jpeg_with_exif(size=(60, 20), orientation=6) -> bytes:
    image = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation  # rotate 90° clockwise to display
    exif[0x010F] = "SecretCam"  # Make
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"a comment")
    return out.getvalue()


def huge_png() -> bytes:
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, format="PNG")
    return out.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
GIF = bytes.fromhex(
    "4749463839610100010080000000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


# --- The checks ------------------------------------------------------------------------------


def test_a_jpeg_is_turned_upright_and_loses_its_metadata():
    checked = image_check(jpeg_with_exif())
    assert (checked.format, checked.width, checked.height) == ("JPEG", 20, 60)  # orientation applied
    with Image.open(io.BytesIO(checked.content)) as image:
        assert not image.getexif()
        assert "comment" not in image.info and "exif" not in image.info


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"just some text, renamed to photo.png", "not a PNG, JPEG or WebP image"),
        (SVG, "SVG, GIF and other formats are not accepted"),
        (GIF, "not a PNG, JPEG or WebP image"),
        (b"", "empty"),
    ],
)
def test_files_that_are_not_accepted_images_are_refused_with_a_reason(data, words):
    with pytest.raises(ImageRejected) as refused:
        image_check(data)
    assert words in refused.value.message


def test_a_decompression_bomb_is_refused_by_its_pixel_count():
    with pytest.raises(ImageRejected) as refused:
        image_check(huge_png())
    assert "20000 × 20000 pixels; the limit is 40 megapixels" in refused.value.message


def test_a_truncated_image_is_refused():
    whole = image_check(jpeg_with_exif((300, 300))).content
    with pytest.raises(ImageRejected) as refused:
        image_check(whole[: len(whole) // 2])
    assert "damaged or cut short" in refused.value.message


def test_an_oversized_file_is_refused_before_decoding(settings):
    settings.SOURCE_IMAGE_MAX_BYTES = 100
    with pytest.raises(ImageRejected) as refused:
        image_check(factories.png_bytes((200, 200), (1, 2, 3)) + b"\0" * 200)
    assert "larger than" in refused.value.message


# --- Authoring -------------------------------------------------------------------------------

FORM = {
    "title": "Grace Hopper, 1984",
    "author": "United States Navy",
    "date_text": "20 January 1984",
    "publication": "Official portrait",
    "kind": "photograph",
    "alt_text": "A woman in naval uniform.",
    "rights": "Public domain",
}


def post_image(client, data: bytes, name="photo.png", content_type="image/png", **extra):
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(reverse("teach:image-source-create"), {**FORM, **extra, "upload": upload})


@pytest.mark.parametrize(
    ("data", "name", "content_type", "words"),
    [
        (b"hello, I am a text file", "photo.png", "image/png", "not a PNG, JPEG or WebP image"),
        (SVG, "drawing.png", "image/png", "SVG, GIF and other formats are not accepted"),
        (None, "bomb.png", "image/png", "the limit is 40 megapixels"),
    ],
)
def test_a_bad_upload_is_refused_and_nothing_is_written(teacher_client, data, name, content_type, words):
    before = stored_files()
    response = post_image(teacher_client, huge_png() if data is None else data, name, content_type)
    assert response.status_code == 422
    assert words in response.content.decode()
    assert not Source.objects.exists()
    assert stored_files() == before


def test_alt_text_is_required_with_an_image(teacher_client):
    response = post_image(teacher_client, factories.png_bytes(), alt_text="")
    assert response.status_code == 422
    assert not Source.objects.exists()


def test_a_teacher_creates_an_image_source_of_their_own(teacher_client, teacher):
    response = post_image(
        teacher_client, factories.png_bytes((64, 48)), name="x.jpeg", content_type="image/jpeg"
    )
    source = Source.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("teach:source-regions", args=[source.pk])
    assert (source.owner, source.school, source.slug) == (teacher, teacher.school, "grace-hopper-1984")
    assert (source.image_width, source.image_height) == (64, 48)
    # Stored under a random name, as the format it really is (PNG), not what the upload claimed.
    assert source.image.name.startswith("sources/") and source.image.name.endswith(".png")
    assert "x.jpeg" not in source.image.name


# --- Serving ---------------------------------------------------------------------------------


def test_the_owner_gets_the_image_with_its_real_type_and_private_caching(teacher_client, teacher):
    source = factories.make_image_source(owner=teacher)
    response = teacher_client.get(reverse("teach:source-image", args=[source.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("private")
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_a_private_image_is_not_there_for_other_schools_or_pupils_without_it(client, teacher, student):
    source = factories.make_image_source(owner=teacher)
    other_school = factories.make_teacher(school=factories.make_school())
    colleague = factories.make_teacher()
    for user, name in ((other_school, "teach"), (colleague, "teach"), (student, "learn")):
        client.force_login(user)
        assert client.get(reverse(f"{name}:source-image", args=[source.pk])).status_code == 404
    source.shared = True
    source.save()
    client.force_login(colleague)
    assert client.get(reverse("teach:source-image", args=[source.pk])).status_code == 200
    client.force_login(other_school)
    assert client.get(reverse("teach:source-image", args=[source.pk])).status_code == 404


def test_pupils_see_an_image_once_an_assignment_uses_it(client, teacher, student, school_class):
    source = factories.make_image_source(owner=teacher)
    client.force_login(student)
    url = reverse("learn:source-image", args=[source.pk])
    assert client.get(url).status_code == 404
    factories.make_assignment(classroom=school_class, exercise=factories.make_exercise(sources=[source]))
    assert client.get(url).status_code == 200


def test_site_library_images_are_for_anyone_logged_in(client, student):
    source = factories.make_image_source(owner=None)
    client.force_login(student)
    assert client.get(reverse("learn:source-image", args=[source.pk])).status_code == 200
    client.logout()
    assert client.get(reverse("learn:source-image", args=[source.pk])).status_code == 302


# --- Regions ---------------------------------------------------------------------------------


def region_body(prefix, label, x, y, w, h):
    return {f"{prefix}-label": label, f"{prefix}-x": x, f"{prefix}-y": y, f"{prefix}-w": w, f"{prefix}-h": h}


def test_a_region_typed_in_percent_is_stored_as_fractions(teacher_client, teacher):
    source = factories.make_image_source(owner=teacher, regions=())
    url = reverse("teach:source-regions", args=[source.pk])
    response = teacher_client.post(url, region_body("new", "The medals", "10", "20", "30.5", "40"))
    assert response.status_code == 302
    region = source.regions.get()
    assert (region.label, region.x, region.y, region.w, region.h) == ("The medals", 0.1, 0.2, 0.305, 0.4)
    page = teacher_client.get(url).content.decode()
    assert "The medals" in page


def test_a_region_off_the_image_is_refused(teacher_client, teacher):
    source = factories.make_image_source(owner=teacher, regions=())
    url = reverse("teach:source-regions", args=[source.pk])
    response = teacher_client.post(url, region_body("new", "Too wide", "60", "0", "50", "10"))
    assert response.status_code == 422
    assert "runs off the image" in response.content.decode()
    assert not source.regions.exists()


def test_another_teachers_regions_are_not_there(client, teacher, other_teacher):
    source = factories.make_image_source(owner=teacher)
    client.force_login(other_teacher)
    assert client.get(reverse("teach:source-regions", args=[source.pk])).status_code == 404


def test_regions_can_be_reordered_and_deleted(teacher_client, teacher):
    source = factories.make_image_source(
        owner=teacher, regions=(("One", 0, 0, 0.1, 0.1), ("Two", 0.5, 0.5, 0.1, 0.1))
    )
    one, two = source.regions.all()
    teacher_client.post(reverse("teach:region-move", args=[source.pk, two.pk]), {"direction": "up"})
    assert [r.label for r in source.regions.all()] == ["Two", "One"]
    teacher_client.post(reverse("teach:region-delete", args=[source.pk, two.pk]))
    assert [(r.label, r.position) for r in source.regions.all()] == [("One", 0)]


@pytest.fixture
def image_assignment(teacher, school_class):
    source = factories.make_image_source(
        owner=teacher, regions=(("The face", 0.3, 0.1, 0.4, 0.4), ("The medals", 0.2, 0.6, 0.3, 0.2))
    )
    exercise = factories.make_exercise(sources=[source])
    return factories.make_assignment(classroom=school_class, exercise=exercise)


def test_moving_or_deleting_a_cited_region_is_refused(teacher_client, teacher, student, image_assignment):
    submission = work.submission_start(assignment=image_assignment, student=student)
    response = submission.responses.order_by("question__position").last()
    region = Region.objects.get(label="The face")
    work.evidence_add_region(response_id=response.pk, student=student, region_id=region.pk)
    source = region.source
    edit = reverse("teach:region-edit", args=[source.pk, region.pk])
    refused = teacher_client.post(edit, region_body(f"r{region.pk}", "The face", "35", "10", "40", "40"))
    assert refused.status_code == 409
    assert "cannot be moved or resized" in refused.content.decode()
    region.refresh_from_db()
    assert region.x == 0.3
    renamed = teacher_client.post(edit, region_body(f"r{region.pk}", "Her face", "30", "10", "40", "40"))
    assert renamed.status_code == 302
    assert Region.objects.get(pk=region.pk).label == "Her face"
    deleted = teacher_client.post(reverse("teach:region-delete", args=[source.pk, region.pk]), follow=True)
    assert "cannot be deleted" in deleted.content.decode()
    assert Region.objects.filter(pk=region.pk).exists()


# --- Region evidence -------------------------------------------------------------------------


def test_a_pupil_cites_a_region_through_the_service(student, image_assignment):
    submission = work.submission_start(assignment=image_assignment, student=student)
    response = submission.responses.order_by("question__position").last()
    region = Region.objects.get(label="The medals")
    evidence, created = work.evidence_add_region(
        response_id=response.pk, student=student, region_id=region.pk
    )
    again, created_again = work.evidence_add_region(
        response_id=response.pk, student=student, region_id=region.pk
    )
    assert (created, created_again, again.pk) == (True, False, evidence.pk)
    assert (evidence.region, evidence.passage, evidence.quote) == (region, None, "The medals")


def test_a_region_of_another_exercises_source_is_refused(student, image_assignment, teacher):
    submission = work.submission_start(assignment=image_assignment, student=student)
    response = submission.responses.first()
    elsewhere = factories.make_image_source(owner=teacher).regions.get()
    with pytest.raises(EvidenceRejected):
        work.evidence_add_region(response_id=response.pk, student=student, region_id=elsewhere.pk)
    assert not Evidence.objects.exists()


def test_the_workspace_shows_the_image_and_a_cited_region_chip(student_client, student, image_assignment):
    workspace = reverse("learn:workspace", args=[image_assignment.pk])
    page = student_client.get(workspace).content.decode()
    assert reverse("learn:source-image", args=[image_assignment.exercise.sources.get().pk]) in page
    assert "Cite region: The face" in page
    response = work.submission_start(assignment=image_assignment, student=student).responses.last()
    region = Region.objects.get(label="The face")
    url = reverse("learn:evidence-add", args=[image_assignment.pk, response.pk])
    reply = student_client.post(url, {"region": region.pk}, HTTP_HX_REQUEST="true")
    assert reply.status_code == 200
    assert "Source A, region: The face" in reply.content.decode()
    assert "Region “The face” cited in question" in reply["HX-Trigger"].encode().decode("unicode_escape")
    other = factories.make_image_source(owner=None).regions.get()
    refused = student_client.post(url, {"region": other.pk}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 422
    assert Evidence.objects.filter(region=region).count() == 1
    # Without JavaScript: a redirect back, the chip on the page.
    plain = student_client.post(url, {"region": region.pk}, follow=True)
    assert "Source A, region: The face" in plain.content.decode()


def test_the_teacher_sees_cited_regions_outlined_on_the_marking_page(
    teacher_client, student, image_assignment
):
    submission = work.submission_start(assignment=image_assignment, student=student)
    response = submission.responses.order_by("question__position").last()
    region = Region.objects.get(label="The medals")
    work.evidence_add_region(response_id=response.pk, student=student, region_id=region.pk)
    work.submission_submit(submission=submission)
    page = teacher_client.get(
        reverse("teach:submission-mark", args=[image_assignment.pk, submission.pk])
    ).content.decode()
    assert f'visual__outline visual__outline--cited" data-region-outline="{region.pk}"' in page
    assert "region: The medals" in page
    insight = teacher_client.get(
        reverse("teach:assignment-insight", args=[image_assignment.pk])
    ).content.decode()
    assert "cited by 1 student" in insight


# --- Packs: .zip with pack.yaml and images/ -------------------------------------------------

import zipfile  # noqa: E402
from pathlib import Path  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from analysis.library.packs import PackInvalid, pack_export_zip, pack_import_any  # noqa: E402

HOPPER = Path(settings.BASE_DIR) / "fixtures" / "grace-hopper-1984.zip"
HOPPER_SLUG = "grace-hopper-navy-portrait-1984"


def make_zip(entries: dict[str, bytes], *, symlinks=()) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name)
            if name in symlinks:
                info.external_attr = (0o120777) << 16
            archive.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def hopper_yaml() -> str:
    with zipfile.ZipFile(HOPPER) as archive:
        return archive.read("pack.yaml").decode()


def test_the_demo_pack_round_trips_byte_for_byte(tmp_path):
    call_command("import_sources", str(HOPPER), stdout=io.StringIO())
    source = Source.objects.get(slug=HOPPER_SLUG)
    stored = source.image.name
    assert (source.image_width, source.image_height, source.regions.count()) == (512, 600, 4)
    first, second = tmp_path / "first.zip", tmp_path / "second.zip"
    call_command(
        "export_sources", "--exercise", "grace-hopper-portrait", "-o", str(first), stderr=io.StringIO()
    )
    out = io.StringIO()
    call_command("import_sources", str(first), stdout=out)
    assert "images: 1 unchanged; regions: 4 unchanged" in out.getvalue()
    call_command(
        "export_sources", "--exercise", "grace-hopper-portrait", "-o", str(second), stderr=io.StringIO()
    )
    assert first.read_bytes() == second.read_bytes()
    assert Source.objects.get(slug=HOPPER_SLUG).image.name == stored  # not re-encoded again
    with zipfile.ZipFile(first) as archive:
        assert archive.namelist() == ["pack.yaml", f"images/{HOPPER_SLUG}.jpg"]
        assert archive.read(f"images/{HOPPER_SLUG}.jpg") == source.image.open("rb").read()


@pytest.mark.parametrize(
    ("entries", "symlinks", "words"),
    [
        ({"pack.yaml": b"", "../evil.png": b"x"}, (), "no absolute paths, no '..'"),
        ({"pack.yaml": b"", "/etc/evil.png": b"x"}, (), "no absolute paths, no '..'"),
        ({"pack.yaml": b"", "images/../../evil.png": b"x"}, (), "no absolute paths, no '..'"),
        ({"pack.yaml": b"", "images/link.png": b"/etc/passwd"}, ("images/link.png",), "symbolic links"),
        ({"images/a.png": b"x"}, (), "no pack.yaml"),
    ],
)
def test_a_zip_with_unsafe_names_is_refused_before_anything_is_read(entries, symlinks, words):
    before = stored_files()
    with pytest.raises(PackInvalid) as refused:
        pack_import_any(data=make_zip(entries, symlinks=symlinks), filename="pack.zip")
    assert words in str(refused.value)
    assert not Source.objects.exists() and stored_files() == before


def test_a_zip_bomb_is_refused_by_its_uncompressed_size(settings):
    settings.SOURCE_PACK_ZIP_MAX_BYTES = 1_000_000
    bomb = make_zip({"pack.yaml": b"sources: []\n", "images/bomb.png": b"\0" * 5_000_000})
    assert len(bomb) < 20_000
    with pytest.raises(PackInvalid) as refused:
        pack_import_any(data=bomb, filename="bomb.zip")
    assert "would unpack to 5000012 bytes" in str(refused.value)


def test_too_many_files_are_refused(settings):
    settings.SOURCE_PACK_ZIP_MAX_FILES = 3
    entries = {"pack.yaml": b""} | {f"images/{n}.png": b"x" for n in range(5)}
    with pytest.raises(PackInvalid) as refused:
        pack_import_any(data=make_zip(entries), filename="many.zip")
    assert "holds 6 entries; the limit is 3" in str(refused.value)


def test_a_bad_image_in_a_pack_is_refused_at_its_line_and_nothing_is_written():
    text = hopper_yaml()
    before = stored_files()
    data = make_zip({"pack.yaml": text.encode(), "images/grace-hopper-1984.jpg": SVG})
    with pytest.raises(PackInvalid) as refused:
        pack_import_any(data=data, filename="bad.zip")
    error = next(e for e in refused.value.errors if e.field == "sources[0].image")
    assert "SVG, GIF and other formats are not accepted" in error.message
    assert error.line == text.split("\n").index("    image: images/grace-hopper-1984.jpg") + 1
    assert not Source.objects.exists() and stored_files() == before


def test_an_image_needs_a_zip_pack():
    from analysis.library.packs import pack_import

    with pytest.raises(PackInvalid) as refused:
        pack_import(data=hopper_yaml().encode(), filename="pack.yaml")
    assert "an image travels in a .zip pack" in str(refused.value)


def test_reimporting_a_pack_that_moves_a_cited_region_is_refused(student, school_class):
    call_command("import_sources", str(HOPPER), stdout=io.StringIO())
    source = Source.objects.get(slug=HOPPER_SLUG)
    assignment = factories.make_assignment(classroom=school_class, exercise=source.exercises.get())
    submission = work.submission_start(assignment=assignment, student=student)
    flag = source.regions.get(position=0)
    work.evidence_add_region(response_id=submission.responses.last().pk, student=student, region_id=flag.pk)
    exported = pack_export_zip(exercise_slugs=["grace-hopper-portrait"])
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        text = archive.read("pack.yaml").decode().replace("w: 0.3\n", "w: 0.35\n", 1)
        image = archive.read(f"images/{HOPPER_SLUG}.jpg")
    moved = make_zip({"pack.yaml": text.encode(), f"images/{HOPPER_SLUG}.jpg": image})
    with pytest.raises(PackInvalid) as refused:
        pack_import_any(data=moved, filename="moved.zip")
    assert "cannot be moved or resized" in str(refused.value)
    assert Region.objects.get(pk=flag.pk).w == 0.3


def test_the_admin_cannot_move_a_cited_region_either(student, image_assignment):
    from django.core.exceptions import ValidationError

    submission = work.submission_start(assignment=image_assignment, student=student)
    region = Region.objects.get(label="The face")
    work.evidence_add_region(response_id=submission.responses.last().pk, student=student, region_id=region.pk)
    region.x = 0.35
    with pytest.raises(ValidationError, match="cannot be moved or resized"):
        region.full_clean()
    region.x, region.label = 0.3, "Her face"
    region.full_clean()  # relabelling is fine


def test_another_teachers_private_source_is_not_in_the_library(client, teacher, other_teacher):
    source = factories.make_image_source(owner=teacher, title="My private poster")
    client.force_login(other_teacher)
    assert "My private poster" not in client.get(reverse("sources:source-list")).content.decode()
    assert client.get(reverse("sources:source-detail", args=[source.slug])).status_code == 404
    client.force_login(teacher)
    page = client.get(reverse("sources:source-detail", args=[source.slug])).content.decode()
    assert reverse("teach:source-regions", args=[source.pk]) in page


def test_image_source_slugs_do_not_collide_across_teachers(client, teacher, other_teacher):
    for user in (teacher, other_teacher):
        client.force_login(user)
        post_image(client, factories.png_bytes())
    assert sorted(Source.objects.values_list("slug", flat=True)) == [
        "grace-hopper-1984",
        "grace-hopper-1984-2",
    ]
