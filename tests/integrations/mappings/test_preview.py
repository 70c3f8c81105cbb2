"""The record preview and rule 7 on the mapping page: what a booking would post, built by
the one record builder, with the pre-send check; URL keys that no mapping posts."""

import datetime
import json
import re

import pytest
from django.urls import reverse

from bookings.models import Question
from integrations.mappings import selectors as mapping_selectors
from integrations.models import SyncTarget
from tests.factories import (
    BookingFactory,
    BookingPageFactory,
    FieldMappingFactory,
    QuestionFactory,
    SalesforceConnectionFactory,
    SObjectSchemaFactory,
    SyncTargetFactory,
)
from tests.integrations.delivery.test_people import book, person_page, records

pytestmark = pytest.mark.django_db
KEY = "LeadSync_Booking_Id__c"


@pytest.fixture
def target(tenant_a):
    SObjectSchemaFactory(connection=SalesforceConnectionFactory(tenant=tenant_a))
    page = BookingPageFactory(tenant=tenant_a, timezone="Europe/Berlin")
    QuestionFactory(page=page, key="company", label="Company", required=True, max_length=100)
    QuestionFactory(
        page=page, key="topic", label="Topic", kind=Question.Kind.CHOICE, required=True,
        choices=["Demo", "Support"],
    )  # fmt: skip
    QuestionFactory(page=page, key="seats", label="Seats", kind=Question.Kind.NUMBER)
    target = SyncTargetFactory(page=page)
    for sf_field, kind, key, constant in [
        ("LastName", "booking", "guest_last_name", ""),
        ("FirstName", "booking", "guest_first_name", ""),
        ("Company", "question", "company", ""),
        ("Meeting_Type__c", "question", "topic", ""),
        ("NumberOfEmployees", "question", "seats", ""),
        ("Region__c", "constant", "", "EMEA"),
        ("LeadSource", "url_param", "", ""),
    ]:
        FieldMappingFactory(
            target=target, sf_field=sf_field, source_kind=kind, source_key=key,
            constant_value=constant,
        )  # fmt: skip
    return target


def preview_url(target, **params) -> str:
    url = reverse("admin:integrations_synctarget_preview", args=[target.pk])
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}?{query}" if query else url


def preview_json(client, target, **params) -> dict:
    response = client.get(preview_url(target, format="json", **params))
    assert response.status_code == 200
    return response.json()


def test_preview_shows_the_exact_record_of_the_latest_booking(target, admin_a, client_for):
    BookingFactory(page=target.page, answers={"company": "Old"})
    latest = BookingFactory(
        page=target.page,
        guest_name="Ada King Lovelace",
        answers={"company": "Analytical Engines", "topic": "Support", "seats": 12},
        url_params={"LeadSource": "Web", "leadsource": "Other", "utm_source": "ads"},
    )
    preview = preview_json(client_for(admin_a), target)
    assert preview["sample"] is False and preview["booking"] == str(latest.uid)
    assert preview["record"] == {
        "LastName": "Lovelace",
        "FirstName": "Ada King",
        "Company": "Analytical Engines",
        "Meeting_Type__c": "Support",
        "NumberOfEmployees": 12,
        "Region__c": "EMEA",
        "LeadSource": "Web",
        KEY: str(latest.uid),
    }
    assert preview["problems"] == []
    assert preview["operation"] == f"PATCH /sobjects/Lead/{KEY}/{latest.uid}"
    # Rule 7: only the key named exactly like the mapped field is posted.
    assert preview["url_params_posted"] == {"LeadSource": "Web"}
    assert preview["url_params_ignored"] == {"leadsource": "Other", "utm_source": "ads"}


def test_preview_page_shows_the_record_once_as_a_table_in_words(target, admin_a, client_for):
    booking = BookingFactory(page=target.page, answers={"company": "Acme", "topic": "Demo"})
    response = client_for(admin_a).get(preview_url(target))
    body = response.content.decode()
    assert response.status_code == 200
    table = body[body.index('id="record"') : body.index("</table>", body.index('id="record"'))]
    rows = [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]
    assert ["Company", "Acme", "Question “Company”"] in rows
    assert [KEY, str(booking.uid), "The booking&#x27;s id"] in rows
    assert 'id="record-ok"' in body
    # Once, in words: no JSON dump, no HTTP verbs or paths, no rule numbers.
    assert "&quot;Company&quot;" not in body
    for jargon in ("PATCH", "POST /", "/sobjects/", "rule 7"):
        assert jargon not in body


def test_preview_reports_what_salesforce_would_refuse(target, admin_a, client_for):
    BookingFactory(
        page=target.page, answers={"topic": "Demo"}
    )  # booked before company was required
    preview = preview_json(client_for(admin_a), target)
    assert "Company" not in preview["record"]
    assert [(p["field"], p["code"]) for p in preview["problems"]] == [
        ("Company", "REQUIRED_FIELD_MISSING")
    ]


def test_preview_of_a_sample_booking_is_built_in_memory(target, admin_a, client_for):
    BookingFactory(page=target.page, answers={"company": "Real"})
    client = client_for(admin_a)
    preview = preview_json(client, target, sample=1)
    record = preview["record"]
    assert preview["sample"] is True
    assert {k: v for k, v in record.items() if k != KEY} == {
        "LastName": "Lovelace",
        "FirstName": "Ada",
        "Company": "Sample Company",
        "Meeting_Type__c": "Demo",
        "NumberOfEmployees": 42,
        "Region__c": "EMEA",
        "LeadSource": "Web",  # the first active value: the sample carries ?LeadSource=Web
    }
    assert len(record[KEY]) == 36 and preview["problems"] == []
    assert target.page.bookings.count() == 1  # nothing saved


def test_preview_uses_a_sample_when_the_page_has_no_booking(target, admin_a, client_for):
    assert preview_json(client_for(admin_a), target)["sample"] is True


def test_preview_of_a_given_booking_stays_within_the_page(target, admin_a, client_for):
    chosen = BookingFactory(page=target.page, answers={"company": "Chosen", "topic": "Demo"})
    BookingFactory(page=target.page, answers={"company": "Newer", "topic": "Demo"})
    client = client_for(admin_a)
    assert preview_json(client, target, booking=chosen.uid)["record"]["Company"] == "Chosen"
    elsewhere = BookingFactory(page=BookingPageFactory(tenant=target.page.tenant))
    assert client.get(preview_url(target, booking=elsewhere.uid)).status_code == 404


@pytest.mark.parametrize("value", ["not-a-uuid", "1 OR 1=1", "%00"])
def test_preview_of_a_malformed_booking_id_is_404_not_500(target, admin_a, client_for, value):
    assert client_for(admin_a).get(preview_url(target, booking=value)).status_code == 404


def test_preview_is_refused_across_tenants(target, admin_b, client_for):
    BookingFactory(page=target.page, answers={"company": "Secret"})
    response = client_for(admin_b).get(preview_url(target, format="json"))
    assert response.status_code in (302, 403, 404)
    assert "Secret" not in response.content.decode()


def test_unused_url_keys_of_recent_bookings_are_listed_with_their_exact_field(
    target, admin_a, client_for
):
    BookingFactory(page=target.page, url_params={"leadsource": "Web", "utm_source": "ads"})
    BookingFactory(page=target.page, url_params={"LeadSource": "Web", "Rating": "Hot"})
    unused = mapping_selectors.target_unused_url_keys(target)
    assert [(u.key, u.suggestion) for u in unused] == [
        ("Rating", "Rating"),
        ("leadsource", "LeadSource"),
        ("utm_source", None),
    ]
    page = client_for(admin_a).get(
        reverse("admin:integrations_synctarget_change", args=[target.pk])
    )
    body = page.content.decode()
    assert "posts only the parameter whose key is" in body
    assert "<code>leadsource</code> — did you mean <code>LeadSource</code>?" in body
    assert "<code>utm_source</code></li>" in body


def test_unused_url_keys_look_at_the_latest_bookings_only(target):
    old = BookingFactory(page=target.page, url_params={"gclid": "x"})
    old.created_at = old.created_at - datetime.timedelta(days=30)
    old.save()
    BookingFactory(page=target.page, url_params={"utm_medium": "cpc"})
    unused = mapping_selectors.target_unused_url_keys(target, limit=1)
    assert [u.key for u in unused] == ["utm_medium"]


def test_preview_json_is_what_the_page_shows(target, admin_a, client_for):
    BookingFactory(page=target.page, answers={"company": "Acme", "topic": "Demo"})
    client = client_for(admin_a)
    data = preview_json(client, target)
    page = client.get(preview_url(target))
    assert json.loads(page.context["preview_json"]) == data


def test_preview_of_a_person_target_says_how_the_guest_is_found_written_and_met(
    sf_emulator, sf_connection, admin_a, client_for
):
    for sobject in ("Lead", "Contact", "Event"):
        SObjectSchemaFactory(connection=sf_connection, sobject=sobject)
    page = person_page(sf_connection)
    target = page.sync_targets.get()
    hank = next(c for c in records(sf_emulator, "Contact") if c["Email"].startswith("hank"))
    booking = book(sf_connection, page, name="Hank Scorpio", email=hank["Email"], title="CEO")
    booking = booking.booking
    client = client_for(admin_a)

    html = client.get(preview_url(target, booking=booking.uid)).content.decode()
    assert "an existing Contact first" in html
    assert "written only where Salesforce&#x27;s value is empty" in html  # Title, if empty
    assert "left alone (written only on a new record)" in html  # Email, on create
    assert "Intro call with Hank Scorpio" in html  # the Event's subject
    assert "person-lookup" not in html  # no Salesforce call unless asked

    looked = client.get(preview_url(target, booking=booking.uid, lookup=1)).content.decode()
    assert f"Found Contact {hank['Id']} by email" in looked
    assert target.person_match == SyncTarget.PersonMatch.CONTACT_THEN_LEAD
