"""factory-boy factories for every model. One place; tests import from here."""

import datetime
import secrets

import factory
from django.contrib.auth import get_user_model

from bookings.models import ApiKey, Booking, BookingPage, Membership, Question, Tenant
from bookings.selectors import api_key_hash
from integrations.models import SalesforceConnection

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
    """Bookable every day, 09:00-17:00 Berlin time, 30-minute slots, no minimum notice."""

    class Meta:
        model = BookingPage

    tenant = factory.SubFactory(TenantFactory)
    slug = factory.Sequence(lambda n: f"page-{n}")
    title = factory.Sequence(lambda n: f"Page {n}")
    duration_minutes = 30
    timezone = "Europe/Berlin"
    weekdays = factory.LazyFunction(lambda: list(range(7)))
    day_start = datetime.time(9, 0)
    day_end = datetime.time(17, 0)
    horizon_days = 14
    min_notice_minutes = 0


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
