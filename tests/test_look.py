"""What staff and guests see, in Chromium at 1280 px and 390 px (issue 14): full-page
screenshots of each page saved as test artifacts (var/test-artifacts/screenshots), no page
wider than the window (defect 6), and axe-core (bundled in axe-playwright-python, nothing
downloaded) finds no serious or critical accessibility violation."""

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from django.urls import reverse

from bookings.manage_links import manage_path
from bookings.models import BookingChange, Question
from integrations.models import Delivery, DeliveryAttempt
from tests.factories import (
    BookingFactory,
    GuestEmailFactory,
    QuestionFactory,
    SalesforceConnectionFactory,
    SObjectSchemaFactory,
    failed_deliveries,
    lead_page_with_target,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts" / "screenshots"
WIDTHS = {"desktop": 1280, "phone": 390}
SERIOUS = {"serious", "critical"}


@pytest.fixture
def staff_world(tenant_a, admin_a):
    """A tenant as staff see it after a while: connected, one page with a dozen questions
    mapped to Lead, a few failed deliveries."""
    connection = SalesforceConnectionFactory(tenant=tenant_a)
    SObjectSchemaFactory(connection=connection)
    page = lead_page_with_target(tenant=tenant_a, description="A 30-minute introduction.")
    for i, kind in enumerate(["text", "textarea", "email", "phone", "number", "date"] * 2):
        QuestionFactory(
            page=page, key=f"q{i}", label=f"A rather long question label number {i}",
            kind=kind, required=False, order=10 + i, help_text="Some help for the guest",
        )  # fmt: skip
    QuestionFactory(
        page=page, key="budget", label="Budget", kind=Question.Kind.CHOICE, order=40,
        choices=["< 10k", "10k-50k", "> 50k"],
    )  # fmt: skip
    deliveries = failed_deliveries(page, 3, target=page.sync_targets.get())
    DeliveryAttempt.objects.create(
        delivery=deliveries[0], started_at=deliveries[0].created_at, outcome="failed",
        error_code="REQUIRED_FIELD_MISSING", message="Required fields are missing: [Company]",
    )  # fmt: skip
    booking = BookingFactory(page=page, answers={"company": "Acme", "budget": None})
    BookingChange.objects.create(
        booking=booking, kind="booked", actor="guest", starts_at=booking.starts_at,
        ends_at=booking.ends_at, sequence=0,
    )  # fmt: skip
    GuestEmailFactory(booking=booking, status="failed", last_error="(550) No such user here")
    SObjectSchemaFactory(connection=connection, sobject="Event")
    post, write_back = _post_with_write_backs(page, connection)
    return {
        "page": page, "connection": connection, "delivery": deliveries[0], "booking": booking,
        "post": post, "write_back": write_back,
    }  # fmt: skip


def _post_with_write_backs(page, connection):
    """A sent post whose booking was moved twice (the first move superseded) and then
    cancelled, the cancel failing on an Event deleted in Salesforce."""
    target = page.sync_targets.get()
    booking = BookingFactory(page=page)
    post = Delivery.objects.create(
        booking=booking, target=target, connection=connection, sobject="Lead", status="sent",
        sf_record_id="00Q000000000001AAA", event_id="00U000000000001AAA",
    )  # fmt: skip
    rows = []
    for kind, status, code, message in [
        ("rescheduled", "superseded", "SUPERSEDED", "Superseded by a later change."),
        ("rescheduled", "sent", "", ""),
        ("cancelled", "failed", "ENTITY_IS_DELETED", "The Event 00U000000000001AAA was deleted "
         "in Salesforce: there is nothing left to change."),
    ]:  # fmt: skip
        change = BookingChange.objects.create(
            booking=booking, kind=kind, actor="guest", reason="Plans changed",
            previous_starts_at=booking.starts_at, starts_at=booking.starts_at,
            ends_at=booking.ends_at, sequence=len(rows) + 1,
        )  # fmt: skip
        ops = [{"step": "event", "sobject": "Event", "record_id": post.event_id,
                "action": "update", "fields": {"Subject": "Cancelled: Intro call"}}]  # fmt: skip
        rows.append(
            Delivery.objects.create(
                booking=booking,
                target=target,
                connection=connection,
                sobject="Lead",
                kind="write_back",
                change=change,
                post=post,
                status=status,
                last_error_code=code,
                last_error_message=message,
                payload={"ops": ops},
            )
        )
    DeliveryAttempt.objects.create(
        delivery=rows[-1], started_at=rows[-1].created_at, outcome="failed",
        operation="write-back: update", error_code="ENTITY_IS_DELETED", message=message,
    )  # fmt: skip
    return post, rows[-1]


def signed_in_context(browser, live_server, user, width: int):
    context = browser.new_context(locale="en-GB", viewport={"width": width, "height": 900})
    context.set_default_timeout(10_000)
    if user is not None:
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    return context


def look(browser, live_server, user, name: str, path: str) -> dict[str, list[str]]:
    """Open `path` at each width: screenshot it, measure it, run axe. Returns problems."""
    problems: dict[str, list[str]] = {}
    for label, width in WIDTHS.items():
        context = signed_in_context(browser, live_server, user, width)
        tab = context.new_page()
        response = tab.goto(live_server.url + path)
        assert response.status == 200, (path, response.status)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        found = []
        scroll_width = tab.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            found.append(f"page is {scroll_width} px wide in a {width} px window")
        results = Axe().run(tab)
        found += [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v["impact"] in SERIOUS
        ]
        if found:
            problems[label] = found
        context.close()
    return problems


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("admin-home", "/admin/"),
        ("connection", "connection"),
        ("target-form", "target"),
        ("target-add", "target-add"),
        ("booking-page-questions", "bookingpage"),
        ("failed-posts", "/admin/integrations/delivery/summary/"),
        ("deliveries", "/admin/integrations/delivery/"),
        ("delivery", "delivery"),
        ("post-with-write-backs", "post"),
        ("write-back", "write-back"),
        ("preview", "preview"),
        ("booking", "booking"),
        ("guest-emails", "/admin/bookings/guestemail/"),
    ],
)
def test_staff_pages_fit_the_window_and_pass_axe(
    browser, live_server, staff_world, admin_a, name, path
):
    paths = {
        "connection": reverse(
            "admin:integrations_salesforceconnection_change", args=[staff_world["connection"].pk]
        ),
        "target": reverse(
            "admin:integrations_synctarget_change",
            args=[staff_world["page"].sync_targets.get().pk],
        ),
        "target-add": reverse("admin:integrations_synctarget_add")
        + f"?page={staff_world['page'].pk}",
        "bookingpage": reverse("admin:bookings_bookingpage_change", args=[staff_world["page"].pk]),
        "delivery": reverse(
            "admin:integrations_delivery_change", args=[staff_world["delivery"].pk]
        ),
        "post": reverse("admin:integrations_delivery_change", args=[staff_world["post"].pk]),
        "write-back": reverse(
            "admin:integrations_delivery_change", args=[staff_world["write_back"].pk]
        ),
        "preview": reverse(
            "admin:integrations_synctarget_preview",
            args=[staff_world["page"].sync_targets.get().pk],
        ),
        "booking": reverse("admin:bookings_booking_change", args=[staff_world["booking"].pk]),
    }
    problems = look(browser, live_server, admin_a, name, paths.get(path, path))
    assert problems == {}, "\n".join(f"{k}: {v}" for k, vs in problems.items() for v in vs)


def test_sign_in_and_public_booking_page_fit_and_pass_axe(browser, live_server, staff_world):
    assert look(browser, live_server, None, "sign-in", reverse("account_login")) == {}
    page = staff_world["page"]
    assert look(browser, live_server, None, "booking-page", page.get_absolute_url()) == {}
    chooser = reverse("bookings:zone_chooser", args=[page.tenant.slug, page.slug])
    assert look(browser, live_server, None, "zone-chooser", chooser) == {}
    assert Delivery.objects.exists()


def test_the_guests_manage_page_fits_and_passes_axe(browser, live_server, staff_world):
    path = manage_path(staff_world["booking"])
    assert look(browser, live_server, None, "manage", path) == {}
