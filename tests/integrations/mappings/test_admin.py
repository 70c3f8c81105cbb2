"""The mapping admin: the field picker (rule 6), the save-time checks (rule 5, lengths,
picklists, types), the one-click fix, and tenant isolation. Salesforce is never called:
the describe is the emulator org's Lead, cached (SObjectSchema)."""

import copy

import pytest
from django.urls import reverse

from bookings.models import Question
from integrations.connection import tokens
from integrations.models import SyncTarget
from integrations.salesforce import schema as sf_schema
from tests.factories import (
    BookingPageFactory,
    FieldMappingFactory,
    QuestionFactory,
    SalesforceConnectionFactory,
    SObjectSchemaFactory,
    SyncTargetFactory,
)

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:integrations_synctarget_add")
KEY = "LeadSync_Booking_Id__c"
# A mapping set that passes every rule against the emulator org's Lead.
GOOD_ROWS = [
    {"sf_field": "LastName", "source_kind": "booking", "source_key": "guest_last_name"},
    {"sf_field": "Company", "source_kind": "question", "source_key": "company"},
    {"sf_field": "Region__c", "source_kind": "constant", "constant_value": "EMEA"},
]


def change_url(target) -> str:
    return reverse("admin:integrations_synctarget_change", args=[target.pk])


def require_url(question) -> str:
    return reverse("admin:integrations_synctarget_question_require", args=[question.pk])


@pytest.fixture(autouse=True)
def no_salesforce(monkeypatch):
    """Rendering and saving with a cached describe must not call Salesforce."""

    def refuse(connection):
        raise AssertionError("the mapping admin called Salesforce")

    monkeypatch.setattr(tokens, "client_for", refuse)


@pytest.fixture
def lead_schema(tenant_a):
    connection = SalesforceConnectionFactory(tenant=tenant_a)
    return SObjectSchemaFactory(connection=connection, sobject="Lead")


@pytest.fixture
def page_a(tenant_a, lead_schema):
    page = BookingPageFactory(tenant=tenant_a, slug="intro", title="Intro call")
    QuestionFactory(page=page, key="company", label="Company", required=True, max_length=120)
    QuestionFactory(page=page, key="region", label="Region", max_length=40)
    QuestionFactory(
        page=page,
        key="meeting_type",
        label="Meeting type",
        kind=Question.Kind.CHOICE,
        choices=["Demo", "Consultation", "Support"],
        required=True,
    )
    QuestionFactory(page=page, key="seats", label="Seats", kind=Question.Kind.NUMBER)
    QuestionFactory(page=page, key="phone", label="Phone", kind=Question.Kind.PHONE)
    return page


def target_data(page, rows, *, write_mode="upsert", key_field=KEY, sobject="Lead", **extra):
    """The admin's POST body for a new target of `page` with mapping `rows`."""
    data = {
        "page": page.pk,
        "sobject": sobject,
        "enabled": "on",
        "write_mode": write_mode,
        "key_field": key_field,
        "mappings-TOTAL_FORMS": len(rows),
        "mappings-INITIAL_FORMS": 0,
        "mappings-MIN_NUM_FORMS": 0,
        "mappings-MAX_NUM_FORMS": 1000,
        "write_back_fields-TOTAL_FORMS": 0,
        "write_back_fields-INITIAL_FORMS": 0,
        **extra,
    }
    for index, row in enumerate(rows):
        full = {"source_key": "", "constant_value": "", **row}
        for name, value in full.items():
            data[f"mappings-{index}-{name}"] = value
    return data


def change_data(target, **changes):
    """The admin's POST body that saves `target` and its mappings as they are (+ changes)."""
    mappings = list(target.mappings.order_by("pk"))
    rows = [
        {
            "id": m.pk,
            "target": target.pk,
            "sf_field": m.sf_field,
            "source_kind": m.source_kind,
            "source_key": m.source_key,
            "constant_value": m.constant_value,
            **({"accept_truncation": "on"} if m.accept_truncation else {}),
        }
        for m in mappings
    ]
    data = target_data(
        target.page, rows, write_mode=target.write_mode, key_field=target.key_field,
        sobject=target.sobject,
    )  # fmt: skip
    data["mappings-INITIAL_FORMS"] = len(rows)
    data.update(changes)
    return data


def refused_messages(response) -> str:
    """Every error the admin shows for a refused save, as one string."""
    assert response.status_code == 200, "the save was not refused"
    texts = [str(e) for e in response.context["errors"]]
    for formset in response.context["inline_admin_formsets"]:
        texts += [str(e) for e in formset.formset.non_form_errors()]
    return " ".join(texts)


def sf_field_choices(response) -> list[str]:
    formset = response.context["inline_admin_formsets"][0].formset
    return [value for value, _ in formset.empty_form.fields["sf_field"].choices if value]


# -- rule 6: the picker ----------------------------------------------------------------------


def test_field_picker_offers_exactly_the_insertable_fields(
    page_a, lead_schema, admin_a, client_for
):
    response = client_for(admin_a).get(ADD_URL, {"page": page_a.pk})
    assert response.status_code == 200
    offered = sf_field_choices(response)
    insertable = sf_schema.insertable_fields(lead_schema.describe, updating=True)
    assert offered == [f.name for f in insertable]
    assert {"LastName", "Company", "Region__c", "Meeting_Type__c", "LeadSource"} <= set(offered)
    never = {"Id", "Name", "IsConverted", "IsDeleted", "CreatedDate", "LastModifiedDate",
             "SystemModstamp", "Address", "ConvertedDate", "MasterRecordId"}  # fmt: skip
    assert not never & set(offered)
    page = response.content.decode()
    assert "Last Name (LastName) · string(80) · required" in page


def test_field_picker_drops_create_only_fields_when_the_target_upserts(
    page_a, lead_schema, admin_a, client_for
):
    describe = copy.deepcopy(lead_schema.describe)
    next(f for f in describe["fields"] if f["name"] == "Title")["updateable"] = False
    lead_schema.describe = describe
    lead_schema.save()
    upsert = SyncTargetFactory(page=page_a, write_mode=SyncTarget.WriteMode.UPSERT)
    client = client_for(admin_a)
    assert "Title" not in sf_field_choices(client.get(change_url(upsert)))
    upsert.write_mode = SyncTarget.WriteMode.INSERT
    upsert.save()
    assert "Title" in sf_field_choices(client.get(change_url(upsert)))


def test_key_field_offers_only_external_id_fields(page_a, admin_a, client_for):
    response = client_for(admin_a).get(ADD_URL, {"page": page_a.pk})
    choices = [v for v, _ in response.context["adminform"].form.fields["key_field"].choices]
    assert choices == ["", KEY]


def test_a_field_outside_the_picker_is_refused(page_a, admin_a, client_for):
    rows = [*GOOD_ROWS, {"sf_field": "Name", "source_kind": "constant", "constant_value": "X"}]
    response = client_for(admin_a).post(ADD_URL, target_data(page_a, rows))
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert "Name is not a field the connected user may write" in str(formset.errors)
    assert not SyncTarget.objects.exists()


def test_page_without_cached_fields_offers_refresh_instead_of_calling_salesforce(
    tenant_a, admin_a, client_for
):
    SalesforceConnectionFactory(tenant=tenant_a)
    page = BookingPageFactory(tenant=tenant_a)
    response = client_for(admin_a).get(ADD_URL, {"page": page.pk})
    assert sf_field_choices(response) == []
    body = response.content.decode()
    assert "not loaded yet: press Refresh fields" in body
    assert 'id="refresh-fields"' in body


# -- saving: rule 5 and the other checks --------------------------------------------------------


def test_valid_mappings_are_saved(page_a, admin_a, client_for):
    response = client_for(admin_a).post(ADD_URL, target_data(page_a, GOOD_ROWS))
    assert response.status_code == 302, refused_messages(response)
    target = SyncTarget.objects.get(page=page_a)
    assert (target.sobject, target.write_mode, target.key_field) == ("Lead", "upsert", KEY)
    saved = {
        m.sf_field: (m.source_kind, m.source_key, m.constant_value) for m in target.mappings.all()
    }
    assert saved == {
        "LastName": ("booking", "guest_last_name", ""),
        "Company": ("question", "company", ""),
        "Region__c": ("constant", "", "EMEA"),
    }
    assert target.checked_at is not None and target.problems == []


@pytest.mark.parametrize(
    ("rows", "field", "expected"),
    [
        (GOOD_ROWS[1:], "LastName", "Last Name (LastName) is required to create a Lead, and no "
         "mapping feeds it."),
        ([GOOD_ROWS[0], GOOD_ROWS[2], {"sf_field": "Company", "source_kind": "question",
          "source_key": "region"}], "Company", 'question "region" may be blank'),
        ([*GOOD_ROWS[:2], {"sf_field": "Region__c", "source_kind": "url_param"}], "Region__c",
         'URL parameter "Region__c" may be blank'),
        ([GOOD_ROWS[1], GOOD_ROWS[2], {"sf_field": "LastName", "source_kind": "booking",
          "source_key": "guest_first_name"}], "LastName", 'booking fact "guest_first_name" may'),
    ],
    ids=["unmapped", "optional-question", "url-parameter", "blankable-fact"],
)  # fmt: skip
def test_required_salesforce_field_needs_a_never_blank_source(
    page_a, admin_a, client_for, rows, field, expected
):
    response = client_for(admin_a).post(ADD_URL, target_data(page_a, rows))
    errors = refused_messages(response)
    assert expected in errors
    assert field in errors and "Fix:" in errors
    assert not SyncTarget.objects.exists()


def test_required_field_fed_by_an_optional_question_offers_one_click_fix(
    page_a, admin_a, client_for
):
    region = page_a.questions.get(key="region")
    rows = [
        *GOOD_ROWS[:2],
        {"sf_field": "Region__c", "source_kind": "question", "source_key": "region"},
    ]
    client = client_for(admin_a)
    response = client.post(ADD_URL, target_data(page_a, rows))
    assert "Region__c" in refused_messages(response)
    assert f'formaction="{require_url(region)}?next=' in response.content.decode()

    fixed = client.post(require_url(region), {"next": ADD_URL})
    assert fixed.status_code == 302 and fixed["Location"] == ADD_URL
    region.refresh_from_db()
    assert region.required
    assert client.post(ADD_URL, target_data(page_a, rows)).status_code == 302
    assert SyncTarget.objects.get().mappings.filter(sf_field="Region__c").exists()


def test_one_click_fix_is_refused_across_tenants(page_a, admin_b, client_for):
    region = page_a.questions.get(key="region")
    client = client_for(admin_b)
    assert client.post(require_url(region)).status_code == 404
    region.refresh_from_db()
    assert not region.required


def test_one_click_fix_needs_post(page_a, admin_a, client_for):
    region = page_a.questions.get(key="region")
    assert client_for(admin_a).get(require_url(region)).status_code == 405
    region.refresh_from_db()
    assert not region.required


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"sf_field": "Meeting_Type__c", "source_kind": "constant", "constant_value": "Webinar"},
         "bad value for restricted picklist field: Webinar"),
        ({"sf_field": "Meeting_Type__c", "source_kind": "question", "source_key": "region"},
         "is a restricted picklist"),
        ({"sf_field": "Email", "source_kind": "question", "source_key": "seats"},
         "Email (Email) is a email field"),
        ({"sf_field": "Region__c", "source_kind": "question", "source_key": "company"},
         "Region (Region__c) holds 40 characters; question \"company\" may give 120."),
    ],
    ids=["constant-not-an-active-value", "free-text-to-restricted", "type", "length"],
)  # fmt: skip
def test_constraint_errors_block_the_save(page_a, admin_a, client_for, row, expected):
    rows = [r for r in GOOD_ROWS if r["sf_field"] != row["sf_field"]] + [row]
    response = client_for(admin_a).post(ADD_URL, target_data(page_a, rows))
    assert expected in refused_messages(response)
    assert not SyncTarget.objects.exists()


def test_choice_question_needs_every_choice_in_a_restricted_picklist(page_a, admin_a, client_for):
    page_a.questions.filter(key="meeting_type").update(choices=["Demo", "Webinar"])
    row = {"sf_field": "Meeting_Type__c", "source_kind": "question", "source_key": "meeting_type"}
    response = client_for(admin_a).post(ADD_URL, target_data(page_a, [*GOOD_ROWS, row]))
    assert "no active value for choice(s) Webinar" in refused_messages(response)


def test_accepting_truncation_lets_a_longer_question_through(page_a, admin_a, client_for):
    row = {"sf_field": "Region__c", "source_kind": "question", "source_key": "company",
           "accept_truncation": "on"}  # fmt: skip
    response = client_for(admin_a).post(ADD_URL, target_data(page_a, [*GOOD_ROWS[:2], row]))
    assert response.status_code == 302, refused_messages(response)
    assert SyncTarget.objects.get().mappings.get(sf_field="Region__c").accept_truncation


def test_picklist_constant_with_an_active_value_is_saved(page_a, admin_a, client_for):
    row = {"sf_field": "Meeting_Type__c", "source_kind": "constant", "constant_value": "Demo"}
    response = client_for(admin_a).post(ADD_URL, target_data(page_a, [*GOOD_ROWS, row]))
    assert response.status_code == 302, refused_messages(response)


def test_picklist_values_reach_the_page_for_the_constant_picker(page_a, admin_a, client_for):
    response = client_for(admin_a).get(ADD_URL, {"page": page_a.pk})
    body = response.content.decode()
    assert '<script id="sf-picklists" type="application/json">' in body
    assert '"Meeting_Type__c": ["Demo", "Consultation", "Support"]' in body


def test_warnings_are_shown_but_do_not_block(page_a, admin_a, client_for):
    row = {"sf_field": "LeadSource", "source_kind": "url_param"}
    phone = {"sf_field": "Phone", "source_kind": "question", "source_key": "phone"}
    response = client_for(admin_a).post(
        ADD_URL, target_data(page_a, [*GOOD_ROWS, row, phone]), follow=True
    )
    assert response.redirect_chain, refused_messages(response)
    shown = [str(m) for m in response.context["messages"]]
    assert any("Last Name (LastName) holds 80 characters" in m for m in shown), shown
    # A phone answer is E.164, at most 16 characters: it fits Phone(40), no warning.
    assert not any("Phone (Phone)" in m for m in shown), shown
    assert SyncTarget.objects.get().mappings.count() == 5


@pytest.mark.parametrize("write_mode", ["upsert", "insert"])
def test_every_write_mode_needs_the_booking_id_field(page_a, admin_a, client_for, write_mode):
    """Upsert keys on it; create mode looks a record up by it before creating again after
    an unclear failure, so that a retry or resend never creates a second record."""
    client = client_for(admin_a)
    response = client.post(
        ADD_URL, target_data(page_a, GOOD_ROWS, key_field="", write_mode=write_mode)
    )
    assert "external-ID field that receives the booking id" in refused_messages(response)
    response = client.post(
        ADD_URL, target_data(page_a, GOOD_ROWS, key_field="Email", write_mode=write_mode)
    )
    assert "Select a valid choice" in refused_messages(response)
    response = client.post(ADD_URL, target_data(page_a, GOOD_ROWS, write_mode=write_mode))
    assert response.status_code == 302, refused_messages(response)


def test_url_parameter_mapping_ignores_any_other_key(page_a, admin_a, client_for):
    row = {"sf_field": "LeadSource", "source_kind": "url_param", "source_key": "company"}
    response = client_for(admin_a).post(ADD_URL, target_data(page_a, [*GOOD_ROWS, row]))
    assert response.status_code == 302, refused_messages(response)
    assert SyncTarget.objects.get().mappings.get(sf_field="LeadSource").source_key == ""


def test_saving_clears_flags_the_save_fixed(page_a, admin_a, client_for):
    target = SyncTargetFactory(page=page_a, problems=[
        {"field": "Phone", "code": "INVALID_FIELD", "message": "gone", "fix": "x",
         "severity": "error"}])  # fmt: skip
    for row in GOOD_ROWS:
        FieldMappingFactory(target=target, **row)
    response = client_for(admin_a).post(change_url(target), change_data(target))
    assert response.status_code == 302, refused_messages(response)
    target.refresh_from_db()
    assert target.problems == []


# -- tenants -----------------------------------------------------------------------------------


def test_staff_cannot_map_another_tenants_questions(page_a, tenant_b, admin_b, client_for):
    SObjectSchemaFactory(connection=SalesforceConnectionFactory(tenant=tenant_b))
    page_b = BookingPageFactory(tenant=tenant_b)
    QuestionFactory(page=page_b, key="firm", required=True)
    client = client_for(admin_b)
    response = client.get(ADD_URL, {"page": page_b.pk})
    formset = response.context["inline_admin_formsets"][0].formset
    offered = str(formset.empty_form.fields["source_key"].choices)
    assert "firm" in offered and "company" not in offered and "region" not in offered

    rows = [GOOD_ROWS[0], GOOD_ROWS[2], {"sf_field": "Company", "source_kind": "question",
                                         "source_key": "company"}]  # fmt: skip
    response = client.post(ADD_URL, target_data(page_b, rows))
    assert "Choose a question of this booking page." in str(
        response.context["inline_admin_formsets"][0].formset.errors
    )
    response = client.post(ADD_URL, target_data(page_a, GOOD_ROWS))
    assert "Select a valid choice" in str(response.context["adminform"].form.errors["page"])
    assert not SyncTarget.objects.exists()


def test_staff_of_another_tenant_get_no_field_names_from_anothers_schema(
    page_a, admin_b, client_for
):
    response = client_for(admin_b).get(ADD_URL, {"page": page_a.pk})
    assert sf_field_choices(response) == []
    assert "Region__c" not in response.content.decode()


def test_booking_page_links_to_its_mapping(page_a, admin_a, client_for):
    client = client_for(admin_a)
    page_url = reverse("admin:bookings_bookingpage_change", args=[page_a.pk])
    link = reverse("admin:integrations_synctarget_for_page", args=[page_a.pk])
    assert f'href="{link}"' in client.get(page_url).content.decode()
    assert client.get(link)["Location"] == f"{ADD_URL}?page={page_a.pk}"
    target = SyncTargetFactory(page=page_a)
    assert client.get(link)["Location"] == change_url(target)


def test_booking_page_link_is_refused_across_tenants(page_a, admin_b, client_for):
    link = reverse("admin:integrations_synctarget_for_page", args=[page_a.pk])
    assert client_for(admin_b).get(link).status_code == 403


def test_booking_page_with_several_targets_links_to_its_filtered_list(
    page_a, tenant_a, admin_a, client_for
):
    lead = SyncTargetFactory(page=page_a)
    contact = SyncTargetFactory(page=page_a, sobject="Contact")
    other = SyncTargetFactory(page=BookingPageFactory(tenant=tenant_a))
    client = client_for(admin_a)
    link = reverse("admin:integrations_synctarget_for_page", args=[page_a.pk])
    listing = client.get(client.get(link)["Location"])
    assert listing.status_code == 200
    shown = {t.pk for t in listing.context["cl"].result_list}
    assert shown == {lead.pk, contact.pk} and other.pk not in shown


def test_target_list_filters_targets_the_schema_check_broke(page_a, tenant_a, admin_a, client_for):
    broken = SyncTargetFactory(page=page_a, checked_at="2030-01-01T00:00:00Z", problems=[
        {"field": "Region__c", "code": "INVALID_FIELD", "message": "gone", "fix": "remap",
         "severity": "error"}])  # fmt: skip
    fine = SyncTargetFactory(page=BookingPageFactory(tenant=tenant_a))
    client = client_for(admin_a)
    listing = client.get(
        reverse("admin:integrations_synctarget_changelist"), {"problems": "errors"}
    )
    assert [t.pk for t in listing.context["cl"].result_list] == [broken.pk]
    assert "1 error<" in listing.content.decode()  # "1 error", never "1 error(s)"
    listing = client.get(reverse("admin:integrations_synctarget_changelist"), {"problems": "ok"})
    assert [t.pk for t in listing.context["cl"].result_list] == [fine.pk]


def test_the_booking_id_field_cannot_also_be_mapped(page_a, admin_a, client_for):
    row = {"sf_field": KEY, "source_kind": "constant", "constant_value": "overwritten"}

    response = client_for(admin_a).post(ADD_URL, target_data(page_a, [*GOOD_ROWS, row]))

    assert f"{KEY} receives the booking id" in refused_messages(response)
    assert not SyncTarget.objects.exists()
