"""Staff sign in through allauth; the admin never shows its own login form."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_admin_login_redirects_to_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_anonymous_admin_index_ends_at_allauth_login(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
    assert b'name="login"' in response.content


def test_staff_signs_in_with_allauth_and_reaches_admin(client, admin_a):
    response = client.post(
        reverse("account_login"), {"login": admin_a.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_non_staff_user_cannot_reach_admin(client):
    user = UserFactory(is_staff=False)
    client.post(reverse("account_login"), {"login": user.username, "password": TEST_PASSWORD})
    assert client.get("/admin/login/").status_code == 403
    response = client.get("/admin/")
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert client.get(response["Location"]).status_code == 403


def test_public_sign_up_is_closed(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "x@example.com",
            "username": "x",
            "password1": "Zx9!long-pass",
            "password2": "Zx9!long-pass",
        },
    )
    assert b"Accounts are created by your admin" in response.content
    assert not get_user_model().objects.filter(username="x").exists()


def test_failed_logins_are_rate_limited(client, admin_a):
    login = reverse("account_login")
    for _ in range(5):
        client.post(login, {"login": admin_a.username, "password": "wrong"})
    # Past the limit even the right password is refused, and nobody is signed in.
    response = client.post(login, {"login": admin_a.username, "password": TEST_PASSWORD})
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_staff_can_turn_on_totp_mfa(client, admin_a):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal import auth as totp

    client.post(reverse("account_login"), {"login": admin_a.username, "password": TEST_PASSWORD})
    # allauth asks for the password again before security changes.
    client.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 200
    secret = response.context["form"].secret
    counter = next(totp.yield_hotp_counters_from_time())
    code = totp.format_hotp_value(totp.hotp_value(secret, counter))
    client.post(reverse("mfa_activate_totp"), {"code": code})
    assert Authenticator.objects.filter(user=admin_a, type=Authenticator.Type.TOTP).exists()


# -- one look, no sign-up wording (issue 14, defect 1) -------------------------------------------

BRANDED = 'href="/static/leadsync/leadsync.css"'


def test_sign_in_is_branded_and_never_mentions_signing_up(client):
    html = client.get("/admin/", follow=True).content.decode()
    assert BRANDED in html and "LeadSync" in html
    assert "sign up" not in html.lower() and "signup" not in html.lower()
    assert html.count("Forgot your password?") == 1


@pytest.mark.parametrize("name", ["account_reset_password", "account_signup"])
def test_password_reset_and_closed_sign_up_pages_share_the_look(client, name):
    html = client.get(reverse(name)).content.decode()
    assert BRANDED in html
    assert "sign up" not in html.lower()


def test_two_factor_pages_share_the_look(client, admin_a):
    client.post(reverse("account_login"), {"login": admin_a.username, "password": TEST_PASSWORD})
    html = client.get(reverse("mfa_index")).content.decode()
    assert BRANDED in html and "Back to LeadSync" in html


def test_the_admin_shares_the_look(client, admin_a):
    client.force_login(admin_a, backend="django.contrib.auth.backends.ModelBackend")
    assert BRANDED in client.get("/admin/").content.decode()
