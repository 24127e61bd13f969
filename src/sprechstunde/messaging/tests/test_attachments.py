"""Photos and PDFs attached to messages: they go through the documents app's pipeline (real
clamd via `documents_configured`), belong to the client's file, are all-or-nothing with their
message, and are seen exactly by who may see the conversation and the document."""

from __future__ import annotations

import io
import os
import re
import uuid

import pytest
from django.core import mail
from django.urls import reverse

from sprechstunde.audit.models import AuditEntry
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.documents import services as document_services
from sprechstunde.documents.choices import DocumentStatus, ScanStatus, Side
from sprechstunde.documents.factories import EICAR, jpeg_bytes, pdf_bytes
from sprechstunde.documents.models import Document, UploadSession
from sprechstunde.messaging import frames, selectors, services
from sprechstunde.messaging.choices import MESSAGE_MAX_ATTACHMENTS
from sprechstunde.messaging.models import Message, MessageAttachment

from .conftest import browser_for, communicator, receive_until, run, session_cookie, ws_path

pytestmark = pytest.mark.django_db

PORTAL_URL = "/nachrichten/portal/"


def finished_upload(owner, client, data: bytes, name: str = "foto.jpg") -> str:
    """A resumable upload of the documents app, complete, as attach.js leaves it."""
    session = document_services.upload_session_create(
        owner=owner, client=client, original_name=name, expected_size=len(data)
    )
    document_services.upload_chunk_append(session=session, offset=0, stream=io.BytesIO(data))
    return session.pk


def send_with(conversation, sender, upload_ids, body="Mein Widerspruch", message_id=None):
    return services.message_send(
        conversation=conversation,
        sender=sender,
        body=body,
        client_msg_id=message_id or uuid.uuid4(),
        attachment_upload_ids=upload_ids,
    )


def states_url(conversation) -> str:
    return reverse("messaging:attachment_states", kwargs={"conversation_pk": conversation.pk})


# --- the service -----------------------------------------------------------------------------


def test_the_client_attaches_a_photo_and_a_pdf_which_become_checked_documents_of_their_file(
    documents_configured, conversation, portal_client, django_capture_on_commit_callbacks
):
    client_user = portal_client.user
    uploads = [
        finished_upload(client_user, portal_client, jpeg_bytes(), "widerspruch.jpg"),
        finished_upload(client_user, portal_client, pdf_bytes(pages=2), "nachweis.pdf"),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        message = send_with(conversation, client_user, uploads)

    attachments = list(message.attachments.select_related("document").order_by("position"))
    assert [a.document.original_name for a in attachments] == ["widerspruch.jpg", "nachweis.pdf"]
    for attachment in attachments:
        document = attachment.document
        assert document.client == portal_client
        assert document.uploaded_by == client_user
        assert document.uploaded_by_side == Side.CLIENT
        assert (document.status, document.scan_status) == (DocumentStatus.READY, ScanStatus.CLEAN)
        assert document.previews.exists()
        assert frames.attachment_state(attachment) == frames.ATTACHMENT_READY
    assert not UploadSession.objects.exists()
    assert AuditEntry.objects.filter(action="message.send").count() == 1
    assert AuditEntry.objects.filter(action="document.upload").count() == 2


def test_a_message_with_attachments_may_go_without_words_but_not_one_without_either(
    documents_configured, conversation, portal_client
):
    upload = finished_upload(portal_client.user, portal_client, jpeg_bytes())
    message = send_with(conversation, portal_client.user, [upload], body="  ")
    assert message.body == ""
    assert message.attachments.count() == 1
    with pytest.raises(ApplicationError):
        send_with(conversation, portal_client.user, [], body="  ")


def test_one_refused_file_refuses_the_whole_message_and_the_uploads_stay_for_another_try(
    documents_configured, conversation, portal_client
):
    client_user = portal_client.user
    good = finished_upload(client_user, portal_client, jpeg_bytes(), "gut.jpg")
    bad = finished_upload(client_user, portal_client, b"Just some text, no picture.", "x.jpg")

    with pytest.raises(ApplicationError) as refused:
        send_with(conversation, client_user, [good, bad])

    assert "x.jpg" in str(refused.value.message)
    assert not Message.objects.exists()
    assert not Document.objects.exists()
    assert UploadSession.objects.filter(pk__in=[good, bad]).count() == 2
    # Without the refused file the same uploads go through.
    message = send_with(conversation, client_user, [good])
    assert message.attachments.get().document.original_name == "gut.jpg"


def test_a_virus_is_refused_after_the_message_was_sent_and_the_message_says_so(
    documents_configured, conversation, portal_client, django_capture_on_commit_callbacks
):
    # EICAR in a PDF comment passes the structural checks; clamd finds it afterwards.
    infected = pdf_bytes(1).replace(b"%%EOF", b"%" + EICAR + b"\n%%EOF")
    upload = finished_upload(portal_client.user, portal_client, infected, "virus.pdf")
    with django_capture_on_commit_callbacks(execute=True):
        message = send_with(conversation, portal_client.user, [upload])
    attachment = message.attachments.select_related("document").get()
    assert attachment.document.scan_status == ScanStatus.INFECTED
    assert frames.attachment_state(attachment) == frames.ATTACHMENT_REFUSED


def test_at_most_five_attachments_per_message(documents_configured, conversation, portal_client):
    uploads = [
        finished_upload(portal_client.user, portal_client, jpeg_bytes(), f"{n}.jpg")
        for n in range(MESSAGE_MAX_ATTACHMENTS + 1)
    ]
    with pytest.raises(ApplicationError):
        send_with(conversation, portal_client.user, uploads)
    assert not Message.objects.exists() and not Document.objects.exists()
    assert send_with(conversation, portal_client.user, uploads[:MESSAGE_MAX_ATTACHMENTS])


def test_a_resend_returns_the_stored_message_and_makes_no_second_document(
    documents_configured, conversation, portal_client
):
    message_id = uuid.uuid4()
    upload = finished_upload(portal_client.user, portal_client, jpeg_bytes())
    first = send_with(conversation, portal_client.user, [upload], message_id=message_id)
    again = send_with(conversation, portal_client.user, [upload], message_id=message_id)
    assert again.pk == first.pk
    assert Document.objects.count() == 1 and MessageAttachment.objects.count() == 1


def test_someone_elses_upload_cannot_be_attached(
    documents_configured, conversation, portal_client, case_manager
):
    staff_upload = finished_upload(case_manager, portal_client, jpeg_bytes())
    with pytest.raises(ApplicationError):
        send_with(conversation, portal_client.user, [staff_upload])
    assert UploadSession.objects.filter(pk=staff_upload).exists()
    # The case manager attaches it themself.
    message = send_with(conversation, case_manager, [staff_upload])
    assert message.attachments.get().document.uploaded_by_side == Side.STAFF


def test_the_attachment_is_visible_to_the_conversation_and_no_one_else(
    documents_configured,
    conversation,
    portal_client,
    case_manager,
    other_case_manager,
    foreign_client,
    team_lead,
):
    upload = finished_upload(portal_client.user, portal_client, jpeg_bytes())
    attachment = send_with(conversation, portal_client.user, [upload]).attachments.get()

    for reader in (case_manager, portal_client.user, team_lead):
        found = selectors.attachment_list_for_user(
            user=reader, conversation=conversation, ids=[attachment.pk]
        )
        assert found == [attachment]
    for stranger in (other_case_manager, foreign_client.user):
        with pytest.raises(PermissionDeniedError):
            selectors.attachment_list_for_user(
                user=stranger, conversation=conversation, ids=[attachment.pk]
            )
    # Asked through another conversation, the attachment is not there.
    foreign = services.conversation_get_or_create(client=foreign_client)
    assert (
        selectors.attachment_list_for_user(
            user=foreign_client.user, conversation=foreign, ids=[attachment.pk]
        )
        == []
    )
    assert AuditEntry.objects.filter(action="message_attachment.list").count() == 3


def test_the_notice_mail_names_no_file(documents_configured, conversation, portal_client, settings):
    settings.MESSAGE_NOTICE_DELAY_SECONDS = 0
    mail.outbox.clear()
    upload = finished_upload(portal_client.user, portal_client, jpeg_bytes(), "kontoauszug.jpg")
    message = send_with(conversation, portal_client.user, [upload], body="Anbei")
    assert services.message_notice_deliver(message_id=message.pk) == "sent"
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert "kontoauszug" not in sent.subject + sent.body
    assert "Anbei" not in sent.body


# --- the pages -------------------------------------------------------------------------------


def test_the_client_posts_a_message_with_an_upload_and_both_sides_see_the_ready_attachment(
    documents_configured,
    conversation,
    portal_client,
    case_manager,
    django_capture_on_commit_callbacks,
):
    phone = browser_for(portal_client.user)
    upload = finished_upload(portal_client.user, portal_client, jpeg_bytes(), "beleg.jpg")
    with django_capture_on_commit_callbacks(execute=True):
        response = phone.post(
            PORTAL_URL,
            {
                "body": "Beleg anbei",
                "client_msg_id": str(uuid.uuid4()),
                "attachment_ids": [upload],
            },
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 201, response.content
    assert response.json() == {"sequence": 1}
    document = Document.objects.get()
    assert document.status == DocumentStatus.READY

    staff_page = browser_for(case_manager).get(
        reverse("messaging:client_conversation", kwargs={"client_pk": portal_client.pk})
    )
    html = staff_page.content.decode()
    assert 'data-attachment-state="ready"' in html
    assert f'href="{reverse("documents:detail", kwargs={"pk": document.pk})}"' in html
    assert f'src="{reverse("documents:preview", kwargs={"pk": document.pk, "page": 1})}"' in html
    assert "beleg.jpg" in html
    # And the document page opens for the case manager.
    opened = browser_for(case_manager).get(reverse("documents:detail", kwargs={"pk": document.pk}))
    assert opened.status_code == 200


def test_the_case_manager_attaches_a_pdf_and_a_team_lead_who_only_reads_cannot(
    documents_configured, conversation, portal_client, case_manager, team_lead
):
    staff_url = reverse("messaging:client_conversation", kwargs={"client_pk": portal_client.pk})
    upload = finished_upload(case_manager, portal_client, pdf_bytes(pages=1), "bescheid.pdf")
    response = browser_for(case_manager).post(
        staff_url,
        {"body": "", "client_msg_id": str(uuid.uuid4()), "attachment_ids": [upload]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201, response.content
    document = Message.objects.get().attachments.get().document
    assert (document.client, document.uploaded_by) == (portal_client, case_manager)

    # The team lead reads only: the pipeline refuses their upload, the page their post.
    with pytest.raises(PermissionDeniedError):
        finished_upload(team_lead, portal_client, jpeg_bytes(), "lead.jpg")
    response = browser_for(team_lead).post(
        staff_url,
        {"body": "x", "client_msg_id": str(uuid.uuid4()), "attachment_ids": ["abc"]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 404
    assert Message.objects.count() == 1 and Document.objects.count() == 1


def test_a_refused_upload_answers_with_the_reason_and_stores_nothing(
    documents_configured, conversation, portal_client
):
    phone = browser_for(portal_client.user)
    bad = finished_upload(portal_client.user, portal_client, b"%PDF-1.4 broken", "kaputt.pdf")
    response = phone.post(
        PORTAL_URL,
        {"body": "Hier", "client_msg_id": str(uuid.uuid4()), "attachment_ids": [bad]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert "kaputt.pdf" in response.json()["error"]
    assert not Message.objects.exists() and not Document.objects.exists()


def test_without_javascript_the_form_posts_the_files(
    documents_configured, conversation, portal_client
):
    phone = browser_for(portal_client.user)
    photo = io.BytesIO(jpeg_bytes())
    photo.name = "foto.jpg"
    response = phone.post(
        PORTAL_URL,
        {"body": "", "client_msg_id": str(uuid.uuid4()), "attachment_files": [photo]},
    )
    assert response.status_code == 302
    message = Message.objects.get()
    assert message.attachments.get().document.original_name == "foto.jpg"
    assert not UploadSession.objects.exists()


def test_without_javascript_a_photo_of_some_megabytes_is_taken_in_pieces(
    documents_configured, conversation, portal_client, settings
):
    """Django keeps a posted file of up to 2.5 MB in memory and hands it back in one chunk;
    the form must still feed the upload in the pieces it accepts."""
    from PIL import Image

    noise = Image.frombytes("RGB", (1300, 1000), os.urandom(1300 * 1000 * 3))
    out = io.BytesIO()
    noise.save(out, format="JPEG", quality=95)
    data = out.getvalue()
    # More than a resumable upload takes in one piece, less than Django keeps in memory.
    assert (
        2 * settings.DOCUMENT_UPLOAD_CHUNK_BYTES < len(data) < settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    )
    photo = io.BytesIO(data)
    photo.name = "bescheinigung.jpg"

    response = browser_for(portal_client.user).post(
        PORTAL_URL,
        {"body": "", "client_msg_id": str(uuid.uuid4()), "attachment_files": [photo]},
    )

    assert response.status_code == 302
    document = Message.objects.get().attachments.get().document
    assert document.original_name == "bescheinigung.jpg"
    assert not UploadSession.objects.exists()


def test_without_javascript_a_refused_file_shows_the_reason_and_leaves_nothing(
    documents_configured, conversation, portal_client
):
    phone = browser_for(portal_client.user)
    text = io.BytesIO(b"not a photo at all")
    text.name = "notiz.jpg"
    response = phone.post(
        PORTAL_URL,
        {"body": "Hallo", "client_msg_id": str(uuid.uuid4()), "attachment_files": [text]},
    )
    assert response.status_code == 400
    assert "notiz.jpg" in response.content.decode()
    assert not Message.objects.exists()
    assert not Document.objects.exists() and not UploadSession.objects.exists()


def test_the_form_offers_photos_and_pdfs_and_the_portal_the_camera(
    conversation, portal_client, case_manager
):
    portal = browser_for(portal_client.user).get(PORTAL_URL).content.decode()
    staff = (
        browser_for(case_manager)
        .get(reverse("messaging:client_conversation", kwargs={"client_pk": portal_client.pk}))
        .content.decode()
    )
    for html in (portal, staff):
        assert 'enctype="multipart/form-data"' in html
        assert re.search(r'id="chat-attach-files" accept="image/\*,application/pdf" multiple', html)
    assert 'capture="environment"' in portal
    assert 'capture="environment"' not in staff


def test_the_state_poll_shows_the_current_state_to_readers_and_404_to_strangers(
    documents_configured,
    conversation,
    portal_client,
    case_manager,
    other_case_manager,
    foreign_client,
):
    upload = finished_upload(portal_client.user, portal_client, jpeg_bytes(), "scan.jpg")
    attachment = send_with(conversation, portal_client.user, [upload]).attachments.get()
    url = f"{states_url(conversation)}?id={attachment.pk}&id=x"

    answer = browser_for(case_manager).get(url)
    assert answer.status_code == 200
    [state] = answer.json()["attachments"]
    # Processing has not run (no commit in this test): still being checked.
    assert (state["id"], state["state"], state["settled"]) == (attachment.pk, "processing", False)
    assert 'data-attachment-state="processing"' in state["html"]
    assert "scan.jpg" in state["html"]

    Document.objects.filter(pk=attachment.document_id).update(status=DocumentStatus.READY)
    [state] = browser_for(portal_client.user).get(url).json()["attachments"]
    assert (state["state"], state["settled"]) == ("ready", True)

    for stranger in (other_case_manager, foreign_client.user):
        assert browser_for(stranger).get(url).status_code == 404
    # The foreign client asking through their own conversation gets nothing.
    foreign = services.conversation_get_or_create(client=foreign_client)
    answer = browser_for(foreign_client.user).get(f"{states_url(foreign)}?id={attachment.pk}")
    assert answer.json() == {"attachments": []}


def test_a_deleted_document_leaves_a_note_in_the_message(
    documents_configured, conversation, portal_client
):
    upload = finished_upload(portal_client.user, portal_client, jpeg_bytes())
    attachment = send_with(conversation, portal_client.user, [upload]).attachments.get()
    document_services.document_delete(document=attachment.document, actor=portal_client.user)
    html = browser_for(portal_client.user).get(PORTAL_URL).content.decode()
    assert 'data-attachment-state="removed"' in html
    assert "This attachment was deleted." in html


# --- the websocket ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_push_and_the_sync_carry_the_attachments(
    documents_configured, conversation, portal_client, case_manager
):
    cookie = session_cookie(case_manager)
    upload = finished_upload(portal_client.user, portal_client, jpeg_bytes(), "bild.jpg")

    async def scenario():
        desk = communicator(ws_path(conversation), cookie=cookie)
        connected, _ = await desk.connect()
        assert connected
        await desk.receive_json_from()  # welcome
        await _send_in_thread(conversation, portal_client.user, upload)
        pushed, _ = await receive_until(desk, "message", timeout=10)
        await desk.send_json_to({"type": "sync", "after": 0})
        synced, _ = await receive_until(desk, "messages")
        await desk.disconnect()
        return pushed, synced

    pushed, synced = run(scenario)
    document = Document.objects.get()
    expected = {
        "id": MessageAttachment.objects.get().pk,
        "title": "bild.jpg",
        "url": reverse("documents:detail", kwargs={"pk": document.pk}),
    }
    [in_push] = pushed["attachments"]
    assert {key: in_push[key] for key in expected} == expected
    [in_sync] = synced["messages"][0]["attachments"]
    assert {key: in_sync[key] for key in expected} == expected
    # By the time of the sync the pipeline (run at the commit) has made it ready.
    assert in_sync["state"] == "ready"


async def _send_in_thread(conversation, sender, upload):
    from channels.db import database_sync_to_async

    await database_sync_to_async(send_with)(conversation, sender, [upload])


def test_the_page_needs_no_more_queries_for_more_attachments(
    documents_configured, conversation, portal_client, case_manager
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("messaging:client_conversation", kwargs={"client_pk": portal_client.pk})
    desk = browser_for(case_manager)

    def queries_for_page() -> int:
        desk.get(url)  # the first view marks as read; count a steady view
        with CaptureQueriesContext(connection) as captured:
            assert desk.get(url).status_code == 200
        return len(captured)

    upload = finished_upload(portal_client.user, portal_client, jpeg_bytes(), "1.jpg")
    send_with(conversation, portal_client.user, [upload])
    one = queries_for_page()
    uploads = [
        finished_upload(portal_client.user, portal_client, jpeg_bytes(), f"{n}.jpg")
        for n in range(3)
    ]
    send_with(conversation, portal_client.user, uploads)
    send_with(conversation, portal_client.user, uploads[:0], body="Nur Text")
    assert queries_for_page() == one


def test_a_client_who_withdrew_portal_use_gets_no_states(
    documents_configured, conversation, portal_client
):
    from django.utils import timezone

    from sprechstunde.clients.choices import ConsentPurpose
    from sprechstunde.clients.models import Consent

    upload = finished_upload(portal_client.user, portal_client, jpeg_bytes())
    attachment = send_with(conversation, portal_client.user, [upload]).attachments.get()
    url = f"{states_url(conversation)}?id={attachment.pk}"
    phone = browser_for(portal_client.user)
    assert phone.get(url).status_code == 200
    Consent.objects.filter(client=portal_client, purpose=ConsentPurpose.PORTAL).update(
        withdrawn_at=timezone.now()
    )
    assert phone.get(url).status_code == 404
