""" "Resend all matching" end to end: a real Celery worker runs the job chunk by chunk, each
chunk queues a push, and the pushes reach the emulator — 1,000 failures become 1,000 leads."""

import pytest
from django.urls import reverse

from bookings.models import Booking
from integrations.delivery.push import deliveries_push
from integrations.models import Delivery, ResendJob
from tests.conftest import wait_until
from tests.factories import failed_deliveries, lead_page_with_target
from tests.fixtures_emulator import emulator_admin

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_bulk_resend_of_1000_failures_runs_as_a_job_on_the_worker(
    client_for, admin_a, sf_emulator, sf_connection, pipeline_worker, pipeline_queue
):
    page = lead_page_with_target(tenant=sf_connection.tenant)
    failed_deliveries(page, 1000, target=page.sync_targets.get())
    Booking.objects.filter(page=page).update(answers={"company": "Acme"})  # fixed meanwhile
    client = client_for(admin_a)

    response = client.post(
        reverse("admin:integrations_delivery_resend_all") + "?code=REQUIRED_FIELD_MISSING",
        {"rebuild": "on"},
    )

    job = ResendJob.objects.get()
    assert response.url == reverse("admin:integrations_resendjob_change", args=[job.pk])
    wait_until(
        lambda: ResendJob.objects.filter(pk=job.pk, status=ResendJob.Status.DONE).exists(),
        timeout=60,
        message="the resend job to finish",
    )
    html = client.get(response.url).content.decode()
    assert '<strong id="job-done">1000</strong> of <strong id="job-total">1000</strong>' in html
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 1000
    # The pushes the job queued went to the worker's default queue, which has no worker
    # that reaches the emulator here: send them in-process, as that worker would.
    while deliveries_push(connection_id=sf_connection.pk).claimed:
        pass
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 1000
    assert len(emulator_admin(sf_emulator, "GET", "records/Lead?seeded=false")) == 1000
