"""Staff pages through the test client: caseload, new client, detail, invitation buttons."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients import services
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.clients.models import Client, Invitation

from .conftest import login

pytestmark = pytest.mark.django_db


# --- caseload list ------------------------------------------------------------------------------


def test_caseload_lists_own_clients_but_not_others(
    client, case_manager, client_record, foreign_client
):
    response = login(client, case_manager).get(reverse("clients:list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Klient, Klara" in page
    assert "Fremd" not in page
    assert reverse("clients:detail", args=[client_record.pk]) in page
    assert AuditEntry.objects.filter(action="client.list", actor_id=case_manager.pk).count() == 1


def test_caseload_search_by_name(client, case_manager, client_record):
    ClientFactory(case_manager=case_manager, first_name="Bernd", last_name="Brot")
    login(client, case_manager)
    page = client.get(reverse("clients:list"), {"q": "klara"}).content.decode()
    assert "Klient, Klara" in page
    assert "Brot" not in page
    page = client.get(reverse("clients:list"), {"q": "brot bernd"}).content.decode()
    assert "Brot, Bernd" in page
    assert "Klient" not in page


def test_caseload_shows_consent_and_invitation_state(client, case_manager, accepted_client):
    invited = ClientFactory(case_manager=case_manager, last_name="Eingeladen")
    services.invitation_send(client=invited, actor=case_manager)
    services.consent_withdraw(client=accepted_client, purpose="video", actor=accepted_client.user)
    page = login(client, case_manager).get(reverse("clients:list")).content.decode()
    assert "uses the portal" in page
    assert "invited, valid until" in page
    assert page.count("badge--ok") >= 3  # portal state + portal and documents consents
    assert ": not given" in page


def test_caseload_page_needs_the_same_few_queries_for_5_or_80_clients(
    client, case_manager, django_assert_max_num_queries
):
    login(client, case_manager)
    client.get(reverse("clients:list"))  # the first request also records the login session
    counts = []
    for batch in (5, 75):
        ClientFactory.create_batch(batch, case_manager=case_manager)
        # 19 on PostgreSQL: the audit entry's advisory lock is one more statement there.
        with django_assert_max_num_queries(19) as captured:
            response = client.get(reverse("clients:list"))
        assert response.status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_caseload_with_80_clients_is_paginated(client, case_manager):
    ClientFactory.create_batch(80, case_manager=case_manager)
    login(client, case_manager)
    first = client.get(reverse("clients:list")).content.decode()
    assert "80 clients" in first
    assert "Page 1 of 2" in first
    second = client.get(reverse("clients:list"), {"page": 2}).content.decode()
    assert second.count('class="caseload__name"') == 30


def test_team_lead_sees_the_team_with_case_manager_column(
    client, team_lead, client_record, foreign_client
):
    page = login(client, team_lead).get(reverse("clients:list")).content.decode()
    assert "Klient, Klara" in page
    assert "Fremd" not in page
    assert client_record.case_manager.display_name in page


@pytest.mark.parametrize("fixture", ["admin_user", "dpo"])
def test_admin_and_dpo_get_a_caseload_page_without_client_data(
    request, client, fixture, client_record
):
    response = login(client, request.getfixturevalue(fixture)).get(reverse("clients:list"))
    assert response.status_code == 403
    assert "This page is used by the roles Case manager, Team lead." in response.content.decode()
    assert "Klient" not in response.content.decode()


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(reverse("clients:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- create ---------------------------------------------------------------------------------------


def test_create_page_has_a_label_for_every_input(client, case_manager):
    page = login(client, case_manager).get(reverse("clients:create")).content.decode()
    for name in ("first_name", "last_name", "email", "mobile_number", "preferred_language"):
        assert f'for="id_{name}"' in page
    assert 'name="case_manager"' not in page  # nothing to choose for a lone case manager


def test_create_client_and_send_the_invitation(
    client, case_manager, outbox, django_capture_on_commit_callbacks
):
    login(client, case_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("clients:create"),
            {
                "first_name": "Mia",
                "last_name": "Meyer",
                "email": "mia@example.org",
                "preferred_language": "en",
                "send_invitation": "on",
            },
        )
    new = Client.objects.get(email="mia@example.org")
    assert response.status_code == 302
    assert response["Location"] == reverse("clients:detail", args=[new.pk])
    assert new.case_manager == case_manager
    assert Invitation.objects.filter(client=new).count() == 1
    assert outbox[0].to == ["mia@example.org"]


def test_duplicate_email_is_a_form_error_and_nothing_is_created(
    client, case_manager, client_record
):
    response = login(client, case_manager).post(
        reverse("clients:create"),
        {
            "first_name": "Zweite",
            "last_name": "Person",
            "email": "Klara@Example.org",
            "preferred_language": "de",
            "send_invitation": "on",
        },
    )
    assert response.status_code == 400
    assert "A client with this e-mail address already exists." in response.content.decode()
    assert Client.objects.count() == 1
    assert not Invitation.objects.exists()


def test_a_client_without_email_and_mobile_is_created_and_reached_by_letter(client, case_manager):
    response = login(client, case_manager).post(
        reverse("clients:create"),
        {"first_name": "A", "last_name": "B", "preferred_language": "uk"},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "neither an e-mail address nor a mobile number" in page
    created = Client.objects.get()
    assert (created.email, created.mobile_number) == ("", "")
    assert not Invitation.objects.exists()


def test_mobile_only_client_is_created_with_a_note_about_email_invitations(client, case_manager):
    response = login(client, case_manager).post(
        reverse("clients:create"),
        {
            "first_name": "A",
            "last_name": "B",
            "mobile_number": "0170 1234567",
            "preferred_language": "de",
            "send_invitation": "on",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "text messages are not set up here" in page
    assert Client.objects.get().mobile_number == "+491701234567"
    assert not Invitation.objects.exists()


def test_team_lead_chooses_the_case_manager(client, team, team_lead, case_manager):
    CaseManagerFactory(team=team)
    login(client, team_lead)
    assert 'name="case_manager"' in client.get(reverse("clients:create")).content.decode()
    client.post(
        reverse("clients:create"),
        {
            "first_name": "A",
            "last_name": "B",
            "email": "ab@example.org",
            "preferred_language": "de",
            "case_manager": case_manager.pk,
        },
    )
    assert Client.objects.get().case_manager == case_manager


@pytest.mark.parametrize("fixture", ["admin_user", "dpo"])
def test_admin_and_dpo_cannot_open_the_create_page(request, client, fixture):
    login(client, request.getfixturevalue(fixture))
    response = client.get(reverse("clients:create"))
    assert response.status_code == 403
    assert "This page is used by the roles Case manager, Team lead." in response.content.decode()
    assert client.post(reverse("clients:create"), {"first_name": "X"}).status_code == 404
    assert not Client.objects.exists()


# --- detail ---------------------------------------------------------------------------------------


def test_detail_shows_contact_consent_and_invitation_state_and_is_audited(
    client, case_manager, accepted_client
):
    services.consent_withdraw(client=accepted_client, purpose="video", actor=accepted_client.user)
    response = login(client, case_manager).get(reverse("clients:detail", args=[accepted_client.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "klara@example.org" in page
    assert "uses the portal" in page
    assert "accepted on" in page
    assert "withdrawn" in page
    assert "version 1, English" in page
    assert "Online in the portal" in page
    assert AuditEntry.objects.filter(
        action="client.view", actor_id=case_manager.pk, client_id=accepted_client.pk
    ).exists()


def test_detail_of_another_case_managers_client_is_404_and_logged(
    client, case_manager, foreign_client
):
    response = login(client, case_manager).get(reverse("clients:detail", args=[foreign_client.pk]))
    assert response.status_code == 404
    assert "Fremd" not in response.content.decode()
    denial = AuditEntry.objects.get(action="client.access_denied")
    assert denial.actor_id == case_manager.pk
    assert denial.client_id == foreign_client.pk
    assert not AuditEntry.objects.filter(action="client.view").exists()


def test_detail_of_a_client_who_does_not_exist_is_404_and_logged_without_client(
    client, case_manager
):
    response = login(client, case_manager).get(reverse("clients:detail", args=[999999]))
    assert response.status_code == 404
    denial = AuditEntry.objects.get(action="client.access_denied")
    assert denial.client_id is None
    assert denial.target_id == "999999"


def test_substitute_opens_the_absent_colleagues_client(
    client, case_manager, foreign_client, substitution_today
):
    response = login(client, case_manager).get(reverse("clients:detail", args=[foreign_client.pk]))
    assert response.status_code == 200


def test_detail_of_a_mobile_only_client_explains_the_email_invitation(client, case_manager):
    mobile_only = ClientFactory(case_manager=case_manager, email="", mobile_number="+491701234567")
    page = login(client, case_manager).get(reverse("clients:detail", args=[mobile_only.pk]))
    assert "text messages are not set up here" in page.content.decode()
    assert reverse("clients:invitation_send", args=[mobile_only.pk]) not in page.content.decode()


# --- invitation buttons ---------------------------------------------------------------------------


def test_send_revoke_and_resend_buttons(
    client, case_manager, client_record, outbox, django_capture_on_commit_callbacks
):
    login(client, case_manager)
    detail = reverse("clients:detail", args=[client_record.pk])
    assert (
        reverse("clients:invitation_send", args=[client_record.pk])
        in client.get(detail).content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("clients:invitation_send", args=[client_record.pk]))
    assert response.status_code == 302
    assert len(outbox) == 1
    page = client.get(detail).content.decode()
    assert "open, valid until" in page
    assert "e-mail sent" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("clients:invitation_resend", args=[client_record.pk]))
    assert len(outbox) == 2
    assert Invitation.objects.filter(client=client_record, revoked_at__isnull=True).count() == 1
    client.post(reverse("clients:invitation_revoke", args=[client_record.pk]))
    assert not Invitation.objects.filter(client=client_record, revoked_at__isnull=True).exists()
    page = client.get(detail).content.decode()
    assert "revoked on" in page


def test_sending_twice_shows_a_clear_message(client, case_manager, client_record):
    login(client, case_manager)
    client.post(reverse("clients:invitation_send", args=[client_record.pk]))
    response = client.post(reverse("clients:invitation_send", args=[client_record.pk]), follow=True)
    assert "already an open invitation" in response.content.decode()
    assert Invitation.objects.count() == 1


@pytest.mark.parametrize("name", ["invitation_send", "invitation_revoke", "invitation_resend"])
def test_invitation_buttons_on_a_foreign_client_are_404_and_change_nothing(
    client, case_manager, other_case_manager, foreign_client, name, outbox
):
    services.invitation_send(client=foreign_client, actor=other_case_manager)
    before = list(Invitation.objects.values_list("pk", "revoked_at"))
    response = login(client, case_manager).post(
        reverse(f"clients:{name}", args=[foreign_client.pk])
    )
    assert response.status_code == 404
    assert list(Invitation.objects.values_list("pk", "revoked_at")) == before


def test_invitation_buttons_do_not_answer_get(client, case_manager, client_record):
    response = login(client, case_manager).get(
        reverse("clients:invitation_send", args=[client_record.pk])
    )
    assert response.status_code == 405
    assert not Invitation.objects.exists()


# --- update ---------------------------------------------------------------------------------------


def test_case_manager_adds_an_email_address_to_a_mobile_only_client(client, case_manager):
    mobile_only = ClientFactory(case_manager=case_manager, email="", mobile_number="+491701234567")
    login(client, case_manager)
    url = reverse("clients:update", args=[mobile_only.pk])
    assert 'value="+491701234567"' in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "first_name": mobile_only.first_name,
            "last_name": mobile_only.last_name,
            "email": "Neu@Example.org",
            "mobile_number": "0170 1234567",
            "preferred_language": "en",
        },
    )
    assert response.status_code == 302
    mobile_only.refresh_from_db()
    assert mobile_only.email == "neu@example.org"
    assert mobile_only.preferred_language == "en"
    assert AuditEntry.objects.filter(action="client.update", client_id=mobile_only.pk).exists()
    page = client.get(reverse("clients:detail", args=[mobile_only.pk])).content.decode()
    assert reverse("clients:invitation_send", args=[mobile_only.pk]) in page


def test_changing_the_email_revokes_the_open_invitation(client, case_manager, client_record):
    issued = services.invitation_send(client=client_record, actor=case_manager)
    login(client, case_manager).post(
        reverse("clients:update", args=[client_record.pk]),
        {
            "first_name": "Klara",
            "last_name": "Klient",
            "email": "klara.neu@example.org",
            "preferred_language": "de",
        },
    )
    issued.invitation.refresh_from_db()
    assert issued.invitation.revoked_at is not None


def test_update_to_a_taken_email_is_a_form_error(client, case_manager, client_record):
    other = ClientFactory(case_manager=case_manager, email="other@example.org")
    response = login(client, case_manager).post(
        reverse("clients:update", args=[other.pk]),
        {
            "first_name": "O",
            "last_name": "P",
            "email": "klara@example.org",
            "preferred_language": "de",
        },
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    other.refresh_from_db()
    assert other.email == "other@example.org"
    assert other.first_name != "O"


def test_the_login_address_of_a_portal_user_stays(client, case_manager, accepted_client):
    response = login(client, case_manager).post(
        reverse("clients:update", args=[accepted_client.pk]),
        {
            "first_name": "Klara",
            "last_name": "Neuname",
            "email": "hijack@example.org",
            "preferred_language": "de",
        },
    )
    assert response.status_code == 302
    accepted_client.refresh_from_db()
    assert accepted_client.email == "klara@example.org"
    assert accepted_client.last_name == "Neuname"
    with pytest.raises(services.ApplicationError):
        services.client_update(
            client=accepted_client,
            actor=case_manager,
            first_name="Klara",
            last_name="Neuname",
            email="hijack@example.org",
            mobile_number="",
            preferred_language="de",
        )
