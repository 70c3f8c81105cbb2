"""Throwaway services to break on purpose: a Redis and a PostgreSQL of our own that the
chaos runner (and the outage tests) may kill or stop and start again on the same port. The
shared Redis and PostgreSQL are never touched. Dev-only, like `make chaos`."""

import shutil
import subprocess
import tempfile
from pathlib import Path

from integrations.management.bench.procs import free_port, wait_for


class ThrowawayRedis:
    """redis-server on a free loopback port, no persistence (a restart comes back empty)."""

    def __init__(self):
        if not shutil.which("redis-server"):
            raise RuntimeError("redis-server is not installed (outage runs start their own)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self.answers, timeout=10, what=f"redis-server on {self.port}")

    def answers(self) -> bool:
        import redis

        try:
            return redis.Redis.from_url(self.url, socket_timeout=0.5).ping()
        except redis.exceptions.ConnectionError:
            return False

    def kill(self) -> None:
        """SIGKILL: a crash, not a shutdown."""
        self.proc.kill()
        self.proc.wait(timeout=10)
        assert not self.answers()


class ThrowawayPostgres:
    """A PostgreSQL cluster of our own (initdb in a temporary directory, run as the
    `postgres` user on a free port), to stop and start again on purpose."""

    def __init__(self):
        if not shutil.which("initdb") or not shutil.which("runuser"):
            raise RuntimeError("initdb and runuser are needed for the PostgreSQL outage runs")
        self.root = Path(tempfile.mkdtemp(prefix="leadsync-pg-"))
        shutil.chown(self.root, "postgres")
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.port = free_port()

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _as_postgres(self, *argv: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def create(self) -> None:
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log),
                          "-w", "start")  # fmt: skip

    def stop(self) -> None:
        """Immediate shutdown: connections drop as in a crash or a failover."""
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", "pg_ctl", "-D", str(self.data), "-m",
             "immediate", "stop"],
            capture_output=True, timeout=60,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)
