"""Demo set-up for `make run`: the booking side first, then the Salesforce side."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from bookings.demo import DEMO_PAGE_SLUG, DemoTenant, demo_tenant_setup
from bookings.models import BookingPage
from integrations.mappings import services as mappings
from integrations.models import (
    FieldMapping,
    SalesforceConnection,
    SalesforceUserLink,
    SObjectSchema,
    SyncTarget,
    WriteBackField,
)
from integrations.salesforce.emulator.org import ORG_ID, USER_ID, USERNAME, Org

# The Procfile starts the emulator with `--seed-refresh-token` set to this same value.
DEMO_SEED_REFRESH_TOKEN = "leadsync-demo-seeded-refresh-token"  # noqa: S105 - local demo
DEMO_EMULATOR_HOST = "127.0.0.1:8443"


def demo_setup() -> DemoTenant:
    """Create (once) everything the demo needs. Safe to run on every start."""
    demo = demo_tenant_setup()
    connection = demo_connection_setup(demo)
    org = Org()  # what the emulator will serve: the lived-in org, read locally
    demo_target_setup(demo, connection, org)
    demo_host_setup(demo, connection, org)
    return demo


@transaction.atomic
def demo_connection_setup(demo: DemoTenant) -> SalesforceConnection:
    """The demo tenant's connection to the local emulator: a seeded refresh token and no
    access token, so the first call refreshes. On a later run (a fresh emulator) it takes
    the seed again, unless staff disconnected it or pointed it elsewhere."""
    connection, created = SalesforceConnection.objects.get_or_create(
        tenant=demo.tenant,
        defaults={
            "status": SalesforceConnection.Status.CONNECTED,
            "login_host": DEMO_EMULATOR_HOST,
            "instance_url": f"https://{DEMO_EMULATOR_HOST}",
            "api_version": settings.SALESFORCE_API_VERSION,
            "sf_org_id": ORG_ID,
            "sf_user_id": USER_ID,
            "sf_username": USERNAME,
            "connected_at": timezone.now(),
        },
    )
    if created or _emulator_forgot(connection):
        # `make run` starts a fresh emulator beside this command: it knows only the seeded
        # refresh token, not the ones it issued before it stopped (a reconnect's). Take the
        # seed again, rather than have "Test connection" blame the Refresh Token Policy.
        connection.refresh_token = DEMO_SEED_REFRESH_TOKEN
        connection.access_token_encrypted = ""
        connection.status = SalesforceConnection.Status.CONNECTED
        connection.last_error_code = connection.last_error_message = ""
        connection.save()
    return connection


def _emulator_forgot(connection: SalesforceConnection) -> bool:
    """A demo connection to the local emulator that staff did not disconnect on purpose."""
    return (
        connection.login_host == DEMO_EMULATOR_HOST
        and connection.status != SalesforceConnection.Status.DISABLED
    )


Source = FieldMapping.SourceKind
Write = FieldMapping.WritePolicy
# The demo page's Lead mappings: (Salesforce field, source kind, question / fact, constant,
# write policy on a person found in Salesforce).
DEMO_MAPPINGS = [
    ("LastName", Source.BOOKING, "guest_last_name", "", Write.ON_CREATE),
    ("FirstName", Source.BOOKING, "guest_first_name", "", Write.ON_CREATE),
    ("Email", Source.BOOKING, "guest_email", "", Write.ON_CREATE),
    ("Company", Source.QUESTION, "company", "", Write.IF_EMPTY),
    ("Phone", Source.QUESTION, "phone", "", Write.IF_EMPTY),
    ("Meeting_Type__c", Source.QUESTION, "meeting_type", "", Write.ALWAYS),
    ("Region__c", Source.QUESTION, "region", "", Write.IF_EMPTY),  # required: see below
    ("LeadSource", Source.URL_PARAM, "", "", Write.ON_CREATE),  # /demo/intro-call/?LeadSource=Web
    ("Description", Source.QUESTION, "notes", "", Write.ALWAYS),
]
#: The demo page's host is this user of the emulator's lived-in org.
DEMO_HOST_EMAIL = "priya.raman@leadsync.example"
DEMO_KEY_FIELD = "LeadSync_Booking_Id__c"


@transaction.atomic
def demo_target_setup(demo: DemoTenant, connection: SalesforceConnection, org: Org) -> SyncTarget:
    """Post the demo page's bookings to Lead: upsert keyed by the booking id, with the
    mappings above. Created once; staff changes are left alone afterwards.

    No Salesforce call here: the emulator may not be running yet. The demo connection's
    Lead describe is cached from the emulator's own org files (what it will answer), so
    the mapping page works at once; "Refresh fields" replaces it with the live answer.
    """
    for sobject in ("Lead", "Contact", "Event"):
        SObjectSchema.objects.get_or_create(
            connection=connection,
            sobject=sobject,
            defaults={"describe": org.schema.describe(sobject), "fetched_at": timezone.now()},
        )
    page = BookingPage.objects.get(tenant=demo.tenant, slug=DEMO_PAGE_SLUG)
    target, created = SyncTarget.objects.get_or_create(
        page=page,
        sobject="Lead",
        defaults={
            "enabled": True,
            "write_mode": SyncTarget.WriteMode.UPSERT,
            "key_field": DEMO_KEY_FIELD,
        },
    )
    if created:
        # Region__c is required on create: the question feeding it must be required too.
        mappings.question_make_required(question=page.questions.get(key="region"))
        FieldMapping.objects.bulk_create(
            FieldMapping(
                target=target,
                sf_field=sf_field,
                source_kind=kind,
                source_key=key,
                constant_value=constant,
                write_policy=policy,
            )
            for sf_field, kind, key, constant, policy in DEMO_MAPPINGS
        )
        demo_write_back_setup(target)
        mappings.target_check(target=target)
    return target


#: The demo's write-back policy: a cancelled meeting stays in Salesforce marked (subject
#: prefix and status), the Lead says why; a no-show or a completed meeting is marked too.
DEMO_WRITE_BACK_FIELDS = [
    ("cancelled", "event", "Meeting_Status__c", "Cancelled"),
    ("cancelled", "person", "Meeting_Status__c", "Cancelled"),
    ("no_show", "event", "Meeting_Status__c", "No-show"),
    ("no_show", "person", "Meeting_Status__c", "No-show"),
    ("completed", "event", "Meeting_Status__c", "Completed"),
]


def demo_write_back_setup(target: SyncTarget) -> None:
    """Cancel: keep the Event marked "Cancelled: " with a status, the reason on the Lead;
    reschedule: move the Event; no-show / completed: the status on the Event (and Lead)."""
    target.cancel_action = SyncTarget.CancelAction.MARK
    target.reschedule_action = SyncTarget.RescheduleAction.MOVE
    target.cancel_reason_field = "Cancel_Reason__c"
    target.save(update_fields=["cancel_action", "reschedule_action", "cancel_reason_field"])
    WriteBackField.objects.bulk_create(
        WriteBackField(target=target, change=change, applies_to=on, sf_field=name, value=value)
        for change, on, name, value in DEMO_WRITE_BACK_FIELDS
    )


@transaction.atomic
def demo_host_setup(demo: DemoTenant, connection: SalesforceConnection, org: Org) -> None:
    """The demo user hosts the demo page and is linked to a user of the demo org, so the
    meetings booked there are owned by a real rep. Left alone once set."""
    page = BookingPage.objects.get(tenant=demo.tenant, slug=DEMO_PAGE_SLUG)
    user = get_user_model().objects.get(username=demo.username)
    if page.host_id is None:
        page.host = user
        page.save(update_fields=["host"])
    rep = next(u for u in org.records["User"].values() if u.get("Email") == DEMO_HOST_EMAIL)
    SalesforceUserLink.objects.get_or_create(
        connection=connection,
        user=user,
        defaults={"sf_user_id": rep["Id"], "sf_name": rep["Name"], "sf_email": rep["Email"]},
    )
