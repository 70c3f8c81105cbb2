"""Deployment wiring: docker-compose matches the settings; production settings are safe."""

import ast
import json
import os
import subprocess
import sys
from importlib import import_module

import pytest
import yaml
from cryptography.fernet import Fernet

from leadsync.supervisor import procfile_parse
from tests.conftest import REPO

ENV_READERS = {"str", "bool", "int", "list", "db_url", "email_url", "cache_url", "float"}
APP_SERVICES = {"web", "worker", "beat"}


def variables_read_by_settings() -> set[str]:
    tree = ast.parse((REPO / "leadsync" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func, first = node.func, node.args[0]
        is_env = (isinstance(func, ast.Attribute) and func.attr in ENV_READERS
                  and isinstance(func.value, ast.Name) and func.value.id == "env")  # fmt: skip
        is_secret = isinstance(func, ast.Name) and func.id == "_production_secret"
        if (is_env or is_secret) and isinstance(first, ast.Constant):
            names.add(first.value)
    return names


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_sets_only_variables_the_settings_read():
    read = variables_read_by_settings()
    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS"} <= read
    for name in APP_SERVICES:
        env = compose()["services"][name]["environment"]
        unknown = set(env) - read
        assert not unknown, f"{name} sets variables settings never read: {unknown}"


def test_compose_services_have_healthchecks_and_real_entry_points():
    services = compose()["services"]
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
    web = services["web"]["command"]
    module, attr = web.split("gunicorn ", 1)[1].split()[0].split(":")
    assert callable(getattr(import_module(module), attr))
    for name in ("worker", "beat"):
        argv = services[name]["command"].split()
        assert argv[:3] == ["celery", "-A", "leadsync"]
        assert import_module("leadsync").celery_app.main == "leadsync"


WITHOUT_CHATTER = {"--without-gossip", "--without-mingle", "--without-heartbeat"}


def test_workers_run_without_the_consumers_that_break_on_reconnect_and_are_restarted():
    services = compose()["services"]
    assert set(services["worker"]["command"].split()) >= WITHOUT_CHATTER
    procfile = procfile_parse((REPO / "Procfile").read_text())  # what `make run` starts
    assert set(procfile["worker"].split()) >= WITHOUT_CHATTER
    for name in (*APP_SERVICES, "postgres", "redis"):
        assert services[name]["restart"] == "unless-stopped", name


def run_check(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FIELD_", "EMAIL_"))}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def production_env(**changes: str | None) -> dict[str, str]:
    """The documented production variables (README, Configuration), with `changes`;
    a change to None leaves that variable out."""
    env = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": Fernet.generate_key().decode() * 2,
        "DJANGO_ALLOWED_HOSTS": "leadsync.example.com",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
    }
    env.update(changes)
    return {k: v for k, v in env.items() if v is not None}


def test_check_deploy_is_clean_with_documented_production_variables():
    result = run_check(production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY must be set"),
        ({"FIELD_ENCRYPTION_KEYS": None}, "FIELD_ENCRYPTION_KEYS must be set"),
        ({"DJANGO_ALLOWED_HOSTS": None}, "DJANGO_ALLOWED_HOSTS must be set"),
        ({"EMAIL_URL": None}, "EMAIL_URL must be set"),
        ({"DELIVERY_LEASE_SECONDS": "0.5"}, "DELIVERY_LEASE_SECONDS is at least 1"),
    ],
    ids=["secret-key", "encryption-keys", "allowed-hosts", "email", "lease"],
)
def test_production_refuses_to_start_with_unsafe_configuration(changes, refusal):
    result = run_check(production_env(**changes))
    assert result.returncode != 0
    assert refusal in result.stderr


def test_production_enforces_the_content_security_policy():
    """The header production sends (django-csp builds it from settings), and no
    report-only twin: with DEBUG the same policy is only reported."""
    code = (
        "import django, json; django.setup(); from csp.utils import build_policy; "
        "print(json.dumps([build_policy(nonce='N0NCE'), build_policy(report_only=True)]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FIELD_"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO, env={**env, **production_env(), "DJANGO_SETTINGS_MODULE": "leadsync.settings"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    enforced, report_only = json.loads(result.stdout.strip().splitlines()[-1])
    directives = dict(d.strip().split(" ", 1) for d in enforced.split(";"))
    assert report_only == ""
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == directives["style-src"] == "'self' 'nonce-N0NCE'"
    assert "unsafe" not in enforced
