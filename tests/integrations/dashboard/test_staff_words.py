"""What staff read around deliveries: links that open what they say, reasons instead of
bare zeros, proper plurals, no "None" (issue 14, defects 2, 8, 9, 12, 15)."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from integrations.models import Delivery
from tests.factories import (
    BookingFactory,
    DeliveryAttemptFactory,
    DeliveryFactory,
    QuestionFactory,
    failed_deliveries,
)
from tests.integrations.dashboard.test_dashboard import page_with_company_question

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:integrations_delivery_changelist")


@pytest.fixture
def page_a(tenant_a):
    return page_with_company_question(tenant_a)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr("leadsync.enqueue.task_send", lambda *a, **k: True)


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_each_row_of_the_deliveries_list_opens_its_delivery(page_a, admin_a, client_for):
    [delivery] = failed_deliveries(page_a, 1)
    html = client_for(admin_a).get(CHANGELIST).content.decode()
    change = reverse("admin:integrations_delivery_change", args=[delivery.pk])
    links = re.findall(rf'<a href="{re.escape(change)}[^"]*">(.*?)</a>', html, re.S)
    assert links and all(re.sub(r"<[^>]+>", "", text).strip() for text in links), links
    booking = reverse("admin:bookings_booking_change", args=[delivery.booking_id])
    assert f'<a href="{booking}">Booking #{delivery.booking_id}</a>' in html
    # no anchor inside the row's own link (the browser would empty it)
    assert not re.search(rf'<a href="{re.escape(change)}[^"]*">[^<]*<a ', html)


def post_action(client, action, deliveries, **extra):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [d.pk for d in deliveries], **extra},
        follow=True,
    )


def test_resend_selected_on_a_sent_delivery_says_why_and_what_to_do(page_a, admin_a, client_for):
    [delivery] = failed_deliveries(page_a, 1)
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.SENT)
    response = post_action(client_for(admin_a), "resend_selected", [delivery])
    [message] = texts(response)
    assert message.startswith("1 delivery was not resent: it already reached Salesforce.")
    assert "Resend with current mapping" in message
    assert "0 deliveries" not in message


def test_messages_count_in_proper_plurals(page_a, admin_a, client_for):
    client = client_for(admin_a)
    one, *two = failed_deliveries(page_a, 3)
    assert texts(post_action(client, "resend_selected", [one])) == ["1 delivery queued to resend."]
    assert texts(post_action(client, "resend_selected", two)) == ["2 deliveries queued to resend."]
    [three] = failed_deliveries(page_a, 1)
    response = post_action(client, "dismiss_selected", [three], apply="1", reason="dup")
    assert texts(response) == ["1 delivery dismissed."]


def test_delivery_page_says_not_answered_instead_of_none(page_a, admin_a, client_for):
    QuestionFactory(page=page_a, key="budget", label="Budget", required=False)
    booking = BookingFactory(page=page_a, answers={"company": "Acme", "budget": None})
    delivery = DeliveryFactory(booking=booking, target=page_a.sync_targets.get())
    html = (
        client_for(admin_a)
        .get(reverse("admin:integrations_delivery_change", args=[delivery.pk]))
        .content.decode()
    )
    answers = html[html.index('id="booking-answers"') :]
    answers = answers[: answers.index("</table>")]
    assert "Budget" in answers and "Not answered" in answers
    assert "None" not in answers


# -- defect 15 ----------------------------------------------------------------------------------


def test_chart_counts_attempts_and_deliveries_and_has_axes(page_a, admin_a, client_for):
    [retried, *_] = failed_deliveries(page_a, 3)
    DeliveryAttemptFactory(delivery=retried)  # one delivery failed twice: 4 attempts
    response = client_for(admin_a).get(reverse("admin:integrations_delivery_summary"))
    html = response.content.decode()
    assert "4 failed attempts on 3 deliveries" in " ".join(html.split())
    assert 'id="x-axis"' in html and 'id="y-axis"' in html
    assert response.context["summary"].counts[Delivery.Status.FAILED] == 3


def test_sidebar_marks_failed_posts_not_deliveries_on_failed_posts(admin_a, client_for):
    html = client_for(admin_a).get(reverse("admin:integrations_delivery_summary")).content.decode()
    start = html.index('id="nav-sidebar"')
    sidebar = html[start : html.index("</nav>", start)]
    current = re.findall(r'<a href="([^"]+)"[^>]*aria-current="page"', sidebar)
    assert current == [reverse("admin:integrations_delivery_summary")]


def test_bulk_resend_pages_describe_the_filter_in_words(page_a, admin_a, client_for):
    failed_deliveries(page_a, 2)
    client = client_for(admin_a)
    url = reverse("admin:integrations_delivery_resend_all")
    query = f"?status__exact=failed&page={page_a.pk}&code=REQUIRED_FIELD_MISSING"
    html = client.get(url + query).content.decode()
    assert "Status: <strong>Failed</strong>" in html
    assert f"Booking page: <strong>{page_a.title}</strong>" in html
    assert "status__exact" not in html.split('id="resend-filters"')[1].split("</ul>")[0]

    job_page = client.post(url + query, follow=True)
    job = job_page.context["original"]
    Delivery.objects.filter(pk=job.delivery_ids[0]).update(status=Delivery.Status.SENT)
    html = client.get(reverse("admin:integrations_resendjob_change", args=[job.pk])).content
    text = " ".join(html.decode().split())
    assert "<strong>1</strong> reached Salesforce" in text
    assert "Status: <strong>Failed</strong>" in text
    assert "status__exact=failed</div>" not in text


def test_favicon_is_served(client):
    from django.contrib.staticfiles import finders

    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("leadsync/favicon.svg")
    assert finders.find("leadsync/favicon.svg")
