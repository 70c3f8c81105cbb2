"""In Chromium, against the lived-in emulator org: a staff member links their Salesforce
user, hosts a page and lets its target give new Leads to the host; a guest books twice
with one email (one Lead, two Events owned by the host), an existing customer books (no
Lead, an Event on the Contact); the delivery pages say what happened."""

import pytest
from playwright.sync_api import expect

from bookings.selectors import page_free_slots
from integrations.delivery.push import deliveries_push
from integrations.models import Delivery, SalesforceUserLink
from tests.factories import SObjectSchemaFactory
from tests.integrations.dashboard.test_browser import log_in
from tests.integrations.delivery.test_people import person_page, records

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args() -> dict:
    return {"locale": "en-GB", "viewport": {"width": 1280, "height": 1000}}


def book(page, live_server, booking_page, *, name: str, email: str, company: str) -> None:
    booking_page.refresh_from_db()  # the host set in the admin: their meetings count
    slot = page_free_slots(booking_page)[0]
    page.goto(f"{live_server.url}{booking_page.get_absolute_url()}")
    page.locator(f'input[name=slot][value="{slot.isoformat()}"] + label').click()
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Your email").fill(email)
    page.get_by_label("Company").fill(company)
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible()


def test_staff_set_host_and_owner_and_guests_land_on_the_right_person(
    live_server, page, client, admin_a, sf_emulator, sf_connection
):
    for sobject in ("Lead", "Contact", "Event"):
        SObjectSchemaFactory(connection=sf_connection, sobject=sobject)
    booking_page = person_page(sf_connection)
    log_in(page, live_server, client, admin_a)

    # 1. Link my Salesforce user (the org's active users, loaded on request).
    page.goto(f"{live_server.url}/admin/integrations/salesforceuserlink/add/?load_users=1")
    page.get_by_label("Salesforce user").select_option(
        label="Tomás Ferreira <tomas.ferreira@leadsync.example>"
    )
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    link = SalesforceUserLink.objects.get(user=admin_a)

    # 2. Host the page.
    page.goto(f"{live_server.url}/admin/bookings/bookingpage/{booking_page.pk}/change/")
    page.get_by_label("Host").select_option(str(admin_a.pk))
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    # 3. New Leads go to the host; duplicates link to what the rule matched.
    target = booking_page.sync_targets.get()
    page.goto(f"{live_server.url}/admin/integrations/synctarget/{target.pk}/change/")
    expect(page.locator("select[name=person_match]")).to_have_value("contact_then_lead")
    page.locator("select[name=owner_policy]").select_option("host")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    # 4. A new guest books twice; an existing customer books once.
    hank = next(c for c in records(sf_emulator, "Contact") if c["Email"].startswith("hank"))
    for name, email in [
        ("Ada Byron", "ada@newco.example"),
        ("Ada Byron", "ada@newco.example"),
        ("Hank Scorpio", hank["Email"]),
    ]:
        book(page, live_server, booking_page, name=name, email=email, company="Newco")
        deliveries_push(connection_id=sf_connection.pk)

    _, second, customer = Delivery.objects.order_by("pk")
    [lead] = records(sf_emulator, "Lead", seeded=False)
    assert lead["OwnerId"] == link.sf_user_id
    ada_events = [e for e in records(sf_emulator, "Event") if e["WhoId"] == lead["Id"]]
    assert len(ada_events) == 2 and {e["OwnerId"] for e in ada_events} == {link.sf_user_id}
    customer.refresh_from_db()
    assert (customer.person_object, customer.sf_record_id) == ("Contact", hank["Id"])

    # 5. The delivery pages say what happened.
    page.goto(f"{live_server.url}/admin/integrations/delivery/{second.pk}/change/")
    panel = page.locator("#delivery-person")
    expect(panel).to_contain_text("Found Lead")
    expect(panel).to_contain_text("Tomás Ferreira")
    expect(panel).to_contain_text("Meeting")
    page.goto(f"{live_server.url}/admin/integrations/delivery/{customer.pk}/change/")
    expect(page.locator("#delivery-person")).to_contain_text("Found Contact")
