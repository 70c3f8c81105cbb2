"""Staff admin of booking pages, questions, bookings and API keys."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from bookings.models import ApiKey, Booking, BookingPage, Question
from bookings.selectors import api_key_find, page_free_slots
from tests.factories import BookingFactory

pytestmark = pytest.mark.django_db

ADD_PAGE = reverse("admin:bookings_bookingpage_add")


def page_form(**overrides):
    data = {
        "title": "Discovery",
        "slug": "discovery",
        "description": "",
        "active": "on",
        "timezone": "Europe/Berlin",
        "duration_minutes": "45",
        "horizon_days": "14",
        "min_notice_minutes": "60",
        "language": "en",
        "reminder_enabled": "on",
        "reminder_minutes": "1440",
        "buffer_before_minutes": "0",
        "buffer_after_minutes": "15",
        "daily_cap": "",
        "questions-TOTAL_FORMS": "0",
        "questions-INITIAL_FORMS": "0",
        **windows(("0", "09:00", "12:00"), ("0", "13:00", "17:00"), ("2", "09:00", "12:00")),
        **overrides_rows(),
    }
    return {**data, **overrides}


def windows(*rows):
    """The weekly hours inline: (weekday, start, end) rows."""
    data = {"windows-TOTAL_FORMS": str(len(rows)), "windows-INITIAL_FORMS": "0"}
    for n, (weekday, start, end) in enumerate(rows):
        data.update({f"windows-{n}-weekday": weekday, f"windows-{n}-start": start})
        data[f"windows-{n}-end"] = end
    return data


def overrides_rows(*rows):
    """The date overrides inline: (date, start, end) rows ("" times: a day off)."""
    data = {"overrides-TOTAL_FORMS": str(len(rows)), "overrides-INITIAL_FORMS": "0"}
    for n, (date, start, end) in enumerate(rows):
        data.update({f"overrides-{n}-date": date, f"overrides-{n}-start": start})
        data[f"overrides-{n}-end"] = end
    return data


def questions(*rows):
    data = {"questions-TOTAL_FORMS": str(len(rows)), "questions-INITIAL_FORMS": "0"}
    for n, row in enumerate(rows):
        row = {"order": n, "label": "Label", "kind": "text", "choices": "", **row}
        data.update({f"questions-{n}-{k}": v for k, v in row.items()})
    return data


def test_staff_creates_a_page_with_questions_inline(client_for, member_a, tenant_a):
    data = page_form(
        **questions(
            {"key": "company", "label": "Company", "required": "on", "max_length": "80"},
            {"key": "topic", "kind": "choice", "choices": "Demo\r\nSupport\r\n"},
        )
    )
    response = client_for(member_a).post(ADD_PAGE, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    page = BookingPage.objects.get()
    assert page.tenant == tenant_a  # stamped: the member's only tenant
    hours = [(w.weekday, f"{w.start:%H:%M}", f"{w.end:%H:%M}") for w in page.windows.all()]
    assert hours == [(0, "09:00", "12:00"), (0, "13:00", "17:00"), (2, "09:00", "12:00")]
    assert page.buffer_after_minutes == 15 and page.daily_cap is None
    assert [(q.key, q.choices) for q in page.questions.all()] == [
        ("company", []),
        ("topic", ["Demo", "Support"]),
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"key": "a", "kind": "choice"}], "A choice question needs at least one choice."),
        ([{"key": "a", "kind": "multichoice"}], "A choice question needs at least one choice."),
        ([{"key": "a", "choices": "x"}], "Only single and multiple choice questions take"),
        ([{"key": "a", "kind": "choice", "choices": "x\ny\nx"}], "Choices must be unique."),
        ([{"key": "a", "max_length": "100000"}], "Use a maximum length between 1 and 1000."),
        ([{"key": "a", "kind": "date", "max_length": "5"}], "Only text and long text"),
        ([{"key": "1abc"}], "Start with a letter"),
        ([{"key": "dup"}, {"key": "dup"}], "Please correct the duplicate data for key"),
    ],
)
def test_question_definitions_are_validated(client_for, member_a, rows, message):
    response = client_for(member_a).post(ADD_PAGE, page_form(**questions(*rows)))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BookingPage.objects.exists()


def test_new_page_form_offers_weekdays_nine_to_five(client_for, member_a):
    html = client_for(member_a).get(ADD_PAGE).content.decode()
    assert 'name="windows-TOTAL_FORMS" value="5"' in html
    for n in range(5):
        assert f'name="windows-{n}-start" value="09:00"' in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (windows(("0", "17:00", "09:00")), "A window must start before it ends."),
        (
            windows(("0", "09:00", "12:00"), ("0", "11:30", "13:00")),
            "Monday: 09:00-12:00 overlaps 11:30-13:00",
        ),
        (
            overrides_rows(("2030-01-07", "", ""), ("2030-01-07", "10:00", "11:00")),
            "2030-01-07: a day off cannot also have hours",
        ),
        (
            overrides_rows(("2030-01-07", "10:00", "12:00"), ("2030-01-07", "11:00", "13:00")),
            "2030-01-07: 10:00-12:00 overlaps 11:00-13:00",
        ),
        (overrides_rows(("2030-01-07", "10:00", "")), "Give a start before the end"),
    ],
)
def test_hours_are_validated(client_for, member_a, data, message):
    response = client_for(member_a).post(ADD_PAGE, page_form(**data))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BookingPage.objects.exists()


def test_back_to_back_windows_and_a_day_off_are_accepted(client_for, member_a):
    data = page_form(
        **windows(("0", "09:00", "12:00"), ("0", "12:00", "13:00")),
        **overrides_rows(("2030-01-07", "", ""), ("2030-01-08", "08:00", "09:00")),
    )
    response = client_for(member_a).post(ADD_PAGE, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    page = BookingPage.objects.get()
    assert page.windows.count() == 2
    assert [str(o) for o in page.overrides.all()] == [
        "2030-01-07 day off",
        "2030-01-08 08:00-09:00",
    ]


def test_page_admin_links_the_public_url(client_for, member_a, booking_page):
    changelist = client_for(member_a).get(reverse("admin:bookings_bookingpage_changelist"))
    assert 'href="http://127.0.0.1:8000/acme/intro/"' in changelist.content.decode()
    change = client_for(member_a).get(
        reverse("admin:bookings_bookingpage_change", args=[booking_page.pk])
    )
    assert 'href="http://127.0.0.1:8000/acme/intro/"' in change.content.decode()


def test_booking_admin_shows_answers_and_url_params_read_only(client_for, member_a, booking_page):
    booking = BookingFactory(
        page=booking_page,
        answers={"company": "Acme <b>Ltd</b>", "meeting_type": "Demo"},
        url_params={"LeadSource": "Web"},
    )
    response = client_for(member_a).get(reverse("admin:bookings_booking_change", args=[booking.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<th scope='row'>Company</th><td>Acme &lt;b&gt;Ltd&lt;/b&gt;</td>" in html
    assert "<th scope='row'>LeadSource</th><td>Web</td>" in html
    assert 'name="answers"' not in html and 'name="url_params"' not in html
    assert 'name="_save"' not in html


def test_staff_cancel_a_booking_and_its_slot_is_free_again(
    client_for, member_a, booking_page, free_slot
):
    booking = BookingFactory(page=booking_page, starts_at=free_slot)
    assert free_slot not in page_free_slots(booking_page)
    response = client_for(member_a).post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "cancel_selected", "_selected_action": [booking.pk]},
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.cancelled_at is not None
    assert free_slot in page_free_slots(booking_page)


def test_staff_cannot_add_or_delete_bookings(client_for, member_a, booking_page):
    booking = BookingFactory(page=booking_page)
    client = client_for(member_a)
    assert client.get(reverse("admin:bookings_booking_add")).status_code == 403
    client.post(reverse("admin:bookings_booking_delete", args=[booking.pk]), {"post": "yes"})
    assert Booking.objects.filter(pk=booking.pk).exists()


def test_new_api_key_is_shown_once_and_stored_hashed(client_for, admin_a, tenant_a):
    client = client_for(admin_a)
    response = client.post(reverse("admin:bookings_apikey_add"), {"name": "website"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    api_key = ApiKey.objects.get()
    assert (api_key.tenant, api_key.name) == (tenant_a, "website")
    assert api_key_find(secret) == api_key
    change = client.get(reverse("admin:bookings_apikey_change", args=[api_key.pk]))
    assert secret not in change.content.decode()
    assert api_key.prefix in change.content.decode()


def test_members_cannot_create_api_keys(client_for, member_a):
    response = client_for(member_a).post(reverse("admin:bookings_apikey_add"), {"name": "x"})
    assert response.status_code == 403
    assert not ApiKey.objects.exists()


def test_staff_revoke_an_api_key(client_for, admin_a, tenant_a):
    client = client_for(admin_a)
    client.post(reverse("admin:bookings_apikey_add"), {"name": "website"})
    api_key = ApiKey.objects.get()
    client.post(
        reverse("admin:bookings_apikey_changelist"),
        {"action": "revoke_selected", "_selected_action": [api_key.pk]},
    )
    api_key.refresh_from_db()
    assert not api_key.is_active


def test_question_model_refuses_choices_on_non_choice_kinds(booking_page):
    question = Question(page=booking_page, key="x", label="X", kind="number", choices=["a"])
    with pytest.raises(ValidationError, match="Only single and multiple choice"):
        question.full_clean()


def posted_back(form) -> dict:
    """A form's fields as the browser posts them back unchanged."""
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False or value == "":
            continue
        if isinstance(value, datetime.time):
            value = f"{value:%H:%M}"
        data[form.add_prefix(name)] = value
    return data


def test_saving_a_page_as_shown_keeps_its_hours_and_slots(client_for, member_a, booking_page):
    """The change form posted back as rendered, its blank extra rows included."""
    client = client_for(member_a)
    url = reverse("admin:bookings_bookingpage_change", args=[booking_page.pk])
    context = client.get(url).context
    data = posted_back(context["adminform"].form)
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
        for form in formset.forms:
            data.update(posted_back(form))
    before = page_free_slots(booking_page)
    response = client.post(url, data)
    assert response.status_code == 302, [
        i.formset.errors for i in response.context["inline_admin_formsets"]
    ]
    assert booking_page.windows.count() == 7
    assert page_free_slots(booking_page) == before
