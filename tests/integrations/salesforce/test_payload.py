"""Building the record LeadSync posts (payload) and the pre-send check (record_check), against
the real describes of the emulator's org."""

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from integrations.salesforce.mapping import (
    BOOKING_FACTS,
    Code,
    MappingSpec,
    SourceKind,
    booking_facts_build,
    mapping_never_blank,
    name_split,
)
from integrations.salesforce.payload import (
    SourceValues,
    UnusedUrlKey,
    datetime_format,
    record_build,
    unused_url_keys,
    url_param_value,
    wire_value,
)
from integrations.salesforce.record_check import record_check
from integrations.salesforce.schema import WriteMode, field

from .conftest import raw_field

PARIS = ZoneInfo("Europe/Paris")


def question(sf_field, key, **kw):
    return MappingSpec(sf_field=sf_field, source_kind=SourceKind.QUESTION, source_key=key, **kw)


def fact(sf_field, key):
    return MappingSpec(sf_field=sf_field, source_kind=SourceKind.BOOKING, source_key=key)


def url_param(sf_field):
    return MappingSpec(sf_field=sf_field, source_kind=SourceKind.URL_PARAM)


def constant(sf_field, value):
    return MappingSpec(sf_field=sf_field, source_kind=SourceKind.CONSTANT, constant_value=value)


def booking_values(**overrides):
    facts = booking_facts_build(
        guest_name="Ada King Lovelace",
        guest_email=" ada@example.org ",
        starts_at=datetime(2024, 5, 1, 16, 30, tzinfo=PARIS),
        ends_at=datetime(2024, 5, 1, 17, 0, tzinfo=PARIS),
        page_title="Intro call",
        booking_id="3f1c2a9e-1b2c-4d5e-8f90-123456789abc",
        booking_url="https://leadsync.example/acme/intro/",
        timezone="Europe/Paris",
        created_at=datetime(2024, 4, 20, 9, 15, 42, 123456, tzinfo=UTC),
    )
    return {**facts, **overrides}


def build(describe, mappings, *, answers=None, booking=None, url_params=None):
    values = SourceValues(
        answers=answers or {}, booking=booking or booking_values(), url_params=url_params or {}
    )
    return record_build(describe=describe, mappings=mappings, values=values)


# -- booking facts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("full_name", "expected"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("  Ada   King  Lovelace ", ("Ada King", "Lovelace")),
        ("Cher", ("", "Cher")),
        ("   ", ("", "")),
    ],
)
def test_name_split_takes_the_last_token_as_last_name(full_name, expected):
    assert name_split(full_name) == expected


def test_booking_facts_cover_the_catalogue_and_split_the_name():
    facts = booking_values()

    assert set(facts) == set(BOOKING_FACTS)
    assert (facts["guest_first_name"], facts["guest_last_name"]) == ("Ada King", "Lovelace")
    assert facts["guest_email"] == "ada@example.org"


def test_only_the_first_name_fact_may_be_blank():
    may_be_blank = {key for key in BOOKING_FACTS if not mapping_never_blank(fact("X", key))}

    assert may_be_blank == {"guest_first_name"}


# -- rule 7: URL parameters ------------------------------------------------------------------


def test_url_param_value_reads_only_the_key_equal_to_the_field_name():
    params = {"leadsource": "Partner", "LEADSOURCE": "Other", "utm_source": "ads"}

    assert url_param_value(params, "LeadSource") is None
    assert url_param_value({**params, "LeadSource": " Web "}, "LeadSource") == "Web"


def test_url_param_value_takes_the_first_non_blank_of_a_repeated_key():
    assert url_param_value({"LeadSource": ["", "Web", "Other"]}, "LeadSource") == "Web"
    assert url_param_value({"LeadSource": "  "}, "LeadSource") is None


def test_url_param_mapping_posts_only_the_exact_case_key(lead):
    params = {"utm_source": "ads", "leadsource": "Partner Referral", "LeadSource": "Web"}

    record = build(
        lead, [url_param("LeadSource"), fact("LastName", "guest_last_name")], url_params=params
    )

    assert record == {"LeadSource": "Web", "LastName": "Lovelace"}


def test_url_param_with_wrong_case_posts_nothing(lead):
    record = build(lead, [url_param("LeadSource")], url_params={"leadsource": "Web"})

    assert record == {}


def test_unused_url_keys_list_what_no_mapping_posts_with_a_case_hint(lead):
    seen = ["utm_source", "leadsource", "LeadSource", "utm_source", "Rating"]

    unused = unused_url_keys(seen, [url_param("LeadSource"), url_param("Rating")], describe=lead)

    assert unused == [
        UnusedUrlKey("leadsource", suggestion="LeadSource"),
        UnusedUrlKey("utm_source", suggestion=None),
    ]


def test_unused_url_keys_ignore_non_url_mappings_of_the_same_field(lead):
    unused = unused_url_keys(["LeadSource"], [constant("LeadSource", "Web")])

    assert unused == [UnusedUrlKey("LeadSource")]


def test_unused_url_key_naming_an_unmapped_field_suggests_mapping_it(lead):
    unused = unused_url_keys(["Rating", "Name"], [], describe=lead)

    # Name is read-only: never suggested.
    assert unused == [UnusedUrlKey("Name"), UnusedUrlKey("Rating", suggestion="Rating")]


# -- record_build: sources -------------------------------------------------------------------


def test_record_takes_each_source_kind(lead_org):
    mappings = [
        fact("LastName", "guest_last_name"),
        fact("FirstName", "guest_first_name"),
        fact("Email", "guest_email"),
        fact("LeadSync_Booking_Id__c", "booking_id"),
        question("Company", "company"),
        question("Meeting_Type__c", "topic"),
        url_param("LeadSource"),
        constant("Region__c", "EMEA"),
        fact("Description", "page_title"),
    ]

    record = build(
        lead_org,
        mappings,
        answers={"company": "  Analytical Engines Ltd ", "topic": "Demo"},
        url_params={"LeadSource": "Web", "utm_source": "ads"},
    )

    assert record == {
        "LastName": "Lovelace",
        "FirstName": "Ada King",
        "Email": "ada@example.org",
        "LeadSync_Booking_Id__c": "3f1c2a9e-1b2c-4d5e-8f90-123456789abc",
        "Company": "Analytical Engines Ltd",
        "Meeting_Type__c": "Demo",
        "LeadSource": "Web",
        "Region__c": "EMEA",
        "Description": "Intro call",
    }
    assert record_check(lead_org, record, write_mode=WriteMode.UPSERT) == []


@pytest.mark.parametrize("blank", [None, "", "   ", [], ["", " "]])
def test_blank_values_are_omitted_not_sent_empty(lead, blank):
    record = build(
        lead,
        [question("Title", "title"), fact("LastName", "guest_last_name")],
        answers={"title": blank},
    )

    assert record == {"LastName": "Lovelace"}


def test_missing_answer_is_omitted(lead):
    assert build(lead, [question("Title", "title")], answers={}) == {}


def test_unchecked_checkbox_is_sent_as_false(lead):
    record = build(lead, [question("IsUnreadByOwner", "unread")], answers={"unread": False})

    assert record == {"IsUnreadByOwner": False}


def test_first_name_left_out_for_a_single_word_name(lead):
    booking = booking_values(
        **dict(zip(("guest_first_name", "guest_last_name"), name_split("Cher"), strict=True))
    )

    record = build(
        lead,
        [fact("FirstName", "guest_first_name"), fact("LastName", "guest_last_name")],
        booking=booking,
    )

    assert record == {"LastName": "Cher"}


def test_mapping_to_a_field_the_schema_lacks_is_kept_for_the_check_to_report(lead):
    record = build(lead, [question("Gone__c", "gone")], answers={"gone": " x "})

    assert record == {"Gone__c": "x"}
    assert [(p.field, p.code) for p in record_check(lead, record, write_mode=WriteMode.INSERT)] == [
        ("Gone__c", Code.INVALID_FIELD),
        ("Company", Code.REQUIRED_FIELD_MISSING),
        ("LastName", Code.REQUIRED_FIELD_MISSING),
    ]


# -- record_build: wire formats by field type ------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01", "2024-05-01"),
        (date(2024, 5, 1), "2024-05-01"),
        (datetime(2024, 5, 1, 0, 30, tzinfo=PARIS), "2024-05-01"),  # its own date, not UTC's
        ("2024-05-01T23:30:00+02:00", "2024-05-01"),
    ],
)
def test_date_field_gets_iso_date(contact, value, expected):
    assert build(contact, [question("Birthdate", "born")], answers={"born": value}) == {
        "Birthdate": expected
    }


def test_a_meetings_date_is_its_date_where_the_booking_happens(event):
    """The database hands datetimes over in UTC: 1 May 19:00 in Los Angeles is 2 May in
    UTC, but the meeting's date is 1 May."""
    booking = booking_values(
        starts_at=datetime(2026, 5, 2, 2, 0, tzinfo=UTC), timezone="America/Los_Angeles"
    )

    record = build(event, [fact("ActivityDate", "starts_at")], booking=booking)

    assert record == {"ActivityDate": "2026-05-01"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2024, 5, 1, 16, 30, tzinfo=PARIS), "2024-05-01T14:30:00.000+0000"),
        (
            datetime(2024, 1, 15, 9, 0, 5, 250000, tzinfo=timezone(timedelta(hours=-5))),
            "2024-01-15T14:00:05.250+0000",
        ),
        ("2024-05-01T16:30:00+02:00", "2024-05-01T14:30:00.000+0000"),
        ("2024-05-01T14:30:00Z", "2024-05-01T14:30:00.000+0000"),
        # A date answer is midnight where the booking happens (Paris, UTC+2 in May).
        ("2024-05-01", "2024-04-30T22:00:00.000+0000"),
        (date(2024, 1, 1), "2023-12-31T23:00:00.000+0000"),
    ],
)
def test_datetime_field_gets_salesforce_utc_format(event, value, expected):
    record = build(event, [question("ActivityDateTime", "when")], answers={"when": value})

    assert record == {"ActivityDateTime": expected}


def test_booking_start_reaches_a_datetime_field_in_utc(event):
    record = build(event, [fact("StartDateTime", "starts_at"), fact("EndDateTime", "ends_at")])

    assert record == {
        "StartDateTime": "2024-05-01T14:30:00.000+0000",
        "EndDateTime": "2024-05-01T15:00:00.000+0000",
    }


def test_naive_datetime_is_not_guessed_but_refused_by_the_check(event):
    record = build(
        event,
        [question("ActivityDateTime", "when")],
        answers={"when": datetime(2024, 5, 1, 16, 30)},
    )

    problems = record_check(event, record, write_mode=WriteMode.INSERT)

    assert [(p.field, p.code) for p in problems] == [
        ("ActivityDateTime", Code.INVALID_TYPE_ON_FIELD_IN_RECORD)
    ]


def test_datetime_format_keeps_milliseconds_and_refuses_naive_values():
    moment = datetime(2024, 5, 1, 14, 30, 0, 999999, tzinfo=UTC)

    assert datetime_format(moment) == "2024-05-01T14:30:00.999+0000"
    with pytest.raises(ValueError, match="naive"):
        datetime_format(datetime(2024, 5, 1))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("yes", True),
        ("No", False),
        ("true", True),
        ("on", True),
        ("0", False),
        (1, True),
    ],
)
def test_boolean_field_from_checkbox_or_yes_no_text(lead, value, expected):
    assert build(lead, [question("IsUnreadByOwner", "q")], answers={"q": value}) == {
        "IsUnreadByOwner": expected
    }


@pytest.mark.parametrize(
    ("sf_field", "value", "expected"),
    [
        ("NumberOfEmployees", "12", 12),
        ("NumberOfEmployees", 12.0, 12),
        ("NumberOfEmployees", 250, 250),
        ("AnnualRevenue", 1234.5, 1235),  # scale 0: rounded half up
        ("AnnualRevenue", "99.49", 99),
        ("Latitude", 48.8566, 48.8566),
        ("Latitude", "-0.1275", -0.1275),
    ],
)
def test_number_fields_respect_type_and_scale(lead, sf_field, value, expected):
    record = build(lead, [question(sf_field, "q")], answers={"q": value})

    assert record == {sf_field: expected}
    assert type(record[sf_field]) is type(expected)


def test_percent_field_rounds_to_its_scale(lead, edit_field):
    edit_field(lead, "Latitude", type="percent", precision=5, scale=2)

    assert build(lead, [question("Latitude", "q")], answers={"q": "12.345"}) == {"Latitude": 12.35}


def test_fraction_into_whole_number_field_is_refused_by_the_check(lead):
    record = build(lead, [question("NumberOfEmployees", "q")], answers={"q": 12.5})

    assert record == {"NumberOfEmployees": 12.5}
    assert codes(lead, valid_lead(**record)) == [
        ("NumberOfEmployees", Code.INVALID_TYPE_ON_FIELD_IN_RECORD)
    ]


def test_multi_select_picklist_joins_values_with_semicolons(lead, edit_field):
    edit_field(lead, "Industry", type="multipicklist", restrictedPicklist=True)
    raw_field(lead, "Industry")["picklistValues"][0]["label"] = "Agriculture & food"

    record = build(
        lead,
        [question("Industry", "q")],
        answers={"q": ["Banking", "Agriculture & food", " ", "Energy"]},
    )

    assert record == {"Industry": "Banking;Agriculture;Energy"}
    assert codes(lead, valid_lead(**record)) == []


def test_picklist_gets_the_value_for_a_label(lead_org):
    raw_field(lead_org, "Meeting_Type__c")["picklistValues"][0]["label"] = "Product demo"

    record = build(lead_org, [question("Meeting_Type__c", "q")], answers={"q": "Product demo"})

    assert record == {"Meeting_Type__c": "Demo"}


def test_multichoice_into_text_field_is_readable(lead):
    record = build(lead, [question("Description", "q")], answers={"q": ["Demo", "Pricing"]})

    assert record == {"Description": "Demo; Pricing"}


def test_text_is_trimmed_and_truncated_only_when_accepted(lead):
    long_title = "  " + "x" * 130 + "  "
    kept = build(lead, [question("Title", "q")], answers={"q": long_title})
    cut = build(lead, [question("Title", "q", accept_truncation=True)], answers={"q": long_title})

    assert kept == {"Title": "x" * 130}
    assert cut == {"Title": "x" * 128}
    assert codes(lead, valid_lead(**kept)) == [("Title", Code.STRING_TOO_LONG)]
    assert codes(lead, valid_lead(**cut)) == []


def test_wire_value_leaves_an_unconvertible_value_for_the_check(lead):
    employees = field(lead, "NumberOfEmployees")

    assert wire_value(employees, "a dozen") == "a dozen"
    assert wire_value(employees, date(2024, 1, 1)) == "2024-01-01"


# -- record_check ----------------------------------------------------------------------------


def valid_lead(**extra):
    return {"LastName": "Lovelace", "Company": "Analytical Engines", **extra}


def codes(describe, record, write_mode=WriteMode.INSERT):
    return [(p.field, p.code) for p in record_check(describe, record, write_mode=write_mode)]


def test_valid_record_passes(lead):
    record = valid_lead(
        Email="ada@example.org",
        NumberOfEmployees=12,
        IsUnreadByOwner=True,
        Rating="Hot",
        AnnualRevenue=1000000,
    )

    assert record_check(lead, record, write_mode=WriteMode.UPSERT) == []


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"LastName": "Lovelace"}, [("Company", Code.REQUIRED_FIELD_MISSING)]),
        ({"LastName": "Lovelace", "Company": "  "}, [("Company", Code.REQUIRED_FIELD_MISSING)]),
        (valid_lead(FirstName="x" * 41), [("FirstName", Code.STRING_TOO_LONG)]),
        (valid_lead(Email="ada@"), [("Email", Code.INVALID_EMAIL_ADDRESS)]),
        (valid_lead(Email="ada lovelace@example.org"), [("Email", Code.INVALID_EMAIL_ADDRESS)]),
        (
            valid_lead(GeocodeAccuracy="Planet"),
            [("GeocodeAccuracy", Code.INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST)],
        ),
        (valid_lead(LeadSource="x" * 256), [("LeadSource", Code.STRING_TOO_LONG)]),
        (valid_lead(Name="Ada Lovelace"), [("Name", Code.INVALID_FIELD_FOR_INSERT_UPDATE)]),
        (
            valid_lead(CreatedDate="2024-05-01T14:30:00.000+0000"),
            [("CreatedDate", Code.INVALID_FIELD_FOR_INSERT_UPDATE)],
        ),
        (valid_lead(Shoe_Size__c="42"), [("Shoe_Size__c", Code.INVALID_FIELD)]),
        (
            valid_lead(NumberOfEmployees=10**8),
            [("NumberOfEmployees", Code.NUMBER_OUTSIDE_VALID_RANGE)],
        ),
        (
            valid_lead(IsUnreadByOwner="maybe"),
            [("IsUnreadByOwner", Code.INVALID_TYPE_ON_FIELD_IN_RECORD)],
        ),
        (valid_lead(Title=42), [("Title", Code.INVALID_TYPE_ON_FIELD_IN_RECORD)]),
    ],
)
def test_record_check_reports_what_salesforce_would_refuse(lead, record, expected):
    assert codes(lead, record) == expected


def test_record_check_reads_dates_and_datetimes(event, contact):
    assert codes(event, {"ActivityDateTime": "2024-05-01T14:30:00.000+0000"}) == []
    assert codes(event, {"ActivityDateTime": "2024-05-01 14:30"}) == [
        ("ActivityDateTime", Code.INVALID_TYPE_ON_FIELD_IN_RECORD)
    ]
    assert codes(contact, {"LastName": "L", "Birthdate": "2024-02-30"}) == [
        ("Birthdate", Code.INVALID_TYPE_ON_FIELD_IN_RECORD)
    ]


def test_record_check_refuses_is_converted_in_every_write_mode(lead):
    record = valid_lead(IsConverted=False)

    for mode in (WriteMode.INSERT, WriteMode.UPSERT):
        assert codes(lead, record, mode) == [("IsConverted", Code.INVALID_FIELD_FOR_INSERT_UPDATE)]


def test_record_check_requires_the_overlay_region_field(lead_org):
    found = record_check(lead_org, valid_lead(), write_mode=WriteMode.UPSERT)

    assert [(p.field, p.code) for p in found] == [("Region__c", Code.REQUIRED_FIELD_MISSING)]
    assert "Region (Region__c)" in found[0].message and "Lead" in found[0].message


def test_record_check_restricted_picklist_names_bad_value_and_allowed_ones(lead_org):
    found = record_check(
        lead_org,
        valid_lead(Region__c="EMEA", Meeting_Type__c="Webinar"),
        write_mode=WriteMode.UPSERT,
    )

    assert [(p.field, p.code) for p in found] == [
        ("Meeting_Type__c", Code.INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST)
    ]
    assert "Webinar" in found[0].message
    assert "Demo, Consultation, Support" in found[0].fix


def test_record_check_checks_each_value_of_a_restricted_multi_select(lead, edit_field):
    edit_field(lead, "Industry", type="multipicklist", restrictedPicklist=True)

    assert codes(lead, valid_lead(Industry="Banking;Energy")) == []
    assert codes(lead, valid_lead(Industry="Banking;Crypto")) == [
        ("Industry", Code.INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST)
    ]


def test_record_check_ignores_collection_attributes(lead):
    assert codes(lead, valid_lead(attributes={"type": "Lead"})) == []
