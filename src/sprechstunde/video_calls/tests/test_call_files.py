"""Photos and PDFs in the call's chat (ADR 0057): each becomes a message with that attachment
in the client's conversation, through the documents app's checks (real clamd); everyone in
the call sees it appear, interpreters only learn that a file was shared; who is no part of
the call, a bad type, a file too large or a guest still waiting changes nothing."""

from __future__ import annotations

import datetime
import json
from unittest import mock

import pytest
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from sprechstunde.appointments.links import join_link_token
from sprechstunde.audit.models import AuditEntry
from sprechstunde.documents.choices import DocumentStatus
from sprechstunde.documents.factories import jpeg_bytes, pdf_bytes
from sprechstunde.documents.models import Document, UploadSession
from sprechstunde.documents.testing import photo_jpeg
from sprechstunde.messaging.models import Message, MessageAttachment
from sprechstunde.video_calls import join_links, services
from sprechstunde.video_calls.choices import ParticipantRole

from .conftest import browser_for, communicator, receive_until, run, session_cookie, ws_path

WAIT = 10


def files_url(appointment) -> str:
    return reverse("video_calls:files", kwargs={"appointment_pk": appointment.pk})


def photo(name="zettel.jpg", data=None, content_type="image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else jpeg_bytes(), content_type)


def in_call(appointment, user, role):
    """`user`'s participant in the appointment's call, let in by the case manager."""
    call = services.call_get_or_create(appointment=appointment)
    host = services.participant_for_user(
        call=call, user=appointment.case_manager, role=ParticipantRole.STAFF
    )
    participant = services.participant_for_user(call=call, user=user, role=role)
    if role != ParticipantRole.STAFF:
        services.participant_admit(host=host, participant_id=participant.pk)
    return participant


def nothing_stored() -> bool:
    return not (
        Message.objects.exists() or Document.objects.exists() or UploadSession.objects.exists()
    )


# --- over the websocket: who sees what --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_clients_photo_reaches_staff_and_the_interpreter_learns_only_that_one_was_shared(
    documents_configured, call, case_manager, portal_client
):
    appointment = call.appointment
    _invitation, token = services.interpreter_invite(
        actor=case_manager, appointment=appointment, kind="spoken", language="Arabisch"
    )
    link = reverse("video_calls:interpreter", kwargs={"token": token})
    interpreter_browser = browser_for(None)
    interpreter_browser.get(link)
    interpreter_browser.post(link, {"display_name": "Ina Dolmetsch"})
    interpreter_cookie = interpreter_browser.cookies["sessionid"].value
    client_browser = browser_for(portal_client.user)
    host_cookie = session_cookie(case_manager)
    client_cookie = client_browser.cookies["sessionid"].value

    def post_photo():
        return client_browser.post(files_url(appointment), {"file": photo("mietvertrag.jpg")})

    async def scenario():
        host = communicator(ws_path(call), cookie=host_cookie)
        assert (await host.connect())[0]
        await host.receive_json_from(timeout=WAIT)
        guest = communicator(ws_path(call), cookie=client_cookie)
        assert (await guest.connect())[0]
        guest_welcome = await guest.receive_json_from(timeout=WAIT)
        await host.send_json_to({"type": "admit", "participant": guest_welcome["me"]})
        await receive_until(guest, "roster", timeout=WAIT)
        interpreter = communicator(ws_path(call), cookie=interpreter_cookie)
        assert (await interpreter.connect())[0]
        interpreter_welcome = await interpreter.receive_json_from(timeout=WAIT)
        await host.send_json_to({"type": "admit", "participant": interpreter_welcome["me"]})
        await receive_until(interpreter, "roster", timeout=WAIT)

        response = await database_sync_to_async(post_photo)()
        host_frame, _ = await receive_until(host, "chat", timeout=WAIT)
        guest_frame, _ = await receive_until(guest, "chat", timeout=WAIT)
        interpreter_frame, _ = await receive_until(interpreter, "chat", timeout=WAIT)
        for socket in (host, guest, interpreter):
            await socket.disconnect()
        return response, guest_welcome["me"], host_frame, guest_frame, interpreter_frame

    response, client_id, host_frame, guest_frame, interpreter_frame = run(scenario)

    assert response.status_code == 201, response.content
    attachment = MessageAttachment.objects.select_related("message", "document").get()
    assert response.json() == {"id": attachment.pk}
    # It is a message of the client's conversation, and a checked document of her file.
    message = attachment.message
    assert message.conversation.client == portal_client
    assert message.sender == portal_client.user and message.body == ""
    document = attachment.document
    assert document.client == portal_client and document.uploaded_by == portal_client.user
    assert document.status == DocumentStatus.READY
    # Staff and the client see the file in the call's chat, with the client's name.
    for frame in (host_frame, guest_frame):
        assert frame["from"] == client_id and frame["name"] == "Kim Kunde"
        assert frame["file"] == {"id": attachment.pk, "name": "mietvertrag.jpg"}
    # The interpreter learns that something was shared, not what or where.
    assert "file" not in interpreter_frame
    assert "mietvertrag" not in json.dumps(interpreter_frame)
    assert "only the client and the case manager" in interpreter_frame["text"]
    assert interpreter_frame["name"] == "Kim K."
    # Nor can they ask for its state.
    answer = interpreter_browser.get(files_url(appointment), {"id": attachment.pk})
    assert answer.status_code == 404
    assert AuditEntry.objects.filter(action="video_call.file_send").count() == 1


# --- the view -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_share_a_pdf_and_both_sides_see_its_state(
    documents_configured,
    appointment,
    case_manager,
    portal_client,
    django_capture_on_commit_callbacks,
):
    in_call(appointment, portal_client.user, ParticipantRole.CLIENT)
    in_call(appointment, case_manager, ParticipantRole.STAFF)
    staff = browser_for(case_manager)
    pdf = photo("merkblatt.pdf", pdf_bytes(pages=1), "application/pdf")
    with django_capture_on_commit_callbacks(execute=True):  # the scan and the previews
        response = staff.post(files_url(appointment), {"file": pdf})
    assert response.status_code == 201, response.content
    attachment = MessageAttachment.objects.select_related("message", "document").get()
    assert attachment.message.sender == case_manager
    assert attachment.document.client == portal_client

    # Staff get a thumbnail and a link that opens the document beside the call.
    answer = staff.get(files_url(appointment), {"id": attachment.pk}).json()
    (shown,) = answer["files"]
    assert shown["id"] == attachment.pk and shown["state"] == "ready"
    detail = reverse("documents:detail", kwargs={"pk": attachment.document.pk})
    assert f'href="{detail}"' in shown["html"] and 'target="_blank"' in shown["html"]
    assert reverse("documents:preview", args=[attachment.document.pk, 1]) in shown["html"]
    # The client (logged in) too; an id of another conversation gives nothing.
    other = browser_for(portal_client.user)
    answer = other.get(files_url(appointment), {"id": [attachment.pk, attachment.pk + 99]})
    assert [f["id"] for f in answer.json()["files"]] == [attachment.pk]


@pytest.mark.django_db
def test_a_phone_photo_larger_than_one_upload_piece_is_taken(
    documents_configured, appointment, portal_client
):
    in_call(appointment, portal_client.user, ParticipantRole.CLIENT)
    data = photo_jpeg(size=(1200, 1600), band=(240, 240, 235), grain=4.0)
    assert len(data) > 2 * documents_configured.DOCUMENT_UPLOAD_CHUNK_BYTES
    response = browser_for(portal_client.user).post(
        files_url(appointment), {"file": photo("foto.jpg", data)}
    )
    assert response.status_code == 201, response.content
    assert MessageAttachment.objects.get().document.original_name == "foto.jpg"


@pytest.mark.django_db
def test_another_clients_call_is_not_found_and_nothing_is_stored(
    documents_configured, appointment, foreign_appointment, portal_client, other_case_manager
):
    in_call(appointment, portal_client.user, ParticipantRole.CLIENT)
    in_call(foreign_appointment, foreign_appointment.client.user, ParticipantRole.CLIENT)
    response = browser_for(portal_client.user).post(
        files_url(foreign_appointment), {"file": photo()}
    )
    assert response.status_code == 404
    # Another case manager cannot share into this client's call either.
    response = browser_for(other_case_manager).post(files_url(appointment), {"file": photo()})
    assert response.status_code == 404
    assert browser_for(None).post(files_url(appointment), {"file": photo()}).status_code == 404
    assert nothing_stored()
    assert AuditEntry.objects.filter(action="video_call.access_denied").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("upload", "reason"),
    [
        (photo("programm.exe", b"MZ\x90\x00" + b"\x00" * 200, "image/jpeg"), "not accepted"),
        (photo("brief.txt", b"Hallo, hier ist mein Brief.", "text/plain"), "not accepted"),
        (photo("leer.jpg", b"", "image/jpeg"), "choose a photo or PDF"),
    ],
)
def test_a_file_the_documents_app_does_not_take_is_refused_clearly(
    documents_configured, appointment, portal_client, upload, reason
):
    in_call(appointment, portal_client.user, ParticipantRole.CLIENT)
    response = browser_for(portal_client.user).post(files_url(appointment), {"file": upload})
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert nothing_stored()


@pytest.mark.django_db
def test_a_file_too_large_is_refused_and_nothing_is_stored(
    documents_configured, appointment, portal_client
):
    documents_configured.DOCUMENT_MAX_BYTES = 2000
    in_call(appointment, portal_client.user, ParticipantRole.CLIENT)
    data = jpeg_bytes()
    assert len(data) > 2000
    response = browser_for(portal_client.user).post(
        files_url(appointment), {"file": photo(data=data)}
    )
    assert response.status_code == 400
    assert "too large" in response.json()["error"]
    assert nothing_stored()


@pytest.mark.django_db
def test_a_client_still_in_the_waiting_room_cannot_share(
    documents_configured, appointment, portal_client
):
    call = services.call_get_or_create(appointment=appointment)
    services.participant_for_user(call=call, user=portal_client.user, role=ParticipantRole.CLIENT)
    response = browser_for(portal_client.user).post(files_url(appointment), {"file": photo()})
    assert response.status_code == 403
    assert "let in" in response.json()["error"]
    assert nothing_stored()


@pytest.mark.django_db
def test_the_client_who_came_by_the_join_link_shares_and_sees_the_state_without_a_login(
    documents_configured, appointment, portal_client, django_capture_on_commit_callbacks
):
    phone = browser_for(None)
    token = join_link_token(appointment=appointment)
    assert phone.get(reverse("video_calls:join_link", kwargs={"token": token})).status_code == 302
    in_call(appointment, portal_client.user, ParticipantRole.CLIENT)
    with django_capture_on_commit_callbacks(execute=True):
        response = phone.post(files_url(appointment), {"file": photo()})
    assert response.status_code == 201, response.content
    attachment = MessageAttachment.objects.select_related("message").get()
    assert attachment.message.sender == portal_client.user
    (shown,) = phone.get(files_url(appointment), {"id": attachment.pk}).json()["files"]
    # The documents' own pages need the code login: the state, without a link to them.
    assert shown["state"] == "ready" and "href" not in shown["html"]
    assert "zettel.jpg" in shown["html"]
    assert not phone.get(reverse("clients:portal_home")).wsgi_request.user.is_authenticated


# --- the join link between 30 and 15 minutes before the start --------------------------------


@pytest.mark.django_db
def test_the_link_opened_early_shows_the_pre_join_check_with_the_time_and_joins_later(
    appointment,
):
    starts = appointment.starts_at
    phone = browser_for(None)
    link = reverse(
        "video_calls:join_link", kwargs={"token": join_link_token(appointment=appointment)}
    )
    early = starts - datetime.timedelta(minutes=20)
    # django.utils.timezone.now, as every module here reads it
    with mock.patch.object(join_links.timezone, "now", return_value=early):
        assert phone.get(link).status_code == 302
        response = phone.get(reverse("video_calls:call", kwargs={"appointment_pk": appointment.pk}))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="prejoin"' in content and 'id="preview"' in content  # the device check works
    assert 'id="prejoin-opens"' in content
    opens = timezone.localtime(starts - datetime.timedelta(minutes=15))
    assert opens.strftime("%H:%M") in content
    for button in ("join-camera", "join-audio", "join-button"):
        tag = content.split(f'id="{button}"', 1)[1].split(">", 1)[0]
        assert "disabled" in tag, button
    config = response.context["call_config"]
    # Five minutes until the call opens (by the server's clock), and the module that waits.
    assert 300 <= config["opensIn"] <= 302
    assert config["opening"].endswith("video_calls/call/opening.js")

    # Once it is open, the same page (no reload needed) is an ordinary call page.
    response = phone.get(reverse("video_calls:call", kwargs={"appointment_pk": appointment.pk}))
    assert "opensIn" not in response.context["call_config"]
    assert 'id="prejoin-opens"' not in response.content.decode()
