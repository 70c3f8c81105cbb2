"""The failed-posts dashboard: summary, list, delivery page — scoped, explained, no N+1."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.dashboard.selectors import failures_per_day
from integrations.models import Delivery, DeliveryAttempt, SalesforceConnection
from tests.factories import (
    BookingPageFactory,
    DeliveryAttemptFactory,
    DeliveryFactory,
    FieldMappingFactory,
    QuestionFactory,
    SalesforceConnectionFactory,
    SyncTargetFactory,
    failed_deliveries,
)

pytestmark = pytest.mark.django_db
Status = Delivery.Status
SUMMARY = reverse("admin:integrations_delivery_summary")
CHANGELIST = reverse("admin:integrations_delivery_changelist")
CHANGE = "/admin/integrations/delivery/{}/change/"


def page_with_company_question(tenant, *, title="Intro call"):
    """A page whose optional question "Your company" feeds Lead.Company."""
    page = BookingPageFactory(tenant=tenant, title=title)
    QuestionFactory(page=page, key="company", label="Your company", required=False)
    target = SyncTargetFactory(page=page)
    FieldMappingFactory(
        target=target, sf_field="Company", source_kind="question", source_key="company"
    )
    FieldMappingFactory(target=target, sf_field="LastName", source_kind="booking",
                        source_key="guest_last_name")  # fmt: skip
    return page


@pytest.fixture
def page_a(tenant_a):
    return page_with_company_question(tenant_a)


@pytest.fixture
def page_b(tenant_b):
    return page_with_company_question(tenant_b, title="Globex demo")


def with_status(deliveries, status):
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(status=status)


# -- the summary ---------------------------------------------------------------------------------


def test_summary_counts_and_explains_causes_naming_the_question(page_a, admin_a, client_for):
    failed_deliveries(page_a, 3)
    with_status(failed_deliveries(page_a, 2), Status.RETRYING)
    with_status(failed_deliveries(page_a, 1), Status.HELD)

    response = client_for(admin_a).get(SUMMARY)

    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary.counts == {"failed": 3, "retrying": 2, "held": 1}
    [cause] = summary.causes
    assert (cause.code, cause.fields, cause.count, cause.page_title) == (
        "REQUIRED_FIELD_MISSING", ["Company"], 3, "Intro call"
    )  # fmt: skip
    html = response.content.decode()
    assert "Make the question “Your company” required (it feeds Company)" in html
    assert f"code=REQUIRED_FIELD_MISSING&amp;page={page_a.pk}" in html


def test_staff_see_only_their_tenants_failures_superusers_see_all(
    page_a, page_b, admin_a, superuser, client_for
):
    failed_deliveries(page_a, 2)
    failed_deliveries(page_b, 5, code="STRING_TOO_LONG", fields=["Company"])

    staff = client_for(admin_a).get(SUMMARY).context["summary"]
    assert staff.counts["failed"] == 2
    assert {c.tenant_name for c in staff.causes} == {"Acme"}
    assert staff.total_failures_charted == 2

    platform = client_for(superuser).get(SUMMARY).context["summary"]
    assert platform.counts["failed"] == 7
    assert {c.tenant_name for c in platform.causes} == {"Acme", "Globex"}


def test_summary_of_one_tenant_from_the_email_link(page_a, page_b, superuser, client_for):
    failed_deliveries(page_a, 2)
    failed_deliveries(page_b, 5)
    summary = client_for(superuser).get(SUMMARY, {"tenant": page_b.tenant_id}).context["summary"]
    assert summary.counts["failed"] == 5


def test_connections_needing_reconnect_come_first_with_the_diagnosis(
    tenant_a, admin_a, client_for, page_a
):
    connection = SalesforceConnectionFactory(
        tenant=tenant_a,
        status=SalesforceConnection.Status.NEEDS_RECONNECT,
        last_error_code="invalid_grant",
        last_error_message="ip restricted or invalid login hours",
    )
    failed_deliveries(page_a, 1)

    html = client_for(admin_a).get(SUMMARY).content.decode()

    assert "server because of IP restrictions." in html
    assert "Relax IP restrictions" in html
    link = reverse("admin:integrations_salesforceconnection_change", args=[connection.pk])
    assert f'href="{link}"' in html
    assert html.index('id="reconnect"') < html.index('id="count-failed"')


def test_chart_counts_failed_attempts_per_day_for_thirty_days(page_a, admin_a, client_for):
    now = dt.datetime(2031, 3, 30, 12, tzinfo=dt.UTC)
    [delivery] = failed_deliveries(page_a, 1)
    DeliveryAttempt.objects.all().delete()
    for days_ago, count in [(0, 3), (1, 1), (29, 2), (30, 5)]:  # 30 days ago is off the chart
        for _ in range(count):
            DeliveryAttemptFactory(delivery=delivery, started_at=now - dt.timedelta(days=days_ago))
    DeliveryAttemptFactory(delivery=delivery, started_at=now, outcome="sent", error_code="")

    days = failures_per_day(DeliveryAttempt.objects.all(), now=now)

    assert len(days) == 30
    assert (days[0].date, days[0].count) == (dt.date(2031, 3, 1), 2)
    assert [d.count for d in days[-2:]] == [1, 3]
    assert sum(d.count for d in days) == 6
    assert days[-1].percent == 100 and days[-1].height == 100 and days[-1].y == 0
    html = client_for(admin_a).get(SUMMARY).content.decode()
    chart = html[
        html.index('class="fp-section fp-chart"') : html.index('class="fp-section fp-causes"')
    ]
    assert chart.count("<rect ") == 30  # server-rendered SVG, no script, no external asset
    assert "<script" not in chart and "src=" not in chart


def test_index_links_to_failed_posts(admin_a, client_for):
    html = client_for(admin_a).get(reverse("admin:index")).content.decode()
    assert f'href="{SUMMARY}"' in html
    assert "Failed posts" in html


# -- the list ----------------------------------------------------------------------------------


def shown(response) -> set[int]:
    return {d.pk for d in response.context["cl"].result_list}


def test_list_filters_by_error_code_and_page(page_a, admin_a, client_for):
    missing = failed_deliveries(page_a, 2)
    too_long = failed_deliveries(page_a, 1, code="STRING_TOO_LONG")
    other_page = page_with_company_question(page_a.tenant, title="Other")
    elsewhere = failed_deliveries(other_page, 1)
    client = client_for(admin_a)

    assert shown(client.get(CHANGELIST, {"code": "STRING_TOO_LONG"})) == {too_long[0].pk}
    by_page = shown(client.get(CHANGELIST, {"code": "REQUIRED_FIELD_MISSING", "page": page_a.pk}))
    assert by_page == {d.pk for d in missing}
    assert elsewhere[0].pk not in by_page


def test_list_searches_by_guest_email_booking_id_and_salesforce_id(page_a, admin_a, client_for):
    first, second, third = failed_deliveries(page_a, 3)
    Delivery.objects.filter(pk=third.pk).update(sf_record_id="00Q000000000042AAA")
    client = client_for(admin_a)

    def search(term):
        return shown(client.get(CHANGELIST, {"q": term}))

    assert search(first.booking.guest_email) == {first.pk}
    assert search(str(second.booking.uid)) == {second.pk}
    assert search(str(second.booking_id)) == {second.pk}
    assert search("00Q000000000042AAA") == {third.pk}


def test_list_shows_the_columns_staff_need(page_a, admin_a, client_for):
    [delivery] = failed_deliveries(page_a, 1)
    html = client_for(admin_a).get(CHANGELIST).content.decode()
    for text in [delivery.booking.guest_email, "Intro call", "Acme", "REQUIRED_FIELD_MISSING",
                 "Required fields are missing: [Company]", "Company"]:  # fmt: skip
        assert text in html


# -- the delivery page ---------------------------------------------------------------------


def test_delivery_page_shows_payload_attempts_answers_and_the_mapping_behind_each_field(
    page_a, admin_a, client_for
):
    [delivery] = failed_deliveries(page_a, 1)
    booking = delivery.booking
    booking.answers = {"company": ""}
    booking.url_params = {"utm_source": "ads"}
    booking.save()
    delivery.payload = {"LastName": "Lee", "LeadSync_Booking_Id__c": str(booking.uid)}
    delivery.save()

    response = client_for(admin_a).get(
        reverse("admin:integrations_delivery_change", args=[delivery.pk])
    )

    assert response.status_code == 200
    rows = {r.field: r for r in response.context["payload_rows"]}
    assert rows["LastName"].mapping.source_key == "guest_last_name"
    assert rows["LastName"].source == "the booking fact “guest_last_name”"
    assert rows["LeadSync_Booking_Id__c"].source == "the booking id (the target's key field)"
    html = response.content.decode()
    assert "Required fields are missing: [Company]" in html  # the attempt's answer
    assert "Make the question “Your company” required" in html
    assert "utm_source" in html and "ads" in html


def test_delivery_page_is_read_only(page_a, admin_a, client_for):
    [delivery] = failed_deliveries(page_a, 1)
    url = reverse("admin:integrations_delivery_change", args=[delivery.pk])
    response = client_for(admin_a).post(url, {"status": "sent", "sobject": "Contact"})
    assert response.status_code == 403
    delivery.refresh_from_db()
    assert (delivery.status, delivery.sobject) == (Status.FAILED, "Lead")


def test_staff_cannot_open_another_tenants_delivery_page(page_b, admin_a, superuser, client_for):
    [other] = failed_deliveries(page_b, 1)
    url = reverse("admin:integrations_delivery_change", args=[other.pk])
    assert client_for(admin_a).get(url).status_code == 302  # "doesn't exist" → index
    assert client_for(superuser).get(url).status_code == 200


# -- no N+1 --------------------------------------------------------------------------------------


def queries_for(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", [CHANGELIST, SUMMARY], ids=["changelist", "summary"])
def test_pages_cost_the_same_queries_for_many_rows(
    url, tenant_a, admin_a, client_for, django_assert_max_num_queries
):
    client = client_for(admin_a)
    pages = [page_with_company_question(tenant_a, title=f"Page {i}") for i in range(2)]
    failed_deliveries(pages[0], 1)
    few = queries_for(client, url)

    for i, page in enumerate(pages):
        failed_deliveries(page, 30, code="STRING_TOO_LONG")
        failed_deliveries(page, 15 + i)
    more = [page_with_company_question(tenant_a, title=f"More {i}") for i in range(4)]
    for page in more:
        failed_deliveries(page, 3, code="INVALID_EMAIL_ADDRESS", fields=["Email"])

    with django_assert_max_num_queries(few):
        response = client.get(url)
    if url == CHANGELIST:
        assert len(response.context["cl"].result_list) == 50
    else:
        assert len(response.context["summary"].causes) == 8


def test_failed_posts_is_in_the_admin_sidebar(admin_a, client_for):
    page = client_for(admin_a).get("/admin/bookings/bookingpage/").content.decode()
    assert 'id="nav-failed-posts"' in page
    assert reverse("admin:integrations_delivery_summary") in page


def test_a_person_delivery_page_says_who_owns_what_and_warns_when_nobody_follows_up(
    page_a, admin_a, client_for
):
    skipped = {"Title": "Salesforce already has a value; written only when empty."}
    delivery = DeliveryFactory(
        booking__page=page_a,
        target=page_a.sync_targets.get(),
        status=Status.SENT,
        sf_record_id="00Q000000000001AAA",
        steps={
            "find": {"how": "Found Lead 00Q000000000001AAA by email."},
            "person": {
                "object": "Lead", "id": "00Q000000000001AAA", "created": False,
                "fields": ["Company"], "skipped": skipped,
            },
            "event": {"id": "00U000000000001AAA"},
            "owner": {"id": "005000000000001AAA", "name": "Bot", "is_integration_user": True},
        },
    )  # fmt: skip

    html = client_for(admin_a).get(CHANGE.format(delivery.pk)).content.decode()
    summary = client_for(admin_a).get(SUMMARY).content.decode()

    assert "Found Lead 00Q000000000001AAA by email." in html
    assert "Updated 00Q000000000001AAA: Company." in html
    assert "Title: Salesforce already has a value" in html
    assert "The booking page has no host" in html
    assert "Nobody follows this record up" in html
    assert 'id="unowned-warning"' in summary and "owned by the integration user" in summary
