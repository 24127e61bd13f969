"""The client's whole story: one timeline fed by every app, and the actions started from it.

`clients` cannot import the apps built on it, so each app plugs in through its AppConfig
(ADR 0060):

- `client_timeline_sources()` returns `TimelineSource`s. A source reads one kind of event of
  one client with one query, newest first, after a cursor; it is called only after the
  client page has checked access and audited the view once, so it neither checks nor audits.
- `client_actions(*, user, client)` returns the `ClientAction`s `user` may start for the
  client (a button only where the page behind it opens for that user).

A future forms app adds a source of kind "form" the same way; the filter shows it then.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.apps import apps
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import Client, Consent

# The kinds a timeline can be filtered by, in the order the filter offers them. A kind is
# offered only when a source of that kind is installed.
KIND_LABELS: dict[str, Promise] = {
    "appointment": _("Appointments"),
    "call": _("Calls"),
    "message": _("Messages"),
    "document": _("Documents"),
    "form": _("Forms"),
    "plan": _("Plans"),
    "decision": _("Decisions"),
    "delivery": _("Delivery"),
    "consent": _("Consents"),
}
PAGE_SIZE = 25


@dataclass(frozen=True)
class TimelineEntry:
    """One event of the story. `source` and `key` break ties between equal times."""

    at: datetime.datetime
    kind: str
    source: str
    key: int
    title: str
    detail: str = ""
    url: str = ""
    state: str = ""
    # "ok", "off", "neutral" or "warn": how the state badge looks.
    tone: str = "neutral"

    @property
    def is_upcoming(self) -> bool:
        return self.at > timezone.now()

    @property
    def sort_key(self) -> tuple[datetime.datetime, str, int]:
        return (self.at, self.source, self.key)


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: entries strictly older in (time, source, key) order come next."""

    at: datetime.datetime
    source: str
    key: int

    def encode(self) -> str:
        stamp = self.at.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%S.%f")
        return f"{stamp}~{self.source}~{self.key}"

    @classmethod
    def decode(cls, value: str | None) -> Cursor | None:
        """None for anything that is not a cursor we wrote (a bad link shows page one)."""
        if not value or len(value) > 100:
            return None
        parts = value.split("~")
        if len(parts) != 3 or not parts[2].isdigit() or not parts[1].isidentifier():
            return None
        try:
            at = datetime.datetime.strptime(parts[0], "%Y%m%dT%H%M%S.%f").replace(
                tzinfo=datetime.UTC
            )
        except ValueError:
            return None
        return cls(at=at, source=parts[1], key=int(parts[2]))

    def older(self, *, source: str, at_field: str, key_field: str = "pk") -> Q:
        """The filter for `source`'s rows that come after this cursor, newest first."""
        if source < self.source:
            return Q(**{f"{at_field}__lte": self.at})
        if source > self.source:
            return Q(**{f"{at_field}__lt": self.at})
        return Q(**{f"{at_field}__lt": self.at}) | Q(
            **{at_field: self.at, f"{key_field}__lt": self.key}
        )


class TimelineSource(Protocol):
    """Reads one kind of event of a client: at most `limit` entries after `cursor`, newest
    first, with a fixed number of queries (one, as a rule)."""

    @property
    def kind(self) -> str: ...

    @property
    def code(self) -> str: ...

    def entries(
        self, *, client: Client, cursor: Cursor | None, limit: int
    ) -> Sequence[TimelineEntry]: ...


@dataclass(frozen=True)
class QuerySource:
    """A source made of a queryset builder and a row → entry function."""

    kind: str
    code: str
    rows: Callable[[Client], Any]
    at_field: str
    make: Callable[[Any], TimelineEntry]
    key_field: str = "pk"

    def entries(self, *, client: Client, cursor: Cursor | None, limit: int) -> list[TimelineEntry]:
        queryset = self.rows(client).filter(**{f"{self.at_field}__isnull": False})
        if cursor is not None:
            queryset = queryset.filter(
                cursor.older(source=self.code, at_field=self.at_field, key_field=self.key_field)
            )
        queryset = queryset.order_by(f"-{self.at_field}", f"-{self.key_field}")[:limit]
        return [self.make(row) for row in queryset]


@dataclass(frozen=True)
class ClientAction:
    """A button on the client page: a label and the page that does it."""

    label: str
    url: str
    order: int = 50


@dataclass
class TimelinePage:
    """One page of the story and the cursor of the next one (None on the last page)."""

    entries: list[TimelineEntry]
    next_cursor: Cursor | None
    kinds: list[tuple[str, str]] = field(default_factory=list)
    kind: str = ""


def installed_sources() -> list[TimelineSource]:
    """Every source the installed apps offer (their AppConfig's client_timeline_sources)."""
    sources: list[TimelineSource] = []
    for app_config in apps.get_app_configs():
        offer = getattr(app_config, "client_timeline_sources", None)
        if offer is not None:
            sources.extend(offer())
    return sources


def installed_kinds(sources: Iterable[TimelineSource]) -> list[tuple[str, str]]:
    """(kind, label) for the filter: the known kinds with a source, in their fixed order."""
    present = {source.kind for source in sources}
    known = [(kind, str(label)) for kind, label in KIND_LABELS.items() if kind in present]
    extra = sorted(present - set(KIND_LABELS))
    return known + [(kind, kind) for kind in extra]


def timeline_page(
    *,
    client: Client,
    kind: str = "",
    cursor: Cursor | None = None,
    page_size: int = PAGE_SIZE,
    sources: Sequence[TimelineSource] | None = None,
) -> TimelinePage:
    """One page of the client's timeline, newest first, optionally of one kind.

    Each source is asked for page_size + 1 entries after the cursor (one query each), the
    lists are merged, and the page ends where the merged list does: a fixed number of
    queries whatever the size of the story. Callers check access and audit the view.
    """
    everything = list(sources) if sources is not None else installed_sources()
    kinds = installed_kinds(everything)
    if kind not in {code for code, _label in kinds}:
        kind = ""
    chosen = [source for source in everything if not kind or source.kind == kind]
    merged: list[TimelineEntry] = []
    for source in chosen:
        merged.extend(source.entries(client=client, cursor=cursor, limit=page_size + 1))
    merged.sort(key=lambda entry: entry.sort_key, reverse=True)
    shown = merged[:page_size]
    next_cursor = None
    if len(merged) > page_size:
        last = shown[-1]
        next_cursor = Cursor(at=last.at, source=last.source, key=last.key)
    return TimelinePage(entries=shown, next_cursor=next_cursor, kinds=kinds, kind=kind)


def client_actions_for_user(*, user: Any, client: Client) -> list[ClientAction]:
    """The actions `user` may start for `client`, from every app that offers some."""
    actions: list[ClientAction] = []
    for app_config in apps.get_app_configs():
        offer = getattr(app_config, "client_actions", None)
        if offer is not None:
            actions.extend(offer(user=user, client=client))
    return sorted(actions, key=lambda action: action.order)


# --- the clients app's own sources: consents given and withdrawn ---------------------------


def _consent_given(consent: Consent) -> TimelineEntry:
    return TimelineEntry(
        at=consent.given_at,
        kind="consent",
        source="consent_given",
        key=consent.pk,
        title=str(_("Consent given: %(purpose)s") % {"purpose": consent.get_purpose_display()}),
        detail=str(consent.get_given_method_display()),
        tone="ok",
    )


def _consent_withdrawn(consent: Consent) -> TimelineEntry:
    assert consent.withdrawn_at is not None
    return TimelineEntry(
        at=consent.withdrawn_at,
        kind="consent",
        source="consent_withdrawn",
        key=consent.pk,
        title=str(_("Consent withdrawn: %(purpose)s") % {"purpose": consent.get_purpose_display()}),
        detail=str(consent.get_withdrawn_method_display()),
        tone="off",
    )


def consent_sources() -> list[TimelineSource]:
    """Giving and withdrawing a consent are two events of the story."""
    return [
        QuerySource(
            kind="consent",
            code="consent_given",
            rows=lambda client: Consent.objects.filter(client=client),
            at_field="given_at",
            make=_consent_given,
        ),
        QuerySource(
            kind="consent",
            code="consent_withdrawn",
            rows=lambda client: Consent.objects.filter(client=client),
            at_field="withdrawn_at",
            make=_consent_withdrawn,
        ),
    ]
