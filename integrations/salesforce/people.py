"""The guest as a person in Salesforce: finding the Contact or Lead a booking belongs to,
and what a booking may write on it. Pure: rows and describes in, decisions out.

- How a guest is found (`MatchPolicy`): by email, Contacts first then Leads (a converted
  Lead counts as the Contact it became), Leads only, or never (always create).
- Several matches: the most recently modified wins; the choice says why.
- What a booking writes on the person, per mapping (`WritePolicy`): always, only where
  Salesforce's value is empty, or only when the booking creates the person. A field the
  person's object lacks, or may not update, is skipped and said so.
- What Salesforce's duplicate rules matched (`duplicate_matches`), from a
  DUPLICATES_DETECTED error's `duplicateResult` (Collections) / `duplicateResut` (sic,
  single-record REST bodies).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .payload import is_blank
from .schema import Describe, fields_by_name

LEAD, CONTACT, EVENT = "Lead", "Contact", "Event"
PERSON_OBJECTS = (LEAD, CONTACT)
#: Salesforce id prefixes of the person objects (the first three characters of an id).
ID_PREFIXES = {"00Q": LEAD, "003": CONTACT}


class MatchPolicy(StrEnum):
    CONTACT_THEN_LEAD = "contact_then_lead"
    LEAD_ONLY = "lead_only"
    ALWAYS_CREATE = "always_create"


class WritePolicy(StrEnum):
    ALWAYS = "always"
    IF_EMPTY = "if_empty"
    ON_CREATE = "on_create"


class DuplicatePolicy(StrEnum):
    LINK = "link"  # update the record the rule matched, and attach the meeting to it
    ALLOW_SAVE = "allow_save"  # save anyway (only where the rule allows it)
    FAIL = "fail"  # the delivery fails, showing what matched


class OwnerPolicy(StrEnum):
    ASSIGNMENT_RULES = "assignment_rules"  # Salesforce's active rule, on create only
    HOST = "host"  # the booking page's host (their Salesforce user)
    FIXED = "fixed"  # one user or queue
    LEAVE = "leave"  # whoever Salesforce makes owner; an update keeps the owner


@dataclass(frozen=True)
class Candidate:
    """A person that may be the guest: its object and id, and what a write needs to know."""

    object: str
    id: str
    email: str
    last_modified: str = ""  # Salesforce dateTime text; compares in time order
    owner_id: str = ""
    account_id: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)
    converted_from: str = ""  # the Lead this Contact was converted from, when found so
    known: bool = True  # whether `values` are the record's (False: read no fields)

    @property
    def label(self) -> str:
        return f"{self.object} {self.id}"


@dataclass(frozen=True)
class Match:
    """The person chosen for one guest (None: create one), and why, in words."""

    person: Candidate | None
    reason: str
    others: tuple[str, ...] = ()  # ids of the other candidates


def find_fields(describe: Describe | None, wanted: Iterable[str]) -> list[str]:
    """The fields a find query selects on one object: what every decision needs, plus the
    `wanted` fields (those under an if-empty policy) that the object has."""
    base = ["Id", "Email", "LastModifiedDate", "OwnerId"]
    known = fields_by_name(describe) if describe else {}
    extra = [name for name in wanted if name in known and name not in base]
    if describe and "AccountId" in known:
        extra.append("AccountId")
    if describe and "IsConverted" in known:
        extra += ["IsConverted", "ConvertedContactId"]
    return base + sorted(set(extra), key=extra.index)


def find_queries(
    emails: Iterable[str],
    *,
    contacts: bool,
    describes: Mapping[str, Describe | None],
    wanted: Iterable[str] = (),
) -> dict[str, str]:
    """The SOQL that finds people by email: {"contacts": ..., "leads": ...} ("contacts"
    only when `contacts`), selecting what decisions and if-empty writes (`wanted`) need."""
    quoted = (
        ", ".join(
            "'" + e.replace("\\", "\\\\").replace("'", "\\'") + "'"
            for e in sorted({e.strip() for e in emails if e.strip()})
        )
        or "''"
    )
    wanted = set(wanted)
    queries = {}
    for name, sobject in (("contacts", CONTACT), ("leads", LEAD)):
        if name == "contacts" and not contacts:
            continue
        select = ", ".join(find_fields(describes.get(sobject), wanted))
        queries[name] = (
            f"SELECT {select} FROM {sobject} WHERE Email IN ({quoted}) "  # noqa: S608 - quoted
            "ORDER BY LastModifiedDate DESC"
        )
    return queries


def candidates_from_rows(sobject: str, rows: Iterable[Mapping[str, Any]]) -> list[Candidate]:
    """Query rows as candidates. A converted Lead stands for the Contact it became; that
    Contact's fields were not read, so if-empty fields are left alone on it."""
    found = []
    for row in rows:
        values = {k: v for k, v in row.items() if k != "attributes"}
        if sobject == LEAD and row.get("IsConverted"):
            contact_id = row.get("ConvertedContactId")
            if not contact_id:
                continue
            found.append(
                Candidate(
                    object=CONTACT,
                    id=contact_id,
                    email=str(row.get("Email") or ""),
                    last_modified=str(row.get("LastModifiedDate") or ""),
                    owner_id="",
                    values={},
                    converted_from=str(row.get("Id") or ""),
                    known=False,
                )
            )
            continue
        found.append(
            Candidate(
                object=sobject,
                id=str(row.get("Id") or ""),
                email=str(row.get("Email") or ""),
                last_modified=str(row.get("LastModifiedDate") or ""),
                owner_id=str(row.get("OwnerId") or ""),
                account_id=str(row.get("AccountId") or ""),
                values=values,
            )
        )
    return found


def match_choose(email: str, candidates: Iterable[Candidate], policy: MatchPolicy) -> Match:
    """The person a guest with `email` is, among `candidates` (any email; compared
    ignoring case), under `policy`. Contacts win over Leads where the policy looks at both;
    among several of one object the most recently modified wins."""
    if policy is MatchPolicy.ALWAYS_CREATE:
        return Match(None, "Always creates a new person (this target does not look guests up).")
    key = email.strip().casefold()
    mine = [c for c in candidates if c.email.strip().casefold() == key]
    order = (LEAD,) if policy is MatchPolicy.LEAD_ONLY else (CONTACT, LEAD)
    for sobject in order:
        of_kind = [c for c in mine if c.object == sobject]
        if policy is MatchPolicy.LEAD_ONLY:
            of_kind = [c for c in of_kind if not c.converted_from]
        if not of_kind:
            continue
        by_id = {c.id: c for c in of_kind}  # a Contact found twice (itself, its Lead) once
        ranked = sorted(by_id.values(), key=lambda c: c.last_modified, reverse=True)
        chosen = ranked[0]
        how = f"Found {sobject} {chosen.id} by email"
        if chosen.converted_from:
            how += f" (the Contact Lead {chosen.converted_from} was converted into)"
        if len(ranked) > 1:
            how += f"; {len(ranked)} matched, the most recently modified was chosen"
        return Match(chosen, how + ".", tuple(c.id for c in ranked[1:]))
    looked = "Leads" if policy is MatchPolicy.LEAD_ONLY else "Contacts or Leads"
    return Match(None, f"No {looked} with this email: a new person is created.")


@dataclass(frozen=True)
class PersonWrite:
    """The fields one write sets on a person, and the mapped fields it leaves alone."""

    fields: dict[str, Any]
    skipped: dict[str, str]  # field -> why it was not written


def person_write(
    record: Mapping[str, Any],
    policies: Mapping[str, WritePolicy],
    *,
    describe: Describe | None,
    existing: Candidate | None,
) -> PersonWrite:
    """What to send for `record` (field -> wire value, built from the mappings) on a new
    person (`existing` None) or on `existing`, under each field's write policy. Fields the
    object's describe lacks, or that the connected user may not update, are skipped."""
    known = fields_by_name(describe) if describe else None
    fields: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name, value in record.items():
        facts = known.get(name) if known is not None else None
        if known is not None and facts is None:
            skipped[name] = f"{existing.object if existing else 'This object'} has no such field."
            continue
        if existing is None:
            fields[name] = value
            continue
        policy = policies.get(name, WritePolicy.ALWAYS)
        if policy is WritePolicy.ON_CREATE:
            skipped[name] = "Written only when the booking creates the person."
        elif facts is not None and not facts.updateable:
            skipped[name] = "Salesforce does not let the connected user change it."
        elif policy is WritePolicy.IF_EMPTY and not existing.known:
            skipped[name] = "Its value in Salesforce was not read; written only when empty."
        elif policy is WritePolicy.IF_EMPTY and not is_blank(existing.values.get(name)):
            skipped[name] = "Salesforce already has a value; written only when empty."
        else:
            fields[name] = value
    return PersonWrite(fields, skipped)


@dataclass(frozen=True)
class DuplicateMatch:
    rule: str
    object: str
    id: str


def duplicate_matches(details: Any) -> tuple[bool, list[DuplicateMatch]]:
    """(whether the rule allows saving anyway, the records it matched), from the details
    of a DUPLICATES_DETECTED error (a REST error body list, or one Collections error)."""
    if isinstance(details, list):
        details = details[0] if details else {}
    if not isinstance(details, Mapping):
        return False, []
    result = details.get("duplicateResult") or details.get("duplicateResut")
    if not isinstance(result, Mapping):
        return False, []
    rule = str(result.get("duplicateRule") or "")
    matches = []
    for match_result in result.get("matchResults") or ():
        sobject = str(match_result.get("entityType") or "")
        for entry in match_result.get("matchRecords") or ():
            record = (entry or {}).get("record") or {}
            record_id = str(record.get("Id") or "")
            if record_id:
                kind = sobject or ID_PREFIXES.get(record_id[:3], "")
                matches.append(DuplicateMatch(rule=rule, object=kind, id=record_id))
    return bool(result.get("allowSave")), matches


def object_of_id(record_id: str) -> str:
    """Lead or Contact from a record id's prefix ('' for anything else)."""
    return ID_PREFIXES.get(record_id[:3], "")
