"""Failure alerts that do not spam (time driven by `now=`), recipients and on/off per
tenant, and retention of sent deliveries."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from bookings.models import Membership
from integrations.dashboard import alerts
from integrations.dashboard import services as resend
from integrations.models import AlertSettings, AlertState, Delivery, SalesforceConnection
from tests.factories import (
    AlertSettingsFactory,
    BookingPageFactory,
    DeliveryAttemptFactory,
    FieldMappingFactory,
    MembershipFactory,
    QuestionFactory,
    SalesforceConnectionFactory,
    SyncTargetFactory,
    failed_deliveries,
)

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2031, 5, 4, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def page_a(tenant_a, admin_a, settings):
    settings.SITE_URL = "https://leadsync.example.com"
    settings.ALERT_DIGEST_MINUTES = 60
    SalesforceConnectionFactory(tenant=tenant_a)
    page = BookingPageFactory(tenant=tenant_a, title="Intro call")
    QuestionFactory(page=page, key="company", label="Your company")
    target = SyncTargetFactory(page=page)
    FieldMappingFactory(
        target=target, sf_field="Company", source_kind="question", source_key="company"
    )
    return page


def fail(page, count: int = 1, **kwargs):
    return failed_deliveries(page, count, **kwargs)


def run_every_five_minutes(start, end):
    """Beat's schedule: alerts_send every 5 minutes from `start` up to `end` (exclusive)."""
    now = start
    while now < end:
        alerts.alerts_send(now=now)
        now += dt.timedelta(minutes=5)


def test_50_failures_within_an_hour_send_one_alert_and_one_digest(page_a, admin_a):
    fail(page_a)  # the first failure
    alerts.alerts_send(now=T0)
    assert len(mail.outbox) == 1
    first = mail.outbox[0]
    assert first.to == [admin_a.email]
    assert first.subject == "[LeadSync] Acme: bookings are failing to reach Salesforce"
    assert "Make the question “Your company” required" in first.body

    for minute in range(5, 60, 5):  # 49 more, spread over the hour, beat running throughout
        fail(page_a, 5 if minute <= 25 else 4)
        alerts.alerts_send(now=T0 + dt.timedelta(minutes=minute))
        alerts.alerts_send(now=T0 + dt.timedelta(minutes=minute))  # twice: no duplicate
    assert len(mail.outbox) == 1
    assert Delivery.objects.count() == 50

    run_every_five_minutes(T0 + dt.timedelta(minutes=60), T0 + dt.timedelta(hours=3))

    assert len(mail.outbox) == 2
    digest = mail.outbox[1]
    assert digest.subject == "[LeadSync] Acme: 49 more bookings failed to reach Salesforce"
    assert "49 failed with REQUIRED_FIELD_MISSING (Company)" in digest.body
    link = "https://leadsync.example.com/admin/integrations/delivery/summary/?tenant="
    assert link in digest.body
    html, mime = digest.alternatives[0]
    assert mime == "text/html" and "Your company" in html


def test_failures_continuing_get_at_most_one_digest_per_hour(page_a):
    fail(page_a)
    alerts.alerts_send(now=T0)
    for hour in range(1, 4):
        fail(page_a, 2)
        run_every_five_minutes(T0 + dt.timedelta(hours=hour), T0 + dt.timedelta(hours=hour + 1))
    assert [m.subject.split(": ", 1)[1] for m in mail.outbox] == [
        "bookings are failing to reach Salesforce",
        "2 more bookings failed to reach Salesforce",
        "2 more bookings failed to reach Salesforce",
        "2 more bookings failed to reach Salesforce",
    ]


def test_after_a_quiet_hour_the_next_failure_alerts_at_once(page_a):
    fail(page_a)
    alerts.alerts_send(now=T0)
    run_every_five_minutes(T0, T0 + dt.timedelta(hours=2))  # nothing new
    assert len(mail.outbox) == 1
    assert AlertState.objects.get().failing_since is None

    fail(page_a, code="STRING_TOO_LONG")
    alerts.alerts_send(now=T0 + dt.timedelta(hours=2, minutes=1))
    assert len(mail.outbox) == 2
    assert "failing to reach Salesforce" in mail.outbox[1].subject
    assert "STRING_TOO_LONG" in mail.outbox[1].body


def test_retries_do_not_alert(page_a):
    [delivery] = fail(page_a)
    delivery.attempt_log.update(outcome="retry", error_code="UNABLE_TO_LOCK_ROW")
    alerts.alerts_send(now=T0)
    assert mail.outbox == []


def test_a_connection_needing_reconnect_alerts_once_per_episode(page_a, admin_a):
    connection = SalesforceConnection.objects.get(tenant=page_a.tenant)
    Connection = SalesforceConnection.Status

    def set_status(status):
        SalesforceConnection.objects.filter(pk=connection.pk).update(
            status=status,
            last_error_code="OAUTH_APP_BLOCKED",
            last_error_message="this app is blocked by admin",
        )

    set_status(Connection.NEEDS_RECONNECT)
    run_every_five_minutes(T0, T0 + dt.timedelta(hours=3))
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert mail.outbox[0].subject == "[LeadSync] Acme: reconnect Salesforce — bookings are on hold"
    assert "Your Salesforce admin has blocked the LeadSync app." in body
    connection_url = reverse("admin:integrations_salesforceconnection_change", args=[connection.pk])
    assert f"https://leadsync.example.com{connection_url}" in body

    set_status(Connection.CONNECTED)
    alerts.alerts_send(now=T0 + dt.timedelta(hours=3))
    set_status(Connection.NEEDS_RECONNECT)
    alerts.alerts_send(now=T0 + dt.timedelta(hours=3, minutes=5))
    assert len(mail.outbox) == 2


def test_recipients_default_to_the_tenants_admins(page_a, admin_a, member_a, tenant_b, admin_b):
    second_admin = MembershipFactory(tenant=page_a.tenant, role=Membership.Role.ADMIN).user
    assert alerts.alert_recipients(page_a.tenant) == sorted([admin_a.email, second_admin.email])

    AlertSettingsFactory(tenant=page_a.tenant, recipients="ops@acme.test\nsales@acme.test")
    assert alerts.alert_recipients(page_a.tenant) == ["ops@acme.test", "sales@acme.test"]
    fail(page_a)
    alerts.alerts_send(now=T0)
    assert mail.outbox[0].to == ["ops@acme.test", "sales@acme.test"]


def test_alerts_switched_off_send_nothing_and_no_backlog_later(page_a):
    settings_row = AlertSettingsFactory(tenant=page_a.tenant, enabled=False)
    fail(page_a, 3)
    alerts.alerts_send(now=T0)
    assert mail.outbox == []

    AlertSettings.objects.filter(pk=settings_row.pk).update(enabled=True)
    alerts.alerts_send(now=T0 + dt.timedelta(hours=2))
    assert mail.outbox == []  # those were already accounted for
    fail(page_a)
    alerts.alerts_send(now=T0 + dt.timedelta(hours=2, minutes=5))
    assert len(mail.outbox) == 1


def test_tenant_admins_edit_alert_settings_members_only_look(
    tenant_a, admin_a, member_a, client_for
):
    row = AlertSettingsFactory(tenant=tenant_a)
    url = reverse("admin:integrations_alertsettings_change", args=[row.pk])
    data = {"enabled": "", "recipients": "ops@acme.test"}

    client_for(member_a).post(url, data)
    row.refresh_from_db()
    assert (row.enabled, row.recipients) == (True, "")

    client_for(admin_a).post(url, data)
    row.refresh_from_db()
    assert (row.enabled, row.recipients) == (False, "ops@acme.test")


def test_alert_settings_refuse_a_bad_address(tenant_a, admin_a, client_for):
    row = AlertSettingsFactory(tenant=tenant_a)
    url = reverse("admin:integrations_alertsettings_change", args=[row.pk])
    response = client_for(admin_a).post(url, {"enabled": "on", "recipients": "ops@acme.test x"})
    assert response.status_code == 200
    assert "“x” is not an email address." in response.content.decode()


# -- retention -----------------------------------------------------------------------------------


def test_prune_forgets_payloads_and_attempts_of_old_sent_deliveries_only(page_a, settings):
    settings.DELIVERY_RETENTION_DAYS = 30
    old_sent, recent_sent, old_failed = fail(page_a, 3)
    for delivery, sent_days_ago, status in [
        (old_sent, 31, Delivery.Status.SENT),
        (recent_sent, 29, Delivery.Status.SENT),
        (old_failed, None, Delivery.Status.FAILED),
    ]:
        sent_at = T0 - dt.timedelta(days=sent_days_ago) if sent_days_ago else None
        Delivery.objects.filter(pk=delivery.pk).update(
            status=status, sent_at=sent_at, payload={"Company": "Acme"}
        )
        DeliveryAttemptFactory(delivery=delivery, started_at=T0 - dt.timedelta(days=40))

    assert resend.deliveries_prune(now=T0) == 2

    kept = {d.pk: d for d in Delivery.objects.all()}
    assert kept[old_sent.pk].payload is None
    assert not kept[old_sent.pk].attempt_log.exists()
    for delivery in (recent_sent, old_failed):
        assert kept[delivery.pk].payload == {"Company": "Acme"}
        assert kept[delivery.pk].attempt_log.count() == 2
