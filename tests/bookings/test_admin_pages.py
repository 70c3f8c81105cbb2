"""Staff admin of booking pages, questions, bookings and API keys."""

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
        "weekdays": ["0", "2"],
        "day_start": "09:00",
        "day_end": "12:00",
        "duration_minutes": "45",
        "horizon_days": "14",
        "min_notice_minutes": "60",
        "language": "en",
        "reminder_enabled": "on",
        "reminder_minutes": "1440",
        "questions-TOTAL_FORMS": "0",
        "questions-INITIAL_FORMS": "0",
    }
    return {**data, **overrides}


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
    assert page.weekdays == [0, 2]
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


def test_page_day_must_start_before_it_ends(client_for, member_a):
    response = client_for(member_a).post(ADD_PAGE, page_form(day_start="17:00", day_end="09:00"))
    assert "The day must start before it ends." in response.content.decode()


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
