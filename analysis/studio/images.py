"""Source images: checked with Pillow, re-encoded once, stored under a random name.

An upload (a teacher's form, or an image inside a .zip source pack) becomes a stored image
only through :func:`image_check` then :func:`image_store`:

* the bytes must be at most ``settings.SOURCE_IMAGE_MAX_BYTES`` (refused before decoding);
* Pillow must recognise them as PNG, JPEG or WebP — whatever the file's name, extension or
  Content-Type claims (SVG, GIF, a renamed text file are refused);
* the header's pixel count must be at most ``settings.SOURCE_IMAGE_MAX_PIXELS`` (decompression
  bombs: Pillow's own bomb check is made an error too);
* the file must verify and then decode completely (a truncated file is refused);
* it is re-encoded in its own format (PNG as PNG, JPEG at quality 88, WebP at quality 88) after
  applying the EXIF orientation, with every piece of metadata dropped (EXIF, GPS, ICC, XMP,
  comments), so what is stored and served is pixels only.

Nothing is written to storage until every check has passed; callers write the database row in
a transaction and remove the file again if that fails (:func:`image_discard`).
"""

from __future__ import annotations

import hashlib
import io
import secrets
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow format name -> (file extension, Content-Type)
ALLOWED_FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
CONTENT_TYPES = dict(ALLOWED_FORMATS.values())
JPEG_QUALITY = 88
WEBP_QUALITY = 88
UPLOAD_DIR = "sources"


class ImageRejected(Exception):
    """The file is not an image we accept; ``message`` says why, for the person who sent it."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class CheckedImage:
    content: bytes  # the re-encoded bytes, ready to store
    format: str  # "PNG" | "JPEG" | "WEBP"
    width: int
    height: int

    @property
    def extension(self) -> str:
        return ALLOWED_FORMATS[self.format][0]

    @property
    def content_type(self) -> str:
        return ALLOWED_FORMATS[self.format][1]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def read_limited(file) -> bytes:
    """At most one byte past the size limit from an open file (an upload, a zip member)."""
    return file.read(settings.SOURCE_IMAGE_MAX_BYTES + 1)


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.0f}"


def _too_many_pixels(width: int, height: int) -> ImageRejected:
    return ImageRejected(
        _(
            "The image is %(width)s × %(height)s pixels; the limit is %(limit)s megapixels. "
            "Save a smaller version and upload that."
        )
        % {"width": width, "height": height, "limit": _megapixels(settings.SOURCE_IMAGE_MAX_PIXELS)}
    )


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))


def image_check(data: bytes) -> CheckedImage:
    """Check ``data`` and return it re-encoded; raise :class:`ImageRejected` with a clear message."""
    limit = settings.SOURCE_IMAGE_MAX_BYTES
    if not data:
        raise ImageRejected(_("The file is empty. Choose a PNG, JPEG or WebP image."))
    if len(data) > limit:
        raise ImageRejected(
            _("The file is larger than %(limit)s MiB. Save a smaller version and upload that.")
            % {"limit": f"{limit / (1024 * 1024):g}"}
        )
    max_pixels = settings.SOURCE_IMAGE_MAX_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow warns above this and refuses above twice it
    not_an_image = ImageRejected(
        _(
            "This file is not a PNG, JPEG or WebP image (whatever its name says). SVG, GIF and "
            "other formats are not accepted: export the picture as PNG or JPEG and upload that."
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with _open(data) as probe:
                if probe.format not in ALLOWED_FORMATS:
                    raise not_an_image
                width, height = probe.size
                if width * height > max_pixels:
                    raise _too_many_pixels(width, height)
                probe.verify()
            with _open(data) as image:
                if getattr(image, "n_frames", 1) > 1:
                    raise ImageRejected(_("Animated images are not accepted. Upload a still image."))
                image.load()
                return _reencode(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as bomb:
            raise _too_many_pixels(*_header_size(data)) from bomb
        except UnidentifiedImageError as unknown:
            raise not_an_image from unknown
        except (OSError, SyntaxError, ValueError, EOFError) as broken:
            raise ImageRejected(
                _(
                    "The image could not be read completely: the file is damaged or cut short. "
                    "Save it again and upload the new copy."
                )
            ) from broken


def _header_size(data: bytes) -> tuple[int, int]:
    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with _open(data) as image:
            return image.size
    except Exception:  # noqa: BLE001 - only for the message
        return (0, 0)
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _reencode(image: Image.Image) -> CheckedImage:
    source_format = image.format
    upright = ImageOps.exif_transpose(image) or image
    upright.info = {}  # no EXIF, ICC profile, XMP, text chunks or comments are carried over
    out = io.BytesIO()
    if source_format == "PNG":
        upright.save(out, format="PNG", optimize=False)
    elif source_format == "JPEG":
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.save(out, format="JPEG", quality=JPEG_QUALITY)
    else:
        if upright.mode not in ("RGB", "RGBA"):
            upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
        upright.save(out, format="WEBP", quality=WEBP_QUALITY, method=4)
    width, height = upright.size
    return CheckedImage(content=out.getvalue(), format=source_format, width=width, height=height)


def image_store(checked: CheckedImage) -> str:
    """Write the checked image to the default storage under a random name; return the name."""
    name = f"{UPLOAD_DIR}/{secrets.token_hex(16)}.{checked.extension}"
    return default_storage.save(name, ContentFile(checked.content))


def image_discard(name: str) -> None:
    """Remove a stored image (after a failed write, or once nothing refers to it any more)."""
    if name:
        default_storage.delete(name)


def content_type_for(name: str) -> str:
    return CONTENT_TYPES.get(name.rsplit(".", 1)[-1].lower(), "application/octet-stream")
