"""Turning received photos into the PDF everyone reads: one multi-page PDF, upright by their
EXIF orientation, scaled down, converted to sRGB and re-encoded as JPEG without any metadata
(no EXIF and GPS, no XMP, no ICC profile) and without whatever followed the image's end.
A received PDF is rebuilt by `pdf_rebuild.rebuild_pdf`."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from django.conf import settings
from PIL import Image, ImageCms, ImageOps

from .file_checks import FileRefused


@dataclass
class ConvertedPdf:
    """The PDF bytes, its page count, what was removed, and its metadata for staff."""

    data: bytes
    pages: int
    removed: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)


def _prepare_image(data: bytes) -> Image.Image:
    """Decode one photo: upright, RGB, the long edge at most DOCUMENT_IMAGE_MAX_EDGE."""
    max_edge = int(settings.DOCUMENT_IMAGE_MAX_EDGE)
    with Image.open(io.BytesIO(data)) as opened:
        if opened.width * opened.height > settings.DOCUMENT_MAX_IMAGE_PIXELS:
            raise FileRefused("image too large")
        # JPEG can decode at 1/2, 1/4, 1/8 size directly (libjpeg's DCT scaling): far less
        # memory and time for big photos. Pillow picks the smallest scale that still covers
        # the requested box in both directions, so the box has the photo's own proportions
        # (a square box would keep a 4000 x 3000 photo at full size).
        opened.draft("RGB", _draft_box(opened.size, max_edge))
        image = ImageOps.exif_transpose(opened)
        image.load()
    image = _to_srgb(image)
    if image.mode in {"RGBA", "LA", "P", "PA"}:
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    # Only pixels go on: EXIF (GPS), XMP and the ICC profile stay behind.
    image.info.clear()
    return image


def _draft_box(size: tuple[int, int], max_edge: int) -> tuple[int, int]:
    """The smallest box a decoded photo must still fill for a long edge of `max_edge`."""
    width, height = size
    long_edge = max(width, height, 1)
    if long_edge <= max_edge:
        return (width, height)
    return (-(-width * max_edge // long_edge), -(-height * max_edge // long_edge))


def _to_srgb(image: Image.Image) -> Image.Image:
    """Colours in sRGB (a phone's Display P3 photo would look dull without its profile,
    which is not copied). A profile that cannot be read is ignored."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in {"RGB", "RGBA", "CMYK"}:
        return image
    try:
        converted = ImageCms.profileToProfile(
            image,
            ImageCms.ImageCmsProfile(io.BytesIO(profile)),
            ImageCms.createProfile("sRGB"),
            outputMode="RGBA" if image.mode == "RGBA" else "RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image
    return converted if converted is not None else image


def images_to_pdf(images: list[bytes]) -> ConvertedPdf:
    """One PDF page per photo, in the given order, at ~150 dpi for an A4-like size."""
    pages = [_prepare_image(data) for data in images]
    out = io.BytesIO()
    first, rest = pages[0], pages[1:]
    # 2000 px on the long edge over 297 mm ≈ 170 dpi: prints at about A4 size.
    resolution = max(first.size) / 11.69
    first.save(
        out,
        format="PDF",
        save_all=True,
        append_images=rest,
        resolution=resolution,
        quality=int(settings.DOCUMENT_JPEG_QUALITY),
        title="",
        producer="Sprechstunde",
    )
    for page in pages:
        page.close()
    return ConvertedPdf(data=out.getvalue(), pages=len(pages))
