"""`make run`: the demo tenant is connected to the emulator the Procfile starts."""

import shlex

import pytest
from django.core.management import call_command

from integrations.connection.tokens import client_for
from integrations.demo import DEMO_EMULATOR_HOST, DEMO_SEED_REFRESH_TOKEN
from integrations.models import SalesforceConnection
from integrations.salesforce.emulator import EmulatorServer
from integrations.salesforce.emulator.__main__ import build_parser
from tests.conftest import REPO

pytestmark = pytest.mark.django_db


def procfile_emulator_args():
    line = next(
        line
        for line in (REPO / "Procfile").read_text().splitlines()
        if line.startswith("emulator:")
    )
    argv = shlex.split(line.split(":", 1)[1])
    assert argv[:3] == [".venv/bin/python", "-m", "integrations.salesforce.emulator"]
    return build_parser().parse_args(argv[3:])


def test_procfile_starts_the_emulator_the_demo_connection_points_at(settings):
    args = procfile_emulator_args()
    assert f"{args.host}:{args.port}" == DEMO_EMULATOR_HOST
    assert args.seed_refresh_tokens == [DEMO_SEED_REFRESH_TOKEN]
    assert not args.http
    assert args.tls_dir == "var/emulator"
    # settings' first-run defaults trust that emulator (leadsync/settings.py, DEBUG)
    assert DEMO_EMULATOR_HOST in settings.SALESFORCE_EXTRA_LOGIN_HOSTS
    assert settings.SALESFORCE_CA_BUNDLE.endswith("var/emulator/ca.pem")


def test_demo_connection_is_created_once_without_an_access_token():
    call_command("demo_setup")
    call_command("demo_setup")
    connection = SalesforceConnection.objects.get()
    assert connection.tenant.slug == "demo"
    assert connection.status == SalesforceConnection.Status.CONNECTED
    assert connection.instance_url == f"https://{DEMO_EMULATOR_HOST}"
    assert connection.login_host == DEMO_EMULATOR_HOST
    assert connection.refresh_token == DEMO_SEED_REFRESH_TOKEN
    assert connection.access_token == ""


def test_demo_connection_works_against_an_emulator_seeded_like_the_procfile(settings, tmp_path):
    call_command("demo_setup")
    with EmulatorServer(tls_dir=tmp_path, seed_refresh_tokens=[DEMO_SEED_REFRESH_TOKEN]) as server:
        settings.SALESFORCE_CA_BUNDLE = server.ca_path
        # Same emulator, another port: point the demo row at it.
        host = server.base_url.removeprefix("https://")
        SalesforceConnection.objects.update(instance_url=server.base_url, login_host=host)
        connection = SalesforceConnection.objects.get()

        assert client_for(connection).describe("Lead")["name"] == "Lead"
        assert server.org.oauth_calls["token.refresh_token"] == 1


def test_a_second_make_run_reconnects_the_demo_to_the_fresh_emulator(settings, tmp_path):
    """Issue 14, defect 7: the emulator `make run` starts knows only its seed; the tokens it
    issued before (a reconnect's) are gone. The second run takes the seed again instead of
    leaving "Test connection" to blame the Refresh Token Policy."""
    call_command("demo_setup")
    connection = SalesforceConnection.objects.get()
    connection.refresh_token = "5Aep861-issued-by-the-previous-emulator"
    connection.access_token = "00D!issued-by-the-previous-emulator"
    connection.status = SalesforceConnection.Status.NEEDS_RECONNECT
    connection.last_error_code = "invalid_grant"
    connection.save()

    call_command("demo_setup")  # the next `make run`

    with EmulatorServer(tls_dir=tmp_path, seed_refresh_tokens=[DEMO_SEED_REFRESH_TOKEN]) as server:
        settings.SALESFORCE_CA_BUNDLE = server.ca_path
        host = server.base_url.removeprefix("https://")
        SalesforceConnection.objects.update(instance_url=server.base_url, login_host=host)
        connection = SalesforceConnection.objects.get()
        assert connection.status == SalesforceConnection.Status.CONNECTED
        assert not connection.last_error_code
        assert client_for(connection).describe("Lead")["name"] == "Lead"


def test_a_demo_connection_staff_disconnected_stays_disconnected():
    call_command("demo_setup")
    SalesforceConnection.objects.update(status=SalesforceConnection.Status.DISABLED)
    call_command("demo_setup")
    assert SalesforceConnection.objects.get().status == SalesforceConnection.Status.DISABLED
