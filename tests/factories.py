"""factory-boy factories for every model. One place; tests import from here."""

import datetime
import secrets

import factory
from django.contrib.auth import get_user_model

from bookings.models import (
    ApiKey,
    AvailabilityWindow,
    Booking,
    BookingPage,
    DateOverride,
    GuestEmail,
    Membership,
    Question,
    Tenant,
)
from bookings.selectors import api_key_hash
from integrations.models import (
    AlertSettings,
    Delivery,
    DeliveryAttempt,
    FieldMapping,
    ResendJob,
    SalesforceConnection,
    SalesforceUserLink,
    SObjectSchema,
    SyncTarget,
)
from integrations.salesforce.emulator.schema import Schema

TEST_PASSWORD = "correct-horse-battery-staple"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.Sequence(lambda n: f"Tenant {n}")
    timezone = "Europe/Berlin"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.django.Password(TEST_PASSWORD)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Membership.Role.MEMBER


class SalesforceConnectionFactory(factory.django.DjangoModelFactory):
    """A connected connection (fake tokens, no Salesforce behind it)."""

    class Meta:
        model = SalesforceConnection

    tenant = factory.SubFactory(TenantFactory)
    status = SalesforceConnection.Status.CONNECTED
    login_host = "login.salesforce.com"
    instance_url = factory.LazyAttribute(lambda c: f"https://{c.tenant.slug}.my.salesforce.com")
    api_version = "59.0"
    sf_org_id = "00D000000000001EAA"
    sf_user_id = "005000000000001AAA"
    sf_username = factory.LazyAttribute(lambda c: f"admin@{c.tenant.slug}.example")
    access_token = factory.Sequence(lambda n: f"00D000000000001!AQ-fake-access-{n}")
    refresh_token = factory.Sequence(lambda n: f"5Aep861-fake-refresh-{n}")


class BookingPageFactory(factory.django.DjangoModelFactory):
    """Bookable every day, 09:00-17:00 Berlin time, 30-minute slots, no minimum notice.

    `windows=[(weekday, start, end), ...]` gives other weekly hours ([] for none)."""

    class Meta:
        model = BookingPage
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    slug = factory.Sequence(lambda n: f"page-{n}")
    title = factory.Sequence(lambda n: f"Page {n}")
    duration_minutes = 30
    timezone = "Europe/Berlin"
    horizon_days = 14
    min_notice_minutes = 0

    @factory.post_generation
    def windows(page, create, extracted, **kwargs):
        if not create:
            return
        nine_to_five = (datetime.time(9, 0), datetime.time(17, 0))
        spans = extracted if extracted is not None else [(d, *nine_to_five) for d in range(7)]
        AvailabilityWindow.objects.bulk_create(
            AvailabilityWindow(page=page, weekday=day, start=start, end=end)
            for day, start, end in spans
        )


class DateOverrideFactory(factory.django.DjangoModelFactory):
    """A day off on a date (give `start` and `end` for other hours instead)."""

    class Meta:
        model = DateOverride

    page = factory.SubFactory(BookingPageFactory)
    date = factory.LazyFunction(lambda: datetime.date.today() + datetime.timedelta(days=1))
    start = None
    end = None


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    page = factory.SubFactory(BookingPageFactory)
    key = factory.Sequence(lambda n: f"question_{n}")
    label = factory.LazyAttribute(lambda q: q.key.replace("_", " ").capitalize())
    kind = Question.Kind.TEXT
    order = factory.Sequence(lambda n: n)


class BookingFactory(factory.django.DjangoModelFactory):
    """A booking on the hour, some days ahead (not necessarily one of the page's slots)."""

    class Meta:
        model = Booking

    page = factory.SubFactory(BookingPageFactory)
    starts_at = factory.Sequence(
        lambda n: (
            datetime.datetime(2030, 1, 7, 9, tzinfo=datetime.UTC) + datetime.timedelta(hours=n)
        )
    )
    ends_at = factory.LazyAttribute(
        lambda b: b.starts_at + datetime.timedelta(minutes=b.page.duration_minutes)
    )
    guest_name = factory.Sequence(lambda n: f"Guest {n}")
    guest_email = factory.LazyAttribute(lambda b: f"{b.guest_name.replace(' ', '.')}@example.com")
    answers = factory.LazyFunction(dict)
    url_params = factory.LazyFunction(dict)


class GuestEmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GuestEmail

    booking = factory.SubFactory(BookingFactory)
    kind = GuestEmail.Kind.CONFIRMATION
    recipient = factory.LazyAttribute(lambda e: e.booking.guest_email)
    starts_at = factory.LazyAttribute(lambda e: e.booking.starts_at)


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """An API key whose secret is `raw_key` (a factory argument, not stored)."""

    class Meta:
        model = ApiKey
        exclude = ["raw_key"]

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"website {n}")
    raw_key = factory.LazyFunction(lambda: f"lsk_test_{secrets.token_urlsafe(24)}")
    prefix = factory.Sequence(lambda n: f"lsk_{n:08x}")
    key_hash = factory.LazyAttribute(lambda k: api_key_hash(k.raw_key))


def org_describe(sobject: str = "Lead") -> dict:
    """The emulator org's describe of `sobject`: the real capture plus LeadSync's overlay."""
    return Schema().describe(sobject)


class SObjectSchemaFactory(factory.django.DjangoModelFactory):
    """A cached describe, by default the emulator org's Lead."""

    class Meta:
        model = SObjectSchema

    connection = factory.SubFactory(SalesforceConnectionFactory)
    sobject = "Lead"
    describe = factory.LazyAttribute(lambda s: org_describe(s.sobject))
    fetched_at = factory.LazyFunction(lambda: datetime.datetime.now(datetime.UTC))


class SalesforceUserLinkFactory(factory.django.DjangoModelFactory):
    """A staff member of the connection's tenant linked to a user of its org."""

    class Meta:
        model = SalesforceUserLink

    connection = factory.SubFactory(SalesforceConnectionFactory)
    user = factory.LazyAttribute(lambda o: MembershipFactory(tenant=o.connection.tenant).user)
    sf_user_id = factory.Sequence(lambda n: f"005{n:015d}")
    sf_name = "Dana Ruiz"
    sf_email = "dana.ruiz@example.com"


class SyncTargetFactory(factory.django.DjangoModelFactory):
    """An enabled Lead target in upsert mode keyed by LeadSync_Booking_Id__c that posts
    each booking as its own record: no lookup of the guest, no meeting, owner left to
    Salesforce (the record push alone). PersonTargetFactory has the product's defaults."""

    class Meta:
        model = SyncTarget

    page = factory.SubFactory(BookingPageFactory)
    sobject = "Lead"
    enabled = True
    write_mode = SyncTarget.WriteMode.UPSERT
    key_field = "LeadSync_Booking_Id__c"
    person_match = SyncTarget.PersonMatch.ALWAYS_CREATE
    event_enabled = False
    owner_policy = SyncTarget.OwnerPolicy.LEAVE


class PersonTargetFactory(SyncTargetFactory):
    """A Lead target with the defaults of a new target: the guest found by email (Contact,
    then Lead), a meeting written as an Event, Salesforce's assignment rules."""

    person_match = SyncTarget.PersonMatch.CONTACT_THEN_LEAD
    event_enabled = True
    owner_policy = SyncTarget.OwnerPolicy.ASSIGNMENT_RULES


class FieldMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FieldMapping

    target = factory.SubFactory(SyncTargetFactory)
    sf_field = "Company"
    source_kind = FieldMapping.SourceKind.CONSTANT
    constant_value = "Acme"


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A delivery of a booking to its page's target, on the page tenant's connection."""

    class Meta:
        model = Delivery

    booking = factory.SubFactory(BookingFactory)
    target = factory.LazyAttribute(lambda d: SyncTargetFactory(page=d.booking.page))
    connection = factory.LazyAttribute(
        lambda d: (
            SalesforceConnection.objects.filter(tenant=d.booking.page.tenant).first()
            or SalesforceConnectionFactory(tenant=d.booking.page.tenant)
        )
    )
    sobject = "Lead"
    status = Delivery.Status.PENDING
    next_attempt_at = factory.LazyFunction(lambda: datetime.datetime.now(datetime.UTC))


class DeliveryAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryAttempt

    delivery = factory.SubFactory(DeliveryFactory)
    started_at = factory.LazyFunction(lambda: datetime.datetime.now(datetime.UTC))
    duration_ms = 120
    operation = "upsert"
    outcome = DeliveryAttempt.Outcome.FAILED
    http_status = 400
    error_code = "REQUIRED_FIELD_MISSING"
    message = "Required fields are missing: [Company]"
    fields = factory.LazyFunction(lambda: ["Company"])


def lead_page_with_target(*, tenant, slug: str = "intro", write_mode: str = "upsert", **page):
    """A booking page posting to Lead (upsert by LeadSync_Booking_Id__c unless
    `write_mode="insert"`): a required company question, and mappings from the company,
    the guest's name and email, the `LeadSource` URL parameter (rule 7) and the org's
    required custom field `Region__c` (a constant)."""
    page_row = BookingPageFactory(tenant=tenant, slug=slug, title="Intro call", **page)
    QuestionFactory(page=page_row, key="company", label="Company", required=True, order=1)
    target = SyncTargetFactory(page=page_row, write_mode=write_mode)
    Kind = FieldMapping.SourceKind
    for sf_field, kind, key in [
        ("Company", Kind.QUESTION, "company"),
        ("FirstName", Kind.BOOKING, "guest_first_name"),
        ("LastName", Kind.BOOKING, "guest_last_name"),
        ("Email", Kind.BOOKING, "guest_email"),
        ("LeadSource", Kind.URL_PARAM, ""),
    ]:
        FieldMappingFactory(target=target, sf_field=sf_field, source_kind=kind, source_key=key)
    FieldMappingFactory(target=target, sf_field="Region__c", constant_value="EMEA")
    return page_row


class AlertSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AlertSettings

    tenant = factory.SubFactory(TenantFactory)
    enabled = True
    recipients = ""


class ResendJobFactory(factory.django.DjangoModelFactory):
    """A finished job of one tenant (set status / done / delivery_ids yourself)."""

    class Meta:
        model = ResendJob

    tenant = factory.SubFactory(TenantFactory)
    status = ResendJob.Status.DONE
    total = 0


def failed_deliveries(
    page,
    count: int,
    *,
    code: str = "REQUIRED_FIELD_MISSING",
    fields=("Company",),
    message: str = "Required fields are missing: [Company]",
    target=None,
):
    """`count` failed deliveries of bookings on `page` (one target), each with its failed
    attempt, inserted in bulk (fast enough for a thousand)."""
    target = target or page.sync_targets.first() or SyncTargetFactory(page=page)
    connection = SalesforceConnection.objects.filter(
        tenant=page.tenant
    ).first() or SalesforceConnectionFactory(tenant=page.tenant)
    start = datetime.datetime(2031, 1, 6, 8, tzinfo=datetime.UTC) + datetime.timedelta(
        days=Booking.objects.filter(page=page).count()
    )
    bookings = Booking.objects.bulk_create(
        BookingFactory.build(
            page=page,
            starts_at=start + datetime.timedelta(minutes=30 * i),
            ends_at=start + datetime.timedelta(minutes=30 * i + 30),
        )
        for i in range(count)
    )
    deliveries = Delivery.objects.bulk_create(
        Delivery(booking=b, target=target, connection=connection, sobject=target.sobject,
                 status=Delivery.Status.FAILED, attempts=1, last_error_code=code,
                 last_error_message=message, last_error_fields=list(fields))
        for b in bookings
    )  # fmt: skip
    now = datetime.datetime.now(datetime.UTC)
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(delivery=d, started_at=now, outcome=DeliveryAttempt.Outcome.FAILED,
                        http_status=400, error_code=code, message=message, fields=list(fields))
        for d in deliveries
    )  # fmt: skip
    return deliveries
