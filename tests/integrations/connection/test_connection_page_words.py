"""The connection page says one thing once, names the button it shows, and asks before
disconnecting (issue 14, defects 10 and 11)."""

import re

import pytest
from django.urls import reverse

from integrations.models import SalesforceConnection
from tests.factories import SalesforceConnectionFactory

pytestmark = pytest.mark.django_db
Status = SalesforceConnection.Status


@pytest.fixture
def needing_reconnect(tenant_a):
    connection = SalesforceConnectionFactory(
        tenant=tenant_a,
        status=Status.NEEDS_RECONNECT,
        last_error_code="OAUTH_APP_BLOCKED",
        last_error_message="this app is blocked by admin",
    )
    connection.refresh_token = "a-refresh-token"
    connection.save()
    return connection


def change_page(client, connection) -> str:
    url = reverse("admin:integrations_salesforceconnection_change", args=[connection.pk])
    return client.get(url).content.decode()


def test_the_fix_names_the_button_the_page_shows(needing_reconnect, admin_a, client_for):
    html = change_page(client_for(admin_a), needing_reconnect)
    diagnosis = html[html.index('id="sf-diagnosis"') :]
    named = set(re.findall(r"“([^”]*Salesforce)”", diagnosis[: diagnosis.index("</div>")]))
    button = re.search(r'id="sf-connect"[^>]*>([^<]+)</a>', html).group(1).strip()
    assert named == {button} == {"Connect Salesforce"}


def test_one_red_banner_on_the_connection_page(needing_reconnect, admin_a, client_for):
    client = client_for(admin_a)
    assert "salesforce-reconnect-banner" in client.get(reverse("admin:index")).content.decode()
    html = change_page(client, needing_reconnect)
    assert "salesforce-reconnect-banner" not in html  # the page's own diagnosis says it
    assert html.count('id="sf-diagnosis"') == 1


def test_disconnect_asks_first_and_revokes_only_when_confirmed(
    needing_reconnect, admin_a, client_for
):
    client = client_for(admin_a)
    html = change_page(client, needing_reconnect)
    url = reverse("salesforce:connection_disconnect", args=[needing_reconnect.pk])
    assert re.search(rf'<a [^>]*href="{url}"[^>]*>Disconnect…</a>', html)  # a link, not a form

    question = client.get(url)
    assert question.status_code == 200
    assert "New bookings will not reach Salesforce" in question.content.decode()
    needing_reconnect.refresh_from_db()
    assert needing_reconnect.has_tokens and needing_reconnect.status == Status.NEEDS_RECONNECT
