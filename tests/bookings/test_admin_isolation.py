"""Cross-tenant isolation for every tenant-owned model in the admin.

Adding a tenant-owned model? Add one line to TENANT_OWNED: a function that makes a row
owned by a given tenant. `test_every_tenant_owned_admin_is_covered` fails until you do.
"""

import pytest
from django.contrib import admin
from django.forms import ModelChoiceField
from django.forms.models import model_to_dict
from django.urls import reverse

from bookings.admin_scoping import TenantScopedAdmin
from bookings.models import ApiKey, Booking, BookingPage, GuestEmail, Membership, Tenant
from integrations.models import (
    AlertSettings,
    Delivery,
    DeliveryAttempt,
    ResendJob,
    SalesforceConnection,
    SalesforceUserLink,
    SyncTarget,
)
from tests.factories import (
    AlertSettingsFactory,
    ApiKeyFactory,
    BookingFactory,
    BookingPageFactory,
    DeliveryAttemptFactory,
    DeliveryFactory,
    GuestEmailFactory,
    MembershipFactory,
    ResendJobFactory,
    SalesforceConnectionFactory,
    SalesforceUserLinkFactory,
    SyncTargetFactory,
)

pytestmark = pytest.mark.django_db

TENANT_OWNED = {
    Tenant: lambda tenant: tenant,
    Membership: lambda tenant: MembershipFactory(tenant=tenant),
    SalesforceConnection: lambda tenant: SalesforceConnectionFactory(tenant=tenant),
    BookingPage: lambda tenant: BookingPageFactory(tenant=tenant),
    Booking: lambda tenant: BookingFactory(page__tenant=tenant),
    ApiKey: lambda tenant: ApiKeyFactory(tenant=tenant),
    GuestEmail: lambda tenant: GuestEmailFactory(booking__page__tenant=tenant),
    SyncTarget: lambda tenant: SyncTargetFactory(page__tenant=tenant),
    Delivery: lambda tenant: DeliveryFactory(booking__page__tenant=tenant),
    DeliveryAttempt: lambda tenant: DeliveryAttemptFactory(delivery__booking__page__tenant=tenant),
    AlertSettings: lambda tenant: AlertSettingsFactory(tenant=tenant),
    ResendJob: lambda tenant: ResendJobFactory(tenant=tenant),
    SalesforceUserLink: lambda tenant: SalesforceUserLinkFactory(connection__tenant=tenant),
}


def scoped_models():
    return sorted(
        (m for m, a in admin.site._registry.items() if isinstance(a, TenantScopedAdmin)),
        key=lambda m: m._meta.label,
    )


def url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_every_tenant_owned_admin_is_covered():
    missing = [m._meta.label for m in scoped_models() if m not in TENANT_OWNED]
    assert not missing, f"add these models to TENANT_OWNED: {missing}"
    assert {Tenant, Membership} <= set(scoped_models())


@pytest.fixture(params=sorted(TENANT_OWNED, key=lambda m: m._meta.label), ids=lambda m: m.__name__)
def model(request):
    return request.param


def test_staff_cannot_list_another_tenants_rows(model, tenant_a, tenant_b, admin_a, client_for):
    own, other = TENANT_OWNED[model](tenant_a), TENANT_OWNED[model](tenant_b)
    response = client_for(admin_a).get(url(model, "changelist"))
    assert response.status_code == 200
    shown = {obj.pk for obj in response.context["cl"].result_list}
    assert own.pk in shown
    assert other.pk not in shown


@pytest.mark.parametrize("action", ["change", "delete", "history"])
def test_staff_cannot_open_another_tenants_row(
    model, action, tenant_a, tenant_b, admin_a, client_for
):
    other = TENANT_OWNED[model](tenant_b)
    response = client_for(admin_a).get(url(model, action, other.pk))
    # Django answers "doesn't exist" (redirect to the index) for rows outside the queryset.
    assert response.status_code in (302, 403, 404)
    assert str(other) not in response.content.decode()


def test_staff_cannot_change_or_delete_another_tenants_row(
    model, tenant_a, tenant_b, admin_a, client_for
):
    other = TENANT_OWNED[model](tenant_b)
    before = model_to_dict(other)
    client = client_for(admin_a)
    client.post(url(model, "change", other.pk), {"name": "hijacked", "role": "admin"})
    client.post(url(model, "delete", other.pk), {"post": "yes"})
    assert model._default_manager.filter(pk=other.pk).exists()
    other.refresh_from_db()
    assert model_to_dict(other) == before


def test_foreign_key_choices_offer_only_own_tenants_rows(
    model, tenant_a, tenant_b, admin_a, client_for
):
    response = client_for(admin_a).get(url(model, "add"))
    if response.status_code == 403:  # e.g. tenants are created by superusers only
        return
    form = response.context["adminform"].form
    checked = 0
    for field in form.fields.values():
        if isinstance(field, ModelChoiceField) and hasattr(field.queryset.model, "tenant_path"):
            related = field.queryset.model
            other = TENANT_OWNED[related](tenant_b)
            own = TENANT_OWNED[related](tenant_a)
            assert other.pk not in {o.pk for o in field.queryset}
            assert own.pk in {o.pk for o in field.queryset}
            checked += 1
    assert checked or not any(
        f.is_relation and hasattr(f.related_model, "tenant_path") for f in model._meta.fields
    ), "the add form shows no tenant-scoped choice field"


def test_superuser_sees_every_tenants_rows(model, tenant_a, tenant_b, superuser, client_for):
    rows = [TENANT_OWNED[model](tenant_a), TENANT_OWNED[model](tenant_b)]
    response = client_for(superuser).get(url(model, "changelist"))
    assert {r.pk for r in rows} <= {obj.pk for obj in response.context["cl"].result_list}
