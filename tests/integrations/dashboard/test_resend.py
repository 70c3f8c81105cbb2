"""Resend, resend with the current mapping, dismiss, and "resend all matching" as a job
with visible progress. The resend itself is the pipeline's (delivery_services)."""

import datetime as dt

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from integrations.dashboard import services as resend
from integrations.models import Delivery, ResendJob
from tests.factories import BookingPageFactory, ResendJobFactory, failed_deliveries

pytestmark = pytest.mark.django_db
Status = Delivery.Status
CHANGELIST = reverse("admin:integrations_delivery_changelist")
RESEND_ALL = reverse("admin:integrations_delivery_resend_all")


@pytest.fixture
def page_a(tenant_a):
    return BookingPageFactory(tenant=tenant_a)


def act(client, action, deliveries, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [d.pk for d in deliveries], **extra}
    return client.post(CHANGELIST, data)


def statuses(deliveries) -> list[str]:
    rows = Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).order_by("pk")
    return [d.status for d in rows]


def test_resend_selected_queues_them_again_and_enqueues_a_push(
    page_a, member_a, client_for, django_capture_on_commit_callbacks, monkeypatch
):
    chosen, untouched = failed_deliveries(page_a, 2), failed_deliveries(page_a, 1)
    pushed = []
    monkeypatch.setattr("leadsync.enqueue.task_send", lambda name, pk: pushed.append(pk))

    with django_capture_on_commit_callbacks(execute=True):
        response = act(client_for(member_a), "resend_selected", chosen)

    assert response.status_code == 302
    assert statuses(chosen) == [Status.PENDING, Status.PENDING]
    assert statuses(untouched) == [Status.FAILED]
    assert pushed == [chosen[0].connection_id]
    delivery = Delivery.objects.get(pk=chosen[0].pk)
    assert delivery.last_error_code == ""
    assert delivery.attempt_log.count() == 1  # the history stays


def test_resend_with_current_mapping_drops_the_stored_payload(page_a, admin_a, client_for):
    [delivery] = failed_deliveries(page_a, 1)
    Delivery.objects.filter(pk=delivery.pk).update(payload={"Company": None})
    plain = failed_deliveries(page_a, 1)[0]
    Delivery.objects.filter(pk=plain.pk).update(payload={"Company": "kept"})

    act(client_for(admin_a), "resend_rebuilt", [delivery])
    act(client_for(admin_a), "resend_selected", [plain])

    delivery.refresh_from_db()
    plain.refresh_from_db()
    assert (delivery.status, delivery.payload) == (Status.PENDING, None)
    assert (plain.status, plain.payload) == (Status.PENDING, {"Company": "kept"})


def test_dismiss_asks_for_a_reason_and_keeps_it_for_audit(page_a, admin_a, client_for):
    deliveries = failed_deliveries(page_a, 2)
    client = client_for(admin_a)

    asked = act(client, "dismiss_selected", deliveries)
    assert asked.status_code == 200 and "reason" in asked.context["form"].fields
    refused = act(client, "dismiss_selected", deliveries, apply="1", reason="  ")
    assert refused.status_code == 200
    assert statuses(deliveries) == [Status.FAILED, Status.FAILED]

    act(client, "dismiss_selected", deliveries, apply="1", reason="Test bookings")

    for delivery in Delivery.objects.filter(pk__in=[d.pk for d in deliveries]):
        assert delivery.status == Status.DISMISSED
        assert delivery.dismissed_by == admin_a
        assert delivery.dismissed_reason == "Test bookings"
        assert delivery.dismissed_at is not None
        assert delivery.attempt_log.count() == 1


def test_dismiss_leaves_deliveries_on_their_way_alone(page_a, admin_a):
    deliveries = failed_deliveries(page_a, 2)
    Delivery.objects.filter(pk=deliveries[0].pk).update(status=Status.SENDING)
    count = resend.deliveries_dismiss(
        deliveries=Delivery.objects.all(), user=admin_a, reason="cleanup"
    )
    assert count == 1
    assert statuses(deliveries) == [Status.SENDING, Status.DISMISSED]


def test_delivery_page_resend_and_dismiss_buttons(page_a, admin_a, client_for):
    first, second = failed_deliveries(page_a, 2)
    client = client_for(admin_a)
    page = client.get(reverse("admin:integrations_delivery_change", args=[first.pk]))
    assert "Resend with current mapping" in page.content.decode()

    client.post(reverse("admin:integrations_delivery_resend", args=[first.pk]))
    client.post(
        reverse("admin:integrations_delivery_dismiss", args=[second.pk]), {"reason": "spam"}
    )

    assert statuses([first, second]) == [Status.PENDING, Status.DISMISSED]


def test_staff_cannot_resend_or_dismiss_another_tenants_delivery(tenant_b, admin_a, client_for):
    [other] = failed_deliveries(BookingPageFactory(tenant=tenant_b), 1)
    client = client_for(admin_a)
    act(client, "resend_selected", [other])
    client.post(reverse("admin:integrations_delivery_resend", args=[other.pk]))
    client.post(reverse("admin:integrations_delivery_dismiss", args=[other.pk]), {"reason": "x"})
    assert statuses([other]) == [Status.FAILED]


# -- resend all matching: a job ------------------------------------------------------------------


def test_resend_all_matching_snapshots_only_the_filtered_deliveries(
    page_a, tenant_b, admin_a, client_for
):
    missing = failed_deliveries(page_a, 3)
    too_long = failed_deliveries(page_a, 2, code="STRING_TOO_LONG")
    failed_deliveries(BookingPageFactory(tenant=tenant_b), 2)  # another tenant's
    client = client_for(admin_a)
    query = "?code=REQUIRED_FIELD_MISSING"

    confirm = client.get(RESEND_ALL + query)
    assert confirm.context["count"] == 3
    response = client.post(RESEND_ALL + query, {"rebuild": "on"})

    job = ResendJob.objects.get()
    assert response.url == reverse("admin:integrations_resendjob_change", args=[job.pk])
    assert sorted(job.delivery_ids) == sorted(d.pk for d in missing)
    assert (job.tenant, job.created_by, job.rebuild, job.total) == (
        page_a.tenant, admin_a, True, 3
    )  # fmt: skip
    assert statuses(too_long) == [Status.FAILED, Status.FAILED]


def test_a_bulk_resend_of_1000_failures_runs_in_chunks_and_shows_progress(
    page_a, admin_a, client_for, settings
):
    settings.RESEND_JOB_CHUNK_SIZE = 300
    deliveries = failed_deliveries(page_a, 1000)
    client = client_for(admin_a)
    client.post(RESEND_ALL + "?status__exact=failed")
    job = ResendJob.objects.get()
    job_url = reverse("admin:integrations_resendjob_change", args=[job.pk])

    queued = client.get(job_url).content.decode()
    assert '<strong id="job-done">0</strong> of <strong id="job-total">1000</strong>' in queued

    assert resend.resend_job_step(job_id=job.pk) is True
    running = client.get(job_url).content.decode()
    assert '<strong id="job-done">300</strong> of <strong id="job-total">1000</strong>' in running
    assert 'http-equiv="refresh"' in running
    assert Delivery.objects.filter(status=Status.PENDING).count() == 300

    while resend.resend_job_step(job_id=job.pk):
        pass
    done = client.get(job_url).content.decode()
    assert '<strong id="job-done">1000</strong> of <strong id="job-total">1000</strong>' in done
    # Queued, not sent yet: the page follows them until they reach Salesforce.
    assert "<strong>1000</strong> still on the way" in done and 'http-equiv="refresh"' in done
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(status=Status.SENT)
    sent = client.get(job_url).content.decode()
    assert "<strong>1000</strong> reached Salesforce" in sent
    assert 'http-equiv="refresh"' not in sent
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(status=Status.PENDING)
    job.refresh_from_db()
    assert (job.status, job.resent) == (ResendJob.Status.DONE, 1000)
    assert set(statuses(deliveries)) == {Status.PENDING}
    assert resend.resend_job_step(job_id=job.pk) is False  # a late duplicate task does nothing


def test_a_stalled_job_is_resumed_by_beat(page_a, admin_a, monkeypatch):
    job = ResendJobFactory(tenant=page_a.tenant, status=ResendJob.Status.RUNNING, total=5)
    ResendJobFactory(tenant=page_a.tenant, status=ResendJob.Status.DONE)
    enqueued = []
    monkeypatch.setattr(resend, "resend_job_enqueue", lambda *, job_id: enqueued.append(job_id))

    assert resend.resend_jobs_resume() == []  # just updated: not stalled
    later = timezone.now() + dt.timedelta(minutes=10)
    assert resend.resend_jobs_resume(now=later) == [job.pk]
    assert enqueued == [job.pk]


def test_staff_see_only_their_own_jobs(tenant_a, tenant_b, admin_a, superuser, client_for):
    own, other = ResendJobFactory(tenant=tenant_a), ResendJobFactory(tenant=tenant_b)
    platform = ResendJobFactory(tenant=None)
    url = reverse("admin:integrations_resendjob_change", args=[other.pk])
    assert client_for(admin_a).get(url).status_code == 302
    listed = client_for(admin_a).get(reverse("admin:integrations_resendjob_changelist"))
    assert {j.pk for j in listed.context["cl"].result_list} == {own.pk}
    everything = client_for(superuser).get(reverse("admin:integrations_resendjob_changelist"))
    assert {j.pk for j in everything.context["cl"].result_list} == {own.pk, other.pk, platform.pk}


def test_a_rebuild_job_leaves_deliveries_sent_since_the_snapshot_alone(page_a, admin_a):
    """Retrying deliveries in a job's snapshot are often sent by the pipeline before their
    chunk runs; the chunk must not send them again."""
    deliveries = failed_deliveries(page_a, 2)
    (job,) = resend.resend_jobs_create(
        deliveries=Delivery.objects.all(), user=admin_a, rebuild=True
    )
    Delivery.objects.filter(pk=deliveries[0].pk).update(status=Status.SENT)

    resend.resend_job_step(job_id=job.pk)

    assert statuses(deliveries) == [Status.SENT, Status.PENDING]
    job.refresh_from_db()
    assert job.resent == 1
