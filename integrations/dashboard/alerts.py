"""Failure alerts that do not spam: tenant admins hear when a connection needs
reconnecting and when deliveries start failing, then at most one digest per
ALERT_DIGEST_MINUTES while failures continue.

What has been reported lives in AlertState (one row per tenant, locked while a tenant is
handled), so `alerts_send` may run as often as beat likes — or twice at once — without
repeating an email. Failures are failed DeliveryAttempt rows: every attempt leaves one.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from bookings.models import Membership, Tenant
from integrations.dashboard.selectors import attempt_causes, connection_problem
from integrations.models import (
    AlertSettings,
    AlertState,
    DeliveryAttempt,
    SalesforceConnection,
)
from integrations.models.alerts import split_recipients

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Email:
    kind: str  # "reconnect" | "failing" | "digest": the template's name
    subject: str
    context: dict


def alert_recipients(tenant: Tenant, alert_settings: AlertSettings | None = None) -> list[str]:
    """Who gets a tenant's alerts: the configured addresses, or else the email of every
    active admin member of the tenant."""
    if alert_settings is None:
        alert_settings = AlertSettings.objects.filter(tenant=tenant).first()
    configured = split_recipients(alert_settings.recipients) if alert_settings else []
    if configured:
        return configured
    emails = Membership.objects.filter(
        tenant=tenant, role=Membership.Role.ADMIN, user__is_active=True
    ).values_list("user__email", flat=True)
    return sorted({e for e in emails if e})


def dashboard_url(tenant: Tenant) -> str:
    """The "Failed posts" page of one tenant, absolute (for emails)."""
    return f"{settings.SITE_URL}{reverse('admin:integrations_delivery_summary')}?tenant={tenant.pk}"


def alerts_send(*, now: dt.datetime | None = None) -> int:
    """Send the alerts due for every tenant with a Salesforce connection; returns how many
    emails were sent. Safe to run at any frequency: see the module docstring."""
    now = now or timezone.now()
    tenants = Tenant.objects.filter(salesforce_connection__isnull=False).order_by("pk")
    sent = 0
    for tenant in tenants:
        try:
            sent += tenant_alerts_send(tenant=tenant, now=now)
        except Exception:  # one tenant's mail trouble must not silence the others
            logger.exception("Failure alerts of tenant %s could not be sent", tenant.pk)
    return sent


def tenant_alerts_send(*, tenant: Tenant, now: dt.datetime | None = None) -> int:
    """Decide and send one tenant's alerts; returns how many emails went out.

    - needs_reconnect: one email per episode (until the connection is fixed).
    - new failed attempts while quiet: one "started failing" email at once.
    - new failed attempts while failing: one digest when ALERT_DIGEST_MINUTES have passed
      since the last email; the failures meanwhile wait for it.
    - no new failures for ALERT_DIGEST_MINUTES: quiet again.
    The state is advanced in the same transaction as the sends (row-locked), also when
    alerts are off or nobody would receive them, so turning them on sends no backlog.
    """
    now = now or timezone.now()
    interval = dt.timedelta(minutes=settings.ALERT_DIGEST_MINUTES)
    _state_ensure(tenant)
    with transaction.atomic():
        state = AlertState.objects.select_for_update().get(tenant=tenant)
        emails = _reconnect_email(tenant, state, now) + _failure_emails(
            tenant, state, now, interval
        )
        state.save()
        alert_settings = AlertSettings.objects.filter(tenant=tenant).first()
        if alert_settings is not None and not alert_settings.enabled:
            return 0
        recipients = alert_recipients(tenant, alert_settings)
        if not recipients:
            if emails:
                logger.warning("Tenant %s has alerts but nobody to send them to", tenant.pk)
            return 0
        for email in emails:
            _send(email, tenant, recipients)
    return len(emails)


def _state_ensure(tenant: Tenant) -> None:
    if AlertState.objects.filter(tenant=tenant).exists():
        return
    try:
        with transaction.atomic():
            AlertState.objects.create(tenant=tenant)
    except IntegrityError:
        pass  # created meanwhile by a concurrent run


def _reconnect_email(tenant: Tenant, state: AlertState, now: dt.datetime) -> list[Email]:
    connection = SalesforceConnection.objects.filter(tenant=tenant).first()
    needs = (
        connection is not None and connection.status == SalesforceConnection.Status.NEEDS_RECONNECT
    )
    if not needs:
        state.reconnect_alerted_at = None  # episode over; a new one alerts again
        return []
    if state.reconnect_alerted_at is not None:
        return []
    state.reconnect_alerted_at = now
    problem = connection_problem(connection)
    return [
        Email(
            "reconnect",
            f"{tenant.name}: reconnect Salesforce — bookings are on hold",
            {
                **problem,
                "held": connection.deliveries.filter(status="held").count(),
                "connection_url": settings.SITE_URL
                + reverse("admin:integrations_salesforceconnection_change", args=[connection.pk]),
            },
        )
    ]


def _failure_emails(
    tenant: Tenant, state: AlertState, now: dt.datetime, interval: dt.timedelta
) -> list[Email]:
    new = failed_attempts(tenant).filter(pk__gt=state.reported_attempt_id)
    seen = new.aggregate(last_id=Max("pk"), last_at=Max("started_at"), count=Count("pk"))
    if not seen["count"]:
        last_email = max(filter(None, [state.last_alert_at, state.last_digest_at]), default=None)
        if state.failing_since and (last_email is None or now - last_email >= interval):
            state.failing_since = None  # quiet for a whole interval: the next failure alerts
        return []
    state.last_failure_at = max(filter(None, [state.last_failure_at, seen["last_at"]]))
    if state.failing_since is None:
        kind, subject = "failing", f"{tenant.name}: bookings are failing to reach Salesforce"
        state.failing_since = state.last_alert_at = now
    else:
        last_email = max(filter(None, [state.last_alert_at, state.last_digest_at]))
        if now - last_email < interval:
            return []  # counted in the next digest
        kind = "digest"
        subject = f"{tenant.name}: {seen['count']} more bookings failed to reach Salesforce"
        state.last_digest_at = now
    # Only what was counted is marked reported (an attempt committed meanwhile waits).
    counted = new.filter(pk__lte=seen["last_id"])
    state.reported_attempt_id = seen["last_id"]
    since = counted.order_by("started_at").values_list("started_at", flat=True).first()
    return [
        Email(
            kind,
            subject,
            {"count": seen["count"], "causes": attempt_causes(counted), "since": since},
        )
    ]


def failed_attempts(tenant: Tenant) -> QuerySet:
    """Failed attempts of one tenant's deliveries."""
    return DeliveryAttempt.objects.filter(
        delivery__booking__page__tenant=tenant, outcome=DeliveryAttempt.Outcome.FAILED
    )


def _send(email: Email, tenant: Tenant, recipients: list[str]) -> None:
    context = {
        **email.context,
        "tenant": tenant,
        "dashboard_url": dashboard_url(tenant),
        "digest_minutes": settings.ALERT_DIGEST_MINUTES,
        "settings_url": settings.SITE_URL + reverse("admin:integrations_alertsettings_changelist"),
    }
    send_mail(
        subject=f"[LeadSync] {email.subject}",
        message=render_to_string(f"integrations/email/{email.kind}.txt", context),
        from_email=None,
        recipient_list=recipients,
        html_message=render_to_string(f"integrations/email/{email.kind}.html", context),
    )
    logger.info(
        "Alert %s sent for tenant %s to %s recipients", email.kind, tenant.pk, len(recipients)
    )
