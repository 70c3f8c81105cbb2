"""Posting bookings as people with meetings: find the guest, write the person, write the
Event, add the campaign member, read the owner back — for a batch, a few calls per step.

Knows Salesforce, not our tables: the caller (integrations.delivery.push) builds one
`PersonItem` per delivery and stores each `PersonOutcome`, whose `steps` carry what
succeeded, so a retry resumes at the step that failed and never repeats a write.

Calls for a batch of up to 200 bookings (each step only when some item needs it):
1. find: one composite request with the Contact and Lead queries by `Email IN (...)`.
2. person: one Collections update for the people found; one Collections create (or, for
   always-create targets, the record push: upsert by the booking id) for the new ones.
   Duplicates Salesforce detects follow the duplicate policy (link: one more update; save
   anyway: one more create).
3. Event: one Collections create.  4. campaign: one Collections create.
5. owner: one composite request reading each person's owner back.
A write whose answer was lost is reconciled by a query by key before anything retries;
a person created by a lost call is found by email on the next try.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from .client import SalesforceClient
from .errors import SalesforceError
from .people import (
    CONTACT,
    LEAD,
    MatchPolicy,
    WritePolicy,
    candidates_from_rows,
    find_queries,
    match_choose,
)
from .person_batch import Batch, PersonItem, PersonOutcome, chunks
from .person_steps import campaign_step, event_step, owner_step, person_step
from .schema import Describe

__all__ = ["PersonItem", "PersonOutcome", "people_push"]


def people_push(
    client: SalesforceClient,
    items: Sequence[PersonItem],
    *,
    describes: dict[str, Describe | None],
    integration_user_id: str = "",
    batching: bool = True,
) -> list[PersonOutcome]:
    """Post `items`; one outcome per item, in item order. Never raises SalesforceError:
    a failed call becomes the error of each item it carried (the caller decides what a
    connection-kind error means for the rest)."""
    call_id, started, began = uuid.uuid4(), time.time(), time.monotonic()
    batch = Batch(client, list(items), describes, integration_user_id, batching)
    for item in batch.items:
        batch.outcomes[item.ref] = PersonOutcome(item.ref, call_id, started, steps=item.steps)
    for step in (find_step, person_step, event_step, campaign_step, owner_step):
        live = batch.live()
        if not live:
            break
        step(batch, live)
    duration = max(0, round((time.monotonic() - began) * 1000))
    for outcome in batch.outcomes.values():
        outcome.duration_ms = duration
        if outcome.error is None and outcome.http_status is None:
            outcome.http_status = 200
    return [batch.outcomes[item.ref] for item in batch.items]


def find_step(batch: Batch, live: list[PersonItem]) -> None:
    """Match each guest without a person yet to an existing Contact or Lead by email."""
    todo = []
    for item in live:
        if item.steps.get("person", {}).get("id"):
            continue
        if item.match_policy is MatchPolicy.ALWAYS_CREATE:
            item.steps["find"] = {"how": match_choose(item.email, [], item.match_policy).reason}
        else:
            todo.append(item)
    for chunk in chunks(todo, batch.size):
        batch.did(chunk, "find")
        try:
            rows = batch.client.composite_queries(_find_queries(batch, chunk))
        except SalesforceError as error:
            for item in chunk:
                batch.fail(item, "find", error)
            continue
        candidates = [
            *candidates_from_rows(CONTACT, rows.get("contacts", [])),
            *candidates_from_rows(LEAD, rows.get("leads", [])),
        ]
        for item in chunk:
            match = match_choose(item.email, candidates, item.match_policy)
            found = match.person
            item.steps["find"] = {
                "how": match.reason,
                "object": found.object if found else "",
                "id": found.id if found else "",
                "others": list(match.others),
            }
            if found is not None:
                batch.found[item.ref] = found


def _find_queries(batch: Batch, chunk: list[PersonItem]) -> dict[str, str]:
    """The Contact (where the policy looks at Contacts) and Lead queries of one chunk."""
    return find_queries(
        [i.email for i in chunk],
        contacts=any(i.match_policy is MatchPolicy.CONTACT_THEN_LEAD for i in chunk),
        describes=batch.describes,
        wanted={n for i in chunk for n, p in i.policies.items() if p is WritePolicy.IF_EMPTY},
    )
