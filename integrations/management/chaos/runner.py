"""Runs scenarios and collects their results.

    run(names, opts, var, out) -> list[Result]      in this process (its DB and Redis DB)
    run_isolated(name, opts, var) -> Result         in a child `manage.py chaos` whose
                                                    DATABASE_URL / REDIS_URL point at a
                                                    throwaway PostgreSQL / Redis
    child_main(name, opts, var) -> Result           what that child does

Scenarios that kill Redis or stop PostgreSQL never touch the shared servers: the child
starts its own (tests/outage.py: redis-server without persistence on a free port; an
initdb cluster run as the postgres user), breaks them, and removes them on exit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import psycopg
from django.core.management import call_command

from integrations.management.bench.procs import REPO, free_port
from integrations.management.chaos import figures
from integrations.management.chaos.rig import ChaosContext
from integrations.management.chaos.scenarios import SCENARIOS
from integrations.management.chaos.servers import ThrowawayPostgres, ThrowawayRedis

CHILD_DATABASE = "leadsync_chaos"
#: options handed to a child on its command line (option name -> flag)
CHILD_OPTIONS = ["bookings", "rate", "latency_ms", "concurrency", "settle_timeout",
                 "outage_seconds", "claims_back_limit"]  # fmt: skip


def _broken(name: str, error: BaseException) -> figures.Result:
    """A scenario that could not finish: a row that says so (and fails the run)."""
    text = "".join(traceback.format_exception_only(error)).strip()
    return figures.Result(
        scenario=name, attempted=0, accepted=0, answers={}, in_salesforce=0, duplicates=0,
        lost=0, non_final=0, failed=0, settle_seconds=None, notes=[f"DID NOT FINISH: {text}"],
        checks={"finished": False},
    )  # fmt: skip


def run(
    names: list[str], opts: dict, var: Path, out: Callable[[figures.Result], None]
) -> list[figures.Result]:
    """Run `names` one after the other, each on fresh processes; `out` sees each result
    as it comes. Scenarios that break Redis or PostgreSQL go to a child process."""
    ctx = ChaosContext(opts, var)
    results = []
    for name in names:
        function, breaks = SCENARIOS[name]
        try:
            result = run_isolated(name, opts, var) if breaks else function(ctx, opts)
        except KeyboardInterrupt:
            raise
        except Exception as error:
            traceback.print_exc()
            result = _broken(name, error)
        results.append(result)
        out(result)
    return results


def run_isolated(name: str, opts: dict, var: Path) -> figures.Result:
    """Run scenario `name` in a child `manage.py chaos --child` on a throwaway Redis
    (and PostgreSQL, for postgres-restart) on free loopback ports."""
    _, breaks = SCENARIOS[name]
    redis_port = free_port()
    pg_port = free_port() if breaks == "postgres" else 0
    database_url = (
        f"postgres://postgres@127.0.0.1:{pg_port}/{CHILD_DATABASE}"
        if pg_port else os.environ["DATABASE_URL"]
    )  # fmt: skip
    result_path = var / f"{name}.json"
    result_path.unlink(missing_ok=True)
    argv = [sys.executable, "manage.py", "chaos", "--child", name,
            "--result-json", str(result_path),
            "--redis-port", str(redis_port), "--pg-port", str(pg_port)]  # fmt: skip
    for option in CHILD_OPTIONS:
        argv += [f"--{option.replace('_', '-')}", str(opts[option])]
    env = {**os.environ, "DATABASE_URL": database_url,
           "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}  # fmt: skip
    child = subprocess.Popen(argv, cwd=REPO, env=env)  # noqa: S603 - our own command
    try:
        child.wait(timeout=opts["settle_timeout"] + 900)
    finally:
        if child.poll() is None:
            child.terminate()  # it stops its processes and servers on TERM
            child.wait(timeout=120)
    if not result_path.exists():
        raise RuntimeError(f"the {name} child exited ({child.returncode}) without a result")
    return figures.Result(**json.loads(result_path.read_text()))


def child_main(name: str, opts: dict, var: Path, *, redis_port: int, pg_port: int) -> None:
    """In the child: start the throwaway servers this process's settings point at, run
    scenario `name` against them, write its result to opts["result_json"]."""
    redis = ThrowawayRedis()
    redis.port, redis.url = redis_port, f"redis://127.0.0.1:{redis_port}/0"
    postgres = None
    try:
        redis.start()
        if pg_port:
            postgres = ThrowawayPostgres()
            postgres.port = pg_port
            postgres.create()
            postgres.start()
            with psycopg.connect(postgres.url(), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{CHILD_DATABASE}"')
        began = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        print(f"{name}: throwaway servers ready in {time.monotonic() - began:.0f}s", flush=True)
        function, breaks = SCENARIOS[name]
        server = postgres if breaks == "postgres" else redis
        try:
            result = function(ChaosContext(opts, var), opts, server)
        except Exception as error:
            traceback.print_exc()
            result = _broken(name, error)
        Path(opts["result_json"]).write_text(json.dumps(asdict(result)))
    finally:
        if postgres is not None:
            postgres.remove()
        if redis.proc is not None and redis.proc.poll() is None:
            redis.proc.kill()
            redis.proc.wait(timeout=10)
