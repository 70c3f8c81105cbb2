"""The public booking page /<tenant>/<page>/, its confirmation and .ics."""

import datetime
import re
import zoneinfo

import icalendar
import pytest
from django.urls import reverse

from bookings.models import Booking, Question
from bookings.picker import TZ_COOKIE
from bookings.services import SLOT_TAKEN
from bookings.url_params import MAX_PARAMS, MAX_VALUE_LENGTH
from bookings.views import BOT_REFUSED
from tests.factories import BookingFactory, QuestionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def url(booking_page):
    return booking_page.get_absolute_url()


def shown_time(html: str, slot) -> str | None:
    """The label of the time button that posts `slot`, e.g. "09:00 to 09:30", or None."""
    found = re.search(
        rf'<input type="radio" name="slot" id="(slot-\d+)" value="{re.escape(slot.isoformat())}"'
        r'[^>]*><label for="\1">(\d\d:\d\d)<span class="vh"> to (\d\d:\d\d)</span>',
        html,
    )
    return f"{found[2]} to {found[3]}" if found else None


def local_time(slot, zone: str) -> str:
    start = slot.astimezone(zoneinfo.ZoneInfo(zone))
    end = (slot + datetime.timedelta(minutes=30)).astimezone(zoneinfo.ZoneInfo(zone))
    return f"{start:%H:%M} to {end:%H:%M}"


def form_data(free_slot, **overrides):
    data = {
        "slot": free_slot.isoformat(),
        "timezone": "Europe/Berlin",
        "name": "Ann Lee",
        "email": "ann@example.com",
        "q-company": "Acme",
        "q-meeting_type": "Demo",
        "website": "",
    }
    return {**data, **overrides}


def test_page_shows_free_slots_questions_and_required_markers(client, url, free_slot):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Intro call" in html
    assert shown_time(html, free_slot) == local_time(free_slot, "Europe/Berlin")
    assert 'name="q-company"' in html and 'name="q-meeting_type"' in html
    assert '<label for="id_q-company" class="required">Company</label>' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "http://" not in html.replace(response.wsgi_request.build_absolute_uri("/"), "")


def test_honeypot_is_hidden_from_people(client, url):
    html = client.get(url).content.decode()
    assert '<div class="hp" aria-hidden="true">' in html
    assert 'name="website"' in html and 'tabindex="-1"' in html and 'autocomplete="off"' in html


def test_slots_are_shown_in_the_guests_zone_from_the_cookie(client, url, free_slot):
    client.cookies[TZ_COOKIE] = "America/New_York"
    html = client.get(url).content.decode()
    assert shown_time(html, free_slot) == local_time(free_slot, "America/New_York")
    assert 'name="timezone" id="id_timezone" value="America/New_York"' in html
    assert "Intl.DateTimeFormat" not in html  # the zone is known: no need to detect it


def test_page_zone_is_the_default_and_the_script_detects_the_guests(client, url, free_slot):
    html = client.get(url).content.decode()
    assert shown_time(html, free_slot) == local_time(free_slot, "Europe/Berlin")
    assert "Intl.DateTimeFormat" in html
    assert 'name="timezone" id="id_timezone" value="Europe/Berlin"' in html


def test_update_times_reshows_the_page_in_the_chosen_zone_keeping_input(client, url, free_slot):
    data = form_data(free_slot, timezone="Asia/Tokyo", name="Ann typed this", show_times="1")
    response = client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert shown_time(html, free_slot) == local_time(free_slot, "Asia/Tokyo")
    assert 'value="Ann typed this"' in html
    assert 'class="errorlist"' not in html
    assert response.cookies[TZ_COOKIE].value == "Asia/Tokyo"
    assert not Booking.objects.exists()


def test_booking_redirects_to_the_confirmation_with_ics(client, url, free_slot, booking_page):
    response = client.post(url, form_data(free_slot, timezone="Europe/Paris"))
    booking = Booking.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("bookings:booked", args=["acme", "intro", booking.uid])
    page = client.get(response["Location"])
    assert "You're booked" in page.content.decode()
    local = free_slot.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
    assert f"{local:%H:%M}" in page.content.decode()
    ics = client.get(page.context["ics_url"])
    assert ics["Content-Type"].startswith("text/calendar")
    event = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")[0]
    assert event.decoded("dtstart") == free_slot
    assert str(event["uid"]) == f"{booking.uid}@leadsync"
    assert booking.answers == {"company": "Acme", "meeting_type": "Demo"}


def test_invalid_input_shows_errors_next_to_fields_and_keeps_input(client, url, free_slot):
    response = client.post(
        url, form_data(free_slot, email="not-an-email", **{"q-company": "", "name": "Ann Kept"})
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html and 'href="#id_email"' in html and 'href="#id_q-company"' in html
    assert '<ul class="errorlist" id="id_email_error"><li>Enter a valid email address.' in html
    assert 'aria-invalid="true"' in html and 'aria-describedby="id_email_error"' in html
    assert 'value="Ann Kept"' in html and 'value="not-an-email"' in html
    assert f'value="{free_slot.isoformat()}" checked>' in html
    assert not Booking.objects.exists()


def test_a_slot_booked_meanwhile_gets_a_clear_message(client, url, free_slot, booking_page):
    BookingFactory(page=booking_page, starts_at=free_slot)
    response = client.post(url, form_data(free_slot))
    assert response.status_code == 200
    assert SLOT_TAKEN.replace("'", "&#x27;") in response.content.decode()
    assert shown_time(response.content.decode(), free_slot) is None
    assert Booking.objects.count() == 1


def test_garbage_slot_is_an_error_not_a_crash(client, url, free_slot):
    response = client.post(url, form_data(free_slot, slot="tomorrow-ish"))
    assert response.status_code == 200
    assert "Pick one of the offered times." in response.content.decode()


def test_url_parameters_are_captured_as_sent(client, url, free_slot):
    query = "?utm_source=ads&LeadSource=Web&Campaign%20Name=Spring+Sale&empty=&utm_source=dup"
    client.post(url + query, form_data(free_slot))
    assert Booking.objects.get().url_params == {
        "utm_source": "ads",
        "LeadSource": "Web",
        "Campaign Name": "Spring Sale",
        "empty": "",
    }


def test_the_form_posts_back_to_the_url_with_its_parameters(client, url):
    html = client.get(url + "?LeadSource=Web&utm_source=ads").content.decode()
    assert f'action="{url}?LeadSource=Web&amp;utm_source=ads"' in html


def test_too_many_and_oversized_parameters_still_book(client, url, free_slot):
    many = "&".join(f"p{n}={'v' * 3000}" for n in range(2000))  # beyond Django's own 1000
    query = f"?{'K' * 500}=dropped&{many}&nul=a%00b"
    response = client.get(url + query)
    assert response.status_code == 200
    response = client.post(url + query, form_data(free_slot))
    assert response.status_code == 302
    params = Booking.objects.get().url_params
    assert len(params) == MAX_PARAMS
    assert next(iter(params)) == "p0" and len(params["p0"]) == MAX_VALUE_LENGTH


def test_nul_characters_in_parameters_are_dropped(client, url, free_slot):
    response = client.post(url + "?a%00b=x%00y", form_data(free_slot))
    assert response.status_code == 302
    assert Booking.objects.get().url_params == {"ab": "xy"}


def test_filled_honeypot_is_refused_with_400_and_nothing_stored(client, url, free_slot):
    response = client.post(url, form_data(free_slot, website="http://spam.example"))
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == BOT_REFUSED
    assert not Booking.objects.exists()


def test_too_many_submissions_from_one_ip_get_429_and_store_nothing(
    client, url, free_slot, settings
):
    settings.BOOKING_RATE_LIMIT_PER_IP = "3/m"
    bad = form_data(free_slot, email="nope")
    statuses = [client.post(url, bad).status_code for _ in range(3)]
    response = client.post(url, form_data(free_slot))
    assert statuses == [200, 200, 200]
    assert response.status_code == 429
    assert "Too many booking attempts" in response.content.decode()
    assert response["Retry-After"] == "60"
    assert not Booking.objects.exists()
    other_ip = client.post(url, form_data(free_slot), REMOTE_ADDR="203.0.113.9")
    assert other_ip.status_code == 302


def test_rate_limit_does_not_count_time_zone_changes(client, url, free_slot, settings):
    settings.BOOKING_RATE_LIMIT_PER_IP = "1/m"
    for _ in range(3):
        client.post(url, form_data(free_slot, show_times="1"))
    assert client.post(url, form_data(free_slot)).status_code == 302


def test_csrf_is_enforced(url, free_slot):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(url, form_data(free_slot))
    assert response.status_code == 403
    assert not Booking.objects.exists()


def test_inactive_or_unknown_pages_are_not_found(client, booking_page, tenant_b):
    assert client.get(f"/{tenant_b.slug}/{booking_page.slug}/").status_code == 404
    booking_page.active = False
    booking_page.save()
    assert client.get(booking_page.get_absolute_url()).status_code == 404


def test_confirmation_is_only_reachable_under_its_own_page(client, booking_page, tenant_a):
    booking = BookingFactory(page=booking_page)
    other = QuestionFactory(page__tenant=tenant_a).page
    assert client.get(f"/acme/intro/booked/{booking.uid}/").status_code == 200
    assert client.get(f"/acme/{other.slug}/booked/{booking.uid}/").status_code == 404


def test_cancelled_booking_confirmation_says_so(client, booking_page):
    booking = BookingFactory(page=booking_page, cancelled_at="2030-01-01T00:00Z")
    html = client.get(f"/acme/intro/booked/{booking.uid}/").content.decode()
    assert "This booking was cancelled" in html


def test_every_question_kind_renders_on_the_page(client, booking_page):
    for kind in Question.Kind.values:
        choices = ["One", "Two"] if kind in Question.CHOICE_KINDS else []
        QuestionFactory(page=booking_page, key=f"k_{kind}", kind=kind, choices=choices)
    html = client.get(booking_page.get_absolute_url()).content.decode()
    for kind in Question.Kind.values:
        assert f'name="q-k_{kind}"' in html


def test_confirmation_stays_reachable_after_the_page_is_deactivated(client, booking_page):
    booking = BookingFactory(page=booking_page)
    booking_page.active = False
    booking_page.save()
    assert client.get(f"/acme/intro/booked/{booking.uid}/").status_code == 200
    assert client.get(f"/acme/intro/booked/{booking.uid}.ics").status_code == 200
