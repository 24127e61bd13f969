"""Received PDFs are rebuilt from an allow-list, photos re-encoded without metadata, and the
file as received is only an evidence copy for staff.

The corpus (`pdf_corpus.ACTIVE_CORPUS`) goes through the real pipeline (clamd, rebuild,
previews, encrypted storage); the served PDF is then walked object by object."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from django.urls import reverse
from PIL import Image, ImageChops, ImageCms, ImageStat

from sprechstunde.audit.models import AuditEntry
from sprechstunde.documents import selectors, services
from sprechstunde.documents.choices import DocumentStatus
from sprechstunde.documents.factories import jpeg_bytes, pdf_bytes
from sprechstunde.documents.models import Document
from sprechstunde.documents.pdf_rebuild import PdfRebuildError, rebuild_pdf

from .conftest import browser_for
from .pdf_corpus import ACTIVE_CORPUS, PAYLOAD, active_content_tokens, base_pdf, filled_form

pytestmark = pytest.mark.django_db(transaction=True)


def received(tmp_path: Path, name: str, data: bytes) -> services.ReceivedFile:
    path = tmp_path / f"in-{len(list(tmp_path.iterdir()))}"
    path.write_bytes(data)
    return services.ReceivedFile(path=path, name=name)


def upload(client, tmp_path: Path, name: str, data: bytes) -> Document:
    document = services.document_create(
        uploader=client.user, client=client, files=[received(tmp_path, name, data)]
    )
    document.refresh_from_db()
    return document


def render_first_page(data: bytes) -> Image.Image:
    document = pdfium.PdfDocument(data)
    try:
        page = document[0]
        bitmap = page.render(scale=1.0, may_draw_forms=False)
        image = bitmap.to_pil().convert("RGB")
        bitmap.close()
        page.close()
    finally:
        document.close()
    return image


def largest_difference(first: Image.Image, second: Image.Image) -> int:
    assert first.size == second.size
    extrema = ImageStat.Stat(ImageChops.difference(first, second)).extrema
    return max(high for _low, high in extrema)


@pytest.mark.parametrize("variant", sorted(ACTIVE_CORPUS))
def test_the_walk_finds_active_content_in_every_received_sample(variant):
    """The check below can fail: on the file as received it finds what the probe found."""
    assert active_content_tokens(ACTIVE_CORPUS[variant]())


@pytest.mark.parametrize("variant", sorted(ACTIVE_CORPUS))
def test_served_pdf_holds_no_active_content_and_looks_the_same(
    variant, portal_client, case_manager, tmp_path
):
    data = ACTIVE_CORPUS[variant]()
    document = upload(portal_client, tmp_path, f"{variant}.pdf", data)
    assert document.status == DocumentStatus.READY, document.refusal_reason
    assert document.sanitised_detail  # the staff note says what was left out
    served = browser_for(case_manager).get(reverse("documents:download", args=[document.pk]))
    assert served.status_code == 200
    assert active_content_tokens(served.content) == set()
    assert PAYLOAD.encode() not in served.content
    assert largest_difference(render_first_page(data), render_first_page(served.content)) <= 8
    # The client gets the same rebuilt PDF, and the page images come from it.
    own = selectors.document_file_for_user(user=portal_client.user, document=document)
    assert own.data == served.content


def test_rebuilt_page_keeps_text_images_fonts_and_plain_links():
    """A PDF as office software writes it (WeasyPrint: embedded font subsets, a transparent
    PNG with a soft mask, gradients, a web link and an internal link, bookmarks)."""
    import base64

    import weasyprint

    png = io.BytesIO()
    Image.new("RGBA", (80, 60), (200, 20, 20, 128)).save(png, "PNG")
    html = (
        '<body style="font-family: DejaVu Sans"><h1>Bescheinigung über Einkünfte \u2013 ß €</h1>'
        '<p><a href="https://example.org/nachweis">Nachweis</a> <a href="#two">weiter</a></p>'
        '<div style="width:300px;height:80px;background:linear-gradient(90deg,red,blue);'
        'opacity:0.6"></div>'
        f'<img src="data:image/png;base64,{base64.b64encode(png.getvalue()).decode()}">'
        '<p id="two" style="page-break-before: always">Seite zwei</p></body>'
    )
    data = weasyprint.HTML(string=html).write_pdf()
    rebuilt = rebuild_pdf(data)
    assert rebuilt.pages == 2
    assert largest_difference(render_first_page(data), render_first_page(rebuilt.data)) <= 8
    assert rebuilt.metadata["links"] == "https://example.org/nachweis"
    assert "bookmarks" in rebuilt.removed
    with pikepdf.open(io.BytesIO(rebuilt.data)) as pdf:
        assert set(pdf.Root.keys()) == {"/Type", "/Pages"}
        (link,) = pdf.pages[0].obj.Annots
        assert set(link.A.keys()) <= {"/Type", "/S", "/URI"}
        assert (link.A.S, str(link.A.URI)) == ("/URI", "https://example.org/nachweis")
        assert "/Annots" not in pdf.pages[1].obj
        assert "/Metadata" not in pdf.Root
    text = pdfium.PdfDocument(rebuilt.data)[0].get_textpage().get_text_range()
    assert "Bescheinigung über Einkünfte \u2013 ß" in text  # text stays searchable (ToUnicode)


def test_a_filled_in_form_keeps_its_values_visible_without_its_fields():
    rebuilt = rebuild_pdf(filled_form())
    assert rebuilt.removed == ["form fields"]
    with pikepdf.open(io.BytesIO(rebuilt.data)) as pdf:
        assert "/AcroForm" not in pdf.Root
        assert "/Annots" not in pdf.pages[0].obj
    document = pdfium.PdfDocument(rebuilt.data)
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    assert "Erika Mustermann" in text


def test_javascript_uri_links_are_not_kept():
    pdf = base_pdf()
    pdf.pages[0].obj.Annots = pikepdf.Array(
        [
            pikepdf.Dictionary(
                Type=pikepdf.Name.Annot,
                Subtype=pikepdf.Name.Link,
                Rect=pikepdf.Array([0, 0, 10, 10]),
                A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("javascript:alert(1)")),
            )
        ]
    )
    out = io.BytesIO()
    pdf.save(out)
    rebuilt = rebuild_pdf(out.getvalue())
    assert b"javascript:" not in rebuilt.data
    assert "links" not in rebuilt.metadata


def test_a_self_referencing_form_xobject_and_an_unreadable_pdf():
    pdf = base_pdf()
    form = pikepdf.Stream(pdf, b"0 0 10 10 re f /Fm0 Do")
    form.Type, form.Subtype, form.BBox = pikepdf.Name.XObject, pikepdf.Name.Form, [0, 0, 10, 10]
    form = pdf.make_indirect(form)
    form.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Fm0=form))
    pdf.pages[0].obj.Resources.XObject.Fm0 = form
    out = io.BytesIO()
    pdf.save(out)
    rebuilt = rebuild_pdf(out.getvalue())
    with pikepdf.open(io.BytesIO(rebuilt.data)) as opened:
        copied = opened.pages[0].obj.Resources.XObject.Fm0
        assert copied.Resources.XObject.Fm0.objgen == copied.objgen
    with pytest.raises(PdfRebuildError):
        rebuild_pdf(b"%PDF-1.7\nnot really")


def test_staff_page_says_what_was_left_out_and_offers_only_the_evidence_copy(
    portal_client, case_manager, tmp_path
):
    document = upload(portal_client, tmp_path, "aktiv.pdf", ACTIVE_CORPUS["uri-next-launch"]())
    page = browser_for(case_manager).get(reverse("documents:detail", args=[document.pk]))
    text = page.content.decode()
    assert 'id="document-rebuilt"' in text
    assert "Launch actions" in text
    assert "Removed from the PDF" not in text
    assert reverse("documents:download_original", args=[document.pk]) in text
    # The client sees the rebuilt PDF only: no evidence copy, no technical details.
    client_page = browser_for(portal_client.user).get(
        reverse("documents:detail", args=[document.pk])
    )
    assert reverse("documents:download_original", args=[document.pk]) not in (
        client_page.content.decode()
    )


def test_evidence_copy_is_a_warned_post_for_staff_and_audited(
    portal_client, case_manager, tmp_path
):
    data = ACTIVE_CORPUS["openaction-js"]()
    document = upload(portal_client, tmp_path, "beleg.pdf", data)
    url = reverse("documents:download_original", args=[document.pk])
    staff = browser_for(case_manager)
    warning = staff.get(url)
    assert warning.status_code == 200
    assert b"it may contain active content" in warning.content
    assert b"csrfmiddlewaretoken" in warning.content
    assert not AuditEntry.objects.filter(action="document.evidence_download").exists()
    copy = staff.post(url)
    assert copy.status_code == 200
    assert copy.content == data  # exactly as received
    assert copy["Content-Disposition"].startswith("attachment;")
    assert copy["Content-Security-Policy"] == "default-src 'none'; sandbox"
    entry = AuditEntry.objects.get(action="document.evidence_download")
    assert (entry.actor_id, entry.target_id) == (case_manager.pk, str(document.pk))
    # A cross-site POST without the CSRF token is refused.
    from django.test import Client as TestClient

    strict = TestClient(enforce_csrf_checks=True)
    strict.force_login(case_manager)
    assert strict.post(url).status_code == 403
    # The client who sent it gets neither the page nor the file.
    own = browser_for(portal_client.user)
    assert own.get(url).status_code == 404
    assert own.post(url).status_code == 404
    assert AuditEntry.objects.filter(action="document.evidence_download").count() == 1


def test_photo_is_served_without_metadata_or_appended_data(portal_client, case_manager, tmp_path):
    """EXIF with GPS, XMP, an ICC profile and a ZIP after the image's end: none of it is in
    the PDF, the page images or any download; only the evidence copy holds it."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker-Secret"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><secret-xmp-marker/></x:xmpmeta>'
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo = io.BytesIO()
    Image.open(io.BytesIO(jpeg_bytes(800, 600))).save(
        photo, "JPEG", exif=exif.tobytes(), xmp=xmp, icc_profile=icc
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as appended:
        appended.writestr("geheim.txt", "hidden-zip-marker")
    data = photo.getvalue() + archive.getvalue()
    assert b"PhoneMaker-Secret" in data and b"secret-xmp-marker" in data
    document = upload(portal_client, tmp_path, "foto.jpg", data)
    assert document.status == DocumentStatus.READY
    browser = browser_for(portal_client.user)
    served = [
        browser.get(reverse("documents:download", args=[document.pk])).content,
        browser.get(reverse("documents:preview", args=[document.pk, 1])).content,
    ]
    with pikepdf.open(io.BytesIO(served[0])) as pdf:
        image = next(iter(pdf.pages[0].get_images().values()))
        served.append(image.read_raw_bytes())
        embedded = Image.open(io.BytesIO(served[-1]))
        assert not {"exif", "icc_profile", "xmp"} & set(embedded.info)
    for content in served:
        for marker in (b"PhoneMaker", b"Exif", b"secret-xmp-marker", b"ICC_PROFILE", b"PK\x03\x04"):
            assert marker not in content
    assert (
        browser.get(reverse("documents:download_original", args=[document.pk])).status_code == 404
    )
    evidence = browser_for(case_manager).post(
        reverse("documents:download_original", args=[document.pk])
    )
    assert evidence.content == data


def test_a_plain_pdf_has_nothing_left_out(portal_client, tmp_path):
    document = upload(portal_client, tmp_path, "brief.pdf", pdf_bytes(2))
    assert document.status == DocumentStatus.READY
    assert document.sanitised_detail == ""


def test_documents_processed_before_get_their_pdf_rebuilt(portal_client, tmp_path, storage_dir):
    """A document from before the rebuild: its stored PDF still holds the JavaScript."""
    from django.core.management import call_command

    from sprechstunde.documents import storage_crypto

    data = ACTIVE_CORPUS["goto-openaction-next-js"]()
    document = upload(portal_client, tmp_path, "alt.pdf", data)
    data_key = storage_crypto.unwrap_key(bytes(document.wrapped_key), document.key_id)
    rebuilt_name = document.pdf_storage_name
    old_name = storage_crypto.blob_write(data, data_key=data_key, kind="pdf")
    Document.objects.filter(pk=document.pk).update(pdf_storage_name=old_name, sanitised_detail="")
    storage_crypto.blob_delete(rebuilt_name)
    document.refresh_from_db()
    before = selectors.document_file_for_user(user=portal_client.user, document=document)
    assert active_content_tokens(before.data)

    assert services.documents_rebuild_pdfs() == {"rebuilt": 1, "unchanged": 0, "failed": 0}
    document.refresh_from_db()
    after = selectors.document_file_for_user(user=portal_client.user, document=document)
    assert active_content_tokens(after.data) == set()
    assert "JavaScript" in document.sanitised_detail
    assert not (storage_dir / old_name).exists()
    assert AuditEntry.objects.filter(action="document.pdf_rebuild").count() == 1
    call_command("documents_rebuild_pdfs", stdout=io.StringIO())
    assert AuditEntry.objects.filter(action="document.pdf_rebuild").count() == 1


def test_damaged_samples_are_rebuilt_clean_or_refused():
    """Bytes of the corpus changed at random (fixed seed): every outcome is a clean PDF or
    PdfRebuildError, never another exception."""
    import random

    rng = random.Random(20261207)
    samples = [make() for make in ACTIVE_CORPUS.values()]
    for _case in range(150):
        data = bytearray(rng.choice(samples))
        for _change in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            rebuilt = rebuild_pdf(bytes(data))
        except PdfRebuildError:
            continue
        assert active_content_tokens(rebuilt.data) == set()
