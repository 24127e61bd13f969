"""Staff forms for booking, proposing, moving, office hours and absences; what clients fill
in (cancelling, picking a time) is in `portal` (client-facing: every client language).

Forms only parse input: date + time in the Jobcenter's zone become aware datetimes; every
rule about what may be booked lives in services.py.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sprechstunde.appointments.choices import Channel, Weekday
from sprechstunde.appointments.selectors import local_zone

DURATION_CHOICES = [(m, _("%(minutes)s minutes") % {"minutes": m}) for m in (15, 30, 45, 60, 90)]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%H:%M")


def local_datetime(day: datetime.date, time: datetime.time) -> datetime.datetime:
    """Wall-clock date and time in the Jobcenter's zone, refusing times a clock change skips."""
    zone = local_zone()
    naive = datetime.datetime.combine(day, time)
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(datetime.UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise forms.ValidationError(
            _("This time does not exist on that day because the clocks change.")
        )
    return aware


class SlotFieldsMixin(forms.Form):
    """Day, start time and duration → starts_at / ends_at in cleaned_data."""

    day = forms.DateField(label=_("Date"), widget=DateInput())
    start_time = forms.TimeField(label=pgettext_lazy("time of day", "Start"), widget=TimeInput())
    duration = forms.TypedChoiceField(
        label=_("Duration"), choices=DURATION_CHOICES, coerce=int, initial=30
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("day") and data.get("start_time") and data.get("duration"):
            try:
                starts_at = local_datetime(data["day"], data["start_time"])
            except forms.ValidationError as error:
                self.add_error("start_time", error)
            else:
                data["starts_at"] = starts_at
                data["ends_at"] = starts_at + datetime.timedelta(minutes=data["duration"])
        return data


class ChannelFieldsMixin(forms.Form):
    channel = forms.ChoiceField(
        label=_("Channel"), choices=Channel.choices, widget=forms.RadioSelect, initial=Channel.PHONE
    )
    location = forms.CharField(
        label=_("Address (on site) or note (phone)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("On site and left empty: the address of your office hours."),
    )


class AppointmentBookForm(SlotFieldsMixin, ChannelFieldsMixin):
    """The case manager books one appointment directly."""

    field_order = ["day", "start_time", "duration", "channel", "location"]


class AppointmentMoveForm(SlotFieldsMixin, ChannelFieldsMixin):
    """The case manager moves an appointment to another time (and perhaps channel)."""

    field_order = ["day", "start_time", "duration", "channel", "location"]


class AppointmentProposeForm(ChannelFieldsMixin):
    """The case manager proposes up to three slots of the same length."""

    field_order = [
        *("day_1", "time_1", "day_2", "time_2", "day_3", "time_3"),
        *("duration", "channel", "location"),
    ]

    duration = forms.TypedChoiceField(
        label=_("Duration"), choices=DURATION_CHOICES, coerce=int, initial=30
    )
    day_1 = forms.DateField(label=_("Date of slot 1"), widget=DateInput())
    time_1 = forms.TimeField(label=_("Start of slot 1"), widget=TimeInput())
    day_2 = forms.DateField(label=_("Date of slot 2"), widget=DateInput(), required=False)
    time_2 = forms.TimeField(label=_("Start of slot 2"), widget=TimeInput(), required=False)
    day_3 = forms.DateField(label=_("Date of slot 3"), widget=DateInput(), required=False)
    time_3 = forms.TimeField(label=_("Start of slot 3"), widget=TimeInput(), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        slots = []
        for index in (1, 2, 3):
            day, time = data.get(f"day_{index}"), data.get(f"time_{index}")
            if bool(day) != bool(time):
                self.add_error(f"time_{index}", _("Give both date and start, or neither."))
                continue
            if day and time and data.get("duration"):
                try:
                    start = local_datetime(day, time)
                except forms.ValidationError as error:
                    self.add_error(f"time_{index}", error)
                    continue
                slots.append((start, start + datetime.timedelta(minutes=data["duration"])))
        data["slots"] = slots
        return data


class AttendanceForm(forms.Form):
    status = forms.ChoiceField(choices=[("held", _("Held")), ("no_show", _("No-show"))])
    actual_minutes = forms.IntegerField(
        label=_("Actual duration (minutes)"), required=False, min_value=1, max_value=480
    )


class OfficeHoursForm(forms.Form):
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=Weekday.choices, coerce=int)
    start_time = forms.TimeField(label=_("From"), widget=TimeInput())
    end_time = forms.TimeField(label=_("Until"), widget=TimeInput())
    slot_minutes = forms.TypedChoiceField(
        label=_("Slot length"), choices=DURATION_CHOICES, coerce=int, initial=30
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels offered"), choices=Channel.choices, widget=forms.CheckboxSelectMultiple
    )
    on_site_address = forms.CharField(
        label=_("Address for on-site appointments"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    is_client_bookable = forms.BooleanField(
        label=_("Clients may book these slots themselves"), required=False, initial=True
    )


class AbsenceForm(forms.Form):
    starts_on = forms.DateField(label=_("From"), widget=DateInput())
    ends_on = forms.DateField(label=_("Until"), widget=DateInput())
