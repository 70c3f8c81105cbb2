"""The write steps of a person push: the person, the Event, the campaign member, the owner
read back. Each takes the batch's live items and records its outcome in their steps."""

from __future__ import annotations

from typing import Any

from .errors import Kind, SalesforceError
from .people import CONTACT, LEAD, Candidate, DuplicatePolicy, MatchPolicy, duplicate_matches
from .people import person_write as person_fields
from .person_batch import (
    Batch,
    PersonItem,
    chunks,
    collection_call,
    records_by_key,
    repr_soql,
    unknown_error,
)
from .push import UNKNOWN_OUTCOME, PushItem, PushOutcome, records_push
from .record_check import record_check
from .schema import WriteMode, fields_by_name

NO_AUTO_ASSIGN = {"Sforce-Auto-Assign": "FALSE"}
AUTO_ASSIGN = {"Sforce-Auto-Assign": "TRUE"}
ALLOW_SAVE = {"Sforce-Duplicate-Rule-Header": "allowSave=true"}
ALREADY_MEMBER = "DUPLICATE_VALUE"  # CampaignMember: the person is already in the campaign
DUPLICATES = "DUPLICATES_DETECTED"

#: (item, the record to create)
Creation = tuple[PersonItem, dict[str, Any]]


def assign_headers(auto_assign: bool, *, allow_save: bool = False) -> dict[str, str]:
    """Headers of a create: assignment rules on or off, and whether to save a duplicate."""
    headers = dict(AUTO_ASSIGN if auto_assign else NO_AUTO_ASSIGN)
    if allow_save:
        headers.update(ALLOW_SAVE)
    return headers


# -- the person ---------------------------------------------------------------------------------


def person_step(batch: Batch, live: list[PersonItem]) -> None:
    """Update the people found, create the others; duplicates follow each item's policy."""
    updates: list[tuple[PersonItem, Candidate]] = []
    creations: list[Creation] = []
    for item in live:
        if item.steps.get("person", {}).get("id"):
            continue  # written by an earlier attempt
        found = batch.found.get(item.ref)
        if found is not None:
            updates.append((item, found))
            continue
        record = _create_record(batch, item)
        if record is not None:
            creations.append((item, record))
    people_update(batch, updates)
    _accounts_attach(batch, [(i, r) for i, r in creations if i.create_object == CONTACT])
    links = _people_create(batch, creations)
    people_update(batch, links, linked=True)


def people_update(
    batch: Batch, updates: list[tuple[PersonItem, Candidate]], *, linked: bool = False
) -> None:
    """Write each item's fields on the person it was matched to (write policies apply)."""
    sendable: list[tuple[PersonItem, Candidate, dict[str, Any]]] = []
    for item, person in updates:
        record = {k: v for k, v in item.record.items() if k != item.key_field}
        write = person_fields(
            record, item.policies, describe=batch.describes.get(person.object), existing=person
        )
        item.steps["person"] = {
            "object": person.object, "id": person.id, "created": False, "linked": linked,
            "account_id": person.account_id, "fields": sorted(write.fields),
            "skipped": write.skipped,
        }  # fmt: skip
        if write.fields:
            sendable.append((item, person, write.fields))
    for chunk in chunks(sendable, batch.size):
        headers = dict(NO_AUTO_ASSIGN)  # an update never re-runs assignment
        if any(i.duplicate_policy is not DuplicatePolicy.FAIL for i, _, _ in chunk):
            headers.update(ALLOW_SAVE)  # it is the person already: saving it is the point
        records = [{"attributes": {"type": p.object}, "Id": p.id, **f} for _, p, f in chunk]
        batch.did(chunk, f"update {chunk[0][1].object if len(chunk) == 1 else 'people'}")
        results = collection_call(
            batch,
            chunk,
            lambda r=records, h=headers: batch.client.collection_update(r, headers=h),
            "person",
        )
        for (item, _, _), result in zip(chunk, results or [], strict=False):
            if not result.success:
                del item.steps["person"]
                batch.fail(item, "person", result.error or unknown_error())


def _create_record(batch: Batch, item: PersonItem) -> dict[str, Any] | None:
    """The record that creates `item`'s person, or None after failing it (a field the
    object lacks is left out; what Salesforce would refuse is refused here)."""
    describe = batch.describes.get(item.create_object)
    record = dict(item.record)
    if item.owner_on_create:
        record["OwnerId"] = item.owner_on_create
    if describe is None:
        return record
    known = fields_by_name(describe)
    record = {k: v for k, v in record.items() if k in known}
    problems = [
        p for p in record_check(describe, record, write_mode=WriteMode.INSERT) if p.is_error
    ]
    if problems:
        error = SalesforceError(
            Kind.PERMANENT,
            str(problems[0].code),
            " ".join(p.message for p in problems),
            fields=[p.field for p in problems],
        )
        batch.did([item], "pre-send check")
        batch.fail(item, "person", error)
        return None
    return record


def _accounts_attach(batch: Batch, creations: list[Creation]) -> None:
    """New Contacts go under an Account: the one an answer names (`account_name`), else
    the one whose website has the guest's email domain. One query per 200 Contacts; a
    Contact whose Account is not found is created without one."""
    for chunk in chunks(creations, batch.size):
        names = {i.account_name.strip() for i, _ in chunk if i.account_name.strip()}
        domains = {domain_of(i.email) for i, _ in chunk if not i.account_name.strip()}
        domains.discard("")
        terms = [f"Name IN ({', '.join(repr_soql(n) for n in sorted(names))})"] if names else []
        terms += [f"Website LIKE {repr_soql('%' + d + '%')}" for d in sorted(domains)]
        if not terms:
            continue
        soql = f"SELECT Id, Name, Website FROM Account WHERE {' OR '.join(terms)}"  # noqa: S608
        batch.did([i for i, _ in chunk], "find Account")
        try:
            accounts = batch.client.query(soql).get("records") or []
        except SalesforceError:
            continue  # the Contacts are still created, without an Account
        for item, record in chunk:
            account = _account_for(item, accounts)
            if account is not None:
                record["AccountId"] = account["Id"]
                item.steps["account"] = {"id": account["Id"], "name": account.get("Name")}


def domain_of(email: str) -> str:
    return email.rpartition("@")[2].strip().casefold()


def _account_for(item: PersonItem, accounts: list[dict]) -> dict | None:
    if item.account_name.strip():
        wanted = item.account_name.strip().casefold()
        return next((a for a in accounts if str(a.get("Name", "")).casefold() == wanted), None)
    domain = domain_of(item.email)
    return next(
        (a for a in accounts if domain and domain in str(a.get("Website") or "").casefold()),
        None,
    )


def _people_create(batch: Batch, creations: list[Creation]) -> list[tuple[PersonItem, Candidate]]:
    """Create new people (always-create items by the target's write mode and key, the others
    by create); returns the (item, matched record) pairs duplicate rules sent to an update
    under the "link" policy. Duplicates saved anyway get a second create, those only."""
    links: list[tuple[PersonItem, Candidate]] = []
    again: list[Creation] = []
    for group in _groups(creations).values():
        links += _create_group(batch, group, again, allow_save=False)
    for group in _groups(again).values():
        _create_group(batch, group, None, allow_save=True)
    return links


def _groups(creations: list[Creation]) -> dict[tuple, list[Creation]]:
    groups: dict[tuple, list[Creation]] = {}
    for item, record in creations:
        by_key = item.match_policy is MatchPolicy.ALWAYS_CREATE and bool(item.key_field)
        mode = item.write_mode if by_key else WriteMode.INSERT
        key = (item.create_object, mode, item.key_field if by_key else "", item.auto_assign)
        groups.setdefault(key, []).append((item, record))
    return groups


def _create_group(
    batch: Batch, group: list[Creation], again: list[Creation] | None, *, allow_save: bool
) -> list[tuple[PersonItem, Candidate]]:
    """One group's creates through the record push (batching, halving, reconcile by key,
    lookup before re-creating); sorts each result into done, linked, again or failed."""
    first = group[0][0]
    by_key = first.match_policy is MatchPolicy.ALWAYS_CREATE and bool(first.key_field)
    mode = first.write_mode if by_key else WriteMode.INSERT
    key_field = first.key_field if by_key else ""
    outcomes = records_push(
        batch.client,
        sobject=first.create_object,
        write_mode=mode,
        key_field=key_field,
        items=[
            PushItem(
                ref=i.ref,
                record=r,
                key=i.key,
                lookup_first=i.lookup_first and by_key,
                lookup_since=i.lookup_since,
            )
            for i, r in group
        ],
        batching=batch.batching,
        headers=assign_headers(first.auto_assign, allow_save=allow_save),
    )
    links: list[tuple[PersonItem, Candidate]] = []
    for (item, record), outcome in zip(group, outcomes, strict=True):
        batch.did([item], outcome.operation)
        mine = batch.outcomes[item.ref]
        mine.api_call_id, mine.http_status = outcome.api_call_id, outcome.http_status
        mine.found_existing, mine.reconciled = outcome.found_existing, outcome.reconciled
        if outcome.error is None:
            item.steps["person"] = {
                "object": item.create_object, "id": outcome.record_id,
                "created": outcome.created is not False, "reconciled": outcome.reconciled,
                "fields": sorted(k for k in record if k != "OwnerId"), "skipped": {},
                "account_id": record.get("AccountId", ""),
            }  # fmt: skip
        elif outcome.error.code == DUPLICATES and not allow_save:
            link = _duplicate(item, outcome, again, record)
            if link is not None:
                links.append((item, link))
            elif not item.steps["duplicate"].get("resolved"):
                batch.fail(item, "person", outcome.error)
        else:
            batch.fail(item, "person", outcome.error)
    return links


def _duplicate(
    item: PersonItem, outcome: PushOutcome, again: list[Creation] | None, record: dict
) -> Candidate | None:
    """Record what the duplicate rule matched; under "link" return the record to update,
    under "save anyway" (when the rule allows) queue the create again."""
    allow, matches = duplicate_matches(outcome.error.details if outcome.error else None)
    item.steps["duplicate"] = {
        "rule": matches[0].rule if matches else "",
        "matched": [{"object": m.object, "id": m.id} for m in matches],
        "allow_save": allow,
    }
    person = next((m for m in matches if m.object in (LEAD, CONTACT)), None)
    if item.duplicate_policy is DuplicatePolicy.LINK and person is not None:
        item.steps["duplicate"]["resolved"] = f"linked to {person.object} {person.id}"
        return Candidate(object=person.object, id=person.id, email=item.email, known=False)
    if item.duplicate_policy is DuplicatePolicy.ALLOW_SAVE and allow and again is not None:
        item.steps["duplicate"]["resolved"] = "saved anyway"
        again.append((item, record))
    return None


# -- the Event ----------------------------------------------------------------------------------


def event_step(batch: Batch, live: list[PersonItem]) -> None:
    """Create each item's Event on its person (reconciled by key after a lost answer)."""
    todo = [i for i in live if i.event is not None and not (i.steps.get("event") or {}).get("id")]
    todo = _events_found_first(batch, todo)
    rows = []
    for item in todo:
        person = item.steps["person"]
        record = {**(item.event or {}), "WhoId": person["id"]}
        if person.get("object") == CONTACT and person.get("account_id"):
            record.setdefault("WhatId", person["account_id"])
        rows.append((item, record))
    for chunk in chunks(rows, batch.size):
        records = [{"attributes": {"type": "Event"}, **record} for _, record in chunk]
        items = [item for item, _ in chunk]
        batch.did(items, "create Event")
        results = collection_call(
            batch, items, lambda r=records: batch.client.collection_create(r), "event"
        )
        for (item, _), result in zip(chunk, results or [], strict=False):
            if result.success:
                item.steps["event"] = {"id": result.id, "created": True}
            else:
                batch.fail(item, "event", result.error or unknown_error())
        _events_reconcile(batch, items)


def _events_found_first(batch: Batch, todo: list[PersonItem]) -> list[PersonItem]:
    """Items whose earlier try may have created their Event (a lapsed claim) take the
    Event found by key instead of a second one; returns the items still to create."""
    unsure = [i for i in todo if i.event_lookup_first and i.event_key_field]
    if not unsure:
        return todo
    batch.did(unsure, "find Event by key")
    found = records_by_key(batch, "Event", unsure[0].event_key_field, unsure)
    for item in unsure:
        if item.key in found:
            item.steps["event"] = {"id": found[item.key], "created": True, "reconciled": True}
    return [i for i in todo if not (i.steps.get("event") or {}).get("id")]


def _events_reconcile(batch: Batch, items: list[PersonItem]) -> None:
    unclear = [
        i
        for i in items
        if i.event_key_field
        and (o := batch.outcomes[i.ref]).failed_step == "event"
        and o.error is not None
        and o.error.code in UNKNOWN_OUTCOME
    ]
    if not unclear:
        return
    found = records_by_key(batch, "Event", unclear[0].event_key_field, unclear)
    for item in unclear:
        if item.key in found:
            outcome = batch.outcomes[item.ref]
            outcome.error, outcome.failed_step = None, ""
            item.steps["event"] = {"id": found[item.key], "created": True, "reconciled": True}


# -- campaign -----------------------------------------------------------------------------------


def campaign_step(batch: Batch, live: list[PersonItem]) -> None:
    """Add each person to the item's campaign; "already a member" counts as done."""
    todo = [i for i in live if i.campaign and not (i.steps.get("campaign") or {}).get("done")]
    for chunk in chunks(todo, batch.size):
        records = []
        for item in chunk:
            campaign_id, status = item.campaign or ("", "")
            person = item.steps["person"]
            who = "ContactId" if person["object"] == CONTACT else "LeadId"
            member = {"attributes": {"type": "CampaignMember"}, "CampaignId": campaign_id}
            member[who] = person["id"]
            if status:
                member["Status"] = status
            records.append(member)
        batch.did(chunk, "add to campaign")
        results = collection_call(
            batch, chunk, lambda r=records: batch.client.collection_create(r), "campaign"
        )
        for item, result in zip(chunk, results or [], strict=False):
            if result.success:
                item.steps["campaign"] = {"done": True, "id": result.id, "how": "Added."}
            elif result.error is not None and result.error.code == ALREADY_MEMBER:
                item.steps["campaign"] = {"done": True, "how": "Already a member."}
            else:
                batch.fail(item, "campaign", result.error or unknown_error())


# -- owner --------------------------------------------------------------------------------------


def owner_step(batch: Batch, live: list[PersonItem]) -> None:
    """Read each person's owner back (one composite request per 200 people). A failed read
    is noted, never failed: the writes are done."""
    todo = [i for i in live if i.read_owner]
    for chunk in chunks(todo, batch.size):
        by_object: dict[str, list[str]] = {}
        for item in chunk:
            person = item.steps["person"]
            by_object.setdefault(person["object"], []).append(person["id"])
        queries = {
            sobject: f"SELECT Id, OwnerId, Owner.Name FROM {sobject} "  # noqa: S608 - quoted
            f"WHERE Id IN ({', '.join(repr_soql(i) for i in ids)})"
            for sobject, ids in by_object.items()
        }
        batch.did(chunk, "read owner")
        try:
            rows = batch.client.composite_queries(queries)
        except SalesforceError as error:
            for item in chunk:
                item.steps["owner"] = {"error": error.code, "message": error.message}
            continue
        owners = {row.get("Id"): row for answer in rows.values() for row in answer}
        for item in chunk:
            row = owners.get(item.steps["person"]["id"]) or {}
            owner_id = str(row.get("OwnerId") or "")
            item.steps["owner"] = {
                "id": owner_id,
                "name": str((row.get("Owner") or {}).get("Name") or ""),
                "is_integration_user": bool(owner_id) and owner_id == batch.integration_user_id,
            }
