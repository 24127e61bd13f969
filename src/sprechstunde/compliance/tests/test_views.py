"""The DPO's page and downloads: who may see them, that they follow the settings, audited."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import User
from sprechstunde.accounts.role_pages import is_other_role_response
from sprechstunde.audit.models import AuditEntry
from sprechstunde.audit.tests.conftest import login_staff

pytestmark = pytest.mark.django_db

PAGE = reverse("compliance:papers")
DOWNLOAD = reverse("compliance:download")


@pytest.fixture
def officer(client, dpo):
    return login_staff(client, dpo)


def test_the_dpo_sees_all_four_papers_and_the_view_is_audited(client, officer):
    response = client.get(PAGE)

    assert response.status_code == 200
    page = response.content.decode()
    for title in (
        "Record of processing activities",
        "Data-protection impact assessment",
        "Technical and organisational measures",
        "Processors and data flows",
    ):
        assert title in page
    entry = AuditEntry.objects.get(action="compliance.view")
    assert entry.actor_id == officer.pk


def test_the_page_shows_the_running_configuration(client, officer):
    with override_settings(SMS_GATEWAY_URL="https://sms.example.net/send"):
        assert "sms.example.net" in client.get(PAGE).content.decode()
    assert "sms.example.net" not in client.get(PAGE).content.decode()


@pytest.mark.parametrize("role_fixture", ["case_manager", "team_lead", "admin_user"])
@pytest.mark.parametrize("url", [PAGE, f"{DOWNLOAD}?paper=records-of-processing"])
def test_everybody_but_the_dpo_is_refused_and_the_refusal_is_logged(
    client, request, role_fixture, url
):
    user = login_staff(client, request.getfixturevalue(role_fixture))

    assert is_other_role_response(client.get(url))
    denial = AuditEntry.objects.get()
    assert (denial.action, denial.actor_id) == ("compliance.access_denied", user.pk)


def test_a_client_gets_the_other_role_page(client):
    account = User.objects.create_user("klientin@example.org", role=Role.CLIENT)
    client.force_login(account)

    assert is_other_role_response(client.get(PAGE))


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_a_paper_downloads_as_markdown_and_is_audited(client, officer):
    response = client.get(DOWNLOAD, {"paper": "technical-and-organisational-measures"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert 'filename="technical-and-organisational-measures.md"' in response["Content-Disposition"]
    assert response.content.decode().startswith("# Technical and organisational measures")
    entry = AuditEntry.objects.get(action="compliance.export")
    assert entry.target_id == "technical-and-organisational-measures"


@pytest.mark.parametrize("query", [{}, {"paper": "nonsense"}, {"paper": "../settings"}])
def test_an_unknown_paper_is_404(client, officer, query):
    assert client.get(DOWNLOAD, query).status_code == 404


def test_the_navigation_links_the_papers_for_the_dpo_only(client, officer, case_manager):
    assert PAGE in client.get(reverse("accounts:profile")).content.decode()
    login_staff(client, case_manager)
    assert PAGE not in client.get(reverse("accounts:profile")).content.decode()


def test_the_command_writes_checks_and_reports_an_outdated_folder(tmp_path, capsys):
    call_command("compliance_papers", "--reference", "--write", str(tmp_path))
    names = sorted(path.name for path in tmp_path.iterdir())
    call_command("compliance_papers", "--reference", "--check", str(tmp_path))

    assert names == [
        "README.md",
        "dpia-video-and-portal.md",
        "processors-and-data-flows.md",
        "records-of-processing.md",
        "technical-and-organisational-measures.md",
    ]
    assert "is up to date" in capsys.readouterr().out
    (tmp_path / "records-of-processing.md").write_text("edited by hand", encoding="utf-8")
    (tmp_path / "old-paper.md").write_text("no longer made", encoding="utf-8")
    with pytest.raises(CommandError, match=r"old-paper\.md, records-of-processing\.md"):
        call_command("compliance_papers", "--reference", "--check", str(tmp_path))


def test_the_command_prints_the_running_configuration(capsys):
    with override_settings(SMS_GATEWAY_URL="https://sms.example.net/send"):
        call_command("compliance_papers")

    assert "SMS gateway | sms.example.net" in capsys.readouterr().out
