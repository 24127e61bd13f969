"""Forms of the agreements app. They only parse input; every rule lives in services.py."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django import forms
from django.forms.fields import InvalidJSONInput
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import COMMENT_MAX_LENGTH, FieldType
from .letters import address_lines
from .rendering import FieldSpec

MAX_STEP_ROWS = 30


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class PlanForm(forms.Form):
    """Goals and support one per line; steps as rows of what / who / by when."""

    goals = forms.CharField(
        label=_("Goals"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One goal per line."),
    )
    support = forms.CharField(
        label=_("Support by the Jobcenter"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One offer per line."),
    )
    review_on = forms.DateField(
        label=_("Next review on"),
        required=False,
        widget=DateInput(),
        help_text=_("At the latest six months after the plan is issued."),
    )

    def __init__(self, *args: Any, step_rows: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        data = self.data if self.is_bound else {}
        if self.is_bound:
            try:
                step_rows = int(data.get("step_rows", step_rows))
            except (TypeError, ValueError):
                step_rows = 3
        self.step_rows = max(1, min(step_rows, MAX_STEP_ROWS))
        for index in range(self.step_rows):
            self.fields[f"step_{index}_what"] = forms.CharField(
                label=_("Step %(n)d: what") % {"n": index + 1}, required=False, max_length=1000
            )
            self.fields[f"step_{index}_who"] = forms.CharField(
                label=_("Step %(n)d: who") % {"n": index + 1}, required=False, max_length=200
            )
            self.fields[f"step_{index}_by"] = forms.DateField(
                label=_("Step %(n)d: by when") % {"n": index + 1},
                required=False,
                widget=DateInput(),
            )

    @classmethod
    def for_plan(cls, plan: Any) -> PlanForm:
        steps = list(plan.steps)
        form = cls(step_rows=len(steps) + 2)
        form.initial = {
            "goals": "\n".join(plan.goals),
            "support": "\n".join(plan.support),
            "review_on": plan.review_on,
        }
        for index, step in enumerate(steps):
            form.initial[f"step_{index}_what"] = step.get("what", "")
            form.initial[f"step_{index}_who"] = step.get("who", "")
            form.initial[f"step_{index}_by"] = step.get("by", "")
        return form

    def step_rows_bound(self) -> list[tuple[Any, Any, Any]]:
        return [
            (self[f"step_{i}_what"], self[f"step_{i}_who"], self[f"step_{i}_by"])
            for i in range(self.step_rows)
        ]

    def cleaned_plan(self) -> dict[str, Any]:
        data = self.cleaned_data
        steps = []
        for index in range(self.step_rows):
            by = data.get(f"step_{index}_by")
            steps.append(
                {
                    "what": data.get(f"step_{index}_what", ""),
                    "who": data.get(f"step_{index}_who", ""),
                    "by": by.isoformat() if isinstance(by, datetime.date) else "",
                }
            )
        return {
            "goals": _lines(data.get("goals", "")),
            "support": _lines(data.get("support", "")),
            "steps": steps,
            "review_on": data.get("review_on"),
        }


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Your comment or proposed change"),
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": COMMENT_MAX_LENGTH}),
        error_messages={"required": _("Please write your comment.")},
    )


class TemplateChoiceForm(forms.Form):
    template = forms.TypedChoiceField(label=_("Template"), coerce=int)

    def __init__(self, *args: Any, templates: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.templates = {template.pk: template for template in templates}
        self.fields["template"].choices = [(t.pk, t.title) for t in templates]  # type: ignore[attr-defined]

    def chosen(self) -> Any:
        return self.templates.get(self.cleaned_data["template"])


def decision_form_fields(specs: list[FieldSpec], values: dict[str, str]) -> forms.Form:
    """A form whose fields follow the template's typed fields (values are checked by the
    service; the form gives each field the right input and label)."""
    form = forms.Form(initial=values)
    for spec in specs:
        attrs: dict[str, Any] = {}
        field: forms.Field
        if spec.type == FieldType.TEXTAREA:
            field = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))
        elif spec.type == FieldType.DATE:
            date_attrs = {"type": "date"}
            if spec.latest == "today":  # a hint for the browser; the service refuses it too
                date_attrs["max"] = timezone.localdate().isoformat()
            field = forms.CharField(widget=forms.DateInput(attrs=date_attrs))
        elif spec.type == FieldType.MONEY:
            attrs = {"inputmode": "decimal", "autocomplete": "off"}
            field = forms.CharField(widget=forms.TextInput(attrs=attrs))
        elif spec.type == FieldType.NUMBER:
            field = forms.CharField(widget=forms.TextInput(attrs={"inputmode": "numeric"}))
        elif spec.type == FieldType.CHOICE:
            choices = [("", "—"), *((choice, choice) for choice in spec.choices)]
            field = forms.ChoiceField(choices=choices)
        else:
            field = forms.CharField()
        field.label = spec.label
        field.required = spec.required
        field.help_text = spec.help
        form.fields[f"field_{spec.name}"] = field
        form.initial[f"field_{spec.name}"] = values.get(spec.name, "")
    return form


def decision_raw_values(specs: list[FieldSpec], data: Any) -> dict[str, Any]:
    return {spec.name: data.get(f"field_{spec.name}", "") for spec in specs}


class PostalSentForm(forms.Form):
    sent_on = forms.DateField(label=_("Handed to the post on"), widget=DateInput())


class LetterAddressForm(forms.Form):
    """The recipient's postal address for a letter, typed in from the main system; printed
    into the window field and not stored."""

    address = forms.CharField(
        label=_("Postal address"),
        help_text=_(
            "Street and house number, postcode and town, one per line (at most five lines; "
            "the name is added). Filled in from the client's record; a change here is "
            "printed only, not stored."
        ),
        max_length=400,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
    )

    def clean_address(self) -> str:
        lines = address_lines(self.cleaned_data["address"])
        if len(lines) < 2:
            raise forms.ValidationError(
                _("Please enter at least the street and the postcode with the town.")
            )
        return "\n".join(lines)


class ConfirmationCreateForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text the client confirms"), widget=forms.Textarea(attrs={"rows": 8})
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the e-mail"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


# --- Template management --------------------------------------------------------------------


class ReadableJSONField(forms.JSONField):
    """JSON shown indented and with umlauts as they are (not as \\u escapes)."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


TEMPLATE_KEY_HELP = _(
    "A short name that stays the same across versions: small letters, digits and hyphens."
)


class DecisionTemplateForm(forms.Form):
    """The text of a decision template; the checks (placeholders, typed fields and the
    Rechtsbehelfsbelehrung) run in the service and show at the fields."""

    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_(
            "Placeholders: {{ field_name }} for each field below, {{ jobcenter_name }}, "
            "{{ jobcenter_address }} and {{ objection_address }}. A blank line starts a new "
            "paragraph."
        ),
    )
    # Not `fields`: a form's `fields` is its own field list.
    field_definitions = ReadableJSONField(
        label=_("Fields"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
        help_text=_(
            'A list like [{"name": "amount", "label": "Amount", "type": "money", '
            '"required": true}]; types: text, textarea, date, money, number, choice '
            '(with "choices": [...]).'
        ),
    )
    legal_remedy = forms.CharField(
        label=_("Legal remedy instruction (Rechtsbehelfsbelehrung)"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Required: the objection (Widerspruch), its time limit of one month and where to "
            "lodge it; {{ objection_address }} names that place."
        ),
    )


class PlanTemplateForm(forms.Form):
    """The frame of a cooperation plan; the lint (no Rechtsfolgenbelehrung, no
    Rechtsbehelfsbelehrung, no signature line) runs in the service."""

    title = forms.CharField(label=_("Title"), max_length=200)
    intro = forms.CharField(
        label=_("Introduction"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    support_suggestions = forms.CharField(
        label=_("Support the Jobcenter usually offers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("One per line; the case manager picks and edits them."),
    )
    closing = forms.CharField(
        label=_("Closing words"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )


class TemplateKeyForm(forms.Form):
    key = forms.SlugField(label=_("Key"), max_length=60, help_text=TEMPLATE_KEY_HELP)


def template_form_class(kind: str) -> type[forms.Form]:
    return DecisionTemplateForm if kind == "bescheid" else PlanTemplateForm
