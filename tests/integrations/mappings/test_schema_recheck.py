"""Salesforce changes are noticed by themselves: a delivery failing with a field-related
error re-reads that object's fields and re-checks every target using it (at most once per
few minutes per object); targets, the connection page and the dashboard show it at once."""

from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.delivery import services as delivery_services
from integrations.delivery.push import deliveries_push
from integrations.mappings import services as mappings
from integrations.mappings.tasks import schema_recheck
from integrations.models import Delivery
from tests.factories import BookingFactory, lead_page_with_target
from tests.fixtures_emulator import emulator_admin
from tests.integrations.conftest import emulator_state

pytestmark = pytest.mark.django_db


def describe_calls(server) -> int:
    return emulator_state(server)["api_calls"].get("describe", 0)


@pytest.fixture
def run_tasks_inline():
    """Enqueued tasks run at once in this process (the worker's part, without a broker)."""
    sent = []

    def send(name, *args, queue=None):
        sent.append((name, args))
        if name == delivery_services.SCHEMA_RECHECK_TASK:
            schema_recheck(*args)
        return True

    with mock.patch("leadsync.enqueue.task_send", side_effect=send):
        yield sent


@pytest.fixture
def push(django_capture_on_commit_callbacks):
    """The push, with what it enqueues on commit sent as the commit would."""

    def run(connection):
        with django_capture_on_commit_callbacks(execute=True):
            deliveries_push(connection_id=connection.pk)

    return run


def booked(page, n: int = 1):
    target = page.sync_targets.get()
    connection = target.page.tenant.salesforce_connection
    deliveries = []
    for i in range(n):
        booking = BookingFactory(page=page, answers={"company": f"Acme {i}"})
        deliveries.append(
            Delivery.objects.create(
                booking=booking,
                target=target,
                connection=connection,
                sobject="Lead",
                next_attempt_at=timezone.now(),
            )
        )
    return deliveries


def test_field_made_read_only_is_flagged_after_the_first_failed_delivery(
    sf_emulator, sf_connection, tenant_a, admin_a, client_for, run_tasks_inline, push
):
    page = lead_page_with_target(tenant=tenant_a)
    target = page.sync_targets.get()
    mappings.schema_refresh(connection=sf_connection, sobject="Lead")
    target.refresh_from_db()
    assert target.problems == []
    client = client_for(admin_a)
    connection_url = reverse(
        "admin:integrations_salesforceconnection_change", args=[sf_connection.pk]
    )
    assert "No mapping problems" in client.get(connection_url).content.decode()

    emulator_admin(
        sf_emulator, "POST", "schema",
        [{"object": "Lead", "field": "Company", "set": {"createable": False, "updateable": False}}],
    )  # fmt: skip
    # The cached describe is a minute old: old enough to re-read after a failure.
    sf_connection.schemas.update(
        fetched_at=sf_connection.schemas.get().fetched_at.replace(year=2020)
    )
    [delivery] = booked(page)
    push(sf_connection)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error_code) == (
        "failed", "INVALID_FIELD_FOR_INSERT_UPDATE",
    )  # fmt: skip
    assert [name for name, _ in run_tasks_inline].count("integrations.schema_recheck") == 1
    target.refresh_from_db()
    assert [(p["field"], p["code"]) for p in target.problems] == [
        ("Company", "INVALID_FIELD_FOR_INSERT_UPDATE")
    ]
    targets = client.get(reverse("admin:integrations_synctarget_changelist")).content.decode()
    assert "1 error" in targets and "Schema check OK" not in targets
    connection_page = client.get(connection_url).content.decode()
    assert "No mapping problems" not in connection_page
    assert "1 Salesforce target has mappings" in connection_page
    summary = client.get(reverse("admin:integrations_delivery_summary")).content.decode()
    changed = summary[summary.index('id="salesforce-changed"') : summary.index('id="other-causes"')]
    assert "Salesforce changed" in changed and "Company" in changed


def test_many_failures_on_one_object_re_read_it_once(
    sf_emulator, sf_connection, tenant_a, run_tasks_inline, push
):
    page = lead_page_with_target(tenant=tenant_a)
    mappings.schema_refresh(connection=sf_connection, sobject="Lead")
    sf_connection.schemas.update(
        fetched_at=sf_connection.schemas.get().fetched_at.replace(year=2020)
    )
    emulator_admin(
        sf_emulator, "POST", "schema",
        [{"object": "Lead", "field": "Company", "set": {"createable": False, "updateable": False}}],
    )  # fmt: skip
    before = describe_calls(sf_emulator)
    booked(page, 3)
    push(sf_connection)
    booked(page, 2)  # refused by the pre-send check now, or failing again: no new describe
    push(sf_connection)

    assert describe_calls(sf_emulator) - before == 1
    assert Delivery.objects.filter(status="failed").count() == 5


def test_a_recent_schema_is_not_re_read(sf_emulator, sf_connection, tenant_a):
    lead_page_with_target(tenant=tenant_a)
    mappings.schema_refresh(connection=sf_connection, sobject="Lead")
    before = describe_calls(sf_emulator)
    assert schema_recheck(sf_connection.pk, "Lead") is False
    assert describe_calls(sf_emulator) == before


def test_errors_that_are_not_about_fields_re_read_nothing(sf_connection, tenant_a):
    page = lead_page_with_target(tenant=tenant_a)
    [delivery] = booked(page)
    delivery.status = "failed"
    error = mock.Mock(code="DUPLICATES_DETECTED")
    with mock.patch("leadsync.enqueue.task_send") as send:
        assert (
            delivery_services.schema_recheck_after_failures(
                entries=[(delivery, mock.Mock(error=error), None)]
            )
            == []
        )
    send.assert_not_called()


def test_only_failures_the_schema_check_confirms_are_grouped_as_salesforce_changed(
    tenant_a, admin_a, client_for
):
    from tests.factories import failed_deliveries

    page = lead_page_with_target(tenant=tenant_a)
    target = page.sync_targets.get()
    failed_deliveries(page, 2, code="REQUIRED_FIELD_MISSING", fields=("Company",))
    summary = client_for(admin_a).get(reverse("admin:integrations_delivery_summary"))
    assert not summary.context["summary"].changed_causes  # a guest left it blank

    target.problems = [{"field": "Company", "code": "INVALID_FIELD_FOR_INSERT_UPDATE",
                        "message": "read-only", "fix": "", "severity": "error"}]  # fmt: skip
    target.save()
    summary = client_for(admin_a).get(reverse("admin:integrations_delivery_summary"))
    assert [c.fields for c in summary.context["summary"].changed_causes] == [["Company"]]
