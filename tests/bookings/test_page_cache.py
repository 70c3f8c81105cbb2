"""The public page's GET from bookings.page_cache: served without a query while nothing it
shows changed, rendered anew after every change that shows on it, with each request's own
CSRF token and CSP nonce, and rendered as before when the cache is down."""

import dataclasses
import datetime
import logging
import re
import time
import zoneinfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings import page_cache
from bookings.models import AvailabilityWindow, Booking
from bookings.picker import TZ_COOKIE
from bookings.selectors import page_free_slots
from tests.bookings.test_api import SECRET
from tests.bookings.test_api import body as api_body
from tests.bookings.test_api import post as api_post
from tests.bookings.test_views import form_data, shown_time
from tests.factories import (
    ApiKeyFactory,
    BookingFactory,
    BookingPageFactory,
    DateOverrideFactory,
    QuestionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
NONCE = re.compile(r'<script nonce="([^"]+)"')


def csp_header(response) -> str:
    return response.get("Content-Security-Policy") or response.get(
        "Content-Security-Policy-Report-Only", ""
    )


@pytest.fixture
def url(booking_page):
    return booking_page.get_absolute_url()


def test_second_get_is_served_without_a_query(client, url, django_assert_num_queries):
    first = client.get(url)
    with django_assert_num_queries(0):
        second = client.get(url)
    assert second.status_code == 200
    # The same page, but for the per-request values.
    strip = lambda r: NONCE.sub("", TOKEN.sub("", r.content.decode()))  # noqa: E731
    assert strip(second) == strip(first)


def test_a_get_from_the_cache_is_one_round_trip_once_the_process_knows_the_page(
    client, url, redis_default_cache, redis_round_trips
):
    """The entry and its versions in one MGET; a process that has not seen the page yet
    (another one stored the entry) reads the versions by the entry's names, then knows."""
    client.get(url)  # rendered and stored: this process knows the page's versions
    redis_round_trips.clear()
    first = client.get(url)
    assert first.status_code == 200 and len(redis_round_trips) == 1
    page_cache._version_keys.clear()  # as in another web process
    redis_round_trips.clear()
    assert client.get(url).status_code == 200 and len(redis_round_trips) == 2
    redis_round_trips.clear()
    again = client.get(url)
    assert again.status_code == 200 and len(redis_round_trips) == 1
    assert "csrfmark" not in again.content.decode() and TOKEN.search(again.content.decode())


def test_each_answer_has_its_own_token_and_nonce_that_work(url, free_slot):
    guest, other = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    other.get(url)  # the entry is stored by someone else's request
    response = guest.get(url)
    html = response.content.decode()
    token, nonce = TOKEN.search(html)[1], NONCE.search(html)[1]
    assert "mark" not in token and "mark" not in nonce  # the placeholders were filled in
    assert f"'nonce-{nonce}'" in csp_header(response)
    assert "csrftoken" in response.cookies
    again = guest.get(url).content.decode()
    assert NONCE.search(again)[1] != nonce

    booked = guest.post(url, {**form_data(free_slot), "csrfmiddlewaretoken": token})
    assert booked.status_code == 302
    assert Booking.objects.filter(starts_at=free_slot).exists()


def test_a_booking_hides_its_time_on_the_next_get(
    client, url, booking_page, free_slot, django_capture_on_commit_callbacks
):
    assert shown_time(client.get(url).content.decode(), free_slot)
    with django_capture_on_commit_callbacks(execute=True):  # the bump comes at commit
        assert client.post(url, form_data(free_slot)).status_code == 302
    assert shown_time(client.get(url).content.decode(), free_slot) is None


def test_a_cancellation_shows_the_time_again(
    client, url, booking_page, free_slot, django_capture_on_commit_callbacks
):
    booking = BookingFactory(page=booking_page, starts_at=free_slot)
    assert shown_time(client.get(url).content.decode(), free_slot) is None
    booking.cancelled_at = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        booking.save(update_fields=["cancelled_at"])
    assert shown_time(client.get(url).content.decode(), free_slot)


def test_a_meeting_on_the_hosts_other_page_hides_the_time(
    client, tenant_a, django_capture_on_commit_callbacks
):
    host = UserFactory()
    page = BookingPageFactory(tenant=tenant_a, slug="one", host=host)
    other = BookingPageFactory(tenant=tenant_a, slug="two", host=host)
    slot = page_free_slots(page)[0]
    url = page.get_absolute_url()
    assert shown_time(client.get(url).content.decode(), slot)
    with django_capture_on_commit_callbacks(execute=True):
        BookingFactory(page=other, starts_at=slot)
    assert shown_time(client.get(url).content.decode(), slot) is None


def test_staff_changes_show_on_the_next_get(client, url, booking_page, free_slot):
    client.get(url)
    booking_page.title = "Discovery call"
    booking_page.save()
    assert "Discovery call" in client.get(url).content.decode()

    QuestionFactory(page=booking_page, key="budget", label="Your budget", order=3)
    assert "Your budget" in client.get(url).content.decode()

    booking_page.windows.all().delete()
    assert shown_time(client.get(url).content.decode(), free_slot) is None
    AvailabilityWindow.objects.create(
        page=booking_page, weekday=0, start=datetime.time(9), end=datetime.time(17)
    )
    html = client.get(url).content.decode()
    assert any(shown_time(html, s) for s in page_free_slots(booking_page))


def test_tenant_changes_show_on_the_next_get(client, url, tenant_a):
    client.get(url)
    tenant_a.name = "Renamed Co"
    tenant_a.save()
    assert "Renamed Co" in client.get(url).content.decode()


def test_a_page_switched_off_is_not_served_from_the_cache(client, url, booking_page):
    assert client.get(url).status_code == 200
    booking_page.active = False
    booking_page.save()
    assert client.get(url).status_code == 404


def test_zone_and_query_get_entries_of_their_own(client, url, free_slot):
    assert shown_time(client.get(url).content.decode(), free_slot)
    client.cookies[TZ_COOKIE] = "Asia/Tokyo"
    tokyo = client.get(url).content.decode()
    assert 'value="Asia/Tokyo"' in tokyo
    berlin = client.get(f"{url}?tz=Europe/Berlin&utm_source=ad").content.decode()
    assert 'value="Europe/Berlin"' in berlin
    assert "utm_source=ad" in berlin  # the form posts the page's own URL parameters back


def test_embedded_answer_from_the_cache_keeps_its_framers(client, url, tenant_a):
    tenant_a.embed_origins = "https://www.example.com"
    tenant_a.save()
    first = client.get(f"{url}?leadsync_embed=1")
    second = client.get(f"{url}?leadsync_embed=1")
    for response in (first, second):
        assert "frame-ancestors https://www.example.com" in csp_header(response)
    assert client.get(url).get("X-Frame-Options") == "DENY"


def test_entry_lasts_until_the_first_shown_time_leaves_the_notice(booking_page, monkeypatch):
    stored = {}

    class Recorder:
        def set(self, key, value, timeout):
            stored.update(t=timeout)

    monkeypatch.setattr(page_cache, "cache", Recorder())

    def store(changes_at):
        page_cache._store(
            "k", body="x", content_type="text/html", marks=None, versions={"v": "1"},
            changes_at=changes_at, frame_origins=None,
        )  # fmt: skip

    store(timezone.now() + datetime.timedelta(seconds=20))
    assert 18 <= stored["t"] <= 20
    store(None)
    assert stored["t"] == 60  # BOOKING_PAGE_CACHE_SECONDS: new days enter the horizon
    stored.clear()
    store(timezone.now() + datetime.timedelta(milliseconds=300))
    assert stored == {}  # not worth keeping


def test_the_first_shown_time_sets_when_the_page_changes(client, url, booking_page):
    booking_page.min_notice_minutes = 60
    booking_page.save()
    response = client.get(url)
    first = page_free_slots(booking_page)[0]
    assert response.changes_at == first - datetime.timedelta(minutes=60)


def test_days_and_times_json_from_the_cache_until_a_booking(
    client, booking_page, free_slot, django_capture_on_commit_callbacks
):
    zone = booking_page.timezone
    local = free_slot.astimezone(zoneinfo.ZoneInfo(zone))
    times = f"{booking_page.get_absolute_url()}times.json?date={local:%Y-%m-%d}&tz={zone}"
    days = f"{booking_page.get_absolute_url()}days.json?month={local:%Y-%m}&tz={zone}"
    first_times, first_days = client.get(times), client.get(days)
    assert free_slot.isoformat() in [t["slot"] for t in first_times.json()["times"]]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(times).json() == first_times.json()
        assert client.get(days).json() == first_days.json()
    assert len(queries) == 0
    assert client.get(times)["Content-Type"] == "application/json"

    with django_capture_on_commit_callbacks(execute=True):
        BookingFactory(page=booking_page, starts_at=free_slot)
    assert free_slot.isoformat() not in [t["slot"] for t in client.get(times).json()["times"]]
    assert client.get(f"{times[: -len(zone)]}Nowhere/Zone").status_code == 400


def test_page_renders_while_the_cache_is_down(client, url, dead_redis_cache, caplog):
    with caplog.at_level(logging.WARNING, logger="bookings.page_cache"):
        assert client.get(url).status_code == 200
        assert client.get(url).status_code == 200
    assert caplog.text.count("Booking page cache unreachable") == 1  # then left alone
    assert not page_cache.enabled()


def test_turned_off_by_setting(client, url, settings):
    settings.BOOKING_PAGE_CACHE_SECONDS = 0
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len(queries) > 0  # rendered again


# -- the page's rows kept for bookings ----------------------------------------------------------


def test_a_booking_reads_the_page_rows_kept_from_the_last_one(client, url, booking_page):
    first, second = page_free_slots(booking_page)[:2]
    assert client.post(url, form_data(first)).status_code == 302
    with CaptureQueriesContext(connection) as queries:
        assert client.post(url, form_data(second, email="bo@example.com")).status_code == 302
    tables = {t for q in queries for t in re.findall(r'FROM "(\w+)"', q["sql"])}
    read_again = {"bookings_question", "bookings_availabilitywindow",
                  "bookings_dateoverride"} & tables  # fmt: skip
    assert read_again == set()
    # Of the page, only its host and state, read inside the transaction by the statement
    # that takes the current host's lock.
    page_reads = [
        q["sql"] for q in queries if re.search(r'FROM "?bookings_bookingpage\b', q["sql"])
    ]
    assert len(page_reads) == 1
    lock_and_state = (
        r"SELECT host_id, active, pg_advisory_xact_lock\(.*\) "
        r"FROM bookings_bookingpage WHERE id = \d+$"
    )
    assert re.match(lock_and_state, page_reads[0], re.DOTALL), page_reads[0]


def test_a_question_added_is_asked_of_the_next_booking(client, url, booking_page):
    first, second = page_free_slots(booking_page)[:2]
    assert client.post(url, form_data(first)).status_code == 302
    QuestionFactory(page=booking_page, key="budget", label="Your budget", required=True)
    response = client.post(url, form_data(second, email="bo@example.com"))
    assert response.status_code == 200
    assert "Your budget" in response.content.decode()
    assert Booking.objects.count() == 1


def test_a_day_off_added_refuses_the_next_booking_on_it(client, url, booking_page, tenant_a):
    ApiKeyFactory(tenant=tenant_a, raw_key=SECRET)
    first, second = page_free_slots(booking_page)[:2]
    later = next(s for s in page_free_slots(booking_page) if s.date() > second.date())
    assert client.post(url, form_data(first)).status_code == 302
    assert api_post(client, api_body(later)).status_code == 201
    for slot in (second, later + datetime.timedelta(minutes=30)):
        local_day = slot.astimezone(zoneinfo.ZoneInfo(booking_page.timezone)).date()
        DateOverrideFactory(page=booking_page, date=local_day, start=None, end=None)

    response = client.post(url, form_data(second, email="bo@example.com"))
    assert response.status_code == 200
    answer = api_post(client, api_body(later + datetime.timedelta(minutes=30), email="c@x.com"))
    assert answer.status_code == 400, answer.content
    assert "slot" in answer.json()["errors"]
    assert Booking.objects.count() == 2


def test_kept_rows_are_read_again_after_the_longest_keep(client, url, booking_page, monkeypatch):
    """A change whose version bump the cache missed (it was unreachable at the time) is
    seen once the rows are older than BOOKING_PAGE_CACHE_SECONDS."""
    first, second, third = page_free_slots(booking_page)[:3]
    assert client.post(url, form_data(first)).status_code == 302
    monkeypatch.setattr(page_cache, "_bump", lambda keys, **kwargs: None)  # the bump is lost
    QuestionFactory(page=booking_page, key="budget", label="Your budget", required=True)
    assert client.post(url, form_data(second, email="b@example.com")).status_code == 302

    key = (booking_page.tenant.slug, booking_page.slug)
    page_cache._rows[key] = dataclasses.replace(
        page_cache._rows[key], read_at=time.monotonic() - 61
    )
    response = client.post(url, form_data(third, email="c@example.com"))
    assert response.status_code == 200  # the new required question is asked now
    assert "Your budget" in response.content.decode()


def test_a_booking_locks_and_checks_the_pages_current_host(client, tenant_a, monkeypatch):
    """Rows kept from before a host change (its version bump lost): the booking still
    takes the new host's lock and sees the new host's meetings."""
    old_host, new_host = UserFactory(), UserFactory()
    page = BookingPageFactory(tenant=tenant_a, slug="one", host=old_host)
    other = BookingPageFactory(tenant=tenant_a, slug="two", host=new_host)
    first, slot = page_free_slots(page)[:2]
    url = page.get_absolute_url()
    assert (
        client.post(url, form_data(first, **{"q-company": "", "q-meeting_type": ""})).status_code
        == 302
    )
    monkeypatch.setattr(page_cache, "_bump", lambda keys, **kwargs: None)  # the bump is lost
    page.host = new_host
    page.save()
    BookingFactory(page=other, starts_at=slot)  # the new host is busy then

    response = client.post(url, form_data(slot, email="b@example.com"))
    assert response.status_code == 200  # "just booked by someone else"
    assert not Booking.objects.filter(page=page, starts_at=slot).exists()


def test_ad_click_ids_and_long_queries_are_rendered_not_kept(client, url):
    for query in ("gclid=abc123", "fbclid=x&utm_source=ad", "utm_term=" + "x" * 600):
        client.get(f"{url}?{query}")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"{url}?{query}").status_code == 200
        assert len(queries) > 0, query  # rendered again
    client.get(f"{url}?utm_source=ad")
    with CaptureQueriesContext(connection) as queries:
        client.get(f"{url}?utm_source=ad")
    assert len(queries) == 0  # a campaign's URL is shared by its visitors: kept


def test_config_changes_are_announced_even_while_the_cache_seemed_down(booking_page):
    key = page_cache._config_key(booking_page.tenant_id)
    before = page_cache._versions([key])[key]
    page_cache._cache_down_until = time.monotonic() + 60  # a timeout a moment ago
    booking_page.title = "Changed"
    booking_page.save()
    page_cache._cache_down_until = 0.0
    assert page_cache._versions([key])[key] != before


# -- API keys kept with the page's rows ----------------------------------------------------


def _key_reads(queries) -> int:
    return sum(1 for q in queries if re.search(r'FROM "bookings_apikey"', q["sql"]))


@pytest.fixture
def three_slots(booking_page):
    return page_free_slots(booking_page)[:3]


def test_an_api_booking_reads_the_key_kept_from_the_last_one(
    client, booking_page, tenant_a, three_slots
):
    ApiKeyFactory(tenant=tenant_a, raw_key=SECRET)
    first, second, _ = three_slots
    with CaptureQueriesContext(connection) as queries:
        assert api_post(client, api_body(first)).status_code == 201
    assert _key_reads(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        answer = api_post(client, api_body(second, email="bo@example.com"))
    assert answer.status_code == 201, answer.content
    assert _key_reads(queries) == 0


@pytest.mark.parametrize("change", ["revoke", "delete"])
def test_a_kept_key_revoked_or_deleted_is_refused_on_the_next_request(
    client, booking_page, tenant_a, three_slots, change
):
    from bookings.services import api_key_revoke

    api_key = ApiKeyFactory(tenant=tenant_a, raw_key=SECRET)
    first, second, _ = three_slots
    assert api_post(client, api_body(first)).status_code == 201
    if change == "revoke":
        api_key_revoke(api_key=api_key)
    else:
        api_key.delete()
    answer = api_post(client, api_body(second, email="bo@example.com"))
    assert answer.status_code == 403
    assert Booking.objects.count() == 1


def test_a_kept_key_is_read_again_after_the_longest_keep(
    client, booking_page, tenant_a, three_slots, monkeypatch
):
    """A revocation whose version bump the cache missed is seen once the key is older than
    BOOKING_PAGE_CACHE_SECONDS."""
    from bookings.services import api_key_revoke

    api_key = ApiKeyFactory(tenant=tenant_a, raw_key=SECRET)
    first, second, third = three_slots
    assert api_post(client, api_body(first)).status_code == 201
    monkeypatch.setattr(page_cache, "_bump", lambda keys, **kwargs: None)  # the bump is lost
    api_key_revoke(api_key=api_key)
    assert api_post(client, api_body(second, email="b@example.com")).status_code == 201

    digest = next(iter(page_cache._keys))
    page_cache._keys[digest] = dataclasses.replace(
        page_cache._keys[digest], read_at=time.monotonic() - 61
    )
    assert api_post(client, api_body(third, email="c@example.com")).status_code == 403


def test_another_tenants_key_is_never_kept_for_this_page(
    client, booking_page, tenant_a, tenant_b, three_slots
):
    ApiKeyFactory(tenant=tenant_b, raw_key="lsk_test_other_tenant_key")
    for _ in range(2):
        answer = api_post(client, api_body(three_slots[0]), key="lsk_test_other_tenant_key")
        assert answer.status_code == 403
    assert page_cache._keys == {}
    assert not Booking.objects.exists()


def test_keys_are_read_every_time_while_the_cache_is_down(
    client, booking_page, tenant_a, three_slots, dead_redis_cache
):
    ApiKeyFactory(tenant=tenant_a, raw_key=SECRET)
    first, second, _ = three_slots
    assert api_post(client, api_body(first)).status_code == 201
    with CaptureQueriesContext(connection) as queries:
        answer = api_post(client, api_body(second, email="bo@example.com"))
    assert answer.status_code == 201, answer.content
    assert _key_reads(queries) == 1
    assert page_cache._keys == {}
