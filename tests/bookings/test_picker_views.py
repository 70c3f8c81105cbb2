"""The booking page's time picker without a browser: the calendar links a guest without
JavaScript follows, the JSON endpoints the script reads, and the time zone chooser."""

import datetime
import re
import zoneinfo
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from bookings.selectors import page_free_slots
from tests.factories import BookingFactory, BookingPageFactory

pytestmark = pytest.mark.django_db

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def days_url(page) -> str:
    return reverse("bookings:days", args=[page.tenant.slug, page.slug])


def times_url(page) -> str:
    return reverse("bookings:times", args=[page.tenant.slug, page.slug])


def tokyo_days(page) -> dict[datetime.date, list[datetime.datetime]]:
    days: dict = {}
    for s in page_free_slots(page):
        days.setdefault(s.astimezone(TOKYO).date(), []).append(s)
    return days


def radio_values(html: str) -> list[str]:
    return re.findall(r'<input type="radio" name="slot" id="slot-\d+" value="([^"]+)"', html)


def test_a_day_link_shows_that_days_times_in_the_asked_zone(client, booking_page):
    days = tokyo_days(booking_page)
    day = sorted(days)[1]
    query = f"?month={day:%Y-%m}&date={day}&tz=Asia/Tokyo"
    html = client.get(booking_page.get_absolute_url() + query).content.decode()
    assert radio_values(html) == [s.isoformat() for s in days[day]]
    assert f"{day:%A %-d %B}" in html
    assert 'id="id_timezone" value="Asia/Tokyo"' in html
    assert 'aria-current="date"' in html


def test_the_first_free_day_is_chosen_when_none_is_asked(client, booking_page):
    first = page_free_slots(booking_page)[0]
    html = client.get(booking_page.get_absolute_url()).content.decode()
    assert radio_values(html)[0] == first.isoformat()


def test_calendar_links_keep_the_pages_parameters_and_mark_free_days_only(client, tenant_a):
    day = datetime.date.today() + datetime.timedelta(days=2)
    page = BookingPageFactory(
        tenant=tenant_a,
        slug="intro",
        windows=[(day.weekday(), datetime.time(9), datetime.time(10))],
    )
    html = client.get(page.get_absolute_url() + "?utm_source=ads&leadsync_embed=1").content.decode()
    links = re.findall(r'<a class="day free[^"]*" href="([^"]+)" data-date="([^"]+)"', html)
    assert links, html
    assert all(
        d.weekday() == day.weekday() for d in (datetime.date.fromisoformat(d) for _, d in links)
    )
    query = parse_qs(urlsplit(links[0][0].replace("&amp;", "&")).query)
    assert query["utm_source"] == ["ads"] and query["leadsync_embed"] == ["1"]
    assert set(query) == {"utm_source", "leadsync_embed", "month", "date", "tz"}


def test_the_page_carries_no_zone_list_and_only_one_days_times(client, tenant_a):
    page = BookingPageFactory(tenant=tenant_a, duration_minutes=5, horizon_days=60)
    html = client.get(page.get_absolute_url()).content.decode()
    assert html.count("<option") == 0  # the zones come from zones.json, on demand
    assert 0 < len(radio_values(html)) <= 24 * 12


def test_bad_picker_parameters_are_ignored_not_an_error(client, booking_page):
    query = "?month=2026-13&date=soon&tz=Mars/Base"
    response = client.get(booking_page.get_absolute_url() + query)
    assert response.status_code == 200
    assert 'id="id_timezone" value="Europe/Berlin"' in response.content.decode()
    assert "Unknown time zone “Mars/Base”" in response.content.decode()


def test_a_month_beyond_the_horizon_shows_the_last_bookable_month(client, booking_page):
    response = client.get(booking_page.get_absolute_url() + "?month=2099-01")
    last = page_free_slots(booking_page)[-1].astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
    assert f"{last:%B %Y}" in response.content.decode()


def test_posting_from_a_calendar_address_books_and_keeps_only_the_guests_parameters(
    client, booking_page
):
    day = sorted(tokyo_days(booking_page))[1]
    slot = tokyo_days(booking_page)[day][0]
    query = f"?utm_source=ads&month={day:%Y-%m}&date={day}&tz=Asia/Tokyo"
    data = {
        "slot": slot.isoformat(),
        "timezone": "Asia/Tokyo",
        "name": "Kenji",
        "email": "kenji@example.com",
        "q-company": "Acme KK",
        "website": "",
    }
    response = client.post(booking_page.get_absolute_url() + query, data)
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert (booking.starts_at, booking.guest_timezone) == (slot, "Asia/Tokyo")
    assert booking.url_params == {"utm_source": "ads"}


def test_a_refused_post_shows_the_posted_days_times_with_the_slot_chosen(client, booking_page):
    day = sorted(tokyo_days(booking_page))[1]
    slot = tokyo_days(booking_page)[day][1]
    data = {"slot": slot.isoformat(), "timezone": "Asia/Tokyo", "name": "", "email": ""}
    html = client.post(booking_page.get_absolute_url(), data).content.decode()
    assert f'value="{slot.isoformat()}" checked>' in html
    assert f"{day:%A %-d %B}" in html


def test_a_missing_slot_is_named_in_the_error_summary(client, booking_page):
    data = {"timezone": "Europe/Berlin", "name": "Ann", "email": "ann@example.com"}
    html = client.post(booking_page.get_absolute_url(), {**data, "q-company": "A"}).content.decode()
    assert '<a href="#id_slot">Time: Pick a day and a time.</a>' in html
    assert 'id="id_slot"' in html


def test_days_json_lists_the_free_days_of_a_month_in_the_zone(client, booking_page):
    days = sorted(tokyo_days(booking_page))
    month = days[0].replace(day=1)
    body = client.get(
        days_url(booking_page), {"month": f"{month:%Y-%m}", "tz": "Asia/Tokyo"}
    ).json()
    assert body["days"] == [d.isoformat() for d in days if d.replace(day=1) == month]
    # No month before this one in Tokyo (the first free day may be next month's first).
    this_month = timezone.now().astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")).date().replace(day=1)
    before = (month - datetime.timedelta(days=1)).replace(day=1)
    assert body["prev"] == (None if month == this_month else f"{before:%Y-%m}")
    assert body["timezone"] == "Asia/Tokyo"
    assert body["month"] == f"{month:%Y-%m}"


def test_days_json_leaves_out_a_day_the_host_filled(client, tenant_a):
    page = BookingPageFactory(tenant=tenant_a, daily_cap=1)
    first = page_free_slots(page)[0]
    BookingFactory(page=page, starts_at=first)
    local = first.astimezone(zoneinfo.ZoneInfo("Europe/Berlin")).date()
    body = client.get(days_url(page), {"month": f"{local:%Y-%m}"}).json()
    assert local.isoformat() not in body["days"] and body["timezone"] == "Europe/Berlin"


def test_times_json_gives_the_days_times_to_post(client, booking_page):
    day = sorted(tokyo_days(booking_page))[1]
    body = client.get(times_url(booking_page), {"date": day.isoformat(), "tz": "Asia/Tokyo"}).json()
    slots = tokyo_days(booking_page)[day]
    assert [t["slot"] for t in body["times"]] == [s.isoformat() for s in slots]
    first = slots[0].astimezone(TOKYO)
    assert body["times"][0]["label"] == f"{first:%H:%M}"
    assert body["times"][0]["end"] == f"{first + datetime.timedelta(minutes=30):%H:%M}"


@pytest.mark.parametrize(
    ("endpoint", "params", "message"),
    [
        ("days", {"month": "2026-13"}, "month must look like 2026-12"),
        ("days", {}, "month must look like 2026-12"),
        ("days", {"month": "2026-12", "tz": "Mars/Base"}, "tz must be a time zone"),
        ("times", {"date": "2026-02-30"}, "date must be a day like 2026-12-03"),
        ("times", {"date": "tomorrow"}, "date must be a day like"),
        ("times", {"date": "2026-12-03", "tz": "Tokyo"}, "tz must be a time zone"),
    ],
)
def test_json_endpoints_answer_bad_input_with_400_and_the_reason(
    client, booking_page, endpoint, params, message
):
    url = days_url(booking_page) if endpoint == "days" else times_url(booking_page)
    response = client.get(url, params)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_json_endpoints_of_unknown_or_inactive_pages_are_not_found(client, booking_page, tenant_b):
    other = BookingPageFactory(tenant=tenant_b, slug="other")
    params = {"month": "2026-12", "date": "2026-12-03"}
    for url in (
        reverse("bookings:days", args=["acme", "nope"]),
        reverse("bookings:times", args=["nope", "intro"]),
        reverse("bookings:days", args=["acme", other.slug]),  # tenant B's page under A
    ):
        assert client.get(url, params).status_code == 404
    booking_page.active = False
    booking_page.save()
    assert client.get(days_url(booking_page), params).status_code == 404
    assert client.get(times_url(booking_page), params).status_code == 404


def test_zones_json_is_cacheable_and_complete(client):
    response = client.get(reverse("bookings:zones"))
    assert "public" in response["Cache-Control"] and "max-age=86400" in response["Cache-Control"]
    zones = dict(response.json()["zones"])
    assert zones["Asia/Tokyo"] == "Asia/Tokyo" and len(zones) > 400


def test_zone_chooser_goes_back_to_the_page_keeping_its_parameters(client, booking_page):
    url = reverse("bookings:zone_chooser", args=["acme", "intro"])
    html = client.get(url + "?utm_source=ads&month=2026-12&tz=Asia/Tokyo").content.decode()
    assert f'<form method="get" action="{booking_page.get_absolute_url()}">' in html
    assert '<input type="hidden" name="utm_source" value="ads">' in html
    assert '<input type="hidden" name="month" value="2026-12">' in html
    assert '<option value="Asia/Tokyo" selected>' in html
    back = f"{booking_page.get_absolute_url()}?utm_source=ads&amp;month=2026-12&amp;tz=Asia%2FTokyo"
    assert f'<a href="{back}">Back to the times in Asia/Tokyo</a>' in html
    assert client.get(reverse("bookings:zone_chooser", args=["acme", "nope"])).status_code == 404


def test_a_page_with_nothing_free_says_so(client, tenant_a):
    page = BookingPageFactory(tenant=tenant_a, windows=[])
    html = client.get(page.get_absolute_url()).content.decode()
    assert "There are no free times in the next 14 days. Please check back later." in html
    assert radio_values(html) == [] and 'class="day free' not in html


def test_an_asked_month_without_free_times_says_so(client, tenant_a):
    page = BookingPageFactory(tenant=tenant_a, min_notice_minutes=32 * 24 * 60, horizon_days=90)
    this_month = timezone.now().astimezone(zoneinfo.ZoneInfo("Europe/Berlin")).date().replace(day=1)
    html = client.get(page.get_absolute_url() + f"?month={this_month:%Y-%m}").content.decode()
    assert '<p class="note" data-empty>No free times this month.</p>' in html
    assert radio_values(html) == [] and 'aria-label="Next month"' in html


def test_the_booking_page_and_its_picker_speak_the_pages_language(client, booking_page):
    english = client.get(booking_page.get_absolute_url()).content.decode()
    assert '<html lang="en">' in english and "Book this time" in english
    assert "Time zone" in english and "Update times" in english
    booking_page.language = "ja"
    booking_page.save()
    html = client.get(booking_page.get_absolute_url()).content.decode()
    assert '<html lang="ja">' in html
    for japanese in ("時間を選ぶ", "この時間で予約する", "お名前", "タイムゾーン", "時間を更新"):
        assert japanese in html, japanese
    first = page_free_slots(booking_page)[0].astimezone(zoneinfo.ZoneInfo(booking_page.timezone))
    assert f"{first.year}年{first.month}月" in html and ">月</th>" in html
    for word in ("Book this time", "Pick a time", "Time zone", "Update times", "Your name", "Mon<"):
        assert word not in html, word
    # Its errors too, from the form and from the service.
    posted = client.post(booking_page.get_absolute_url(), {"name": "Ann", "email": "a@example.com"})
    assert "日付と時間を選んでください。" in posted.content.decode()
    error = client.get(days_url(booking_page), {"month": "soon"}).json()["error"]
    assert error.startswith("month は")


def test_the_confirmation_page_speaks_the_pages_language(client, booking_page):
    booking_page.language = "ja"
    booking_page.save()
    booking = BookingFactory(page=booking_page, starts_at=page_free_slots(booking_page)[0])
    url = reverse(
        "bookings:booked", args=[booking_page.tenant.slug, booking_page.slug, booking.uid]
    )
    html = client.get(url).content.decode()
    assert '<html lang="ja">' in html and "予約が完了しました" in html
    assert "カレンダーに追加" in html and "You're booked" not in html
