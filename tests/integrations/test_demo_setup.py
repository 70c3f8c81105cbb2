import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from bookings.models import BookingPage, Membership, Question, Tenant
from integrations.connection import tokens
from integrations.mappings.records import target_mapping_specs
from integrations.models import FieldMapping, SalesforceUserLink, SObjectSchema, SyncTarget
from integrations.salesforce.mapping_rules import mapping_problems

pytestmark = pytest.mark.django_db


def counts():
    return (
        Tenant.objects.count(),
        get_user_model().objects.count(),
        Membership.objects.count(),
        BookingPage.objects.count(),
        Question.objects.count(),
        SyncTarget.objects.count(),
        FieldMapping.objects.count(),
        SObjectSchema.objects.count(),
        SalesforceUserLink.objects.count(),
    )


def test_demo_setup_is_idempotent(capsys):
    call_command("demo_setup")
    first = counts()
    call_command("demo_setup")
    # Schemas: Lead, Contact, Event (a person target with meetings); the host's link.
    assert counts() == first == (1, 1, 1, 1, 5, 1, 9, 3, 1)
    out = capsys.readouterr().out
    assert "Login:    demo" in out and "Password: leadsync-demo" in out


def test_demo_login_works(client):
    call_command("demo_setup")
    response = client.post("/accounts/login/", {"login": "demo", "password": "leadsync-demo"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_demo_page_is_bookable_on_weekdays_with_varied_questions(client):
    call_command("demo_setup")
    page = BookingPage.objects.get(tenant__slug="demo", slug="intro-call")
    hours = sorted((w.weekday, w.start.hour, w.end.hour) for w in page.windows.all())
    assert hours == [(day, *span) for day in range(5) for span in ((9, 12), (13, 17))]
    questions = {q.key: q for q in page.questions.all()}
    assert questions["company"].required and questions["company"].kind == "text"
    assert questions["meeting_type"].choices == ["Demo", "Consultation", "Support"]
    assert {"region", "phone"} <= set(questions)
    assert client.get("/demo/intro-call/").status_code == 200


def test_demo_page_posts_leads_by_upsert_with_mappings_that_pass_every_rule(monkeypatch):
    def refuse(connection):
        raise AssertionError("demo_setup must not call Salesforce (the emulator may be down)")

    monkeypatch.setattr(tokens, "client_for", refuse)
    call_command("demo_setup")
    target = SyncTarget.objects.get(page__tenant__slug="demo", page__slug="intro-call")
    assert target.enabled and target.sobject == "Lead"
    assert (target.write_mode, target.key_field) == ("upsert", "LeadSync_Booking_Id__c")
    sources = {m.sf_field: (m.source_kind, m.source_key) for m in target.mappings.all()}
    assert sources["Region__c"] == ("question", "region")
    assert sources["LeadSource"] == ("url_param", "")
    assert target.page.questions.get(key="region").required
    describe = SObjectSchema.objects.get(connection__tenant__slug="demo", sobject="Lead").describe
    problems = mapping_problems(
        describe, target_mapping_specs(target), write_mode=target.core_write_mode
    )
    assert [p for p in problems if p.is_error] == []
    assert target.problems == []


def test_demo_target_has_a_write_back_policy_the_admin_accepts(monkeypatch):
    from integrations.mappings.forms_write_back import WriteBackFieldForm
    from integrations.mappings.selectors import write_back_context

    monkeypatch.setattr(tokens, "client_for", lambda connection: None)
    call_command("demo_setup")
    target = SyncTarget.objects.get(page__tenant__slug="demo", page__slug="intro-call")
    assert (target.cancel_action, target.reschedule_action) == ("mark", "move")
    assert target.cancel_reason_field == "Cancel_Reason__c"
    context = write_back_context(page=target.page, sobject=target.sobject)
    rows = list(target.write_back_fields.all())
    assert {(r.change, r.applies_to) for r in rows} >= {
        ("cancelled", "event"),
        ("no_show", "event"),
    }
    for row in rows:
        data = {"change": row.change, "applies_to": row.applies_to, "sf_field": row.sf_field,
                "value": row.value}  # fmt: skip
        form = WriteBackFieldForm(data=data, instance=row, context=context)
        assert form.is_valid(), form.errors


def test_demo_setup_refuses_without_the_first_run_defaults(settings):
    from django.core.management.base import CommandError

    settings.DEVELOPMENT_DEFAULTS = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG=true"):
        call_command("demo_setup")
    assert not Tenant.objects.exists()
