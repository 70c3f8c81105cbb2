"""Field facts from real describes: the picker (rule 6), required-on-create (rule 5), upsert
keys and picklists. Expected sets are computed from the raw JSON, independently of the code."""

import pytest

from integrations.salesforce.mapping import Code, MappingSpec, Severity, SourceKind
from integrations.salesforce.mapping_rules import mapping_drift, mapping_problems
from integrations.salesforce.schema import (
    WriteMode,
    external_id_fields,
    field,
    insertable_fields,
    required_on_create,
)

from .conftest import describe_load, raw_field

OBJECTS = ["Lead", "Contact", "Account", "Event", "Custom__c"]


def names(facts) -> list[str]:
    return [f.name for f in facts]


@pytest.mark.parametrize("sobject", OBJECTS)
def test_picker_offers_exactly_the_createable_fields(sobject):
    describe = describe_load(sobject)
    create_only_flags = {
        f["name"]
        for f in describe["fields"]
        if f["type"] == "boolean" and not f["custom"] and f["createable"] and not f["updateable"]
    }
    expected = {f["name"] for f in describe["fields"] if f["createable"]} - create_only_flags

    assert set(names(insertable_fields(describe))) == expected


@pytest.mark.parametrize("sobject", OBJECTS)
def test_picker_in_upsert_mode_offers_fields_both_createable_and_updateable(sobject):
    describe = describe_load(sobject)
    expected = {f["name"] for f in describe["fields"] if f["createable"] and f["updateable"]}

    assert set(names(insertable_fields(describe, updating=True))) == expected


def test_lead_picker_never_offers_read_only_system_or_compound_fields(lead):
    offered = set(names(insertable_fields(lead)))

    for read_only in ["Id", "Name", "Address", "CreatedDate", "CreatedById", "SystemModstamp"]:
        assert read_only not in offered
    for read_only in ["IsDeleted", "LastModifiedDate", "ConvertedDate", "PhotoUrl"]:
        assert read_only not in offered
    # Updateable but not createable: an insert could never set it.
    assert raw_field(lead, "EmailBouncedReason")["updateable"]
    assert "EmailBouncedReason" not in offered
    for writable in ["LastName", "FirstName", "Company", "Email", "LeadSource", "Status"]:
        assert writable in offered
    assert len(offered) == 32


def test_is_converted_is_never_offered(lead):
    # The capture says IsConverted is createable (data loads may set it) but not updateable;
    # lead conversion maintains it, so rule 6 treats it as a system field in every mode.
    assert raw_field(lead, "IsConverted")["createable"]
    assert "IsConverted" not in names(insertable_fields(lead))
    assert "IsConverted" not in names(insertable_fields(lead, updating=WriteMode.UPSERT.updates))


def test_compound_parents_are_not_createable_and_never_offered(lead, edit_field):
    assert not raw_field(lead, "Address")["createable"]
    assert not raw_field(lead, "Name")["createable"]
    # Even if a describe flagged the compound parent createable, its parts are the fields.
    edit_field(lead, "Address", createable=True, updateable=True)

    assert "Address" not in names(insertable_fields(lead))
    assert {"Street", "City", "PostalCode"} <= set(names(insertable_fields(lead)))


@pytest.mark.parametrize(
    "flag", [{"calculated": True}, {"autoNumber": True}, {"deprecatedAndHidden": True}]
)
def test_picker_never_offers_formula_auto_number_or_hidden_fields(lead, edit_field, flag):
    edit_field(lead, "Title", **flag)

    assert "Title" not in names(insertable_fields(lead))
    assert "Title" not in names(insertable_fields(lead, updating=True))


def test_picker_hides_a_field_the_user_lost_write_access_to(lead, edit_field):
    edit_field(lead, "Title", createable=False)

    assert "Title" not in names(insertable_fields(lead))


def test_picker_is_sorted_by_label(lead):
    labels = [f.label for f in insertable_fields(lead)]

    assert labels == sorted(labels, key=str.casefold)
    assert labels[0] == "Annual Revenue"


def test_required_on_create_of_real_lead_is_last_name_and_company(lead):
    assert names(required_on_create(lead)) == ["Company", "LastName"]


def test_required_on_create_with_overlay_adds_region(lead_org):
    assert names(required_on_create(lead_org)) == ["Company", "LastName", "Region__c"]


def test_required_on_create_skips_booleans_and_defaulted_fields(lead):
    required = names(required_on_create(lead))

    # Not nillable, yet Salesforce fills them: booleans default to false, the rest have defaults.
    for name in ["IsConverted", "IsUnreadByOwner", "Status", "OwnerId"]:
        assert not raw_field(lead, name)["nillable"]
        assert name not in required
    # Not nillable but not createable either: Salesforce sets it.
    assert not raw_field(lead, "Name")["nillable"]
    assert "Name" not in required


@pytest.mark.parametrize(
    ("sobject", "expected"), [("Contact", ["LastName"]), ("Account", ["Name"])]
)
def test_required_on_create_reads_any_object(sobject, expected):
    assert names(required_on_create(describe_load(sobject))) == expected


def test_required_on_create_skips_a_boolean_even_if_not_marked_defaulted(lead, edit_field):
    edit_field(lead, "IsUnreadByOwner", defaultedOnCreate=False)

    assert not raw_field(lead, "IsUnreadByOwner")["nillable"]
    assert names(required_on_create(lead)) == ["Company", "LastName"]


def test_required_on_create_follows_a_field_made_required(lead, edit_field):
    edit_field(lead, "Title", nillable=False)

    assert names(required_on_create(lead)) == ["Company", "LastName", "Title"]


def test_upsert_key_is_the_overlay_external_id(lead, lead_org):
    assert names(external_id_fields(lead_org)) == ["LeadSync_Booking_Id__c"]
    # Id and Email are idLookup in the capture, but neither is an external ID.
    assert raw_field(lead, "Email")["idLookup"]
    assert names(external_id_fields(lead)) == []


def test_unique_custom_id_lookup_field_is_an_upsert_key(edit_field):
    custom = describe_load("Custom__c")
    assert names(external_id_fields(custom)) == []  # idLookup, but not unique

    edit_field(custom, "CustomField__c", unique=True)

    assert names(external_id_fields(custom)) == ["CustomField__c"]


def test_field_reads_the_facts_of_one_field(lead):
    last_name = field(lead, "LastName")

    assert last_name is not None
    assert (last_name.type, last_name.length, last_name.label) == ("string", 80, "Last Name")
    assert last_name.compound_field_name == "Name"
    assert last_name.required_on_create
    assert field(lead, "OwnerId").reference_to == ("Group", "User")
    assert field(lead, "Status").default_value == "Open - Not Contacted"


def test_field_reads_number_precision_scale_and_digits(lead):
    revenue, latitude = field(lead, "AnnualRevenue"), field(lead, "Latitude")
    employees = field(lead, "NumberOfEmployees")

    assert (revenue.type, revenue.precision, revenue.scale) == ("currency", 18, 0)
    assert (latitude.type, latitude.precision, latitude.scale) == ("double", 18, 15)
    assert (employees.type, employees.digits) == ("int", 8)


def test_field_name_must_match_exactly(lead):
    assert field(lead, "lastname") is None
    assert field(lead, "No_Such_Field__c") is None


def test_overlay_field_facts(lead_org):
    booking_id = field(lead_org, "LeadSync_Booking_Id__c")
    meeting_type = field(lead_org, "Meeting_Type__c")

    assert (booking_id.external_id, booking_id.unique, booking_id.id_lookup) == (True,) * 3
    assert booking_id.custom and booking_id.length == 64
    assert meeting_type.restricted_picklist


def test_picklist_values_leave_out_inactive_ones(lead, edit_field):
    rating = raw_field(lead, "Rating")
    rating["picklistValues"][2]["active"] = False  # Cold
    rating["picklistValues"][0]["label"] = "Hot lead"

    values = field(lead, "Rating").picklist_values

    assert [(v.value, v.label) for v in values] == [("Hot", "Hot lead"), ("Warm", "Warm")]
    assert field(lead, "Rating").picklist_value_for("Hot lead") == "Hot"
    assert field(lead, "Rating").picklist_value_for("Cold") is None


def test_picklist_values_of_real_lead_source(lead):
    values = [v.value for v in field(lead, "LeadSource").picklist_values]

    assert values == ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
    assert list(field(lead, "Email").picklist_values) == []
    assert field(lead, "Nope") is None


def test_status_default_picklist_value_is_marked(lead):
    defaults = [v.value for v in field(lead, "Status").picklist_values if v.default]

    assert defaults == ["Open - Not Contacted"]


def test_only_upsert_mode_updates():
    assert WriteMode.UPSERT.updates
    assert not WriteMode.INSERT.updates


# -- mapping checks on save (mapping_rules) ---------------------------------------------------

UPSERT = WriteMode.UPSERT


def question(sf_field, key, kind="text", *, required=False, max_length=None, choices=(), **kw):
    return MappingSpec(
        sf_field=sf_field,
        source_kind=SourceKind.QUESTION,
        source_key=key,
        source_type=kind,
        source_required=required,
        source_max_length=max_length,
        source_choices=tuple(choices),
        **kw,
    )


def fact(sf_field, key, **kw):
    return MappingSpec(sf_field=sf_field, source_kind=SourceKind.BOOKING, source_key=key, **kw)


def url_param(sf_field, key=""):
    return MappingSpec(sf_field=sf_field, source_kind=SourceKind.URL_PARAM, source_key=key)


def constant(sf_field, value):
    return MappingSpec(sf_field=sf_field, source_kind=SourceKind.CONSTANT, constant_value=value)


def good_mappings():
    """What a sensible tenant maps to a LeadSync org's Lead."""
    return [
        fact("LastName", "guest_last_name", source_max_length=80),
        fact("FirstName", "guest_first_name", source_max_length=40),
        fact("Email", "guest_email", source_max_length=80),
        fact("LeadSync_Booking_Id__c", "booking_id"),
        question("Company", "company", required=True, max_length=255),
        question("Region__c", "region", "choice", required=True, choices=["EMEA", "Americas"]),
        question("Meeting_Type__c", "topic", "choice", choices=["Demo", "Consultation"]),
        question("Phone", "phone", "phone", max_length=40),
        question("NumberOfEmployees", "size", "number"),
        question("Description", "notes", "textarea", max_length=5000, accept_truncation=True),
        url_param("LeadSource"),
        constant("Rating", "Warm"),
    ]


def problems_of(describe, mappings, write_mode=UPSERT):
    return [(p.field, p.code) for p in mapping_problems(describe, mappings, write_mode=write_mode)]


def test_sensible_mappings_have_no_problem(lead_org):
    assert mapping_problems(lead_org, good_mappings(), write_mode=UPSERT) == []


def test_every_unmapped_required_field_is_reported(lead_org):
    found = mapping_problems(lead_org, [], write_mode=UPSERT)

    assert [(p.field, p.code) for p in found] == [
        ("Company", Code.REQUIRED_FIELD_MISSING),
        ("LastName", Code.REQUIRED_FIELD_MISSING),
        ("Region__c", Code.REQUIRED_FIELD_MISSING),
    ]
    assert all(p.is_error for p in found)
    assert "Region (Region__c)" in found[2].message and "required" in found[2].fix


def test_required_salesforce_field_needs_required_question(lead_org):
    mappings = [m for m in good_mappings() if m.sf_field != "Company"]
    optional = [*mappings, question("Company", "company", required=False, max_length=255)]
    required = [*mappings, question("Company", "company", required=True, max_length=255)]

    found = mapping_problems(lead_org, optional, write_mode=UPSERT)

    assert [(p.field, p.code) for p in found] == [("Company", Code.REQUIRED_FIELD_MAY_BE_BLANK)]
    assert 'question "company"' in found[0].message
    assert "required" in found[0].fix
    assert mapping_problems(lead_org, required, write_mode=UPSERT) == []


@pytest.mark.parametrize(
    ("source", "may_be_blank"),
    [
        (fact("LastName", "guest_last_name", source_max_length=80), False),
        (fact("LastName", "guest_first_name", source_max_length=80), True),
        (url_param("LastName"), True),
        (constant("LastName", "Unknown"), False),
        (constant("LastName", "  "), True),
    ],
)
def test_required_field_source_must_never_be_blank(lead_org, source, may_be_blank):
    mappings = [m for m in good_mappings() if m.sf_field != "LastName"] + [source]

    found = problems_of(lead_org, mappings)

    assert (("LastName", Code.REQUIRED_FIELD_MAY_BE_BLANK) in found) is may_be_blank


@pytest.mark.parametrize(
    ("sf_field", "write_mode"),
    [("Name", WriteMode.INSERT), ("CreatedDate", WriteMode.INSERT), ("IsConverted", UPSERT)],
)
def test_mapping_to_a_field_the_user_may_not_write_is_refused(lead_org, sf_field, write_mode):
    found = problems_of(lead_org, [*good_mappings(), constant(sf_field, "x")], write_mode)

    assert found == [(sf_field, Code.INVALID_FIELD_FOR_INSERT_UPDATE)]


def test_is_converted_may_not_be_mapped_even_when_records_are_only_inserted(lead_org):
    mappings = [*good_mappings(), constant("IsConverted", "false")]

    found = problems_of(lead_org, mappings, WriteMode.INSERT)

    assert found == [("IsConverted", Code.INVALID_FIELD_FOR_INSERT_UPDATE)]


def test_formula_field_is_refused_naming_why(lead_org, edit_field):
    edit_field(lead_org, "Title", calculated=True)

    found = mapping_problems(
        lead_org, [*good_mappings(), question("Title", "t")], write_mode=UPSERT
    )

    assert [(p.field, p.code) for p in found] == [("Title", Code.INVALID_FIELD_FOR_INSERT_UPDATE)]
    assert "formula" in found[0].message


def test_mapping_to_an_unknown_field_is_invalid_field(lead_org):
    found = problems_of(lead_org, [*good_mappings(), question("Title__c", "t", max_length=9)])

    assert found == [("Title__c", Code.INVALID_FIELD)]


@pytest.mark.parametrize(
    ("sobject", "sf_field", "kind", "fits"),
    [
        ("Lead", "Email", "email", True),
        ("Lead", "Phone", "email", False),
        ("Lead", "Phone", "phone", True),
        ("Lead", "Title", "phone", True),
        ("Lead", "Email", "phone", False),
        ("Contact", "Birthdate", "date", True),
        ("Event", "ActivityDateTime", "date", True),
        ("Lead", "Email", "date", False),
        ("Lead", "NumberOfEmployees", "number", True),
        ("Lead", "AnnualRevenue", "number", True),
        ("Lead", "Latitude", "number", True),
        ("Lead", "NumberOfEmployees", "text", False),
        ("Lead", "IsUnreadByOwner", "checkbox", True),
        ("Lead", "Title", "checkbox", True),
        ("Lead", "IsUnreadByOwner", "text", False),
        ("Lead", "Title", "text", True),
        ("Lead", "Description", "textarea", True),
        ("Lead", "LeadSource", "text", True),
        ("Lead", "LeadSource", "textarea", False),
        ("Lead", "LeadSource", "multichoice", False),
        ("Contact", "Birthdate", "number", False),
    ],
)
def test_source_kind_must_fit_the_field_type(sobject, sf_field, kind, fits):
    describe = describe_load(sobject)
    choices = ["Web"] if kind in ("choice", "multichoice") else ()
    spec = question(sf_field, "q", kind, max_length=20, choices=choices)

    found = [
        p for p in mapping_problems(describe, [spec], write_mode=UPSERT) if p.field == sf_field
    ]

    assert ((sf_field, Code.INCOMPATIBLE_SOURCE) in [(p.field, p.code) for p in found]) is not fits
    if not fits:
        assert sf_field in found[0].message and "Feed it" in found[0].fix


def test_choice_missing_from_restricted_picklist_is_refused(lead_org):
    mappings = [m for m in good_mappings() if m.sf_field != "Meeting_Type__c"]
    mappings.append(question("Meeting_Type__c", "topic", "choice", choices=["Demo", "Webinar"]))

    found = mapping_problems(lead_org, mappings, write_mode=UPSERT)

    assert [(p.field, p.code, p.severity) for p in found] == [
        ("Meeting_Type__c", Code.INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, Severity.ERROR)
    ]
    assert "Webinar" in found[0].message and "Demo" not in found[0].message
    assert "Consultation" in found[0].fix


def test_choice_missing_from_unrestricted_picklist_is_a_warning(lead_org):
    spec = question("LeadSource", "src", "choice", choices=["Web", "Podcast"])
    mappings = [m for m in good_mappings() if m.sf_field != "LeadSource"] + [spec]

    found = mapping_problems(lead_org, mappings, write_mode=UPSERT)

    assert [(p.field, p.code, p.severity) for p in found] == [
        ("LeadSource", Code.PICKLIST_VALUE_UNKNOWN, Severity.WARNING)
    ]


def test_choice_may_name_a_picklist_value_by_its_label(lead_org):
    raw_field(lead_org, "Meeting_Type__c")["picklistValues"][0]["label"] = "Product demo"
    spec = question("Meeting_Type__c", "topic", "choice", choices=["Product demo", "Support"])
    mappings = [m for m in good_mappings() if m.sf_field != "Meeting_Type__c"] + [spec]

    assert mapping_problems(lead_org, mappings, write_mode=UPSERT) == []


def test_multichoice_must_fit_a_restricted_multi_select_picklist(lead_org, edit_field):
    edit_field(lead_org, "Industry", type="multipicklist", restrictedPicklist=True)
    ok = question("Industry", "ind", "multichoice", choices=["Banking", "Energy"])
    bad = question("Industry", "ind", "multichoice", choices=["Banking", "Crypto"])

    assert problems_of(lead_org, [*good_mappings(), ok]) == []
    assert problems_of(lead_org, [*good_mappings(), bad]) == [
        ("Industry", Code.INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST)
    ]


def test_free_text_into_restricted_picklist_is_refused_from_a_question(lead_org):
    spec = question("Meeting_Type__c", "topic", "text", max_length=20)
    mappings = [m for m in good_mappings() if m.sf_field != "Meeting_Type__c"] + [spec]

    found = mapping_problems(lead_org, mappings, write_mode=UPSERT)

    assert [(p.field, p.code, p.severity) for p in found] == [
        ("Meeting_Type__c", Code.INCOMPATIBLE_SOURCE, Severity.ERROR)
    ]


def test_url_param_into_restricted_picklist_is_a_warning(lead_org):
    mappings = [m for m in good_mappings() if m.sf_field != "Meeting_Type__c"]

    found = mapping_problems(lead_org, [*mappings, url_param("Meeting_Type__c")], write_mode=UPSERT)

    assert [(p.field, p.severity) for p in found] == [("Meeting_Type__c", Severity.WARNING)]
    assert "Demo, Consultation, Support" in found[0].fix


def test_answer_longer_than_the_field_is_refused_unless_truncation_accepted(lead_org):
    too_long = question("Title", "title", max_length=200)
    accepted = question("Title", "title", max_length=200, accept_truncation=True)

    found = mapping_problems(lead_org, [*good_mappings(), too_long], write_mode=UPSERT)

    assert [(p.field, p.code, p.severity) for p in found] == [
        ("Title", Code.STRING_TOO_LONG, Severity.ERROR)
    ]
    assert "128" in found[0].message and "200" in found[0].message
    assert mapping_problems(lead_org, [*good_mappings(), accepted], write_mode=UPSERT) == []


def test_answer_without_maximum_length_is_a_warning(lead_org):
    found = mapping_problems(
        lead_org, [*good_mappings(), question("Title", "t")], write_mode=UPSERT
    )

    assert [(p.field, p.code, p.severity) for p in found] == [
        ("Title", Code.STRING_TOO_LONG, Severity.WARNING)
    ]


def test_long_choice_into_short_text_field_is_refused(lead_org):
    spec = question(
        "City",
        "city",
        "choice",
        choices=["Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch"],
    )

    assert problems_of(lead_org, [*good_mappings(), spec]) == [("City", Code.STRING_TOO_LONG)]


def test_booking_fact_longer_than_the_field_is_only_a_warning(lead_org):
    # A guest email may be 254 characters; Lead.Email holds 80. Staff cannot shorten it.
    mappings = [m for m in good_mappings() if m.sf_field != "Email"] + [
        fact("Email", "guest_email")
    ]

    found = mapping_problems(lead_org, mappings, write_mode=UPSERT)

    assert [(p.field, p.code, p.severity) for p in found] == [
        ("Email", Code.STRING_TOO_LONG, Severity.WARNING)
    ]


@pytest.mark.parametrize(
    ("sf_field", "value", "code"),
    [
        ("Meeting_Type__c", "Webinar", Code.INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST),
        ("NumberOfEmployees", "many", Code.INVALID_TYPE_ON_FIELD_IN_RECORD),
        ("Email", "not-an-email", Code.INVALID_EMAIL_ADDRESS),
        ("City", "x" * 41, Code.STRING_TOO_LONG),
        ("IsUnreadByOwner", "maybe", Code.INVALID_TYPE_ON_FIELD_IN_RECORD),
    ],
)
def test_constant_is_checked_like_a_sent_value(lead_org, sf_field, value, code):
    mappings = [m for m in good_mappings() if m.sf_field != sf_field]

    assert problems_of(lead_org, [*mappings, constant(sf_field, value)]) == [(sf_field, code)]


@pytest.mark.parametrize(
    ("sf_field", "value"),
    [("Meeting_Type__c", "Demo"), ("NumberOfEmployees", "12"), ("IsUnreadByOwner", "yes")],
)
def test_valid_constant_passes(lead_org, sf_field, value):
    mappings = [m for m in good_mappings() if m.sf_field != sf_field]

    assert problems_of(lead_org, [*mappings, constant(sf_field, value)]) == []


def test_url_param_mapping_with_another_key_is_refused(lead_org):
    mappings = [m for m in good_mappings() if m.sf_field != "LeadSource"]

    found = mapping_problems(
        lead_org, [*mappings, url_param("LeadSource", "leadsource")], write_mode=UPSERT
    )

    assert [(p.field, p.code) for p in found] == [("LeadSource", Code.URL_PARAM_KEY_MISMATCH)]
    assert "?LeadSource=" in found[0].fix
    assert problems_of(lead_org, [*mappings, url_param("LeadSource", "LeadSource")]) == []


def test_field_mapped_twice_is_refused(lead_org):
    found = problems_of(lead_org, [*good_mappings(), constant("Rating", "Hot")])

    assert found == [("Rating", Code.DUPLICATE_MAPPING)]


@pytest.mark.parametrize(
    "spec",
    [
        fact("Title", "guest_age"),
        question("Title", "", max_length=9),
        question("Title", "t", "colour"),
    ],
)
def test_unknown_source_is_refused(lead_org, spec):
    assert ("Title", Code.UNKNOWN_SOURCE) in problems_of(lead_org, [*good_mappings(), spec])


# -- schema drift (daily re-check) ------------------------------------------------------------


def drift_of(describe, **kw):
    found = mapping_drift(describe, good_mappings(), write_mode=kw.pop("write_mode", UPSERT), **kw)
    return [(p.field, p.code) for p in found]


def test_no_drift_against_an_unchanged_schema(lead_org):
    previous = describe_load("Lead", overlay=True)

    assert drift_of(lead_org) == []
    assert drift_of(lead_org, previous=previous) == []


def test_drift_reports_a_deleted_field(lead_org):
    lead_org["fields"].remove(raw_field(lead_org, "Meeting_Type__c"))

    assert drift_of(lead_org) == [("Meeting_Type__c", Code.INVALID_FIELD)]


def test_drift_reports_a_field_no_longer_createable(lead_org, edit_field):
    edit_field(lead_org, "Phone", createable=False)

    assert drift_of(lead_org) == [("Phone", Code.INVALID_FIELD_FOR_INSERT_UPDATE)]


def test_drift_reports_a_field_no_longer_updateable_only_when_upserting(lead_org, edit_field):
    edit_field(lead_org, "Phone", updateable=False)

    assert drift_of(lead_org) == [("Phone", Code.INVALID_FIELD_FOR_INSERT_UPDATE)]
    assert drift_of(lead_org, write_mode=WriteMode.INSERT) == []


def test_drift_reports_a_removed_picklist_value(lead_org):
    values = raw_field(lead_org, "Meeting_Type__c")["picklistValues"]
    values[:] = [v for v in values if v["value"] != "Consultation"]

    found = mapping_drift(lead_org, good_mappings(), write_mode=UPSERT)

    assert [(p.field, p.code) for p in found] == [
        ("Meeting_Type__c", Code.INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST)
    ]
    assert "Consultation" in found[0].message


def test_drift_reports_a_field_that_became_required_and_is_unmapped(lead_org, edit_field):
    edit_field(lead_org, "Title", nillable=False)

    assert drift_of(lead_org) == [("Title", Code.REQUIRED_FIELD_MISSING)]


def test_drift_reports_a_required_field_fed_by_an_optional_question(lead_org, edit_field):
    edit_field(lead_org, "Phone", nillable=False)

    assert drift_of(lead_org) == [("Phone", Code.REQUIRED_FIELD_MAY_BE_BLANK)]


def test_drift_reports_a_shortened_field(lead_org, edit_field):
    edit_field(lead_org, "Phone", length=20)

    assert drift_of(lead_org) == [("Phone", Code.STRING_TOO_LONG)]


def test_drift_with_previous_schema_reports_only_new_problems(lead_org, edit_field):
    edit_field(lead_org, "Title", nillable=False)
    previous = describe_load("Lead", overlay=True)
    raw_field(previous, "Title")["nillable"] = False
    # Problems the old schema already had are not drift; the new one is.
    edit_field(lead_org, "Phone", createable=False)

    assert drift_of(lead_org, previous=previous) == [
        ("Phone", Code.INVALID_FIELD_FOR_INSERT_UPDATE)
    ]


def test_drift_ignores_problems_that_are_not_about_the_schema(lead_org):
    mappings = [*good_mappings(), constant("Rating", "Hot")]

    assert mapping_drift(lead_org, mappings, write_mode=UPSERT) == []


def test_every_problem_names_its_field_and_a_fix(lead_org):
    mappings = [
        question("Company", "company"),
        question("Title", "t", max_length=500),
        question("Meeting_Type__c", "m", "choice", choices=["Nope"]),
        url_param("LeadSource", "source"),
        constant("Name", "x"),
    ]

    found = mapping_problems(lead_org, mappings, write_mode=UPSERT)

    assert {p.code for p in found} == {
        Code.STRING_TOO_LONG,
        Code.INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST,
        Code.URL_PARAM_KEY_MISMATCH,
        Code.INVALID_FIELD_FOR_INSERT_UPDATE,
        Code.REQUIRED_FIELD_MAY_BE_BLANK,
        Code.REQUIRED_FIELD_MISSING,
    }
    for problem in found:
        assert problem.field in problem.message or field(lead_org, problem.field) is None
        assert problem.fix


def test_constant_outside_an_unrestricted_picklist_is_a_warning_naming_the_values(lead_org):
    """Salesforce takes "Webb" in the unrestricted LeadSource, but it splits reports."""
    others = [m for m in good_mappings() if m.sf_field != "LeadSource"]
    typo = mapping_problems(lead_org, [*others, constant("LeadSource", "Webb")], write_mode=UPSERT)
    listed = mapping_problems(lead_org, [*others, constant("LeadSource", "Web")], write_mode=UPSERT)

    assert [(p.field, p.code, p.severity) for p in typo] == [
        ("LeadSource", Code.PICKLIST_VALUE_UNKNOWN, Severity.WARNING)
    ]
    assert "Web" in typo[0].fix
    assert listed == []


def test_indexed_describe_answers_like_the_plain_one_and_parses_each_field_once(lead, monkeypatch):
    from integrations.salesforce import schema

    indexed = schema.describe_indexed(lead)
    assert schema.fields_by_name(indexed) == schema.fields_by_name(lead)
    assert schema.fields(indexed) == schema.fields(lead)
    assert schema.field(indexed, "Email") == schema.field(lead, "Email")
    assert schema.field(indexed, "Nope") is None
    assert schema.describe_indexed(indexed) is indexed

    parsed = []
    real = schema.field_facts
    monkeypatch.setattr(schema, "field_facts", lambda raw: parsed.append(raw) or real(raw))
    fresh = schema.describe_indexed(dict(lead))
    for _ in range(3):
        schema.fields_by_name(fresh)
        schema.field(fresh, "Email")
    assert len(parsed) == len(lead["fields"])
