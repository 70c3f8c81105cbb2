"""What each delivery error code means, in plain language, and how to fix it.

ONE table, read by the failed-posts dashboard and the alert emails alike. Codes are
Salesforce's REST error codes and the pre-send check's
(salesforce.mapping.Code, which mirror Salesforce's where one fits). Connection-level codes
(OAuth refusals, the four Connected App settings, API access) are explained by
salesforce.diagnostics, never duplicated here. Unknown codes get a default that quotes
Salesforce.

Pure: the Django layer passes what it knows about the fields (`FieldSource`: which
question, booking fact, URL parameter or constant feeds each one), so a fix can name the
question behind a field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from integrations.salesforce import diagnostics
from integrations.salesforce.mapping import Code


class Remedy(StrEnum):
    """Who acts next."""

    FIX_AND_RESEND = "fix"  # change the mapping, the page or Salesforce, then resend
    WAITS = "waits"  # transient: LeadSync retries by itself
    RECONNECT = "reconnect"  # connection-level: deliveries are held until fixed


@dataclass(frozen=True)
class FieldSource:
    """Where a Salesforce field's value comes from, as staff know it.

    kind: "question" | "booking" | "url_param" | "constant", or "" when the field is not
    mapped at all; label: the question's label, the fact's key, the constant's value.
    """

    kind: str = ""
    label: str = ""
    required: bool = False  # a question only: is it required on the page?

    def describe(self) -> str:
        if self.kind == "question":
            return f"the question “{self.label}”"
        if self.kind == "booking":
            return f"the booking fact “{self.label}”"
        if self.kind == "url_param":
            return f"the URL parameter “{self.label}”"
        if self.kind == "constant":
            return f"the constant “{self.label}”"
        return "no mapping"


@dataclass(frozen=True)
class Explanation:
    """title: what happened, in one sentence; fix: what to do; detail: more context."""

    code: str
    title: str
    fix: str
    remedy: Remedy = Remedy.FIX_AND_RESEND
    detail: str = ""


@dataclass(frozen=True)
class _Entry:
    title: str  # may use {fields} and {message}
    fix: str  # may use {fields} and {sources}
    remedy: Remedy = Remedy.FIX_AND_RESEND


RESEND = "then use “Resend with current mapping”."
WAIT = "Nothing to change: LeadSync retries by itself."

TABLE: dict[str, _Entry] = {
    # -- Salesforce refuses the record (permanent) -------------------------------------------
    # REQUIRED_FIELD_MISSING's fix is built per field (see _required_field_fix).
    "REQUIRED_FIELD_MISSING": _Entry(
        "Salesforce requires {fields}, and this booking left it empty.",
        "Feed {fields} from a required question or a constant; " + RESEND,
    ),
    "INVALID_FIELD_FOR_INSERT_UPDATE": _Entry(
        "The connected Salesforce user may not write {fields}.",
        "Give that user edit access to {fields} (field-level security in its profile or a "
        "permission set), or remove the mapping of {fields}; " + RESEND,
    ),
    "INVALID_FIELD": _Entry(
        "{fields} no longer exists on the Salesforce object (renamed or deleted).",
        "Refresh the object's fields on the mapping page and map the field again; " + RESEND,
    ),
    "STRING_TOO_LONG": _Entry(
        "A value is longer than {fields} allows in Salesforce.",
        "Give {sources} a maximum length no longer than the field's, or tick “cut long "
        "answers” on the mapping of {fields}; " + RESEND,
    ),
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": _Entry(
        "The value sent to {fields} is not one of its picklist values.",
        "Make the choices of {sources} match the picklist values of {fields} in Salesforce "
        "(or add the value to the picklist); " + RESEND,
    ),
    "INVALID_EMAIL_ADDRESS": _Entry(
        "Salesforce did not accept the email address in {fields}.",
        "Feed {fields} from an Email question or the guest's email. If the guest mistyped "
        "it, dismiss the delivery.",
    ),
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": _Entry(
        "A validation rule in your Salesforce org refused the record: “{message}”",
        "Ask your Salesforce admin about that rule, or map the fields it needs; " + RESEND,
    ),
    "DUPLICATES_DETECTED": _Entry(
        "A Salesforce duplicate rule says this person already exists, and the target is set "
        "not to save duplicates (or the rule blocks saving).",
        "On the Salesforce target, choose “Use the matching record” for duplicates and "
        "resend; or dismiss the delivery if the person is already in Salesforce.",
    ),
    "DUPLICATE_VALUE": _Entry(
        "A unique field ({fields}) already holds this value on another record.",
        "Use “Upsert by external ID” with the booking id field on the Salesforce target, "
        "so a resend updates the same record; " + RESEND,
    ),
    "FIELD_INTEGRITY_EXCEPTION": _Entry(
        "A value of {fields} does not fit the record's other values (e.g. a state "
        "without a country).",
        "Map the field it depends on as well (e.g. the country with the state), or fix "
        "the value in {sources}; " + RESEND,
    ),
    "INSUFFICIENT_ACCESS_OR_READONLY": _Entry(
        "The connected Salesforce user may not create or edit this kind of record.",
        "Give that user Create and Edit on the object (profile or permission set), or "
        "connect as a user who has them; then resend.",
    ),
    "INSUFFICIENT_ACCESS": _Entry(
        "The connected Salesforce user lacks access to the object or a related record.",
        "Give that user access (sharing, profile or permission set), or connect as a user "
        "who has it; then resend.",
    ),
    "INVALID_CROSS_REFERENCE_KEY": _Entry(
        "A value of {fields} points at a Salesforce record that does not exist.",
        "Map an existing record's Id (e.g. a real owner or campaign id) to {fields}; " + RESEND,
    ),
    "MALFORMED_ID": _Entry(
        "{fields} expects a Salesforce record id, and the value is not one.",
        "Map a valid 15- or 18-character record id to {fields}; " + RESEND,
    ),
    "ENTITY_IS_DELETED": _Entry(
        "The Salesforce record this booking updates was deleted.",
        "Restore it from the Recycle Bin and resend, or dismiss the delivery.",
    ),
    "MULTIPLE_RECORDS": _Entry(
        "The booking id matches more than one Salesforce record.",
        "Make the booking id field unique (External ID, Unique) and remove the extra "
        "records; then resend.",
    ),
    # -- LeadSync's pre-send check (salesforce.mapping.Code) -----------------------------------
    Code.INVALID_TYPE_ON_FIELD_IN_RECORD: _Entry(
        "The value for {fields} is not of the field's type (e.g. text into a number).",
        "Feed {fields} from a question of the matching kind instead of {sources}; " + RESEND,
    ),
    Code.NUMBER_OUTSIDE_VALID_RANGE: _Entry(
        "The number for {fields} is larger than the field allows.",
        "Map a smaller source to {fields}, or widen the field in Salesforce; " + RESEND,
    ),
    Code.REQUIRED_FIELD_MAY_BE_BLANK: _Entry(
        "{fields} is required by Salesforce, but fed by a source that may be blank.",
        "Make {sources} required, or map a constant to {fields}; " + RESEND,
    ),
    Code.INCOMPATIBLE_SOURCE: _Entry(
        "{sources} cannot fill {fields}: their types do not match.",
        "Map {fields} to a source of a compatible kind; " + RESEND,
    ),
    Code.PICKLIST_VALUE_UNKNOWN: _Entry(
        "{sources} offers a choice that is not a picklist value of {fields}.",
        "Make the choices match the picklist values in Salesforce; " + RESEND,
    ),
    Code.DUPLICATE_MAPPING: _Entry(
        "{fields} is mapped more than once.",
        "Keep one mapping for {fields}; " + RESEND,
    ),
    Code.UNKNOWN_SOURCE: _Entry(
        "The mapping of {fields} reads a question or booking fact that no longer exists.",
        "Map {fields} to an existing question, booking fact or constant; " + RESEND,
    ),
    Code.URL_PARAM_KEY_MISMATCH: _Entry(
        "A URL parameter is only posted to the field whose API name it carries exactly.",
        "Rename the URL parameter to {fields} in the booking page links; " + RESEND,
    ),
    "NO_MAPPING": _Entry(
        "The booking page's Salesforce target has no field mappings.",
        "Map at least the fields Salesforce requires on the mapping page; " + RESEND,
    ),
    # -- passing trouble: LeadSync retries ---------------------------------------------------
    "REQUEST_LIMIT_EXCEEDED": _Entry(
        "Your Salesforce org has used up its API requests for now.",
        WAIT + " Deliveries resume as the 24-hour window moves on; if this happens often, "
        "ask Salesforce for a higher API limit.",
        Remedy.WAITS,
    ),
    "UNABLE_TO_LOCK_ROW": _Entry(
        "Something else in Salesforce was updating the same record at that moment.",
        WAIT,
        Remedy.WAITS,
    ),
    "SERVER_UNAVAILABLE": _Entry("Salesforce was unavailable.", WAIT, Remedy.WAITS),
    "TIMEOUT": _Entry("Salesforce did not answer in time.", WAIT, Remedy.WAITS),
    "CONNECTION_ERROR": _Entry("Salesforce could not be reached.", WAIT, Remedy.WAITS),
    # Ours: the worker sending it stopped (killed, or over the task time limit) before
    # Salesforce's answer was recorded; the retry is safe (upsert, or lookup by key).
    "CLAIM_EXPIRED": _Entry(
        "The worker sending this stopped before Salesforce's answer was recorded.",
        "Nothing to change while it retries. If it failed after every retry, check that "
        "workers are running and not killed for memory or time, then resend.",
        Remedy.WAITS,
    ),
    "INVALID_SESSION_ID": _Entry(
        "Salesforce's access token had expired.",
        "Nothing to change: LeadSync refreshes it and retries. If it keeps failing, test "
        "the connection and reconnect.",
        Remedy.WAITS,
    ),
    # -- write-backs (a booking's later changes) -------------------------------------------------
    "WAITING_FOR_POST": _Entry(
        "This change cannot be written back yet: the booking's post to Salesforce failed, so "
        "the record and the meeting it changes do not exist there.",
        "Fix and resend the booking's post (linked above); this change then goes out by "
        "itself, after it.",
    ),
    "SUPERSEDED": _Entry(
        "A later change of the booking replaced this one before it was sent.",
        "Nothing to do: only the later change is written back.",
        Remedy.WAITS,
    ),
    # -- no usable connection ------------------------------------------------------------------
    "NOT_CONNECTED": _Entry(
        "The tenant's Salesforce connection is not connected.",
        "Connect Salesforce on the connection page; held deliveries then resume by themselves.",
        Remedy.RECONNECT,
    ),
}

#: Codes whose explanation comes from salesforce.diagnostics (connection problems).
CONNECTION_CODES = frozenset(
    code for row in diagnostics.TABLE for code in row.codes if code not in TABLE
)


def explain(
    code: str,
    message: str = "",
    *,
    fields: Iterable[str] = (),
    sources: Mapping[str, FieldSource] | None = None,
) -> Explanation:
    """The plain-language explanation and fix for one error.

    `fields` are the Salesforce fields the error names; `sources` says what feeds each of
    them (missing fields count as unmapped). Never raises: unknown codes get a default.
    """
    fields = [f for f in fields if f]
    sources = sources or {}
    entry = TABLE.get(code)
    if entry is None and (code in CONNECTION_CODES or code.islower()):
        return _from_diagnosis(code, message)  # OAuth errors are lower-case (RFC 6749)
    if entry is None:
        return _unknown(code, message, fields)
    names = _join(fields) or "a field"
    named = [sources[f].describe() for f in fields if sources.get(f, FieldSource()).kind]
    text = {
        "fields": names,
        "message": message or code,
        "sources": _join(named) or "its current source",
    }
    fix = entry.fix.format(**text)
    if code == "REQUIRED_FIELD_MISSING" and fields:
        fix = _required_field_fix(fields, sources)
    return Explanation(code, entry.title.format(**text), fix, entry.remedy, message)


def _required_field_fix(fields: list[str], sources: Mapping[str, FieldSource]) -> str:
    steps = []
    for field in fields:
        source = sources.get(field, FieldSource())
        if source.kind == "question":
            verb = "Keep" if source.required else "Make"
            steps.append(
                f"{verb} the question “{source.label}” required (it feeds {field}), or map "
                f"a constant to {field}"
            )
        elif source.kind:
            steps.append(
                f"Map {field} to a required question or a constant instead of "
                f"{source.describe()}, which was blank"
            )
        else:
            steps.append(f"Map {field} to a required question or a constant")
    return "; ".join(steps) + "; " + RESEND


def _from_diagnosis(code: str, message: str) -> Explanation:
    diagnosis = diagnostics.diagnose(code, message)
    fix = diagnosis.action
    if diagnosis.setting:
        fix += f" (Salesforce setting: {diagnosis.setting}"
        fix += f" → {diagnosis.required})" if diagnosis.required else ")"
    remedy = Remedy.WAITS if diagnosis.key in {"refresh_in_progress", "unreachable"} else None
    return Explanation(
        code, diagnosis.title, fix, remedy or Remedy.RECONNECT, diagnosis.explanation
    )


def _unknown(code: str, message: str, fields: list[str]) -> Explanation:
    if code.startswith("HTTP_5"):
        return Explanation(code, "Salesforce answered with a server error.", WAIT, Remedy.WAITS)
    about = f" about {_join(fields)}" if fields else ""
    title = f"Salesforce refused the record{about}: {message or code}"
    fix = (
        "Read Salesforce's message above; fix the mapping or the record in Salesforce, "
        "then resend. If it names a setting you cannot find, ask your Salesforce admin."
    )
    return Explanation(code or "UNKNOWN", title, fix, Remedy.FIX_AND_RESEND, message)


def _join(items: list[str]) -> str:
    items = list(dict.fromkeys(items))
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
