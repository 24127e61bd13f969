"""The client services against the database: creating, inviting, accepting, consent."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client as BrowserClient
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.accounts.models import User
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients import services
from sprechstunde.clients.choices import ConsentMethod, ConsentPurpose, InvitationChannel
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.clients.models import Client, Consent, ConsentText, Invitation
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from .conftest import TOKEN_RE, accept, invite

pytestmark = pytest.mark.django_db


def actions(**filters) -> list[str]:
    return list(
        AuditEntry.objects.filter(**filters).order_by("sequence").values_list("action", flat=True)
    )


# --- client_create ----------------------------------------------------------------------------


def test_case_manager_creates_a_client_in_their_caseload_and_it_is_audited(case_manager):
    client = services.client_create(
        actor=case_manager,
        first_name=" Mia ",
        last_name="Meyer",
        email="Mia.Meyer@Example.org",
        preferred_language="en",
    )
    assert client.case_manager == case_manager
    assert client.first_name == "Mia"
    assert client.email == "mia.meyer@example.org"
    assert client.preferred_language == "en"
    assert actions(client_id=client.pk) == ["client.create"]


def test_a_mobile_number_alone_is_enough_and_is_normalised(case_manager):
    client = services.client_create(
        actor=case_manager, first_name="Ali", last_name="Demir", mobile_number="0170 / 123-4567"
    )
    assert client.email == ""
    assert client.mobile_number == "+491701234567"


def test_a_client_without_email_or_mobile_is_reached_by_letter(case_manager):
    client = services.client_create(
        actor=case_manager, first_name="A", last_name="B", send_invitation=True
    )
    assert (client.email, client.mobile_number) == ("", "")
    assert not client.invitations.exists()  # nothing to send it to
    issued = services.invitation_letter_issue(client=client, actor=case_manager)
    assert issued.invitation.channel == InvitationChannel.LETTER
    assert services.invitation_needs_contact(invitation=issued.invitation)


def test_a_mobile_number_with_letters_is_refused(case_manager):
    with pytest.raises(ApplicationError) as error:
        services.client_create(
            actor=case_manager, first_name="A", last_name="B", mobile_number="call me"
        )
    assert error.value.field == "mobile_number"


def test_a_duplicate_email_is_refused_whatever_its_case_and_nothing_is_created(
    case_manager, client_record
):
    with pytest.raises(ApplicationError) as error:
        services.client_create(
            actor=case_manager, first_name="Other", last_name="Person", email="KLARA@example.org"
        )
    assert error.value.field == "email"
    assert "already exists" in str(error.value.message)
    assert Client.objects.count() == 1
    assert actions(action="client.create") == []


def test_a_staff_email_address_cannot_become_a_clients(case_manager, team_lead):
    with pytest.raises(ApplicationError) as error:
        services.client_create(
            actor=case_manager, first_name="A", last_name="B", email=team_lead.email
        )
    assert error.value.field == "email"


def test_team_lead_creates_a_client_for_a_case_manager_of_the_team(team_lead, case_manager):
    client = services.client_create(
        actor=team_lead,
        first_name="A",
        last_name="B",
        email="ab@example.org",
        case_manager=case_manager,
    )
    assert client.case_manager == case_manager


def test_nobody_assigns_a_client_to_a_foreign_caseload(case_manager, other_case_manager):
    with pytest.raises(ApplicationError) as error:
        services.client_create(
            actor=case_manager,
            first_name="A",
            last_name="B",
            email="ab@example.org",
            case_manager=other_case_manager,
        )
    assert error.value.field == "case_manager"
    assert not Client.objects.exists()


@pytest.mark.parametrize("fixture", ["admin_user", "dpo"])
def test_admins_and_dpos_cannot_create_clients(request, fixture):
    with pytest.raises(PermissionDeniedError):
        services.client_create(
            actor=request.getfixturevalue(fixture),
            first_name="A",
            last_name="B",
            email="ab@example.org",
        )


def test_create_with_invitation_sends_it_after_commit(
    case_manager, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client = services.client_create(
            actor=case_manager,
            first_name="A",
            last_name="B",
            email="ab@example.org",
            send_invitation=True,
        )
    assert client.invitations.count() == 1
    assert [message.to for message in outbox] == [["ab@example.org"]]


# --- invitations ------------------------------------------------------------------------------


def test_invitation_token_is_random_single_use_and_stored_only_as_its_hash(
    case_manager, client_record, outbox, django_capture_on_commit_callbacks
):
    issued = invite(client_record, case_manager, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()
    # token_urlsafe(32): 32 random bytes, 43 characters; far above 128 bits.
    assert len(issued.token) >= 43
    assert invitation.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.token not in {invitation.token_hash, str(invitation.pk)}
    assert not Invitation.objects.filter(token_hash=issued.token).exists()
    expected = timezone.now() + datetime.timedelta(days=settings.INVITATION_VALID_DAYS)
    assert abs((invitation.expires_at - expected).total_seconds()) < 60
    assert invitation.created_by == case_manager
    assert invitation.mail_sent_at is not None
    assert actions(client_id=client_record.pk) == ["invitation.send"]


def test_invitation_mail_has_the_link_and_the_jobcenter_but_no_social_data(
    case_manager, client_record, outbox, django_capture_on_commit_callbacks, settings
):
    settings.JOBCENTER_NAME = "Jobcenter Musterstadt"
    issued = invite(client_record, case_manager, django_capture_on_commit_callbacks)
    message = outbox[0]
    assert message.to == ["klara@example.org"]
    link = settings.SITE_URL + f"/klienten/einladung/{issued.token}/"
    assert link in message.body
    assert "Jobcenter Musterstadt" in message.body
    html = message.alternatives[0][0]
    assert link in html
    for private in ("Klara", "Klient", case_manager.last_name):
        assert private not in message.subject + message.body + html


def test_invitation_mail_is_in_the_clients_language(
    case_manager, outbox, django_capture_on_commit_callbacks
):
    english = ClientFactory(case_manager=case_manager, preferred_language="en")
    german = ClientFactory(case_manager=case_manager, preferred_language="de")
    invite(english, case_manager, django_capture_on_commit_callbacks)
    invite(german, case_manager, django_capture_on_commit_callbacks)
    assert 'lang="en"' in outbox[0].alternatives[0][0]
    assert 'lang="de"' in outbox[1].alternatives[0][0]


def test_no_mail_leaves_when_the_transaction_rolls_back(
    case_manager, client_record, outbox, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        services.transaction.atomic(),
    ):
        services.invitation_send(client=client_record, actor=case_manager)
        raise RuntimeError("boom")
    assert callbacks == []
    assert outbox == []
    assert not Invitation.objects.exists()


def test_a_failed_mail_is_recorded_on_the_invitation(
    case_manager, client_record, django_capture_on_commit_callbacks, monkeypatch
):
    import smtplib

    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    invite(client_record, case_manager, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()
    assert invitation.mail_failed_at is not None
    assert invitation.mail_sent_at is None


def test_without_sms_a_client_with_only_a_mobile_number_cannot_be_invited(case_manager):
    client = ClientFactory(case_manager=case_manager, email="", mobile_number="0170123")
    with pytest.raises(ApplicationError) as error:
        services.invitation_send(client=client, actor=case_manager)
    assert "no e-mail address" in str(error.value.message)
    # An honest statement of what works today, no promise of a later version.
    assert "Keep in touch by phone or post" in str(error.value.message)
    assert "later" not in str(error.value.message)
    assert not Invitation.objects.exists()


def test_a_second_open_invitation_is_refused(case_manager, client_record):
    services.invitation_send(client=client_record, actor=case_manager)
    with pytest.raises(ApplicationError):
        services.invitation_send(client=client_record, actor=case_manager)
    assert Invitation.objects.count() == 1


def test_another_case_manager_cannot_invite_my_client(other_case_manager, client_record):
    with pytest.raises(PermissionDeniedError):
        services.invitation_send(client=client_record, actor=other_case_manager)


def test_revoke_makes_the_link_unusable(case_manager, client_record):
    issued = services.invitation_send(client=client_record, actor=case_manager)
    services.invitation_revoke(invitation=issued.invitation, actor=case_manager)
    with pytest.raises(services.InvitationUnusableError) as error:
        accept(issued.token)
    assert error.value.state == "revoked"
    assert client_record.consents.count() == 0


def test_resend_revokes_the_old_link_and_mails_a_new_one(
    case_manager, client_record, outbox, django_capture_on_commit_callbacks
):
    first = invite(client_record, case_manager, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        second = services.invitation_resend(client=client_record, actor=case_manager)
    assert first.token != second.token
    first.invitation.refresh_from_db()
    assert first.invitation.revoked_at is not None
    assert second.invitation.is_open
    assert TOKEN_RE.search(outbox[-1].body).group(1) == second.token
    assert actions(client_id=client_record.pk) == [
        "invitation.send",
        "invitation.revoke",
        "invitation.resend",
    ]


# --- accepting ----------------------------------------------------------------------------------


def test_accepting_creates_the_portal_account_and_one_consent_per_chosen_purpose(
    case_manager, client_record
):
    issued = services.invitation_send(client=client_record, actor=case_manager)
    client = accept(issued.token, purposes=["portal", "video"], language="en")
    user = client.user
    assert user.role == Role.CLIENT
    assert user.email == "klara@example.org"
    assert not user.has_usable_password()
    assert user.is_active
    assert user.preferred_language == "en"
    assert EmailAddress.objects.filter(user=user, email=user.email, verified=True).exists()
    consents = {consent.purpose: consent for consent in client.consents.all()}
    assert set(consents) == {"portal", "video"}
    for purpose, consent in consents.items():
        assert consent.given_method == ConsentMethod.PORTAL
        assert consent.text == ConsentText.objects.get(purpose=purpose, language="en", version=1)
        assert consent.withdrawn_at is None
    issued.invitation.refresh_from_db()
    assert issued.invitation.accepted_at is not None
    assert actions(client_id=client.pk)[-3:] == [
        "consent.give",
        "consent.give",
        "invitation.accept",
    ]


def test_accepting_without_portal_use_changes_nothing(case_manager, client_record):
    issued = services.invitation_send(client=client_record, actor=case_manager)
    with pytest.raises(ApplicationError) as error:
        accept(issued.token, purposes=["video"])
    assert error.value.field == "consent_portal"
    assert not User.objects.filter(role=Role.CLIENT).exists()
    assert not Consent.objects.exists()
    issued.invitation.refresh_from_db()
    assert issued.invitation.accepted_at is None


def test_an_invitation_is_accepted_once_only(case_manager, client_record):
    issued = services.invitation_send(client=client_record, actor=case_manager)
    accept(issued.token)
    with pytest.raises(services.InvitationUnusableError) as error:
        accept(issued.token)
    assert error.value.state == "used"
    assert Consent.objects.count() == 3


def test_an_expired_invitation_cannot_be_accepted(case_manager, client_record):
    issued = services.invitation_send(client=client_record, actor=case_manager)
    Invitation.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(services.InvitationUnusableError) as error:
        accept(issued.token)
    assert error.value.state == "expired"
    assert not Consent.objects.exists()


def test_a_forged_token_is_unknown(case_manager, client_record):
    services.invitation_send(client=client_record, actor=case_manager)
    with pytest.raises(services.InvitationUnusableError) as error:
        accept("x" * 43)
    assert error.value.state == "unknown"


def test_a_text_republished_while_reading_saves_nothing(case_manager, client_record):
    issued = services.invitation_send(client=client_record, actor=case_manager)
    shown = {text.purpose: text.pk for text in ConsentText.objects.filter(language="de")}
    services.consent_text_publish(purpose="video", language="de", title="Video", body="New text")
    with pytest.raises(services.ConsentTextChangedError):
        services.invitation_accept(
            token=issued.token,
            purposes=["portal", "video"],
            language="de",
            shown_text_ids=shown,
        )
    assert not Consent.objects.exists()
    assert not User.objects.filter(role=Role.CLIENT).exists()


def test_an_email_of_a_staff_account_is_not_taken_over(case_manager, client_record, team_lead):
    issued = services.invitation_send(client=client_record, actor=case_manager)
    Client.objects.filter(pk=client_record.pk).update(email=team_lead.email)
    with pytest.raises(ApplicationError):
        accept(issued.token)
    team_lead.refresh_from_db()
    assert team_lead.role == Role.TEAM_LEAD
    assert not Consent.objects.exists()


def test_an_active_portal_user_is_not_invited_again(case_manager, accepted_client):
    with pytest.raises(ApplicationError) as error:
        services.invitation_send(client=accepted_client, actor=case_manager)
    assert "already uses the portal" in str(error.value.message)


# --- consent ------------------------------------------------------------------------------------


def test_withdrawing_video_takes_effect_at_once_and_leaves_the_rest(accepted_client):
    user = accepted_client.user
    withdrawn = services.consent_withdraw(client=accepted_client, purpose="video", actor=user)
    assert [consent.purpose for consent in withdrawn] == ["video"]
    active = set(
        accepted_client.consents.filter(withdrawn_at__isnull=True).values_list("purpose", flat=True)
    )
    assert active == {"portal", "electronic_delivery"}
    assert withdrawn[0].withdrawn_method == ConsentMethod.PORTAL
    user.refresh_from_db()
    assert user.is_active
    assert actions(action="consent.withdraw", client_id=accepted_client.pk) == ["consent.withdraw"]


def test_withdrawing_portal_use_ends_every_consent_and_every_session(accepted_client):
    user = accepted_client.user
    browsers = [BrowserClient(), BrowserClient()]
    for browser in browsers:
        browser.force_login(user)
    UserSession.objects.create(
        user=user, ip="127.0.0.1", session_key=browsers[0].session.session_key
    )
    services.consent_withdraw(client=accepted_client, purpose="portal", actor=user)
    user.refresh_from_db()
    assert not user.is_active
    assert not accepted_client.consents.filter(withdrawn_at__isnull=True).exists()
    assert not UserSession.objects.filter(user=user).exists()
    assert not Session.objects.filter(session_key=browsers[0].session.session_key).exists()
    # The session without a tracking record is refused as well: the account is inactive.
    response = browsers[1].get("/klienten/portal/")
    assert response.status_code == 302
    assert "user.deactivate" in actions(target_id=str(user.pk))


def test_reinvited_client_gets_the_same_account_back(
    case_manager, accepted_client, django_capture_on_commit_callbacks
):
    user = accepted_client.user
    services.consent_withdraw(client=accepted_client, purpose="portal", actor=user)
    issued = invite(accepted_client, case_manager, django_capture_on_commit_callbacks)
    client = accept(issued.token, purposes=["portal"])
    assert client.user == user
    user.refresh_from_db()
    assert user.is_active
    assert client.consents.filter(withdrawn_at__isnull=True).count() == 1
    assert client.consents.count() == 4


def test_an_optional_consent_can_be_given_again_with_the_current_text(accepted_client):
    user = accepted_client.user
    services.consent_withdraw(client=accepted_client, purpose="video", actor=user)
    new_text = services.consent_text_publish(
        purpose="video", language="en", title="Video v2", body="Second version"
    )
    consent = services.consent_give(
        client=accepted_client,
        purpose="video",
        actor=user,
        language="en",
        shown_text_id=new_text.pk,
    )
    assert consent.text == new_text
    assert consent.withdrawn_at is None
    assert accepted_client.consents.filter(purpose="video").count() == 2


def test_giving_a_consent_twice_or_portal_use_in_the_portal_is_refused(accepted_client):
    user = accepted_client.user
    with pytest.raises(ApplicationError):
        services.consent_give(client=accepted_client, purpose="video", actor=user, language="de")
    with pytest.raises(ApplicationError):
        services.consent_give(client=accepted_client, purpose="portal", actor=user, language="de")
    assert accepted_client.consents.count() == 3


def test_withdrawing_an_inactive_consent_is_a_clear_error(accepted_client):
    user = accepted_client.user
    services.consent_withdraw(client=accepted_client, purpose="video", actor=user)
    with pytest.raises(ApplicationError) as error:
        services.consent_withdraw(client=accepted_client, purpose="video", actor=user)
    assert "not active" in str(error.value.message)


def test_a_client_cannot_change_another_clients_consent(accepted_client, case_manager):
    stranger = ClientFactory(case_manager=case_manager)
    with pytest.raises(PermissionDeniedError):
        services.consent_withdraw(client=stranger, purpose="video", actor=accepted_client.user)


def test_staff_record_a_withdrawal_received_on_paper(accepted_client, case_manager):
    services.consent_withdraw(
        client=accepted_client,
        purpose="electronic_delivery",
        actor=case_manager,
        method=ConsentMethod.PAPER,
    )
    consent = accepted_client.consents.get(purpose="electronic_delivery")
    assert consent.withdrawn_method == ConsentMethod.PAPER
    with pytest.raises(PermissionDeniedError):
        services.consent_withdraw(
            client=accepted_client, purpose="video", actor=CaseManagerFactory()
        )


# --- consent texts ------------------------------------------------------------------------------


def test_version_one_texts_exist_for_every_purpose_in_german_and_english():
    for purpose in ConsentPurpose.values:
        for language in ("de", "en"):
            text = ConsentText.objects.get(purpose=purpose, language=language, version=1)
            assert text.published_at is not None
            assert len(text.body) > 300


def test_publishing_creates_the_next_version_and_never_touches_the_old_one(admin_user):
    old = ConsentText.objects.get(purpose="portal", language="de", version=1)
    before = (old.title, old.body, old.updated_at)
    new = services.consent_text_publish(
        purpose="portal", language="de", title="Neu", body="Neuer Text", actor=admin_user
    )
    assert new.version == 2
    assert new.pk != old.pk
    old.refresh_from_db()
    assert (old.title, old.body, old.updated_at) == before
    assert actions(action="consent_text.create") == ["consent_text.create"]


def test_publishing_an_unchanged_text_is_refused():
    old = ConsentText.objects.get(purpose="video", language="en", version=1)
    with pytest.raises(ApplicationError):
        services.consent_text_publish(
            purpose="video", language="en", title=old.title, body=old.body
        )
    assert ConsentText.objects.filter(purpose="video", language="en").count() == 1


# --- the portal account's name -------------------------------------------------------------


def test_the_portal_account_carries_the_name_of_the_client_record(case_manager, client_record):
    issued = services.invitation_send(client=client_record, actor=case_manager)
    user = accept(issued.token).user
    assert (user.first_name, user.last_name) == ("Klara", "Klient")
    assert user.display_name == str(user) == "Klara Klient"


def test_a_name_corrected_by_staff_reaches_the_portal_account(case_manager, accepted_client):
    services.client_update(
        client=accepted_client,
        actor=case_manager,
        first_name=" Klara-Marie ",
        last_name="Klient-Berg",
        email=accepted_client.email,
        mobile_number="",
        preferred_language="en",
    )
    accepted_client.user.refresh_from_db()
    assert accepted_client.user.display_name == "Klara-Marie Klient-Berg"


def test_a_reinvited_client_whose_name_changed_meanwhile_gets_it_on_the_account(
    case_manager, accepted_client, django_capture_on_commit_callbacks
):
    user = accepted_client.user
    services.consent_withdraw(client=accepted_client, purpose="portal", actor=user)
    Client.objects.filter(pk=accepted_client.pk).update(last_name="Neumann")
    User.objects.filter(pk=user.pk).update(first_name="", last_name="")
    accepted_client.refresh_from_db()
    issued = invite(accepted_client, case_manager, django_capture_on_commit_callbacks)
    assert accept(issued.token, purposes=["portal"]).user.display_name == "Klara Neumann"


def test_the_data_migration_names_existing_client_accounts_from_their_records(case_manager):
    from importlib import import_module

    from django.apps import apps

    nameless = User.objects.create_user("lena.hoffmann@example.org", role=Role.CLIENT)
    ClientFactory(
        case_manager=case_manager,
        user=nameless,
        first_name="Lena",
        last_name="Hoffmann",
        email="lena.hoffmann@example.org",
    )
    untouched = CaseManagerFactory(first_name="Sabine", last_name="Sachbearbeiterin")
    assert nameless.display_name == "Client"  # the role, never the address

    migration = import_module("sprechstunde.clients.migrations.0004_client_account_names")
    migration.fill_names(apps, None)

    nameless.refresh_from_db()
    untouched.refresh_from_db()
    assert nameless.display_name == "Lena Hoffmann"
    assert untouched.display_name == "Sabine Sachbearbeiterin"


def test_a_display_name_never_falls_back_to_the_email_address(case_manager):
    client_user = User.objects.create_user("ohne.namen@example.org", role=Role.CLIENT)
    staff_user = User.objects.create_user("ohne.namen@jobcenter.example", role=Role.TEAM_LEAD)
    assert client_user.display_name == str(client_user) == "Client"
    assert staff_user.display_name == str(staff_user) == "Team lead"
