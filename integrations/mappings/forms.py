"""Forms of the mapping admin. Choices that come from Salesforce are built in `__init__` from
the cached describe (a MappingContext, see mapping_selectors), never by calling Salesforce.

The rules themselves live in integrations.salesforce.mapping_rules; the formset runs them
over the whole set of rows as posted (unsaved), so what is refused is what would fail.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from bookings.models import Question
from integrations.mappings.forms_write_back import cancel_reason_problem
from integrations.mappings.records import target_mapping_specs
from integrations.mappings.selectors import MappingContext, write_back_context
from integrations.models import FieldMapping, SyncTarget
from integrations.salesforce import schema as sf_schema
from integrations.salesforce.mapping import (
    BOOKING_FACTS,
    Code,
    MappingSpec,
    Problem,
    Severity,
    SourceKind,
)
from integrations.salesforce.mapping_rules import mapping_problems

UPSERT_HELP = (
    "Upsert (recommended): the booking id is written to an external-ID field and used as "
    "the key, so sending a booking again (a retry, a resend) updates the same record instead "
    "of creating a duplicate. Create: every send makes a new record."
)
NOT_OFFERED = " — not offered: not an external-ID field of this object"
POLICY_FIELDS = ("person_match", "duplicate_policy", "owner_policy", "event_subject")


class SyncTargetForm(forms.ModelForm):
    """The page, object, write mode and key field. `context` is set by the admin."""

    context: MappingContext = MappingContext()

    key_field = forms.ChoiceField(
        label="Booking id field",
        required=False,
        help_text="External-ID fields of the object only. Receives the booking's id: the "
        "upsert key, and in create mode the marker that finds a record already created.",
    )

    owner_id = forms.ChoiceField(
        label="Fixed owner",
        required=False,
        help_text='For the owner policy "always the same user or queue".',
    )
    campaign_id = forms.ChoiceField(
        label="Campaign",
        required=False,
        help_text="Add each guest to this campaign (optional).",
    )

    cancel_reason_field = forms.ChoiceField(
        label="Cancel reason field",
        required=False,
        help_text="A text field of the Lead / Contact the connected user may update; it "
        "receives the reason given for cancelling. A Contact found instead of a Lead needs "
        "a field of the same API name.",
    )

    class Meta:
        model = SyncTarget
        fields = [
            "page", "sobject", "enabled", "write_mode", "key_field",
            "person_match", "duplicate_policy", "owner_policy", "owner_id", "account_question",
            "event_enabled", "event_subject", "campaign_id", "campaign_status",
            "cancel_action", "cancel_subject_prefix", "cancel_reason_field", "reschedule_action",
        ]  # fmt: skip
        widgets = {"sobject": forms.TextInput(attrs={"list": "sf-objects", "size": 30})}
        help_texts = {
            "sobject": "The API name of the object to create, e.g. Lead, Contact or a "
            "custom object (Booking__c). Checked against your org.",
            "write_mode": UPSERT_HELP,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keys = self.context.key_field_choices()
        if self.instance.pk is None:
            # A new target is meant to post, keyed on the object's only external-ID field
            # when there is exactly one (the save refuses a target without one).
            self.initial.setdefault("enabled", True)
            if len(keys) == 1:
                self.initial.setdefault("key_field", keys[0][0])
        choices = [("", "— none —"), *keys]
        current = self.instance.key_field
        if current and current not in dict(choices):
            choices.append((current, current + NOT_OFFERED))
        self.fields["key_field"].choices = choices
        directory = self.context.directory
        self.fields["owner_id"].choices = _kept(
            [("", "—"), *_options(directory.users, "user"), *_options(directory.queues, "queue")],
            self.instance.owner_id,
        )
        self.fields["campaign_id"].choices = _kept(
            [("", "— none —"), *_options(directory.campaigns, "campaign")],
            self.instance.campaign_id,
        )
        if directory.error:
            for name in ("owner_id", "campaign_id"):
                self.fields[name].help_text += f" {directory.error}"
        for name in POLICY_FIELDS:  # left out of a post: the target's current choice stays
            self.fields[name].required = False
        self.write_back = write_back_context(
            page=self.context.page, sobject=self.context.sobject or self.instance.sobject
        )
        self.fields["cancel_reason_field"].choices = _kept(
            [("", "— none —"), *self.write_back.text_choices()],
            self.instance.cancel_reason_field,
        )
        for name in ("cancel_action", "reschedule_action"):
            self.fields[name].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        describe = self.context.describe
        if "sobject" in data and describe is None:
            self.add_error("sobject", self.context.error or "Salesforce fields are not loaded.")
            return data
        if describe is None:
            return data
        data["sobject"] = self.instance.sobject = describe.get("name") or data.get("sobject")
        self._policies_clean(data)
        for name in ("cancel_action", "reschedule_action"):
            data[name] = data.get(name) or getattr(self.instance, name)
        problem = cancel_reason_problem(self.write_back, data.get("cancel_reason_field", ""))
        if problem:
            self.add_error("cancel_reason_field", problem)
        if describe.get("createable") is False:
            self.add_error("sobject", f"The connected user may not create {data['sobject']}.")
        key = data.get("key_field", "")
        keys = {f.name for f in sf_schema.external_id_fields(describe)}
        if key and key not in keys:
            self.add_error(
                "key_field",
                f"{key} is not an external-ID field of {data['sobject']} the connected user "
                "may write: choose one from the list.",
            )
        elif not key:
            # Upsert keys on it; create mode looks a record up by it before creating again
            # after an unclear failure (a timeout after Salesforce wrote it). Without it a
            # retry or a resend could create a second record.
            self.add_error(
                "key_field",
                "Choose the external-ID field that receives the booking id"
                + (
                    ": upsert keys on it, and create mode uses it to never create twice."
                    if keys
                    else f"; {data['sobject']} has none. Ask your Salesforce admin to add a "
                    "text field marked External ID (e.g. LeadSync_Booking_Id__c)."
                ),
            )
        return data

    def _policies_clean(self, data: dict[str, Any]) -> None:
        """Person policies only mean something on Lead / Contact; a fixed owner needs one."""
        for name in POLICY_FIELDS:
            if not data.get(name):
                data[name] = (
                    getattr(self.instance, name) or SyncTarget._meta.get_field(name).get_default()
                )
        if data.get("owner_policy") == SyncTarget.OwnerPolicy.FIXED and not data.get("owner_id"):
            self.add_error("owner_id", "Choose the user or queue that owns new records.")
        directory = self.context.directory
        self.instance.owner_name = directory.name_of(data.get("owner_id") or "")
        self.instance.campaign_name = directory.name_of(data.get("campaign_id") or "")
        if data.get("sobject") != "Contact":
            data["account_question"] = ""


def _options(rows: list[dict], kind: str) -> list[tuple[str, str]]:
    return [(str(r["Id"]), f"{r.get('Name') or r['Id']} ({kind})") for r in rows]


def _kept(choices: list[tuple[str, str]], current: str) -> list[tuple[str, str]]:
    """`choices`, plus the saved value when the loaded directory does not list it."""
    if current and current not in dict(choices):
        choices.append((current, f"{current} (not in the loaded list)"))
    return choices


class FieldMappingForm(forms.ModelForm):
    """One Salesforce field and its source. Field choices: rule 6 (insertable only)."""

    sf_field = forms.ChoiceField(
        label="Salesforce field",
        error_messages={
            "invalid_choice": "%(value)s is not a field the connected user may write in this "
            "write mode (or it no longer exists): choose one from the list."
        },
    )
    source_key = forms.ChoiceField(
        label="Question or booking fact", required=False, help_text="For those two kinds."
    )

    class Meta:
        model = FieldMapping
        fields = [
            "sf_field", "source_kind", "source_key", "constant_value", "accept_truncation",
            "write_policy",
        ]  # fmt: skip
        widgets = {
            "constant_value": forms.TextInput(attrs={"size": 18, "class": "mapping-constant"})
        }
        help_texts = {"constant_value": "For constants. Picklists: one of the listed values."}

    def __init__(self, *args: Any, context: MappingContext | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context = context or MappingContext()
        self.fields["sf_field"].choices = [("", "---------"), *self.context.field_choices()]
        self.fields["sf_field"].widget.attrs["class"] = "mapping-field"
        self.fields["source_key"].choices = self.context.source_key_choices()
        self.fields["write_policy"].required = False  # left out of a post: "always"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["write_policy"] = data.get("write_policy") or FieldMapping.WritePolicy.ALWAYS
        kind = data.get("source_kind")
        key = data.get("source_key", "")
        if kind == SourceKind.QUESTION:
            if key not in {q.key for q in self.context.questions}:
                self.add_error("source_key", "Choose a question of this booking page.")
            data["constant_value"] = ""
        elif kind == SourceKind.BOOKING:
            if key not in BOOKING_FACTS:
                self.add_error("source_key", "Choose a booking fact.")
            data["constant_value"] = ""
        elif kind == SourceKind.URL_PARAM:
            # Rule 7: the parameter read is the one named exactly like the field.
            data["source_key"] = data["constant_value"] = ""
        elif kind == SourceKind.CONSTANT:
            data["source_key"] = ""
            if not (data.get("constant_value") or "").strip():
                self.add_error("constant_value", "Enter the value to send.")
        return data


class FieldMappingFormSet(BaseInlineFormSet):
    """All mapping rows of a target. `clean` runs mapping_problems over the rows as posted:
    errors refuse the save (naming the field and the fix), warnings are kept in
    `problems` for the admin to show."""

    def __init__(self, *args: Any, context: MappingContext | None = None, **kwargs: Any) -> None:
        self.context = context or MappingContext()
        self.problems: list[Problem] = []
        self.specs: list[MappingSpec] = []
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "context": self.context}

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        rows = [
            form.instance
            for form in self.forms
            if form.cleaned_data and not self._should_delete_form(form)
        ]
        describe = self.context.describe
        if describe is None:
            raise ValidationError(self.context.error or "Salesforce fields are not loaded.")
        target: SyncTarget = self.instance
        if target.key_field and any(row.sf_field == target.key_field for row in rows):
            raise ValidationError(
                f"{target.key_field} receives the booking id (it is the booking id field): "
                "remove its mapping row, or choose another booking id field."
            )
        self.specs = target_mapping_specs(target, mappings=rows, questions=self.context.questions)
        self.problems = mapping_problems(
            describe, self.specs, write_mode=sf_schema.WriteMode(target.write_mode)
        )
        errors = [p for p in self.problems if p.is_error]
        if errors:
            raise ValidationError([f"{p.message} Fix: {p.fix}" for p in errors])

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def problem_rows(self) -> list[dict[str, Any]]:
        """The problems of the last `clean`, with their one-click fixes (for the page)."""
        return problem_rows(self.problems, self.specs, self.context.questions)


def question_fixes(
    problems: list[Problem], specs: list[MappingSpec], questions: list[Question]
) -> dict[str, Question]:
    """Rule 5's one-click fix: for each required field fed only by optional questions,
    the question to make required (by Salesforce field)."""
    by_key = {q.key: q for q in questions}
    fixes: dict[str, Question] = {}
    for problem in problems:
        if problem.code != Code.REQUIRED_FIELD_MAY_BE_BLANK:
            continue
        for spec in specs:
            question = by_key.get(spec.source_key)
            if (
                spec.sf_field == problem.field
                and spec.source_kind is SourceKind.QUESTION
                and question is not None
                and not question.required
            ):
                fixes[problem.field] = question
                break
    return fixes


def problems_from_dicts(stored: list[dict[str, str]] | None) -> list[Problem]:
    """Problems stored on a target (SyncTarget.problems) back as Problem objects."""
    problems = []
    for item in stored or []:
        try:
            problems.append(
                Problem(
                    field=item["field"],
                    code=Code(item["code"]),
                    message=item["message"],
                    fix=item.get("fix", ""),
                    severity=Severity(item.get("severity", Severity.ERROR)),
                )
            )
        except (KeyError, ValueError, TypeError):
            continue
    return problems


def problem_rows(
    problems: list[Problem], specs: list[MappingSpec], questions: list[Question]
) -> list[dict[str, Any]]:
    """Problems for display, errors first, each with the question whose "Make required"
    button fixes it (rule 5), if any."""
    fixes = question_fixes(problems, specs, questions)
    ordered = sorted(problems, key=lambda p: (not p.is_error, p.field))
    truncatable = {
        s.sf_field
        for s in specs
        if s.source_kind is not SourceKind.CONSTANT and not s.accept_truncation
    }
    return [
        {
            "problem": p,
            "question": fixes.get(p.field) if p.code == Code.REQUIRED_FIELD_MAY_BE_BLANK else None,
            # One click: tick "accept truncation" on the field's row and save.
            "truncate": p.code == Code.STRING_TOO_LONG and p.field in truncatable,
        }
        for p in ordered
    ]
