"""The demo tenant that `make run` loads. Idempotent: running it again changes nothing."""

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from bookings import services
from bookings.models import AvailabilityWindow, BookingPage, Membership, Question, Tenant, Weekday

DEMO_TENANT_SLUG = "demo"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "leadsync-demo"  # noqa: S105 - a local demo login, printed by `make run`
DEMO_PAGE_SLUG = "intro-call"
DEMO_HOURS = [
    (datetime.time(9, 0), datetime.time(12, 0)),
    (datetime.time(13, 0), datetime.time(17, 0)),
]

Kind = Question.Kind
DEMO_QUESTIONS = [
    {"key": "company", "label": "Company", "kind": Kind.TEXT, "required": True},
    {
        "key": "meeting_type",
        "label": "What would you like to talk about?",
        "kind": Kind.CHOICE,
        "required": True,
        "choices": ["Demo", "Consultation", "Support"],
    },
    # Region__c holds 40 characters: the question may not accept more.
    {
        "key": "region",
        "label": "Region",
        "kind": Kind.TEXT,
        "help_text": "e.g. EMEA",
        "max_length": 40,
    },
    {
        "key": "phone",
        "label": "Phone",
        "kind": Kind.PHONE,
        "help_text": "With country code, e.g. +44 20 7946 0958.",
    },
    {"key": "notes", "label": "Anything we should know?", "kind": Kind.TEXTAREA},
]


@dataclass
class DemoTenant:
    tenant: Tenant
    username: str
    password: str
    created: bool


@transaction.atomic
def demo_tenant_setup() -> DemoTenant:
    """Create (once) the demo tenant and its staff admin. Returns what exists."""
    tenant, created = Tenant.objects.get_or_create(
        slug=DEMO_TENANT_SLUG, defaults={"name": "Demo Company", "timezone": "Europe/London"}
    )
    User = get_user_model()
    user = User.objects.filter(username=DEMO_USERNAME).first()
    if user is None:
        user = User(username=DEMO_USERNAME, email="demo@leadsync.example")
        user.set_password(DEMO_PASSWORD)
        services.staff_user_create(user=user, tenant=tenant, role=Membership.Role.ADMIN)
    demo_page_setup(tenant)
    return DemoTenant(
        tenant=tenant, username=DEMO_USERNAME, password=DEMO_PASSWORD, created=created
    )


def demo_page_setup(tenant: Tenant) -> BookingPage:
    """Create (once) the demo booking page /demo/intro-call/, its hours and questions:
    Monday to Friday 09:00-12:00 and 13:00-17:00 (a lunch break), 10 minutes' buffer."""
    page, created = BookingPage.objects.get_or_create(
        tenant=tenant,
        slug=DEMO_PAGE_SLUG,
        defaults={
            "title": "Intro call",
            "description": "A 30-minute call to see whether we can help.",
            "duration_minutes": 30,
            "timezone": tenant.timezone,
            "buffer_after_minutes": 10,
        },
    )
    if created:
        AvailabilityWindow.objects.bulk_create(
            AvailabilityWindow(page=page, weekday=day, start=start, end=end)
            for day in Weekday
            if day <= Weekday.FRIDAY
            for start, end in DEMO_HOURS
        )
    for order, question in enumerate(DEMO_QUESTIONS):
        defaults = {k: v for k, v in question.items() if k != "key"}
        Question.objects.get_or_create(
            page=page, key=question["key"], defaults={**defaults, "order": order}
        )
    return page
