"""People mode (issue 12): bookings pushed as people with meetings, the product's default
target (find the guest by email, Contact then Lead; update under the write policies or
create; an Event owned by the host; the owner read back), on a queued backlog where a
share of the guests are already in Salesforce as Leads or Contacts.

Runs, each on a fresh database and a fresh emulator (blank org, the two standard
duplicate rules switched on): `--people-bookings` (5,000) drained with batching on, and
`--people-baseline` (500) of the same mix drained with each worker environment of
`--people-baseline-env`: DELIVERY_BATCHING=false (the documented "one request per
record", which in the person flow unbatches only the creates), and that with
DELIVERY_BATCH_SIZE=1 (claims of one booking: every step one call per record). The
existing people are created before the drain through the emulator's REST API (one
Collections create per 200); the drain's API calls are counted after that.

What reached Salesforce is read from the org's records, not the write counts (a found
person is updated by Id, which the write counts leave out): a booking is lost when no
Event carries its id (`LeadSync_Booking_Id__c`), a duplicate Event is a booking id on
more than one Event, a duplicate person an email on more than one Lead or Contact.
"""

from __future__ import annotations

import math
import time
from typing import Any

import requests

from integrations.management.bench import data, figures
from integrations.management.bench.context import Context, Drain, drain_measure
from integrations.management.bench.procs import SEED_TOKEN, Emulator
from integrations.management.bench.report import Row
from integrations.models import Delivery

API = "/services/data/v59.0"
SEED_BATCH = 200  # records per Collections create (Salesforce's limit)
EVENT_KEY = data.KEY_FIELD  # the Activity custom field carrying the booking id on Events
# The two duplicate rules every new Salesforce org has (Setup > Duplicate Rules), active,
# "Allow" with an alert: a create through the API that matches is refused with
# DUPLICATES_DETECTED unless it says allowSave. The blank org starts without them.
STANDARD_DUPLICATE_RULES = [
    {"name": "Standard_Lead_Duplicate_Rule", "object": "Lead", "action": "allow",
     "compare": ["Lead", "Contact"], "alert_text": "Use one of these records?"},
    {"name": "Standard_Contact_Duplicate_Rule", "object": "Contact", "action": "allow",
     "compare": ["Contact", "Lead"], "alert_text": "Use one of these records?"},
]  # fmt: skip


def env_sets(text: str) -> list[dict[str, str]]:
    """The baselines' extra worker environments, one run each:
    "A=1;A=1,B=2" -> [{"A": "1"}, {"A": "1", "B": "2"}]."""
    sets = []
    for chunk in text.split(";"):
        pairs = {}
        for part in chunk.split(","):
            if part.strip():
                name, sep, value = part.partition("=")
                if not sep or not name.strip():
                    raise ValueError(f"expected NAME=value, got {part!r}")
                pairs[name.strip()] = value.strip()
        if pairs:
            sets.append(pairs)
    return sets


def people(ctx: Context, out) -> list[Row]:
    share = ctx.opts["people_existing_share"]
    rows: list[Row] = []
    batched = None
    if ctx.opts["people_bookings"]:
        batched = _run(ctx, count=ctx.opts["people_bookings"], share=share, env={}, label="P")
        rows.append(_row(f"{batched.count} batched", batched, ""))
        out(rows[-1])
    for env in ctx.opts["people_baseline_env"] if ctx.opts["people_baseline"] else []:
        one = _run(ctx, count=ctx.opts["people_baseline"], share=share, env=env, label="B")
        versus = ""
        if batched is not None and batched.api_calls:
            versus = f"{one.calls_per_booking / batched.calls_per_booking:.0f}x batched's calls"
        what = "batch size 1" if env.get("DELIVERY_BATCH_SIZE") == "1" else "batching off"
        rows.append(_row(f"{one.count} {what}", one, versus))
        out(rows[-1])
    return rows


def _run(ctx: Context, *, count: int, share: float, env: dict[str, str], label: str) -> Drain:
    ctx.begin()
    try:
        emulator = ctx.emulator
        user_id = _integration_user(emulator)
        existing = figures.people_existing(round(count * share))
        began = time.monotonic()
        seeded = people_seed(emulator, existing)
        rules = duplicate_rules_on(emulator)  # after the seed: it is the org as it was
        pages = data.tenant_setup(
            emulator, slug="people", pages=data.pages_needed(count), host_sf_user=user_id
        )
        guests = figures.people_mix(count, existing, share=share, label=label)
        slots = list(data.slots_for(pages, count))
        save = data.backlog_save if ctx.opts["backlog"] == "service" else data.backlog_copy
        uids = save(slots, label=label, guests=guests)
        prepared = time.monotonic() - began
        workers = ctx.workers_start(1, consume=False, **env)
        calls0 = emulator.admin("GET", "state")["api_calls"]
        drain = drain_measure(ctx, workers, uids, check=lambda u: _check(emulator, u))
        calls1 = emulator.admin("GET", "state")["api_calls"]
        drain.extra = {
            "seeded": seeded, "duplicate_rules": rules, "prepared_s": round(prepared, 1),
            "existing_bookings": sum(1 for g in guests if g.existing),
            **_outcomes(), "worker_env": env,
            "api_calls_by_kind": {k: n - calls0.get(k, 0) for k, n in calls1.items()
                                  if n - calls0.get(k, 0)},
            "known_companies_overwritten": _companies_overwritten(emulator),
        }  # fmt: skip
    finally:
        ctx.end()
    return drain


def _integration_user(emulator: Emulator) -> str:
    """The Id of the org's connected user (the blank org's only user): the host's link."""
    users = emulator.admin("GET", "records/User")
    return str(users[0]["Id"])


def duplicate_rules_on(emulator: Emulator) -> list[str]:
    """Switch on the standard duplicate rules if the org has none (the blank org), so the
    run meets them as it would a real org. Returns the active rules' names."""
    if not emulator.admin("GET", "duplicate-rules"):
        emulator.admin("POST", "duplicate-rules", STANDARD_DUPLICATE_RULES)
    rules = emulator.admin("GET", "duplicate-rules")
    return [rule["name"] for rule in rules if rule.get("action") != "off"]


def people_seed(emulator: Emulator, people: list[figures.Person]) -> dict[str, int]:
    """Create `people` in the org through its REST API, one Collections create per 200,
    as a customer's org would already hold them. Returns the count per object."""
    token = requests.post(
        f"{emulator.base_url}/services/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": SEED_TOKEN,
              "client_id": emulator.client_id, "client_secret": emulator.client_secret},
        verify=emulator.ca_path, timeout=60,
    )  # fmt: skip
    token.raise_for_status()
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    records = [seed_record(person, index) for index, person in enumerate(people)]
    for start in range(0, len(records), SEED_BATCH):
        answer = requests.post(
            f"{emulator.base_url}{API}/composite/sobjects",
            json={"allOrNone": True, "records": records[start : start + SEED_BATCH]},
            headers=headers, verify=emulator.ca_path, timeout=120,
        )  # fmt: skip
        answer.raise_for_status()
        failed = [r for r in answer.json() if not r.get("success")]
        if failed:
            raise RuntimeError(f"seeding people failed: {failed[:3]}")
    counts: dict[str, int] = {}
    for person in people:
        counts[person.existing] = counts.get(person.existing, 0) + 1
    return counts


def seed_record(person: figures.Person, index: int) -> dict[str, Any]:
    """The Salesforce record of a person already in the org (a rep's data: a company the
    booking's answer must not overwrite, a lead source)."""
    record: dict[str, Any] = {
        "attributes": {"type": person.existing},
        "FirstName": person.first_name,
        "LastName": person.last_name,
        "Email": person.email,
    }
    if person.existing == "Lead":
        record.update(Company=f"Known Co {index}", Region__c="AMER", LeadSource="Partner")
    return record


def _check(emulator: Emulator, uids: list[str]) -> figures.PeopleCheck:
    events = emulator.admin("GET", "records/Event")
    persons = [*emulator.admin("GET", "records/Lead"), *emulator.admin("GET", "records/Contact")]
    return figures.people_check(uids, events, persons, key=EVENT_KEY)


def _companies_overwritten(emulator: Emulator) -> int:
    """Seeded Leads whose Company a booking overwrote (the mapping writes it only when
    empty in Salesforce: should be 0)."""
    return sum(
        1
        for lead in emulator.admin("GET", "records/Lead")
        if str(lead.get("Email") or "").endswith("@known.example")
        and not str(lead.get("Company") or "").startswith("Known Co ")
    )


def _outcomes() -> dict[str, Any]:
    """The deliveries' end states and how their guests were found (from their steps)."""
    statuses: dict[str, int] = {}
    how = {"created": 0, "found": 0, "linked_by_duplicate_rule": 0}
    errors: dict[str, int] = {}
    for status, steps, code in Delivery.objects.values_list(
        "status", "steps", "last_error_code"
    ).iterator():
        statuses[status] = statuses.get(status, 0) + 1
        person = (steps or {}).get("person") or {}
        if person.get("created"):
            how["created"] += 1
        elif person.get("linked"):
            how["linked_by_duplicate_rule"] += 1
        elif person.get("id"):
            how["found"] += 1  # updated, or left alone when its write policies keep it
        if code:
            errors[code] = errors.get(code, 0) + 1
    return {"statuses": statuses, "people": how, "error_codes": errors}


def _row(what: str, drain: Drain, versus: str) -> Row:
    check: figures.PeopleCheck = drain.check  # type: ignore[assignment]
    extra = drain.extra
    people_how = extra["people"]
    failed = sum(n for s, n in extra["statuses"].items() if s != Delivery.Status.SENT)
    note = (
        f"{extra['existing_bookings']} by existing people "
        f"({'+'.join(f'{n} {o}s' for o, n in extra['seeded'].items())} seeded); "
        f"people: {people_how['created']} created, {people_how['found']} found, "
        f"{people_how['linked_by_duplicate_rule']} linked by a duplicate rule; "
        f"dupes = {len(check.duplicates)} dup Events + {len(check.duplicate_people)} dup "
        f"people; duplicate rules: {', '.join(extra['duplicate_rules']) or 'none'}; "
        f"calls: {extra['api_calls_by_kind']}"
    )
    if extra["known_companies_overwritten"]:
        note += f"; {extra['known_companies_overwritten']} known Companies overwritten"
    if extra["worker_env"]:
        note += "; worker env " + ",".join(f"{k}={v}" for k, v in extra["worker_env"].items())
    if failed:
        note += f"; not sent: {failed} {extra['error_codes']}"
    if not drain.seconds:
        note += " NOT DRAINED"
    return Row(
        mode="people", what=what, count=drain.count, seconds=drain.seconds or math.nan,
        rate=drain.rate, versus=versus, calls_per_booking=drain.calls_per_booking,
        cpu_ms_per_record=drain.cpu_ms_per_record,
        duplicates=len(check.duplicates) + len(check.duplicate_people), lost=len(check.lost),
        note=note,
        extra={
            **extra, "worker_cpu_s": drain.worker_cpu, "emulator_cpu_s": drain.emulator_cpu,
            "api_calls": drain.api_calls, "delivered": check.delivered,
            "duplicate_events": check.duplicates[:20],
            "duplicate_people": check.duplicate_people[:20], "lost_values": check.lost[:20],
        },
    )  # fmt: skip
