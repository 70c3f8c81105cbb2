"""The emulator as its own process: CLI flags, printed URL and CA, no Django."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture
def emulator_process(tmp_path):
    config = tmp_path / "faults.json"
    config.write_text(json.dumps({"daily_api_limit": 42, "refresh_token_rotation": True}))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "integrations.salesforce.emulator",
            "--port",
            "0",
            "--tls-dir",
            str(tmp_path / "tls"),
            "--seed-refresh-token",
            "seeded-for-demo",
            "--callback-url",
            "http://127.0.0.1:8000/cb/",
            "--config",
            str(config),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().rsplit(" ", 1)[-1].strip()
        ca_path = process.stdout.readline().rsplit(" ", 1)[-1].strip()
        yield url, ca_path
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_serves_https_with_the_printed_ca_and_seeded_token(emulator_process):
    url, ca_path = emulator_process
    http = requests.Session()
    http.verify, http.trust_env = ca_path, False

    token = http.post(
        f"{url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "seeded-for-demo",
            "client_id": "leadsync-demo-consumer-key",
            "client_secret": "leadsync-demo-consumer-secret",
        },
        timeout=10,
    )
    state = http.get(f"{url}/__emulator__/state", timeout=10).json()

    assert url.startswith("https://127.0.0.1:")
    assert token.status_code == 200 and token.json()["instance_url"] == url
    assert state["faults"]["daily_api_limit"] == 42
    assert state["connected_app"]["callback_urls"] == ["http://127.0.0.1:8000/cb/"]
    # The process (the demo's and `make run`'s emulator) serves the lived-in org.
    assert state["org"] == "lived_in" and state["records"]["Lead"] > 0


def test_emulator_package_does_not_import_django():
    code = (
        "import sys, integrations.salesforce.emulator.__main__;"
        "assert not [m for m in sys.modules"
        " if m.split('.')[0] in ('django', 'leadsync', 'bookings')]"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
