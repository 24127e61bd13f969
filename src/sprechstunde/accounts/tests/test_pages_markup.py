"""Every accounts and allauth page in our frame: one h1, a label for every input, no inline
script or style (CSP), no empty links or buttons, unique ids. (axe-core runs in the browser
tests; these checks run on every test run and point at the template that broke.)"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.urls import reverse

from sprechstunde.accounts.factories import (
    CaseManagerFactory,
    ClientUserFactory,
    SubstitutionFactory,
)

from .conftest import STAFF_PASSWORD, codes_in_mail, rfc6238_code

pytestmark = pytest.mark.django_db

_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.h1 = 0
        self.lang = ""
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.fields: list[tuple[str, dict[str, str], bool]] = []  # (tag, attrs, inside label)
        self.stack: list[tuple[str, dict[str, str], list[str]]] = []
        self.label_depth = 0

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {key: value or "" for key, value in attrs_list}
        if "style" in attrs:
            self.problems.append(f"style attribute on <{tag}>")
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "html":
            self.lang = attrs.get("lang", "")
        if tag == "h1":
            self.h1 += 1
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            self.problems.append("inline <script>")
        if tag == "script" and attrs.get("src", "").startswith(("http:", "https:", "//")):
            self.problems.append(f"script from another host: {attrs['src']}")
        if tag == "label":
            self.label_depth += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        if tag in {"input", "select", "textarea"}:
            kind = attrs.get("type", "text")
            if not (tag == "input" and kind in {"hidden", "submit", "button"}):
                self.fields.append((tag, attrs, self.label_depth > 0))
        if tag not in _VOID:
            self.stack.append((tag, attrs, []))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1
        while self.stack:
            open_tag, attrs, text = self.stack.pop()
            content = "".join(text).strip()
            if open_tag in {"a", "button"} and not content and not attrs.get("aria-label"):
                self.problems.append(f"<{open_tag}> without text: {attrs}")
            if self.stack:
                self.stack[-1][2].append(content)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.stack:
            self.stack[-1][2].append(data)

    def report(self) -> list[str]:
        problems = list(self.problems)
        if self.h1 != 1:
            problems.append(f"{self.h1} h1 elements")
        if not self.lang:
            problems.append("no lang attribute")
        duplicates = {i for i in self.ids if self.ids.count(i) > 1}
        if duplicates:
            problems.append(f"duplicate ids {sorted(duplicates)}")
        for tag, attrs, inside_label in self.fields:
            labelled = inside_label or attrs.get("id") in self.label_for or attrs.get("aria-label")
            if not labelled:
                problems.append(f"<{tag} name={attrs.get('name')!r}> has no label")
        return problems


def _problems(response) -> list[str]:
    assert response.status_code == 200, response
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    page = _Page()
    page.feed(response.content.decode())
    return page.report()


def _check(client, paths):
    found = {}
    for path in paths:
        problems = _problems(client.get(path))
        if problems:
            found[path] = problems
    assert not found, found


def test_pages_before_login(client):
    _check(
        client,
        [
            reverse("account_login"),
            reverse("account_request_login_code"),
            reverse("account_reset_password"),
            reverse("account_reset_password_done"),
            reverse("account_signup"),
        ],
    )


def test_code_and_second_factor_steps(client, case_manager):
    client_user = ClientUserFactory()
    client.post(reverse("account_request_login_code"), {"email": client_user.email})
    _check(client, [reverse("account_confirm_login_code")])
    client.logout()
    client.post(reverse("account_login"), {"login": case_manager.email, "password": STAFF_PASSWORD})
    _check(client, [reverse("mfa_authenticate")])


def test_a_wrong_code_is_shown_as_an_accessible_error(client):
    client_user = ClientUserFactory()
    client.post(reverse("account_request_login_code"), {"email": client_user.email})

    response = client.post(reverse("account_confirm_login_code"), {"code": "00000x"})

    assert response.status_code == 200
    assert _problems(response) == []
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert 'class="errorlist' in html


def test_first_setup_pages_for_staff_without_second_factor(client, team):
    user = CaseManagerFactory(team=team, with_totp=False)
    client.post(reverse("account_login"), {"login": user.email, "password": STAFF_PASSWORD})
    _check(
        client, [reverse("mfa_activate_totp"), reverse("mfa_index"), reverse("mfa_add_webauthn")]
    )


def test_account_pages_of_a_case_manager(client, case_manager, team):
    SubstitutionFactory(absent=case_manager, substitute=CaseManagerFactory(team=team))
    RecoveryCodes.activate(case_manager)
    client.post(reverse("account_login"), {"login": case_manager.email, "password": STAFF_PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": rfc6238_code(case_manager.totp_secret)})
    client.post(reverse("account_reauthenticate"), {"password": STAFF_PASSWORD})
    _check(
        client,
        [
            reverse("accounts:profile"),
            reverse("usersessions_list"),
            reverse("mfa_index"),
            reverse("mfa_list_webauthn"),
            reverse("mfa_add_webauthn"),
            reverse("mfa_view_recovery_codes"),
            reverse("mfa_generate_recovery_codes"),
            reverse("mfa_deactivate_totp"),
            reverse("account_change_password"),
            reverse("accounts:substitution_list"),
        ],
    )


def test_administration_pages(client, admin_user, case_manager, team):
    client.force_login(admin_user)
    _check(
        client,
        [
            reverse("accounts:staff_list"),
            reverse("accounts:staff_create"),
            reverse("accounts:staff_update", args=[case_manager.pk]),
            reverse("accounts:team_list"),
            reverse("accounts:team_update", args=[team.pk]),
            reverse("accounts:substitution_list"),
            reverse("accounts:profile"),
        ],
    )


def test_account_pages_of_a_client(client, outbox):
    from sprechstunde.clients.factories import ClientFactory

    client_user = ClientUserFactory()
    ClientFactory(user=client_user, email=client_user.email)
    client.post(reverse("account_request_login_code"), {"email": client_user.email})
    code = codes_in_mail(outbox[-1].body)[0]
    client.post(reverse("account_confirm_login_code"), {"code": code})
    # A client's account page is her settings page in the portal (language, passkeys).
    assert client.get(reverse("accounts:profile"))["Location"] == reverse("clients:portal_settings")
    _check(
        client,
        [reverse("clients:portal_settings"), reverse("mfa_index"), reverse("mfa_add_webauthn")],
    )


def test_the_page_for_too_many_requests_is_ours_and_german(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login": "1/m/ip"}
    client.get(reverse("account_login"))
    client.post(reverse("account_login"), {"login": "a@example.org", "password": "x"})

    response = client.post(reverse("account_login"), {"login": "a@example.org", "password": "x"})

    assert response.status_code == 429
    page = _Page()
    page.feed(response.content.decode())
    assert page.report() == []
    assert '<html lang="de"' in response.content.decode()


def test_the_checks_catch_what_they_are_for():
    page = _Page()
    page.feed(
        '<html><body><h1>A</h1><h1>B</h1><a href="/x"></a><button></button>'
        '<input name="q" id="q"><p style="color:red" id="q"></p><script>alert(1)</script>'
        '<script src="https://cdn.example/x.js"></script></body></html>'
    )

    problems = "\n".join(page.report())

    for expected in (
        "2 h1 elements",
        "no lang attribute",
        "<a> without text",
        "<button> without text",
        "<input name='q'> has no label",
        "style attribute",
        "duplicate ids ['q']",
        "inline <script>",
        "script from another host",
    ):
        assert expected in problems


def test_password_pages_logout_and_reauthentication(client, case_manager, team):
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str
    from allauth.mfa.models import Authenticator

    newcomer = CaseManagerFactory(team=team, password=None, with_totp=False)
    key_url = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(newcomer),
            "key": default_token_generator.make_token(newcomer),
        },
    )
    form_page = client.get(key_url, follow=True)
    assert _problems(form_page) == []
    _check(client, [reverse("account_inactive")])

    key = Authenticator.objects.create(
        user=case_manager, type=Authenticator.Type.WEBAUTHN, data={"name": "Key"}
    )
    client.post(reverse("account_login"), {"login": case_manager.email, "password": STAFF_PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": rfc6238_code(case_manager.totp_secret)})
    _check(
        client,
        [
            reverse("account_logout"),
            reverse("account_reauthenticate"),
            reverse("mfa_reauthenticate"),
        ],
    )
    client.post(reverse("account_reauthenticate"), {"password": STAFF_PASSWORD})
    _check(
        client,
        [
            reverse("mfa_edit_webauthn", args=[key.pk]),
            reverse("mfa_remove_webauthn", args=[key.pk]),
        ],
    )
