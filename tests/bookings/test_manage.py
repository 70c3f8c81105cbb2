"""The guest's manage link: signed, expiring with the meeting, cancel and reschedule
without login or JavaScript, CSRF on, rate-limited."""

import datetime
import re
import zoneinfo
from unittest import mock

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings.manage_links import SALT, manage_path, manage_token
from bookings.models import Booking, BookingChange, GuestEmail
from bookings.selectors import booking_move_slots, page_free_slots
from bookings.services import Guest, booking_submit
from tests.factories import BookingFactory, BookingPageFactory

pytestmark = pytest.mark.django_db

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def radio_values(html: str) -> list[str]:
    return re.findall(r'<input type="radio" name="slot" id="slot-\d+" value="([^"]+)"', html)


def json_url(booking, name: str, token: str | None = None) -> str:
    page = booking.page
    args = [page.tenant.slug, page.slug, token or manage_token(booking)]
    return reverse(f"bookings:manage_{name}", args=args)


def tokyo_day(slot: datetime.datetime) -> datetime.date:
    return slot.astimezone(TOKYO).date()


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("leadsync.enqueue.task_send", return_value=True) as send:
        yield send


@pytest.fixture
def booking(booking_page):
    return booking_submit(
        page=booking_page,
        slot=page_free_slots(booking_page)[0],
        guest=Guest(name="Ann Lee", email="ann@example.com", timezone="Asia/Tokyo"),
        answers={"company": "Acme"},
        url_params={},
    )


def test_the_page_shows_the_meeting_in_the_guests_zone(client, booking):
    response = client.get(manage_path(booking))
    assert response.status_code == 200
    tokyo = booking.starts_at.astimezone(datetime.timezone(datetime.timedelta(hours=9)))
    html = response.content.decode()
    assert f"{tokyo:%H:%M}" in html and "Asia/Tokyo" in html
    assert "Cancel the meeting" in html and "Move the meeting" in html
    # The booking page's picker, in the guest's zone: the first day with times to move to,
    # as radio buttons (no JS needed); its script only enhances it.
    moves = booking_move_slots(booking)
    first = tokyo_day(moves[0])
    assert radio_values(html) == [s.isoformat() for s in moves if tokyo_day(s) == first]
    assert 'id="id_timezone" value="Asia/Tokyo"' in html
    assert "bookings/picker.js" in html and "<script>" not in html
    # Its links, JSON and zone chooser stay under the token's address.
    token_path = manage_path(booking).rsplit("/", 2)[0]
    for url in re.findall(r'(?:href|data-[a-z-]+-url)="([^"]+)"', html):
        if "zones.json" not in url and not url.startswith("/static/"):
            assert url.startswith(token_path), url


def test_a_tampered_or_foreign_token_is_not_found(client, booking):
    token = manage_token(booking)
    page = booking.page
    base = f"/{page.tenant.slug}/{page.slug}/manage/"
    assert client.get(f"{base}{token[:-2]}xx/").status_code == 404
    forged = signing.dumps(booking.uid.hex, salt="another-salt")
    assert client.get(f"{base}{forged}/").status_code == 404
    # A genuine token under another page's address: not found either.
    other = BookingPageFactory(tenant=page.tenant, slug="other")
    response = client.get(f"/{page.tenant.slug}/{other.slug}/manage/{token}/")
    assert response.status_code == 404
    assert "Link not found" in response.content.decode()
    # The uid shown on the confirmation page is not a token.
    assert client.get(f"{base}{booking.uid}/").status_code == 404


def test_the_link_expires_when_the_meeting_ends(client, booking_page):
    past = BookingFactory(
        page=booking_page,
        starts_at=timezone.now() - datetime.timedelta(hours=1),
        ends_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    response = client.get(manage_path(past))
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    # A meeting under way still shows (read-only).
    now = BookingFactory(
        page=booking_page,
        starts_at=timezone.now() - datetime.timedelta(minutes=5),
        ends_at=timezone.now() + datetime.timedelta(minutes=25),
    )
    response = client.get(manage_path(now))
    assert response.status_code == 200
    assert "already started" in response.content.decode()
    refused = client.post(manage_path(now), {"action": "cancel"})
    assert refused.status_code == 409
    assert "already started; it cannot be cancelled" in refused.content.decode()
    assert Booking.objects.get(pk=now.pk).cancelled_at is None


def test_the_guest_cancels_with_a_reason(client, booking):
    response = client.post(manage_path(booking), {"action": "cancel", "reason": " Sick "})
    assert response.status_code == 302
    assert response["Location"] == f"{manage_path(booking)}?done=cancelled"
    booking.refresh_from_db()
    assert booking.is_cancelled and booking.sequence == 1
    change = booking.changes.get(kind="cancelled")
    assert (change.actor, change.reason, change.user) == ("guest", "Sick", None)
    assert GuestEmail.objects.filter(booking=booking, kind="cancelled").exists()
    page = client.get(response["Location"]).content.decode()
    assert "This meeting is cancelled" in page and "Book another time" in page
    assert 'name="action"' not in page
    # Cancelling twice changes nothing more.
    client.post(manage_path(booking), {"action": "cancel"})
    assert booking.changes.filter(kind="cancelled").count() == 1


def test_a_too_long_reason_is_refused_and_kept(client, booking):
    reason = "x" * 1001
    response = client.post(manage_path(booking), {"action": "cancel", "reason": reason})
    assert response.status_code == 400
    assert "under 1000 characters" in response.content.decode()
    assert reason in response.content.decode()
    assert not Booking.objects.get(pk=booking.pk).is_cancelled


def test_the_guest_moves_the_meeting_and_the_old_slot_is_free(client, booking):
    old = booking.starts_at
    new = page_free_slots(booking.page)[3]
    response = client.post(manage_path(booking), {"action": "reschedule", "slot": new.isoformat()})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.starts_at, booking.sequence) == (new, 1)
    change = booking.changes.get(kind="rescheduled")
    assert (change.actor, change.previous_starts_at) == ("guest", old)
    assert old in page_free_slots(booking.page)
    assert GuestEmail.objects.filter(booking=booking, kind="rescheduled", starts_at=new).exists()
    assert "Your meeting has moved" in client.get(response["Location"]).content.decode()
    # The link stays valid for the new time (the token does not carry the old one).
    assert client.get(manage_path(booking)).status_code == 200


def test_a_taken_slot_says_so_and_shows_the_picker_again(client, booking):
    taken = page_free_slots(booking.page)[2]
    BookingFactory(page=booking.page, starts_at=taken)  # booked while the guest chose
    response = client.post(
        manage_path(booking), {"action": "reschedule", "slot": taken.isoformat()}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "just booked by someone else" in html
    # The picker shows that day again, without the taken time.
    day = tokyo_day(taken)
    moves = [s.isoformat() for s in booking_move_slots(booking) if tokyo_day(s) == day]
    assert radio_values(html) == moves and moves
    assert taken.isoformat() not in html
    assert Booking.objects.get(pk=booking.pk).starts_at == booking.starts_at


def test_a_missing_or_malformed_slot_is_a_clear_error(client, booking):
    for data in ({"action": "reschedule"}, {"action": "reschedule", "slot": "tomorrow"}):
        response = client.post(manage_path(booking), data)
        assert response.status_code == 400
        assert "pick one of the free times" in response.content.decode()
    assert client.post(manage_path(booking), {"action": "other"}).status_code == 400
    assert not booking.changes.exclude(kind="booked").exists()


def test_csrf_is_enforced(booking):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(manage_path(booking), {"action": "cancel"}).status_code == 403
    page = strict.get(manage_path(booking))
    token = page.cookies["csrftoken"].value
    response = strict.post(manage_path(booking), {"action": "cancel", "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_posts_are_rate_limited(client, booking, settings):
    settings.BOOKING_RATE_LIMIT_PER_IP = "2/m"
    for _ in range(2):
        assert client.post(manage_path(booking), {"action": "x"}).status_code == 400
    response = client.post(manage_path(booking), {"action": "cancel"})
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert not Booking.objects.get(pk=booking.pk).is_cancelled
    assert client.get(manage_path(booking)).status_code == 200  # looking is not limited


def test_the_page_speaks_the_pages_language(client, booking):
    booking.page.language = "ja"
    booking.page.save()
    html = client.get(manage_path(booking)).content.decode()
    assert '<html lang="ja">' in html and "ミーティングをキャンセルする" in html
    # The picker too: its labels, the texts its script shows, month and day names.
    for japanese in ("タイムゾーン", "時間を更新", "一覧から選ぶ", "日付を選んでください"):
        assert japanese in html
    day = tokyo_day(booking_move_slots(booking)[0])
    assert f"{day.year}年{day.month}月" in html  # the calendar's title
    assert ">月</th>" in html and ">日</th>" in html  # Monday ... Sunday
    assert f"{day.month}月{day.day}日" in html  # the chosen day
    for english in (
        "Time zone", "Update times", "Pick a day", "free time", "Choose from the list",
        "Next month", "Previous month", "Mon<", "No free times", " to ",
    ):  # fmt: skip
        assert english not in html, english
    # And the no-JS time zone chooser it links to.
    chooser = re.search(r'href="([^"]*/time-zone/[^"]*)"', html)[1].replace("&amp;", "&")
    chosen = client.get(chooser).content.decode()
    assert '<html lang="ja">' in chosen and "時間を表示" in chosen
    # The JSON's errors, which the script shows, too.
    body = client.get(json_url(booking, "days"), {"month": "soon"}).json()
    assert body["error"].startswith("month は 2026-12")


def test_refusals_and_dead_links_speak_the_pages_language(client, booking_page):
    booking_page.language = "ja"
    booking_page.save()
    under_way = BookingFactory(
        page=booking_page,
        starts_at=timezone.now() - datetime.timedelta(minutes=5),
        ends_at=timezone.now() + datetime.timedelta(minutes=25),
    )
    refused = client.post(manage_path(under_way), {"action": "cancel"})
    assert refused.status_code == 409
    assert "すでに始まっているため、キャンセルできません" in refused.content.decode()
    over = BookingFactory(
        page=booking_page,
        starts_at=timezone.now() - datetime.timedelta(hours=1),
        ends_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    gone = client.get(manage_path(over))
    assert gone.status_code == 410
    assert '<html lang="ja">' in gone.content.decode()
    assert "このリンクは有効期限が切れています" in gone.content.decode()
    # A link that names no booking has no page to take a language from: English.
    unknown = client.get(manage_path(under_way).replace("/manage/", "/manage/x"))
    assert unknown.status_code == 404 and "Link not found" in unknown.content.decode()


def test_the_confirmation_page_links_to_manage(client, booking):
    page = booking.page
    html = client.get(f"/{page.tenant.slug}/{page.slug}/booked/{booking.uid}/").content.decode()
    assert manage_path(booking) in html


def test_the_token_is_the_signed_uid_with_its_own_salt(booking):
    assert signing.loads(manage_token(booking), salt=SALT) == booking.uid.hex
    assert BookingChange.objects.filter(booking=booking).count() == 1


def test_the_token_never_reaches_the_logs(client, booking, caplog):
    token = manage_token(booking)
    with caplog.at_level("INFO"):
        client.post(manage_path(booking), {"action": "reschedule", "slot": "bad"})  # a 400
        client.get(f"/acme/intro/manage/{token}x/")  # a 404
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/manage/[token]" in logged
    assert token not in logged and token[:20] not in logged


def test_update_times_shows_the_picker_again_and_moves_nothing(client, booking):
    """The picker's no-JS "Update times" posts the form with show_times: a new zone, no move."""
    new = booking_move_slots(booking)[3]
    data = {"action": "reschedule", "slot": new.isoformat(), "timezone": "America/New_York"}
    response = client.post(manage_path(booking), {**data, "show_times": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_timezone" value="America/New_York"' in html
    assert f'value="{new.isoformat()}" checked' in html  # the chosen time stays chosen
    assert response.cookies["leadsync_tz"].value == "America/New_York"
    booking.refresh_from_db()
    assert booking.starts_at != new and not booking.changes.exclude(kind="booked").exists()
    # The same form without show_times moves the meeting.
    assert client.post(manage_path(booking), data).status_code == 302
    assert Booking.objects.get(pk=booking.pk).starts_at == new


def test_times_next_to_the_meeting_are_offered_but_not_its_own(client, booking_page):
    """The page's buffers around the guest's own meeting hide nothing when moving it."""
    booking_page.buffer_before_minutes = booking_page.buffer_after_minutes = 30
    booking_page.save()
    slots = page_free_slots(booking_page)
    start = slots[len(slots) // 2]
    booking = BookingFactory(page=booking_page, starts_at=start, guest_timezone="Asia/Tokyo")
    after = start + datetime.timedelta(minutes=30)  # inside the buffer after the meeting
    assert after not in page_free_slots(booking_page)  # hidden from other guests
    day = tokyo_day(start)

    times = client.get(json_url(booking, "times"), {"date": day, "tz": "Asia/Tokyo"})
    assert times.status_code == 200
    offered = [t["slot"] for t in times.json()["times"]]
    assert after.isoformat() in offered and start.isoformat() not in offered
    # The public endpoint, for other guests, still hides it.
    page_times = reverse("bookings:times", args=[booking_page.tenant.slug, booking_page.slug])
    public = client.get(page_times, {"date": day, "tz": "Asia/Tokyo"}).json()
    assert after.isoformat() not in [t["slot"] for t in public["times"]]
    # The server-rendered picker (no JS) offers it as well.
    html = client.get(manage_path(booking), {"date": day, "tz": "Asia/Tokyo"}).content.decode()
    assert after.isoformat() in radio_values(html)
    assert start.isoformat() not in radio_values(html)
    # And the guest may move there.
    data = {"action": "reschedule", "slot": after.isoformat()}
    assert client.post(manage_path(booking), data).status_code == 302
    assert Booking.objects.get(pk=booking.pk).starts_at == after


def test_a_day_whose_only_free_time_is_the_meeting_is_not_marked(client, tenant_a):
    """A page with one time a day: the meeting's own day has nothing to move to."""
    day = datetime.date.today() + datetime.timedelta(days=2)
    page = BookingPageFactory(
        tenant=tenant_a, windows=[(day.weekday(), datetime.time(9), datetime.time(9, 30))]
    )
    start, *later = page_free_slots(page)
    booking = BookingFactory(page=page, starts_at=start, guest_timezone="Asia/Tokyo")
    local = start.astimezone(zoneinfo.ZoneInfo(page.timezone)).date()
    query = {"month": f"{local:%Y-%m}", "tz": page.timezone}
    body = client.get(json_url(booking, "days"), query).json()
    assert local.isoformat() not in body["days"]
    query = {"date": local, "tz": page.timezone}
    assert client.get(json_url(booking, "times"), query).json()["times"] == []
    assert booking_move_slots(booking) == later and later  # a week later is offered


def test_the_manage_json_answers_like_the_pages(client, booking):
    moves = booking_move_slots(booking)
    day = tokyo_day(moves[0])
    days = client.get(json_url(booking, "days"), {"month": f"{day:%Y-%m}", "tz": "Asia/Tokyo"})
    assert days.status_code == 200
    expected = sorted({tokyo_day(s).isoformat() for s in moves if tokyo_day(s).month == day.month})
    assert days.json()["days"] == expected and days.json()["timezone"] == "Asia/Tokyo"
    times = client.get(json_url(booking, "times"), {"date": day, "tz": "Asia/Tokyo"}).json()
    assert [t["slot"] for t in times["times"]] == [
        s.isoformat() for s in moves if tokyo_day(s) == day
    ]
    for name, query in (("days", {"month": "2026-13"}), ("times", {"date": "monday"})):
        bad = client.get(json_url(booking, name), query)
        assert bad.status_code == 400 and "error" in bad.json()
    assert client.post(json_url(booking, "days"), {"month": f"{day:%Y-%m}"}).status_code == 405


def test_the_manage_json_refuses_bad_tokens(client, booking, booking_page):
    token = manage_token(booking)
    query = {"date": tokyo_day(booking.starts_at), "tz": "Asia/Tokyo"}
    for name in ("days", "times"):
        tampered = client.get(json_url(booking, name, token[:-2] + "xx"), query)
        assert tampered.status_code == 404 and tampered.json()["error"]
        forged = signing.dumps(booking.uid.hex, salt="another-salt")
        assert client.get(json_url(booking, name, forged), query).status_code == 404
    # A genuine token under another page's (or tenant's) address.
    other = BookingPageFactory(tenant=booking_page.tenant, slug="other")
    url = reverse("bookings:manage_times", args=[other.tenant.slug, other.slug, token])
    assert client.get(url, query).status_code == 404
    foreign = BookingPageFactory(slug=booking_page.slug)  # same slug, another tenant
    url = reverse("bookings:manage_times", args=[foreign.tenant.slug, foreign.slug, token])
    assert client.get(url, query).status_code == 404


def test_the_manage_json_is_gone_for_an_ended_or_cancelled_meeting(client, booking, booking_page):
    past = BookingFactory(
        page=booking_page,
        starts_at=timezone.now() - datetime.timedelta(hours=1),
        ends_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    query = {"month": f"{timezone.now():%Y-%m}"}
    expired = client.get(json_url(past, "days"), query)
    assert expired.status_code == 410 and expired.json()["error"] == "This link has expired."
    under_way = BookingFactory(
        page=booking_page,
        starts_at=timezone.now() - datetime.timedelta(minutes=5),
        ends_at=timezone.now() + datetime.timedelta(minutes=25),
    )
    assert client.get(json_url(under_way, "days"), query).status_code == 410
    assert client.get(json_url(booking, "days"), query).status_code == 200
    client.post(manage_path(booking), {"action": "cancel"})
    gone = client.get(json_url(booking, "days"), query)
    assert gone.status_code == 410 and "no longer be moved" in gone.json()["error"]


def test_the_no_js_zone_chooser_goes_back_to_the_manage_page(client, booking):
    html = client.get(manage_path(booking)).content.decode()
    chooser = re.search(r'href="([^"]*/time-zone/[^"]*)"', html)[1].replace("&amp;", "&")
    assert chooser.startswith(manage_path(booking).rsplit("/", 2)[0])
    page = client.get(chooser).content.decode()
    token_url = reverse("bookings:manage", args=[*chooser.split("/")[1:3], manage_token(booking)])
    assert (
        re.search(r'<form method="get" action="([^"]+)"', page)[1].rsplit("/", 2)[0]
        == (token_url.rsplit("/", 2)[0])
    )
    assert '<option value="Asia/Tokyo" selected>' in page
    assert 'name="robots" content="noindex"' in page
    bad = chooser.replace("/manage/", "/manage/x")
    assert client.get(bad).status_code == 404
