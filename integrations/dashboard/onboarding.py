"""Reads of the guided setup on the admin home: where a tenant that is not live yet stands,
step by step (connect Salesforce → a booking page → its mapping → a test booking → live),
each step done / to do / wrong, with the link where it is done or fixed.

Nothing here calls Salesforce: the mapping is checked against the cached describe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse

from bookings.models import BookingPage, Tenant
from bookings.tenancy import tenants_for
from integrations.delivery.selectors import delivery_record_url
from integrations.mappings import selectors as mapping_selectors
from integrations.mappings.records import target_mapping_specs
from integrations.models import Delivery, SalesforceConnection, SyncTarget
from integrations.salesforce import schema as sf_schema
from integrations.salesforce.diagnostics import diagnose
from integrations.salesforce.mapping_rules import mapping_problems

DONE, TODO, WRONG = "done", "todo", "wrong"
#: Test bookings are made for this guest (recognised by the address, never mailed).
TEST_GUEST_NAME = "Sample Guest (LeadSync test)"
TEST_GUEST_EMAIL = "leadsync-test@example.com"


@dataclass
class Step:
    key: str
    title: str
    state: str  # DONE / TODO / WRONG
    text: str  # what is done, what to do, or what is wrong and why
    link: str = ""
    link_text: str = ""
    record_url: str = ""  # the test booking's record in Salesforce


@dataclass
class Setup:
    tenant: Tenant
    steps: list[Step] = field(default_factory=list)
    page: BookingPage | None = None
    target: SyncTarget | None = None
    test_delivery: Delivery | None = None

    @property
    def live(self) -> bool:
        return all(step.state == DONE for step in self.steps)

    @property
    def next_step(self) -> Step | None:
        return next((s for s in self.steps if s.state != DONE), None)

    @property
    def can_test(self) -> bool:
        return all(s.state == DONE for s in self.steps[:3])


def setups_for(user) -> list[Setup]:
    """The guided setup of each of `user`'s tenants (superusers: none; they run no tenant)."""
    if user.is_superuser:
        return []
    return [tenant_setup(tenant) for tenant in tenants_for(user).order_by("name")]


def tenant_setup(tenant: Tenant) -> Setup:
    setup = Setup(tenant=tenant)
    connection = SalesforceConnection.objects.filter(tenant=tenant).first()
    setup.steps.append(_connect_step(connection))
    page = BookingPage.objects.filter(tenant=tenant, active=True).order_by("pk").first()
    setup.page = page
    setup.steps.append(_page_step(page))
    target = SyncTarget.objects.filter(page=page).order_by("pk").first() if page else None
    setup.target = target
    setup.steps.append(_mapping_step(page, target))
    setup.test_delivery = (
        Delivery.objects.filter(booking__page__tenant=tenant)
        .select_related("connection", "booking")
        .order_by("-pk")
        .first()
    )
    setup.steps.append(_test_step(setup))
    live = setup.steps[-1].state == DONE and all(s.state == DONE for s in setup.steps)
    setup.steps.append(
        Step(
            "live", "Live", DONE if live else TODO,
            "Bookings on your page reach Salesforce by themselves. Put the booking page on "
            "your own site with the snippet below." if live
            else "Once the steps above are done, every booking reaches Salesforce by itself.",
        )
    )  # fmt: skip
    return setup


def _connect_step(connection: SalesforceConnection | None) -> Step:
    title = "Connect Salesforce"
    if connection is None:
        return Step(
            "connect", title, TODO, "Let LeadSync create records in your Salesforce org.",
            reverse("admin:integrations_salesforceconnection_add"), "Add the connection",
        )  # fmt: skip
    url = reverse("admin:integrations_salesforceconnection_change", args=[connection.pk])
    if connection.is_connected and connection.has_tokens:
        return Step(
            "connect", title, DONE,
            f"Connected as {connection.sf_username or 'the Salesforce user'}.", url, "Open",
        )  # fmt: skip
    diagnosis = diagnose(
        connection.last_error_code, connection.last_error_message,
        connected_at=connection.connected_at,
    )  # fmt: skip
    if diagnosis is not None:
        return Step(
            "connect", title, WRONG, f"{diagnosis.title} {diagnosis.action}", url,
            "Open the connection",
        )  # fmt: skip
    return Step(
        "connect", title, TODO, "Click “Connect Salesforce” and allow LeadSync access.", url,
        "Open the connection",
    )  # fmt: skip


def _page_step(page: BookingPage | None) -> Step:
    title = "Create a booking page"
    if page is None:
        return Step(
            "page", title, TODO, "The page guests book on: its times and its questions.",
            reverse("admin:bookings_bookingpage_add"), "Create a booking page",
        )  # fmt: skip
    return Step(
        "page", title, DONE, f"“{page.title}” at {page.get_absolute_url()}",
        reverse("admin:bookings_bookingpage_change", args=[page.pk]), "Open",
    )  # fmt: skip


def _mapping_step(page: BookingPage | None, target: SyncTarget | None) -> Step:
    title = "Map it to Salesforce"
    if page is None:
        return Step("map", title, TODO, "First create a booking page.")
    link = reverse("admin:integrations_synctarget_for_page", args=[page.pk])
    if target is None:
        return Step(
            "map", title, TODO, "Choose which Salesforce field each answer fills.", link,
            "Map the page",
        )  # fmt: skip
    context = mapping_selectors.target_mapping_context(target)
    wrong = []
    if not target.enabled:
        wrong.append("“Post to Salesforce” is off.")
    if not target.key_field:
        wrong.append("No booking id field is chosen.")
    if context.describe is None:
        wrong.append(context.error or "The fields of the object are not loaded yet.")
    else:
        specs = target_mapping_specs(target, questions=context.questions)
        errors = [
            p
            for p in mapping_problems(
                context.describe, specs, write_mode=sf_schema.WriteMode(target.write_mode)
            )
            if p.is_error
        ]
        wrong += [f"{p.field}: {p.message}" for p in errors[:3]]
    if wrong:
        return Step("map", title, WRONG, " ".join(wrong), link, "Fix the mapping")
    return Step(
        "map", title, DONE, f"{target.mappings.count()} fields mapped to {target.sobject}; "
        "every check passes.", link, "Open",
    )  # fmt: skip


def _test_step(setup: Setup) -> Step:
    title = "Send a test booking"
    delivery = setup.test_delivery
    if delivery is None:
        text = (
            "Books a sample guest on your page and shows the record it creates in Salesforce."
            if setup.can_test
            else "Possible once the steps above are done."
        )
        return Step("test", title, TODO, text)
    delivery_url = reverse("admin:integrations_delivery_change", args=[delivery.pk])
    if delivery.status == Delivery.Status.SENT:
        return Step(
            "test", title, DONE,
            f"The test booking created {delivery.sobject} {delivery.sf_record_id} in "
            "Salesforce.", delivery_url, "See the delivery",
            record_url=delivery_record_url(delivery),
        )  # fmt: skip
    if delivery.status in (Delivery.Status.FAILED, Delivery.Status.HELD):
        return Step(
            "test", title, WRONG,
            "Salesforce did not take the booking: "
            f"{delivery.last_error_message or delivery.last_error_code}",
            delivery_url, "See why and fix it",
        )  # fmt: skip
    return Step(
        "test", title, TODO, "Sending the booking to Salesforce…", delivery_url, "See the delivery"
    )
