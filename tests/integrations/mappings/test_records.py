"""The record a booking produces: the one source for the preview and the push."""

import datetime

import pytest

from integrations.mappings.records import record_for, target_mapping_specs
from integrations.salesforce.record_check import record_check
from integrations.salesforce.schema import WriteMode
from tests.factories import (
    BookingFactory,
    FieldMappingFactory,
    QuestionFactory,
    SyncTargetFactory,
    org_describe,
)

pytestmark = pytest.mark.django_db

Source = FieldMappingFactory._meta.model.SourceKind


def test_booking_becomes_the_mapped_record_with_its_key(settings):
    settings.SITE_URL = "https://book.example.com"
    target = SyncTargetFactory(page__slug="intro", page__tenant__slug="acme")
    QuestionFactory(page=target.page, key="company", required=True, max_length=80)
    QuestionFactory(page=target.page, key="topics", kind="multichoice", choices=["Demo", "Support"])
    for sf_field, kind, key, constant in [
        ("LastName", Source.BOOKING, "guest_last_name", ""),
        ("FirstName", Source.BOOKING, "guest_first_name", ""),
        ("Email", Source.BOOKING, "guest_email", ""),
        ("Company", Source.QUESTION, "company", ""),
        ("Description", Source.QUESTION, "topics", ""),
        ("LeadSource", Source.URL_PARAM, "", ""),
        ("Region__c", Source.CONSTANT, "", "EMEA"),
        ("Website", Source.BOOKING, "booking_url", ""),
    ]:
        FieldMappingFactory(target=target, sf_field=sf_field, source_kind=kind,
                            source_key=key, constant_value=constant)  # fmt: skip
    booking = BookingFactory(
        page=target.page,
        guest_name="Ada King Lovelace",
        guest_email="ada@example.com",
        starts_at=datetime.datetime(2030, 1, 7, 9, tzinfo=datetime.UTC),
        answers={"company": "Analytical Engines", "topics": ["Demo", "Support"]},
        url_params={"LeadSource": "Web", "leadsource": "ignored", "utm_source": "ads"},
    )
    describe = org_describe("Lead")

    record = record_for(
        target=target, booking=booking, describe=describe, specs=target_mapping_specs(target)
    )

    assert record == {
        "LastName": "Lovelace",
        "FirstName": "Ada King",
        "Email": "ada@example.com",
        "Company": "Analytical Engines",
        "Description": "Demo; Support",  # text field: readable; multipicklists get ";"
        "LeadSource": "Web",
        "Region__c": "EMEA",
        "Website": f"https://book.example.com/acme/intro/booked/{booking.uid}/",
        "LeadSync_Booking_Id__c": str(booking.uid),
    }
    assert record_check(describe, record, write_mode=WriteMode.UPSERT) == []


def test_question_facts_reach_the_mapping_checks():
    target = SyncTargetFactory()
    QuestionFactory(page=target.page, key="company", required=True, max_length=80)
    FieldMappingFactory(target=target, sf_field="Company", source_kind=Source.QUESTION,
                        source_key="company")  # fmt: skip

    (spec,) = target_mapping_specs(target)

    assert (spec.source_required, spec.source_max_length, spec.source_type) == (True, 80, "text")


def test_question_lengths_come_from_what_the_booking_form_accepts():
    target = SyncTargetFactory()
    QuestionFactory(page=target.page, key="company", kind="text")  # no explicit limit
    QuestionFactory(page=target.page, key="notes", kind="textarea")
    QuestionFactory(page=target.page, key="phone", kind="phone")
    for field, key in [("Company", "company"), ("Description", "notes"), ("Phone", "phone")]:
        FieldMappingFactory(target=target, sf_field=field, source_kind=Source.QUESTION,
                            source_key=key)  # fmt: skip

    lengths = {s.sf_field: s.source_max_length for s in target_mapping_specs(target)}

    assert lengths == {"Company": 255, "Description": 5000, "Phone": 16}


def test_booking_url_is_the_confirmation_page_reversed_for_each_booking(settings):
    """The path is reversed once per page and the uid put in: the same URL as reversing
    per booking, for every booking and page, also a slug that looks like a uid."""
    from django.urls import reverse

    from integrations.mappings.records import booking_url

    settings.SITE_URL = "https://book.example.com"
    uid_like = "00000000-0000-0000-0000-000000000000"
    first = BookingFactory(page__slug="intro", page__tenant__slug="acme")
    bookings = [first, BookingFactory(page=first.page),
                BookingFactory(page__slug="intro-2", page__tenant=first.page.tenant),
                BookingFactory(page__slug="x", page__tenant__slug=uid_like)]  # fmt: skip
    for booking in bookings:
        page = booking.page
        path = reverse("bookings:booked", args=[page.tenant.slug, page.slug, booking.uid])
        assert booking_url(booking) == f"https://book.example.com{path}"
    assert booking_url(bookings[0]) != booking_url(bookings[1])
