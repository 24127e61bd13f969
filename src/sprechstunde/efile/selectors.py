"""Reads of the e-file app: what of a client is new for the e-file, and past hand-overs.
Callers have checked access (`permissions.can_hand_over`) and audit the page."""

from __future__ import annotations

from dataclasses import dataclass

from sprechstunde.clients.models import Client

from .models import Handover, HandoverItem
from .sources import Matter, Record, client_records


def records_pending(*, client: Client) -> list[Record]:
    """The client's records that were not handed over yet, in message order."""
    records = client_records(client=client)
    kinds = {record.kind for record in records}
    done = set(
        HandoverItem.objects.filter(handover__client=client, kind__in=kinds).values_list(
            "kind", "key"
        )
    )
    return [record for record in records if (record.kind, record.key) not in done]


@dataclass
class PendingMatter:
    matter: Matter
    records: list[Record]


def matters_pending(*, client: Client) -> list[PendingMatter]:
    """The pending records grouped by matter, for the page and its choice of matter."""
    groups: dict[str, PendingMatter] = {}
    for record in records_pending(client=client):
        groups.setdefault(record.matter.key, PendingMatter(record.matter, [])).records.append(
            record
        )
    return list(groups.values())


def handovers_for_client(*, client: Client) -> list[Handover]:
    return list(
        Handover.objects.filter(client=client)
        .select_related("created_by")
        .prefetch_related("items")
        .order_by("-created_at", "-pk")
    )


def handover_get(*, client: Client, pk: int) -> Handover | None:
    return Handover.objects.filter(client=client, pk=pk).select_related("client").first()
