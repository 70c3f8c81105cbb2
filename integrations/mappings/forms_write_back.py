"""Admin forms of a target's write-back policy: the field values a change sets on the
Event or the person. Field choices: only fields the connected user may UPDATE (the cached
describe's `updateable`, rule 6 for write-backs); values checked against picklists and
types like mapping constants (integrations.salesforce.write_back.value_problem)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.models import BaseInlineFormSet

from integrations.mappings.selectors import WriteBackContext
from integrations.models import WriteBackField
from integrations.salesforce import schema as sf_schema
from integrations.salesforce.write_back import value_problem

APPLIES = WriteBackField.AppliesTo


class WriteBackFieldForm(forms.ModelForm):
    """One field a change sets: when, on which record, which field, which value."""

    sf_field = forms.ChoiceField(
        label="Salesforce field",
        error_messages={
            "invalid_choice": "%(value)s is not a field the connected user may update (or it "
            "no longer exists): choose one from the list."
        },
    )

    class Meta:
        model = WriteBackField
        fields = ["change", "applies_to", "sf_field", "value"]
        help_texts = {"value": "Picklists: one of the listed values. Checkboxes: true / false."}

    def __init__(self, *args: Any, context: WriteBackContext | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.context = context or WriteBackContext()
        groups = [
            ("The meeting (Event)", self.context.choices(APPLIES.EVENT)),
            (
                f"The person ({self.context.sobject or 'record'})",
                self.context.choices(APPLIES.PERSON),
            ),
        ]
        choices: list[tuple[str, Any]] = [("", "---------")]
        choices += [(label, rows) for label, rows in groups if rows]
        current = self.instance.sf_field
        offered = {name for _, rows in groups for name, _ in rows}
        if current and current not in offered:
            choices.append((current, f"{current} (not in the loaded list)"))
        self.fields["sf_field"].choices = choices
        if self.context.errors:  # why a heading is missing from the list
            self.fields["sf_field"].help_text = " ".join(self.context.errors)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        applies_to, name = data.get("applies_to"), data.get("sf_field")
        if not (applies_to and name):
            return data
        describe = self.context.describe_for(applies_to)
        if describe is None:
            self.add_error("sf_field", " ".join(self.context.errors) or "Fields are not loaded.")
            return data
        if name not in dict(self.context.choices(applies_to)):
            where = "the Event" if applies_to == APPLIES.EVENT else self.context.sobject
            self.add_error(
                "sf_field",
                f"{name} is not a field of {where} the connected user may update: choose one "
                "from the list under the matching heading.",
            )
            return data
        facts = sf_schema.field(describe, name)
        problem = value_problem(facts, data.get("value") or "") if facts else ""
        if problem:
            self.add_error("value", problem)
        return data


class WriteBackFieldFormSet(BaseInlineFormSet):
    def __init__(self, *args: Any, context: WriteBackContext | None = None, **kwargs: Any):
        self.context = context or WriteBackContext()
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "context": self.context}


def cancel_reason_problem(context: WriteBackContext, name: str) -> str:
    """Why `name` cannot take the cancel reason ('' when it can, or nothing is chosen)."""
    if not name or context.person is None:
        return ""
    if name not in dict(context.text_choices()):
        return (
            f"{name} is not a text field of {context.sobject} the connected user may update: "
            "choose one from the list."
        )
    return ""
