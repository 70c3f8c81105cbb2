"""The bench's data: tenants connected to the emulator, pages posting Leads by external
id, free slots that never collide, API keys, and backlogs saved through the product's
own booking service (so every booking has its outbox row and its enqueued push)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from bookings.models import AvailabilityWindow, Booking, BookingPage, Tenant
from bookings.selectors import page_free_slots
from bookings.services import Guest, api_key_create, booking_submit
from integrations.connection.tokens import connection_token_refresh
from integrations.delivery import services as delivery_services
from integrations.management.bench.figures import Person
from integrations.management.bench.procs import SEED_TOKEN, Emulator
from integrations.mappings.services import schema_store
from integrations.models import (
    Delivery,
    FieldMapping,
    SalesforceConnection,
    SalesforceUserLink,
    SyncTarget,
)

COPY_BATCH = 1000  # rows per INSERT when copying a backlog
PAGE_SLOTS = 250  # bookings per bench page (5-minute slots all day, 2 days: ~570 offered)
KEY_FIELD = "LeadSync_Booking_Id__c"
WRITES_KEY = f"Lead.{KEY_FIELD}"
PLAIN_TARGET = {
    "person_match": SyncTarget.PersonMatch.ALWAYS_CREATE,
    "event_enabled": False,
    "owner_policy": SyncTarget.OwnerPolicy.LEAVE,
}
Kind, Write = FieldMapping.SourceKind, FieldMapping.WritePolicy
# Plain Lead pages: (field, source kind, question / fact, constant).
PLAIN_MAPPINGS = [
    ("Company", Kind.QUESTION, "company", ""),
    ("LastName", Kind.BOOKING, "guest_last_name", ""),
    ("Email", Kind.BOOKING, "guest_email", ""),
    ("LeadSource", Kind.URL_PARAM, "", ""),
    ("Region__c", Kind.CONSTANT, "", "EMEA"),
]
# Person pages (people mode), as the demo maps its page: a booking never overwrites a
# name, an email, a company or a region Salesforce already has.
PERSON_MAPPINGS = [
    ("Company", Kind.QUESTION, "company", "", Write.IF_EMPTY),
    ("FirstName", Kind.BOOKING, "guest_first_name", "", Write.ON_CREATE),
    ("LastName", Kind.BOOKING, "guest_last_name", "", Write.ON_CREATE),
    ("Email", Kind.BOOKING, "guest_email", "", Write.ON_CREATE),
    ("LeadSource", Kind.URL_PARAM, "", "", Write.ON_CREATE),
    ("Region__c", Kind.CONSTANT, "", "EMEA", Write.IF_EMPTY),
    # Written on every booking, so a found person is updated (one Collections update).
    ("Description", Kind.CONSTANT, "", "Booked a meeting (LeadSync bench)", Write.ALWAYS),
]


@dataclass
class Slot:
    page: BookingPage
    starts_at: dt.datetime

    @property
    def path(self) -> str:
        return f"/{self.page.tenant.slug}/{self.page.slug}/"


def tenant_setup(
    emulator: Emulator, *, slug: str, pages: int, host_sf_user: str = "", configured: bool = True
) -> list[BookingPage]:
    """A tenant connected to the emulator with `pages` bench pages posting plain Leads
    (upsert by LeadSync_Booking_Id__c, no find, no Event): 5-minute slots all day for 2
    days, no notice, one required question.

    With `host_sf_user` (an Id of a user of the emulator org, also the connected user)
    the pages are person pages instead (people mode): the product's default target
    (find the guest by email, Contact then Lead; an Event on the person; assignment
    rules), hosted by a staff member linked to that user, who owns the Events.

    `configured`: as a tenant whose staff finished setup (see _configured_like_staff);
    False leaves it just connected (no access token, no describes yet)."""
    tenant = Tenant.objects.create(slug=slug, name=f"Bench {slug}", timezone="UTC")
    host = emulator.base_url.removeprefix("https://")
    connection = SalesforceConnection(
        tenant=tenant, status=SalesforceConnection.Status.CONNECTED, login_host=host,
        instance_url=emulator.base_url, api_version="59.0", connected_at=timezone.now(),
        sf_user_id=host_sf_user,
    )  # fmt: skip
    connection.refresh_token = SEED_TOKEN  # encrypted under the run's key (driver settings)
    connection.save()
    if configured:
        _configured_like_staff(emulator, connection, people=bool(host_sf_user))
    return [
        _page_create(tenant, slug=f"p{index}", duration=5, weekdays=list(range(7)),
                     day=(dt.time(0, 0), dt.time(23, 55)), horizon=2, notice=0,
                     host=_host(connection, f"{slug}-{index}", host_sf_user))
        for index in range(pages)
    ]  # fmt: skip


def _host(connection: SalesforceConnection, name: str, sf_user_id: str):
    """A staff member of its own per page, linked to the org's user `sf_user_id` (a host's
    meetings block their times on all their pages: pages that must not share slots need
    hosts of their own). None without `sf_user_id`."""
    if not sf_user_id:
        return None
    staff = get_user_model().objects.create_user(
        username=f"host-{name}", email=f"host-{name}@bench.example", is_staff=True
    )
    SalesforceUserLink.objects.create(
        connection=connection, user=staff, sf_user_id=sf_user_id, sf_name="Bench host"
    )
    return staff


def _configured_like_staff(
    emulator: Emulator, connection: SalesforceConnection, *, people: bool
) -> None:
    """What a tenant that staff set up has before its first booking, done the same way: an
    access token (the OAuth callback stores one; here the product's own refresh gets it
    from the emulator) and the describes of the objects its target writes (fetched and
    cached when staff open the field picker). A push then starts without either call;
    tokens that expire mid-run are still refreshed by the product as usual."""
    # The driver runs with the repo's settings; its children get the emulator's in env.
    with override_settings(
        SALESFORCE_CA_BUNDLE=emulator.ca_path,
        SALESFORCE_EXTRA_LOGIN_HOSTS=[emulator.base_url.removeprefix("https://")],
        SALESFORCE_CONSUMER_KEY=emulator.client_id,
        SALESFORCE_CONSUMER_SECRET=emulator.client_secret,
    ):
        connection_token_refresh(connection=connection, failed_access_token=None)
        for sobject in ("Lead", "Contact", "Event") if people else ("Lead",):
            schema_store(connection=connection, sobject=sobject)


def typical_page_create(tenant: Tenant) -> BookingPage:
    """A page as staff leave it by default (30 minutes, 09:00-17:00 Mon-Fri, 14 days,
    an hour's notice), mapped like the bench pages: the page GET of intake mode."""
    return _page_create(
        tenant, slug="typical", duration=30, weekdays=[0, 1, 2, 3, 4],
        day=(dt.time(9, 0), dt.time(17, 0)), horizon=14, notice=60,
    )  # fmt: skip


def _page_create(
    tenant, *, slug, duration, weekdays, day, horizon, notice, host=None
) -> BookingPage:
    """A bench page; a person page (the product's default target) when it has a `host`."""
    page = BookingPage.objects.create(
        tenant=tenant, slug=slug, title=f"Bench {slug}", duration_minutes=duration,
        timezone="UTC", horizon_days=horizon, min_notice_minutes=notice, host=host,
    )  # fmt: skip
    AvailabilityWindow.objects.bulk_create(
        AvailabilityWindow(page=page, weekday=weekday, start=day[0], end=day[1])
        for weekday in weekdays
    )
    page.questions.create(key="company", label="Company", kind="text", required=True)
    if host is not None:
        target = SyncTarget.objects.create(
            page=page, sobject="Lead", enabled=True, key_field=KEY_FIELD
        )  # the product's defaults: the person flow
        mappings = PERSON_MAPPINGS
    else:
        # The plain record push (issue 15's figures): upsert by the booking id, no find
        # by email, no Event, owner left alone.
        target = SyncTarget.objects.create(
            page=page, sobject="Lead", enabled=True, key_field=KEY_FIELD, **PLAIN_TARGET
        )
        mappings = [(*mapping, Write.ALWAYS) for mapping in PLAIN_MAPPINGS]
    for sf_field, source_kind, key, constant, policy in mappings:
        target.mappings.create(
            sf_field=sf_field, source_kind=source_kind, source_key=key,
            constant_value=constant, write_policy=policy,
        )  # fmt: skip
    return page


def pages_needed(bookings: int) -> int:
    return -(-bookings // PAGE_SLOTS)


def slots_for(pages: list[BookingPage], count: int) -> Iterator[Slot]:
    """`count` distinct bookable slots over `pages`, PAGE_SLOTS per page at most, never
    the first slot of a page (it may pass while the run lasts)."""
    given = 0
    for page in pages:
        for starts_at in page_free_slots(page)[1 : PAGE_SLOTS + 1]:
            if given == count:
                return
            yield Slot(page, starts_at)
            given += 1
    if given < count:
        raise ValueError(f"only {given} slots for {count} bookings: add pages")


def api_keys_create(tenant: Tenant, count: int) -> list[str]:
    """`count` API keys of `tenant` (the API limits each key to 120 bookings a minute:
    the load spreads over keys as a tenant's several sites would)."""
    return [api_key_create(tenant=tenant, name=f"bench {n}")[1] for n in range(count)]


def guest_of(index: int, label: str, guests: Sequence[Person] | None) -> tuple[str, str]:
    """(name, email) of booking `index`: `guests[index]` when given, else its own."""
    if guests is not None:
        return guests[index].name, guests[index].email
    return f"Guest {label}{index}", f"{label.lower()}{index}@example.com"


def backlog_save(
    slots: list[Slot], *, label: str, start: int = 0, guests: Sequence[Person] | None = None
) -> list[str]:
    """Save a booking per slot through `booking_submit`, one transaction each as a
    guest's would be (outbox row + push enqueued on commit). Booking i is by
    `guests[i]` when given. Returns the uids."""
    uids: list[str] = []
    for index, slot in enumerate(slots, start=start):
        booking = booking_submit(
            page=slot.page, slot=slot.starts_at,
            guest=Guest(*guest_of(index, label, guests)),
            answers={"company": f"Company {index}"}, url_params={"LeadSource": "Web"},
        )  # fmt: skip
        uids.append(str(booking.uid))
    return uids


def backlog_copy(
    slots: list[Slot], *, label: str, guests: Sequence[Person] | None = None
) -> list[str]:
    """What `backlog_save` leaves behind, in a fraction of the time (a guest's submit
    costs ~25 ms of validation the drain never sees): the first booking of each page goes
    through `booking_submit`; the rest copy its Booking row and its Delivery rows field
    by field (new uid, slot, guest, answers), and each copy asks for a push as a submit's
    commit does (`push_request`: one task queued per connection until a worker starts
    it), in slot order. Returns the uids."""
    uids: list[str] = []
    for page in dict.fromkeys(slot.page for slot in slots):
        page_slots = [slot for slot in slots if slot.page is page]
        first = backlog_save(page_slots[:1], label=label, start=len(uids), guests=guests)[0]
        template = Booking.objects.get(uid=first)
        deliveries = list(Delivery.objects.filter(booking=template))
        copies = []
        for index, slot in enumerate(page_slots[1:], start=len(uids) + 1):
            name, email = guest_of(index, label, guests)
            copies.append(
                _copy(
                    template,
                    uid=uuid.uuid4(),
                    starts_at=slot.starts_at,
                    ends_at=slot.starts_at + (template.ends_at - template.starts_at),
                    guest_name=name,
                    guest_email=email,
                    answers={**template.answers, "company": f"Company {index}"},
                )
            )
        with transaction.atomic():
            Booking.objects.bulk_create(copies, batch_size=COPY_BATCH)
            now = timezone.now()
            Delivery.objects.bulk_create(
                [
                    _copy(d, booking_id=b.pk, next_attempt_at=now)
                    for b in copies
                    for d in deliveries
                ],
                batch_size=COPY_BATCH,
            )
        uids.append(first)
        for booking in copies:
            uids.append(str(booking.uid))
            for delivery in deliveries:
                # What each submission's commit does: ask for a push (one is queued per
                # connection until a worker starts it; see push_request).
                delivery_services.push_request(delivery.connection_id)
    return uids


def _copy(row, **changes):
    """A new unsaved instance with every concrete field of `row` but its key, and `changes`."""
    model = type(row)
    values = {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields
              if not f.primary_key}  # fmt: skip
    return model(**{**values, **changes})
