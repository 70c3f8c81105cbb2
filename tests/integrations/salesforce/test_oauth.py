"""Login hosts staff may choose, and what the authorize request carries."""

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ValidationError

from integrations.salesforce import oauth


@pytest.mark.parametrize(
    ("typed", "host"),
    [
        ("login.salesforce.com", "login.salesforce.com"),
        ("test.salesforce.com", "test.salesforce.com"),
        ("acme.my.salesforce.com", "acme.my.salesforce.com"),
        ("https://Acme--Dev.sandbox.my.salesforce.com/", "acme--dev.sandbox.my.salesforce.com"),
        ("127.0.0.1:8443", "127.0.0.1:8443"),  # SALESFORCE_EXTRA_LOGIN_HOSTS
    ],
)
def test_accepted_login_hosts(settings, typed, host):
    settings.SALESFORCE_EXTRA_LOGIN_HOSTS = ["127.0.0.1:8443"]
    assert oauth.login_host_clean(typed) == host


@pytest.mark.parametrize(
    "typed",
    [
        "http://acme.my.salesforce.com",
        "evil.example.com",
        "acme.my.salesforce.com.evil.example",
        "my.salesforce.com",
        "https://acme.my.salesforce.com/services/oauth2/authorize",
        "acme.my.salesforce.com:8443",
        "127.0.0.1:9999",
        "",
    ],
)
def test_refused_login_hosts(settings, typed):
    settings.SALESFORCE_EXTRA_LOGIN_HOSTS = ["127.0.0.1:8443"]
    with pytest.raises(ValidationError):
        oauth.login_host_clean(typed)


def test_authorize_url_carries_state_and_an_s256_challenge_of_the_verifier(settings):
    settings.SITE_URL = "https://leadsync.example.com"
    start = oauth.authorization_start(login_host="acme.my.salesforce.com")

    parts = urlsplit(start.url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "acme.my.salesforce.com",
        "/services/oauth2/authorize",
    )
    digest = hashlib.sha256(start.code_verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert query["code_challenge_method"] == "S256"
    assert query["state"] == start.state and len(start.state) >= 20
    assert query["redirect_uri"] == "https://leadsync.example.com/salesforce/oauth/callback/"
    assert query["response_type"] == "code"
    assert set(query["scope"].split()) == {"api", "refresh_token"}
    assert "client_secret" not in query


def test_no_connected_app_configured_is_a_clear_error(settings):
    settings.SALESFORCE_CONSUMER_KEY = settings.SALESFORCE_CONSUMER_SECRET = ""
    with pytest.raises(oauth.SalesforceError) as caught:
        oauth.authorization_start(login_host="login.salesforce.com")
    assert caught.value.code == "NOT_CONFIGURED"
