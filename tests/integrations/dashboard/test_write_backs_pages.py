"""What staff see of write-backs: the post's page lists each change's write-back (sent,
superseded, held with its reason), a write-back's page shows its change, operations and
attempts, a failed one is on the failed-posts dashboard with its own cause and can be
resent, and another tenant's staff see none of it."""

import pytest
from django.urls import reverse

from bookings.selectors import page_free_slots
from bookings.services import booking_cancel, booking_reschedule
from integrations.connection.tokens import client_for as sf_client_for
from integrations.delivery.push import deliveries_push
from integrations.models import Delivery, SyncTarget
from tests.integrations.delivery.test_people import person_page, records
from tests.integrations.delivery.test_write_backs import book, fresh, write_backs

pytestmark = pytest.mark.django_db
Status = Delivery.Status
CHANGELIST = reverse("admin:integrations_delivery_changelist")


def page_of(delivery: Delivery) -> str:
    return reverse("admin:integrations_delivery_change", args=[delivery.pk])


def test_the_posts_page_lists_each_changes_write_back_superseded_and_sent(
    sf_emulator, sf_connection, admin_a, client_for
):
    page = person_page(sf_connection)
    post = book(sf_connection, page)
    deliveries_push(connection_id=sf_connection.pk)
    slots = page_free_slots(page)
    booking = booking_reschedule(booking=fresh(post).booking, slot=slots[2], reason="Clash")
    booking_reschedule(booking=booking, slot=slots[6])
    deliveries_push(connection_id=sf_connection.pk)
    first, second = write_backs(post)

    html = client_for(admin_a).get(page_of(post)).content.decode()

    assert 'id="delivery-write-backs"' in html
    assert html.count(">Write-back #") == 2
    assert "Superseded" in html and "Superseded by a later change" in html
    assert page_of(first) in html and page_of(second) in html
    second_html = client_for(admin_a).get(page_of(second)).content.decode()
    assert 'id="write-back-change"' in second_html and "Rescheduled" in second_html
    assert 'id="write-back-operations"' in second_html
    assert f"Event {fresh(post).event_id}" in second_html and "StartDateTime" in second_html
    assert "collection update" in second_html or "update" in second_html  # the attempt row


def test_a_held_write_back_says_it_waits_for_the_post(
    sf_emulator, sf_connection, admin_a, client_for
):
    page = person_page(sf_connection)
    post = book(sf_connection, page)
    Delivery.objects.filter(pk=post.pk).update(status=Status.FAILED, next_attempt_at=None)
    booking_cancel(booking=post.booking, reason="Too late")
    [held] = write_backs(post)

    html = client_for(admin_a).get(page_of(held)).content.decode()

    assert "the booking&#x27;s post to Salesforce failed" in html
    assert "Fix and resend the booking&#x27;s post" in html
    listing = client_for(admin_a).get(CHANGELIST, {"status": "held"}).content.decode()
    assert "Write-back: cancelled" in listing


def test_a_failed_write_back_is_on_the_dashboard_and_resending_it_works(
    sf_emulator, sf_connection, admin_a, client_for
):
    page = person_page(sf_connection)
    page.sync_targets.update(cancel_action=SyncTarget.CancelAction.MARK)
    post = book(sf_connection, page)
    deliveries_push(connection_id=sf_connection.pk)
    post = fresh(post)
    client = sf_client_for(sf_connection)
    event = next(e for e in records(sf_emulator, "Event") if e["Id"] == post.event_id)
    client.collection_delete([post.event_id])  # a rep deleted the meeting
    booking_cancel(booking=post.booking)
    deliveries_push(connection_id=sf_connection.pk)
    [write_back] = write_backs(post)
    assert fresh(write_back).status == Status.FAILED

    listing = client_for(admin_a).get(CHANGELIST, {"status": "failed"}).content.decode()
    assert "Write-back: cancelled" in listing and "ENTITY_IS_DELETED" in listing
    summary = client_for(admin_a).get(reverse("admin:integrations_delivery_summary"))
    assert "ENTITY_IS_DELETED" in summary.content.decode()

    # The rep restores it from the recycle bin (the emulator: recreated), staff resend.
    restored = client.collection_create(
        [{"attributes": {"type": "Event"}, **{k: event[k] for k in (
            "Subject", "StartDateTime", "EndDateTime", "WhoId")}}]
    )[0].id  # fmt: skip
    Delivery.objects.filter(pk=post.pk).update(event_id=restored)
    response = client_for(admin_a).post(
        reverse("admin:integrations_delivery_resend", args=[write_back.pk]), {"rebuild": "1"}
    )
    assert response.status_code == 302
    deliveries_push(connection_id=sf_connection.pk)

    assert fresh(write_back).status == Status.SENT
    marked = next(e for e in records(sf_emulator, "Event") if e["Id"] == restored)
    assert marked["Subject"].startswith("Cancelled: ")


def test_another_tenants_staff_see_no_write_back(
    sf_emulator, sf_connection, admin_a, admin_b, client_for
):
    page = person_page(sf_connection)
    post = book(sf_connection, page)
    deliveries_push(connection_id=sf_connection.pk)
    booking_cancel(booking=fresh(post).booking)
    [write_back] = write_backs(post)

    mine = client_for(admin_a).get(CHANGELIST).content.decode()
    assert "Write-back: cancelled" in mine  # the owner's staff see it (the control)
    assert client_for(admin_b).get(page_of(write_back)).status_code in (302, 404)
    listing = client_for(admin_b).get(CHANGELIST).content.decode()
    assert "Write-back: cancelled" not in listing and post.booking.guest_email not in listing
    booking_url = reverse("admin:bookings_booking_change", args=[post.booking_id])
    assert client_for(admin_b).get(booking_url).status_code in (302, 404)


def test_a_cancel_before_the_post_is_sent_shows_it_waits_then_follows_the_policy(
    sf_emulator, sf_connection, admin_a, client_for
):
    page = person_page(sf_connection)
    page.sync_targets.update(cancel_action=SyncTarget.CancelAction.DELETE)
    post = book(sf_connection, page)
    booking_cancel(booking=post.booking, reason="Double-booked")
    [write_back] = write_backs(post)

    html = client_for(admin_a).get(page_of(write_back)).content.decode()
    assert 'id="write-back-waits"' in html and "(pending now)" in html
    assert (
        "waits for this post to be sent" in client_for(admin_a).get(page_of(post)).content.decode()
    )
    deliveries_push(connection_id=sf_connection.pk)

    post, write_back = fresh(post), fresh(write_back)
    assert (post.status, write_back.status) == (Status.SENT, Status.SENT)
    assert not [e for e in records(sf_emulator, "Event") if e["Id"] == post.event_id]
    assert (
        'id="write-back-waits"' not in client_for(admin_a).get(page_of(write_back)).content.decode()
    )


def test_dismissing_a_failed_post_holds_its_write_backs_saying_why(
    sf_emulator, sf_connection, admin_a, client_for
):
    page = person_page(sf_connection)
    post = book(sf_connection, page)
    booking_cancel(booking=post.booking)
    Delivery.objects.filter(pk=post.pk).update(status=Status.FAILED, next_attempt_at=None)
    [write_back] = write_backs(post)
    assert fresh(write_back).status == Status.PENDING  # created before the post failed

    response = client_for(admin_a).post(
        reverse("admin:integrations_delivery_dismiss", args=[post.pk]), {"reason": "Test data"}
    )

    assert response.status_code == 302
    assert fresh(post).status == Status.DISMISSED
    assert (fresh(write_back).status, write_back.last_error_code) == (
        Status.HELD,
        "WAITING_FOR_POST",
    )
