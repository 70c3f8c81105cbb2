"""gunicorn trusts X-Forwarded-Proto only from the proxies LEADSYNC_TRUSTED_PROXY_COUNT and
LEADSYNC_TRUSTED_PROXY_IPS describe; with no proxy, from nobody (not even loopback)."""

import http.client
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, wait_until
from tests.leadsync.test_deployment import compose, production_env
from tests.outage import free_port

CONFIG = "leadsync/gunicorn.conf.py"


def gunicorn_setting(name: str, **env: str):
    """`name` as gunicorn parses it from our config file under `env`."""
    code = (
        "from gunicorn.config import Config; import runpy; c = Config(); "
        f"[c.set(k, v) for k, v in runpy.run_path({CONFIG!r}).items() if k in c.settings]; "
        f"print(repr(c.{name}))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEADSYNC_TRUSTED")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env={**base, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return eval(result.stdout.strip().splitlines()[-1])  # noqa: S307 - a list repr we printed


@pytest.mark.parametrize(
    ("env", "allowed"),
    [
        ({}, []),
        ({"LEADSYNC_TRUSTED_PROXY_COUNT": "0", "LEADSYNC_TRUSTED_PROXY_IPS": "10.0.0.5"}, []),
        ({"LEADSYNC_TRUSTED_PROXY_COUNT": "1"}, ["127.0.0.1", "::1"]),
        (
            {
                "LEADSYNC_TRUSTED_PROXY_COUNT": "1",
                "LEADSYNC_TRUSTED_PROXY_IPS": "10.0.0.5,fd00::/8",
            },
            ["10.0.0.5", "fd00::/8"],
        ),
    ],
    ids=["no-proxy", "no-proxy-ips-ignored", "proxy-default-loopback", "proxy-configured"],
)
def test_forwarded_allow_ips_follow_the_trusted_proxy_settings(env, allowed):
    assert gunicorn_setting("forwarded_allow_ips", **env) == allowed


def test_compose_starts_gunicorn_with_this_config():
    command = compose()["services"]["web"]["command"]
    assert f"-c {CONFIG}" in command


def get_root_with_forwarded_https(
    *config_args: str, env: dict[str, str]
) -> http.client.HTTPResponse:
    """GET / on a real gunicorn (production settings) from loopback, claiming https."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "leadsync.wsgi:application", *config_args,
         "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:

        def answer():
            if server.poll() is not None:
                pytest.fail("gunicorn exited")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request(
                    "GET", "/", headers={"Host": "127.0.0.1", "X-Forwarded-Proto": "https"}
                )
                return conn.getresponse()
            except (ConnectionRefusedError, TimeoutError):  # still starting
                return None

        return wait_until(answer, timeout=60, message="gunicorn to answer")
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_without_a_proxy_a_local_client_cannot_claim_https():
    """Production redirects plain HTTP to https (SECURE_SSL_REDIRECT); a request that
    claims to be https already would be served as such if gunicorn believed it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "LEADSYNC_", "FORWARDED_ALLOW_IPS"))
    }
    env.update(production_env(DJANGO_ALLOWED_HOSTS="127.0.0.1"))

    ours = get_root_with_forwarded_https("-c", CONFIG, env=env)
    gunicorns_default = get_root_with_forwarded_https(env=env)

    assert ours.status == 301 and ours.getheader("Location") == "https://127.0.0.1/"
    # what the config prevents: gunicorn's default believes loopback, the app serves "https"
    assert gunicorns_default.status == 302 and gunicorns_default.getheader("Location") == "/admin/"
