import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from bookings.models import Membership, Tenant

pytestmark = pytest.mark.django_db


def counts():
    return (Tenant.objects.count(), get_user_model().objects.count(), Membership.objects.count())


def test_demo_setup_is_idempotent(capsys):
    call_command("demo_setup")
    first = counts()
    call_command("demo_setup")
    assert counts() == first == (1, 1, 1)
    out = capsys.readouterr().out
    assert "Login:    demo" in out and "Password: leadsync-demo" in out


def test_demo_login_works(client):
    call_command("demo_setup")
    response = client.post("/accounts/login/", {"login": "demo", "password": "leadsync-demo"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
