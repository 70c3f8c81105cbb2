"""Tenant admins manage their own tenant's staff; nobody else's, and never superusers."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from bookings.models import Membership
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def new_staff_form(tenant, **extra):
    return {
        "username": "newbie",
        "email": "newbie@example.com",
        "password1": "a-long-unusual-passphrase-42",
        "password2": "a-long-unusual-passphrase-42",
        "tenant": tenant.pk,
        "role": Membership.Role.MEMBER,
        **extra,
    }


def test_tenant_admin_creates_a_staff_account_in_own_tenant(tenant_a, admin_a, client_for):
    response = client_for(admin_a).post(reverse("admin:auth_user_add"), new_staff_form(tenant_a))

    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="newbie")
    assert user.is_staff and not user.is_superuser
    assert list(user.memberships.values_list("tenant", "role")) == [(tenant_a.pk, "member")]


def test_tenant_admin_cannot_create_staff_in_another_tenant(
    tenant_a, tenant_b, admin_a, client_for
):
    response = client_for(admin_a).post(reverse("admin:auth_user_add"), new_staff_form(tenant_b))

    assert response.status_code == 200  # the form again, with an error on tenant
    assert "tenant" in response.context["adminform"].form.errors
    assert not User.objects.filter(username="newbie").exists()


def test_tenant_admin_cannot_make_a_superuser(tenant_a, admin_a, client_for):
    client_for(admin_a).post(
        reverse("admin:auth_user_add"), new_staff_form(tenant_a, is_superuser="on")
    )
    assert not User.objects.get(username="newbie").is_superuser


def test_tenant_admin_sees_only_own_staff(tenant_a, tenant_b, admin_a, client_for):
    colleague = MembershipFactory(tenant=tenant_a).user
    stranger = MembershipFactory(tenant=tenant_b).user
    both = MembershipFactory(tenant=tenant_a).user
    MembershipFactory(user=both, tenant=tenant_b)
    root = UserFactory(is_superuser=True)
    MembershipFactory(user=root, tenant=tenant_a)

    response = client_for(admin_a).get(reverse("admin:auth_user_changelist"))

    shown = {u.pk for u in response.context["cl"].result_list}
    assert colleague.pk in shown
    assert not shown & {stranger.pk, both.pk, root.pk}


def test_tenant_admin_cannot_edit_a_user_of_another_tenant(tenant_b, admin_a, client_for):
    stranger = MembershipFactory(tenant=tenant_b).user
    client = client_for(admin_a)

    response = client.post(
        reverse("admin:auth_user_change", args=[stranger.pk]),
        {"username": "pwned", "email": "x@example.com", "is_active": "on"},
    )

    assert response.status_code in (302, 403, 404)
    stranger.refresh_from_db()
    assert stranger.username != "pwned"


def test_tenant_admin_edit_form_has_no_privilege_fields(tenant_a, admin_a, client_for):
    colleague = MembershipFactory(tenant=tenant_a).user
    response = client_for(admin_a).get(reverse("admin:auth_user_change", args=[colleague.pk]))

    fields = response.context["adminform"].form.fields
    assert not {"is_superuser", "is_staff", "groups", "user_permissions"} & set(fields)


def test_members_cannot_manage_staff(member_a, client_for):
    client = client_for(member_a)
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_user_add")).status_code == 403
