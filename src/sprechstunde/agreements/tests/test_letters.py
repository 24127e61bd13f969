"""Issue 13, point 9: the invitation and appointment letters are PDF/A, in the client's
language and German, carry a QR code that decodes to their link, and put the address where a
DIN 5008 window envelope (form B) shows it."""

from __future__ import annotations

import datetime
import io
import re
import subprocess
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from django.conf import settings as django_settings
from django.test import Client as WebClient
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader
from tests.test_url_access import log_in

from sprechstunde.accounts.factories import ClientUserFactory
from sprechstunde.agreements import letters
from sprechstunde.appointments.choices import Channel
from sprechstunde.appointments.factories import AppointmentFactory
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients import services as client_services
from sprechstunde.clients.choices import InvitationChannel
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.clients.models import ConsentText, Invitation
from sprechstunde.signatures.tests.pdfs import pdfa_declaration

pytestmark = pytest.mark.django_db

ADDRESS = "Hauptstraße 5\nWohnung 3\n88212 Ravensburg"
MM = 72 / 25.4  # PDF points per millimetre
A4_HEIGHT = 297 * MM


def qr_codes(pdf: bytes) -> list[str]:
    """Every QR code on the first page, as read by a decoder from the rendered page image."""
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=4).to_pil()
    return [
        result.text
        for result in zxingcpp.read_barcodes(image)
        if result.format == zxingcpp.BarcodeFormat.QRCode
    ]


def text_of(pdf: bytes) -> str:
    raw = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(raw.split())


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    text = re.sub("[\u202a-\u202e\u2066-\u2069\u200e\u200f]", "", out.stdout.decode("utf-8"))
    return "".join(text.split())


def boxes_of(pdf: bytes, needle: str) -> list[tuple[float, float, float, float]]:
    """(left, top, right, bottom) of each `needle` on page 1, in mm from the top left."""
    page = pypdfium2.PdfDocument(pdf)[0]
    textpage = page.get_textpage()
    searcher = textpage.search(needle)
    found = []
    while match := searcher.get_next():
        index, count = match
        boxes = [textpage.get_charbox(i) for i in range(index, index + count)]
        found.append(
            (
                min(box[0] for box in boxes) / MM,
                (A4_HEIGHT - max(box[3] for box in boxes)) / MM,
                max(box[2] for box in boxes) / MM,
                (A4_HEIGHT - min(box[1] for box in boxes)) / MM,
            )
        )
    assert found, f"{needle!r} not on the first page"
    return found


def in_window(box: tuple[float, float, float, float]) -> bool:
    """Inside the address zone of DIN 5008 form B: 20..105 mm across, 62.7..90 mm down."""
    left, top, right, bottom = box
    return left >= 20 and right <= 105 and top >= 62.7 and bottom <= 90


@pytest.fixture(autouse=True)
def _jobcenter(settings):
    settings.JOBCENTER_NAME = "Jobcenter Sprechstunde-Test"
    settings.JOBCENTER_ADDRESS = "Marktplatz 1\n88212 Ravensburg"


@pytest.fixture
def ukrainian_client(case_manager):
    return ClientFactory(
        case_manager=case_manager,
        first_name="Olena",
        last_name="Kovalenko",
        email="olena@example.org",
        preferred_language="uk",
    )


def test_invitation_letter_is_pdfa_bilingual_with_a_readable_qr_in_the_window_layout(
    ukrainian_client, case_manager, tmp_path
):
    issued = client_services.invitation_letter_issue(client=ukrainian_client, actor=case_manager)
    pdf = letters.invitation_letter_pdf(
        invitation=issued.invitation, token=issued.token, address=ADDRESS
    )
    assert pdfa_declaration(pdf) == ("2", "B")
    link = letters.invitation_url(issued.token)
    assert issued.token in link
    assert qr_codes(pdf) == [link]
    flat = text_of(pdf)
    assert "".join(link.split()) in "".join(flat.split())  # printed, for typing in
    for language in ("uk", "de"):
        with translation.override(language):
            subject = translation.gettext("Your invitation to the Sprechstunde portal")
            kind = translation.gettext("Kind regards")
        assert subject in flat, language
        assert kind in flat, language
    with translation.override("uk"):
        assert translation.gettext("Kind regards") != "Kind regards"
    # DIN 5008 form B: name and address lines in the window, the return line above them.
    for line in ("Olena Kovalenko", "Hauptstraße 5", "88212 Ravensburg"):
        assert any(in_window(box) for box in boxes_of(pdf, line)), line
    [(_left, return_top, _right, return_bottom)] = boxes_of(pdf, "Marktplatz 1, 88212")
    assert return_top >= 45 and return_bottom <= 62.7


def test_arabic_appointment_letter_runs_right_to_left_and_embeds_its_fonts(case_manager, tmp_path):
    client = ClientFactory(
        case_manager=case_manager,
        first_name="Amal",
        last_name="Haddad",
        email="",
        mobile_number="",
        preferred_language="ar",
    )
    appointment = AppointmentFactory(
        case_manager=case_manager, client=client, channel=Channel.ON_SITE, location="Raum 12"
    )
    pdf = letters.appointment_letter_pdf(appointment=appointment, address=ADDRESS)
    assert pdfa_declaration(pdf) == ("2", "B")
    with translation.override("ar"):
        sentence = translation.gettext("We have made an appointment for you:")
    assert sentence != "We have made an appointment for you:"
    text = pdftotext(pdf, tmp_path)
    # Without the colon: pdftotext puts a neutral at the end of a right-to-left run first.
    assert "".join(sentence.rstrip(":").split()) in text
    assert "Raum12" in text
    assert qr_codes(pdf) == []  # no portal, no video: nothing a code could open
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    table = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    emb_at = table.stdout.splitlines()[0].index("emb")
    rows = [line for line in table.stdout.splitlines()[2:] if line.strip()]
    assert rows and all(row[emb_at : emb_at + 3] == "yes" for row in rows)
    html_dir = letters.render_to_string(
        "agreements/pdf/letter.html",
        {
            "parts": letters._parts(
                client=client,
                subject=letters._("Your appointment at the Jobcenter"),
                body_template="agreements/pdf/letter_appointment.html",
                context={"appointment": appointment, "starts_at": appointment.starts_at},
            ),
        },
    )
    assert '<section class="part" lang="ar" dir="rtl">' in html_dir
    assert '<section class="part part--german" lang="de" dir="ltr">' in html_dir


def test_video_appointment_letter_carries_the_join_link_as_qr(case_manager):
    client = ClientFactory(
        case_manager=case_manager, email="v@example.org", preferred_language="tr"
    )
    appointment = AppointmentFactory(
        case_manager=case_manager, client=client, channel=Channel.VIDEO
    )
    pdf = letters.appointment_letter_pdf(appointment=appointment, address=ADDRESS)
    join = letters.join_link_url(appointment=appointment)
    assert "/beitreten/" in join
    assert qr_codes(pdf) == [join]


def test_the_address_is_cut_to_what_the_window_holds():
    lines = letters.address_lines("  a  \r\n\n b \n c\n d\n e\n f\n g\n" + "x" * 100)
    assert lines == ["a", "b", "c", "d", "e"]
    assert letters.address_lines("y" * 100) == ["y" * letters.MAX_ADDRESS_LINE]


# --- Staff pages: the posting list, the downloads, the audit trail --------------------------


@pytest.fixture
def staff_browser(case_manager):
    browser = WebClient(headers={"accept-language": "en"})
    log_in(browser, case_manager)
    return browser


def test_posting_list_names_appointments_of_clients_without_email_or_mobile(
    staff_browser, case_manager, settings
):

    by_post = ClientFactory(
        case_manager=case_manager, first_name="Post", last_name="Only", email="", mobile_number=""
    )
    reachable = ClientFactory(case_manager=case_manager, first_name="Mail", last_name="Able")
    letter_due = AppointmentFactory(case_manager=case_manager, client=by_post)
    AppointmentFactory(
        case_manager=case_manager,
        client=reachable,
        starts_at=letter_due.starts_at + datetime.timedelta(hours=1),
    )
    sms_only = ClientFactory(
        case_manager=case_manager, first_name="Sms", last_name="Only", email=""
    )
    sms_only.mobile_number = "+491701234567"
    sms_only.save()
    sms_due = AppointmentFactory(
        case_manager=case_manager,
        client=sms_only,
        starts_at=letter_due.starts_at + datetime.timedelta(hours=2),
    )
    settings.SMS_GATEWAY_URL = ""
    page = staff_browser.get(reverse("agreements:postal_list")).content.decode()
    letter_url = reverse("agreements:appointment_letter", args=[letter_due.pk])
    assert letter_url in page
    assert "Post Only" in page and "Mail Able" not in page
    # No SMS gateway: a mobile number alone tells the client nothing, so she gets a letter.
    assert reverse("agreements:appointment_letter", args=[sms_due.pk]) in page
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"
    page = staff_browser.get(reverse("agreements:postal_list")).content.decode()
    assert reverse("agreements:appointment_letter", args=[sms_due.pk]) not in page
    assert letter_url in page
    assert "No letter printed yet." in page
    assert AuditEntry.objects.filter(action="postal_letter.list", actor_id=case_manager.pk).exists()

    refused = staff_browser.post(letter_url, {"address": "only one line"})
    assert refused.status_code == 400
    assert "at least the street and the postcode" in refused.content.decode()

    response = staff_browser.post(letter_url, {"address": ADDRESS})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert pdfa_declaration(response.content) == ("2", "B")
    assert "Post Only" in text_of(response.content)
    entry = AuditEntry.objects.get(action="appointment.letter")
    assert entry.target_id == str(letter_due.pk) and entry.client_id == by_post.pk
    page = staff_browser.get(reverse("agreements:postal_list")).content.decode()
    assert "Letter last printed on" in page


def test_the_appointment_page_and_the_client_page_offer_the_letters(staff_browser, case_manager):
    client = ClientFactory(case_manager=case_manager, email="c@example.org")
    appointment = AppointmentFactory(case_manager=case_manager, client=client)
    detail = staff_browser.get(reverse("appointments:detail", args=[appointment.pk]))
    assert (
        reverse("agreements:appointment_letter", args=[appointment.pk]) in detail.content.decode()
    )
    page = staff_browser.get(reverse("clients:detail", args=[client.pk])).content.decode()
    assert reverse("agreements:invitation_letter", args=[client.pk]) in page


def test_invitation_letter_link_from_the_qr_code_accepts_the_invitation(
    staff_browser, case_manager, ukrainian_client
):
    earlier = client_services.invitation_letter_issue(client=ukrainian_client, actor=case_manager)
    response = staff_browser.post(
        reverse("agreements:invitation_letter", args=[ukrainian_client.pk]), {"address": ADDRESS}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    [link] = qr_codes(response.content)
    token = link.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get(token_hash=Invitation.hash_token(token))
    assert invitation.channel == InvitationChannel.LETTER
    earlier.invitation.refresh_from_db()
    assert earlier.invitation.revoked_at is not None  # the older letter's link is void
    assert AuditEntry.objects.filter(
        action="invitation.letter", target_id=str(invitation.pk)
    ).exists()
    client = client_services.invitation_accept(
        token=token, purposes=["portal", "video", "electronic_delivery"], language="uk"
    )
    assert client.user is not None and client.preferred_language == "uk"


def test_invitation_letter_is_refused_for_a_client_already_in_the_portal(
    staff_browser, case_manager, ukrainian_client
):
    issued = client_services.invitation_letter_issue(client=ukrainian_client, actor=case_manager)
    client_services.invitation_accept(
        token=issued.token, purposes=["portal", "video", "electronic_delivery"], language="uk"
    )
    response = staff_browser.post(
        reverse("agreements:invitation_letter", args=[ukrainian_client.pk]), {"address": ADDRESS}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("clients:detail", args=[ukrainian_client.pk])


def test_a_german_client_gets_one_part_and_others_theirs_first_then_german(case_manager):
    german = ClientFactory(case_manager=case_manager, preferred_language="de")
    persian = ClientFactory(case_manager=case_manager, preferred_language="fa")
    subject = letters._("Your appointment at the Jobcenter")
    body = "agreements/pdf/letter_invitation.html"
    context = {"expires_on": datetime.date(2026, 12, 24)}
    [only] = letters._parts(client=german, subject=subject, body_template=body, context=context)
    assert (only.language, only.subject, only.rtl) == ("de", "Ihr Termin im Jobcenter", False)
    first, second = letters._parts(
        client=persian, subject=subject, body_template=body, context=context
    )
    assert (first.language, first.rtl, second.language) == ("fa", True, "de")
    assert first.subject == "نوبت شما در Jobcenter"
    assert "Mit freundlichen Grüßen" in second.html and "با احترام" in first.html


# --- a client with neither e-mail nor mobile number, invited by letter -------------------------


def _consent_ids(language: str) -> dict[str, str]:
    return {
        f"text_{text.purpose}": str(text.pk)
        for text in ConsentText.objects.filter(language=language, version=1)
    }


@pytest.fixture
def unreachable_client(case_manager):
    return ClientFactory(
        case_manager=case_manager,
        first_name="Olena",
        last_name="Kovalenko",
        email="",
        mobile_number="",
        preferred_language="uk",
    )


def _letter_token(staff_browser, client) -> str:
    response = staff_browser.post(
        reverse("agreements:invitation_letter", args=[client.pk]), {"address": ADDRESS}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    [link] = qr_codes(response.content)
    return link.rstrip("/").rsplit("/", 1)[1]


def test_a_client_without_any_contact_is_invited_by_letter_and_logs_in_with_her_address(
    staff_browser, case_manager, unreachable_client, mailoutbox
):
    page = staff_browser.get(reverse("clients:detail", args=[unreachable_client.pk]))
    page_text = page.content.decode()
    assert reverse("agreements:invitation_letter", args=[unreachable_client.pk]) in page_text
    assert "An invitation by letter invites her to the portal" in page_text
    token = _letter_token(staff_browser, unreachable_client)
    link = reverse("clients:invitation_accept", kwargs={"token": token})

    phone = WebClient()
    shown = phone.get(link)
    assert shown.status_code == 200
    assert shown["Content-Language"] == "uk"
    with translation.override("uk"):
        heading = translation.gettext("Where we send your login codes")
    assert heading != "Where we send your login codes"
    assert heading in shown.content.decode()
    assert 'name="email"' in shown.content.decode()
    assert 'name="mobile_number"' not in shown.content.decode()  # no SMS gateway here

    accepted = phone.post(
        link, {"consent_portal": "on", "email": " Olena@Example.ORG ", **_consent_ids("uk")}
    )
    assert accepted.status_code == 302
    assert accepted["Location"] == reverse("clients:invitation_accepted")
    unreachable_client.refresh_from_db()
    assert unreachable_client.email == "olena@example.org"
    assert unreachable_client.user.email == "olena@example.org"
    assert AuditEntry.objects.filter(
        action="client.contact_given", target_id=str(unreachable_client.pk)
    ).exists()
    after = phone.get(accepted["Location"]).content.decode()
    assert 'value="olena@example.org"' in after

    mailoutbox.clear()
    requested = phone.post(reverse("account_request_login_code"), {"email": "olena@example.org"})
    assert requested.status_code == 302
    [code_mail] = mailoutbox
    assert code_mail.to == ["olena@example.org"]
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", code_mail.body).group(1)
    home = phone.post(reverse("account_confirm_login_code"), {"code": code}, follow=True)
    assert home.redirect_chain[-1][0] == reverse("clients:portal_home")
    assert phone.session["_auth_user_id"] == str(unreachable_client.user_id)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("olena-at-example.org", "This is not a valid e-mail address."),
        ("", "Please enter your e-mail address."),
        ("Taken@example.org", "This e-mail address cannot be used here."),
        ("fm@jobcenter.example", "This e-mail address cannot be used here."),
    ],
)
def test_a_bad_or_foreign_address_is_refused_and_the_letter_link_still_works(
    staff_browser, case_manager, unreachable_client, typed, message
):
    ClientFactory(case_manager=case_manager, email="taken@example.org")
    token = _letter_token(staff_browser, unreachable_client)
    link = reverse("clients:invitation_accept", kwargs={"token": token})
    phone = WebClient(headers={"accept-language": "en"})
    phone.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    refused = phone.post(link, {"consent_portal": "on", "email": typed, **_consent_ids("en")})
    assert refused.status_code == 400
    assert message in refused.content.decode()
    unreachable_client.refresh_from_db()
    assert (unreachable_client.email, unreachable_client.user_id) == ("", None)
    assert not unreachable_client.consents.exists()
    assert not AuditEntry.objects.filter(action="client.contact_given").exists()
    invitation = Invitation.objects.get(token_hash=Invitation.hash_token(token))
    assert invitation.accepted_at is None and invitation.revoked_at is None
    again = phone.post(
        link, {"consent_portal": "on", "email": "olena@example.org", **_consent_ids("en")}
    )
    assert again.status_code == 302
    unreachable_client.refresh_from_db()
    assert unreachable_client.email == "olena@example.org"


def test_the_refusal_reads_in_the_clients_language(staff_browser, case_manager, unreachable_client):
    token = _letter_token(staff_browser, unreachable_client)
    link = reverse("clients:invitation_accept", kwargs={"token": token})
    refused = WebClient().post(
        link, {"consent_portal": "on", "email": "not-an-address", **_consent_ids("uk")}
    )
    assert refused.status_code == 400
    with translation.override("uk"):
        message = translation.gettext(
            "This is not a valid e-mail address. Please write it like name@example.org."
        )
    assert message != "This is not a valid e-mail address. Please write it like name@example.org."
    assert message in refused.content.decode()


def test_posting_list_names_clients_to_invite_by_letter_until_they_use_the_portal(
    staff_browser, case_manager, unreachable_client, settings
):
    settings.SMS_GATEWAY_URL = ""
    ClientFactory(case_manager=case_manager, first_name="Mail", last_name="Able")  # has e-mail
    ClientFactory(first_name="Fremd", last_name="Anders", email="")  # not her caseload
    closed = ClientFactory(case_manager=case_manager, first_name="Zu", last_name="Ende", email="")
    closed.case_closed_at = closed.created_at
    closed.save()
    letter_url = reverse("agreements:invitation_letter", args=[unreachable_client.pk])

    page = staff_browser.get(reverse("agreements:postal_list")).content.decode()
    section = page.split('id="invitation-letters-heading"', 1)[1]
    assert "Olena Kovalenko" in section and letter_url in section
    assert "No invitation letter printed yet." in section
    for name in ("Mail Able", "Fremd Anders", "Zu Ende"):
        assert name not in section, name
    assert AuditEntry.objects.filter(
        action="postal_letter.list", target_type="clients.invitation", actor_id=case_manager.pk
    ).exists()

    token = _letter_token(staff_browser, unreachable_client)
    page = staff_browser.get(reverse("agreements:postal_list")).content.decode()
    section = page.split('id="invitation-letters-heading"', 1)[1]
    assert "Invitation letter printed on" in section and "Olena Kovalenko" in section

    assert Invitation.objects.get(token_hash=Invitation.hash_token(token)).channel == "letter"
    # Once she has her portal account, she is no longer listed.
    unreachable_client.user = ClientUserFactory()
    unreachable_client.save()
    page = staff_browser.get(reverse("agreements:postal_list")).content.decode()
    section = page.split('id="invitation-letters-heading"', 1)[1]
    assert "Olena Kovalenko" not in section
    assert "No invitation letter to send." in section
