"""Photos to PDF: big camera photos are decoded at a reduced scale (libjpeg's DCT scaling)."""

from __future__ import annotations

import io

import pikepdf
import pytest
from PIL import Image

from sprechstunde.documents import conversion
from sprechstunde.documents.factories import jpeg_bytes


@pytest.mark.parametrize(
    ("size", "box"),
    [
        ((4000, 3000), (2000, 1500)),
        ((3000, 4000), (1500, 2000)),
        ((4001, 3001), (2000, 1501)),
        ((1200, 900), (1200, 900)),
    ],
)
def test_the_draft_box_keeps_the_photos_proportions(size, box):
    assert conversion._draft_box(size, 2000) == box


def test_a_big_photo_is_decoded_at_half_scale_before_it_is_scaled(monkeypatch, settings):
    settings.DOCUMENT_IMAGE_MAX_EDGE = 2000
    sizes_before_scaling: list[tuple[int, int]] = []
    thumbnail = Image.Image.thumbnail

    def spy(self: Image.Image, *args: object, **kwargs: object) -> None:
        sizes_before_scaling.append(self.size)
        thumbnail(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image.Image, "thumbnail", spy)
    # Stored sideways with EXIF "rotate 90° clockwise": upright it is portrait.
    converted = conversion.images_to_pdf([jpeg_bytes(4000, 3000, orientation=6)])

    # A square draft box kept the full 4000 x 3000 pixels for the resampling.
    assert sizes_before_scaling == [(1500, 2000)]
    with pikepdf.open(io.BytesIO(converted.data)) as pdf:
        image = next(iter(pdf.pages[0].get_images().values()))
        assert pikepdf.PdfImage(image).as_pil_image().size == (1500, 2000)
