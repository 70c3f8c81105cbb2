"""More ways into another tenant's rows, tried against every model in TENANT_OWNED:
filter choices, the admin's "View on site" redirect, and bulk actions."""

import pytest
from django.contrib.contenttypes.models import ContentType

from bookings.models import ApiKey, Membership
from tests.bookings.test_admin_isolation import TENANT_OWNED, url
from tests.factories import ApiKeyFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=sorted(TENANT_OWNED, key=lambda m: m._meta.label), ids=lambda m: m.__name__)
def model(request):
    return request.param


def test_changelist_never_names_another_tenant(model, tenant_a, tenant_b, admin_a, client_for):
    TENANT_OWNED[model](tenant_a)
    TENANT_OWNED[model](tenant_b)

    response = client_for(admin_a).get(url(model, "changelist"))

    assert response.status_code == 200
    assert tenant_b.name not in response.content.decode()  # filters, rows, counts


def test_view_on_site_redirect_is_scoped(model, tenant_b, admin_a, client_for):
    other = TENANT_OWNED[model](tenant_b)
    ct = ContentType.objects.get_for_model(model)

    response = client_for(admin_a).get(f"/admin/r/{ct.pk}/{other.pk}/")

    assert response.status_code == 404


def test_bulk_delete_cannot_reach_another_tenants_rows(model, tenant_b, admin_a, client_for):
    other = TENANT_OWNED[model](tenant_b)

    client_for(admin_a).post(
        url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"},
    )

    assert model._default_manager.filter(pk=other.pk).exists()


def test_actions_need_the_role_in_the_rows_tenant(tenant_a, tenant_b, admin_a, client_for):
    """Admin of A, mere member of B: admin-only actions never touch B's rows (custom
    actions check permissions without an object, so the mixin narrows the selection)."""
    MembershipFactory(user=admin_a, tenant=tenant_b, role=Membership.Role.MEMBER)
    b_key = ApiKeyFactory(tenant=tenant_b)
    a_key = ApiKeyFactory(tenant=tenant_a)

    client_for(admin_a).post(
        url(ApiKey, "changelist"),
        {"action": "revoke_selected", "_selected_action": [b_key.pk, a_key.pk]},
    )

    b_key.refresh_from_db()
    a_key.refresh_from_db()
    assert b_key.revoked_at is None
    assert a_key.revoked_at is not None
