"""Prefill the public holidays of one Land for some years (idempotent; the admin may edit)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from sprechstunde.appointments.holidays import LAND_EXTRAS, holidays_for
from sprechstunde.appointments.models import PublicHoliday


class Command(BaseCommand):
    help = "Add the statutory public holidays of a Land (e.g. BW) for the given years."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--land", required=True, help="Land code: " + ", ".join(LAND_EXTRAS))
        parser.add_argument(
            "--years",
            nargs="+",
            type=int,
            help="Years to add (default: this year and the next).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        year = timezone.localdate().year
        years = options["years"] or [year, year + 1]
        try:
            days = [day for y in years for day in holidays_for(year=y, land=options["land"])]
        except ValueError as error:
            raise CommandError(str(error)) from error
        created = 0
        for day, name in days:
            _holiday, was_created = PublicHoliday.objects.get_or_create(
                day=day, defaults={"name": name}
            )
            created += was_created
        self.stdout.write(f"{created} public holidays added, {len(days) - created} already there.")
