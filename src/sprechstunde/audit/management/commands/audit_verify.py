"""`manage.py audit_verify`: prove that the audit trail has not been edited, cut or reordered.

Walks the chain in sequence order, recomputes each hash and link, and checks the anchors.
Exits with status 1 and names the first broken sequence, or prints "N entries, chain intact"
and the head. Limits, stated plainly: the chain shows edits, deletions and reordering, but a
cut-off tail leaves a valid (shorter) chain. That is caught only against a head recorded
earlier: an anchor (`--anchor` stores the verified head in the database) or, stronger because
it lives outside the database, a head copied elsewhere and passed back with `--expect`.
Someone able to rewrite the database can also recompute the whole chain and its anchors;
only heads kept outside the database reveal that.
"""

from __future__ import annotations

import re
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sprechstunde.audit.selectors import audit_chain_verify
from sprechstunde.audit.services import audit_anchor_create

_HEAD = re.compile(r"^#?(?P<sequence>\d+):(?P<hash>[0-9a-f]{64})$")


def _head(value: str) -> tuple[int, str]:
    match = _HEAD.match(value.strip().lower())
    if match is None:
        raise ArgumentTypeError("expected SEQUENCE:SHA256HEX, as printed by audit_verify")
    return int(match["sequence"]), match["hash"]


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chain. Exits non-zero at the first broken entry. "
        "Prints the head (SEQUENCE:HASH): keep it outside the database and pass it back "
        "with --expect to detect a removed tail or a recomputed chain."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--expect",
            action="append",
            type=_head,
            default=[],
            metavar="SEQUENCE:HASH",
            help="A head printed by an earlier run; the entry must still exist with this hash.",
        )
        parser.add_argument(
            "--anchor",
            action="store_true",
            help="If the chain is intact, store its head as an anchor in the database.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_chain_verify(expected_heads=options["expect"])
        if report.problem is not None:
            raise CommandError(
                f"Audit chain broken at sequence {report.problem.sequence}: "
                f"{report.problem.reason}. "
                f"Entries before it are intact (head #{report.head_sequence}).",
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(f"{report.entry_count} entries, chain intact."))
        if report.trimmed_through:
            self.stdout.write(
                f"Entries up to #{report.trimmed_through} were deleted by retention; "
                "the chain starts at that trim's recorded hash."
            )
        self.stdout.write(f"Head: {report.head_sequence}:{report.head_hash}")
        if options["anchor"] and report.head_sequence:
            audit_anchor_create(sequence=report.head_sequence, entry_hash=report.head_hash)
            self.stdout.write(f"Anchor stored for #{report.head_sequence}.")
