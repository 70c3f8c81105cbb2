"""Run the Procfile's processes for `make run`, restarting any that dies; Ctrl-C stops all.

    python -m leadsync.supervisor Procfile

honcho (what `make run` used before) stops every process when one exits, so a worker
that died on a Redis hiccup took web, beat and the emulator with it. Here a process that
exits is started again after a short delay, doubling up to 30 s while it keeps failing
within a minute of its start; the others keep running. SIGINT or SIGTERM stops every
process (its whole process group: celery's pool, runserver's reloader), politely first,
then with SIGKILL after a grace period.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")
STABLE_AFTER = 60.0  # a process up this long is healthy again: its next restart is quick
MAX_DELAY = 30.0
_print_lock = threading.Lock()


def procfile_parse(text: str) -> dict[str, str]:
    """{name: shell command} of a Procfile; comments and blank lines are skipped."""
    processes = {}
    for line in text.splitlines():
        match = PROCFILE_LINE.match(line.strip())
        if match and not line.lstrip().startswith("#"):
            processes[match[1]] = match[2]
    return processes


def say(name: str, line: str) -> None:
    with _print_lock:
        sys.stdout.write(f"{time.strftime('%H:%M:%S')} {name:<9}| {line.rstrip()}\n")
        sys.stdout.flush()


@dataclass
class Process:
    name: str
    command: str
    delay: float
    popen: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None  # when a dead process is due to start again
    restarts: int = field(default=0)

    def start(self) -> None:
        # Its own session and process group, so stopping it reaches its children too, and
        # a Ctrl-C in the terminal reaches only the supervisor, which then stops everyone.
        self.popen = subprocess.Popen(  # noqa: S602 - Procfile lines are shell commands
            self.command,
            shell=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.started_at = time.monotonic()
        self.restart_at = None
        say(self.name, f"started (pid {self.popen.pid})")
        threading.Thread(target=self._relay, args=(self.popen,), daemon=True).start()

    def _relay(self, popen: subprocess.Popen) -> None:
        for raw in iter(popen.stdout.readline, b""):
            say(self.name, raw.decode(errors="replace"))

    def signal_group(self, signum: int) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(self.popen.pid, signum)


class Supervisor:
    def __init__(self, processes: dict[str, str], *, delay: float, grace: float):
        self.processes = [Process(name, command, delay) for name, command in processes.items()]
        self.base_delay, self.grace = delay, grace
        self.stopping = threading.Event()

    def request_stop(self, signum, frame) -> None:
        self.stopping.set()

    def run(self) -> int:
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        for process in self.processes:
            process.start()
        while not self.stopping.wait(0.2):
            self.tend()
        self.stop_all()
        return 0

    def tend(self) -> None:
        now = time.monotonic()
        for process in self.processes:
            code = process.popen.poll() if process.popen else None
            if process.restart_at is None and code is not None:
                process.signal_group(signal.SIGKILL)  # no orphan of the dead one lingers
                if now - process.started_at >= STABLE_AFTER:
                    process.delay = self.base_delay
                process.restart_at = now + process.delay
                say(process.name, f"exited with code {code}; restarting in {process.delay:g} s")
                process.delay = min(process.delay * 2, MAX_DELAY)
            elif process.restart_at is not None and now >= process.restart_at:
                process.restarts += 1
                process.start()

    def stop_all(self) -> None:
        running = [p for p in self.processes if p.popen and p.popen.poll() is None]
        for process in self.processes:
            process.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for process in running:
            try:
                process.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(process.name, f"still running after {self.grace:g} s; killing it")
        for process in self.processes:
            process.signal_group(signal.SIGKILL)  # leftovers of any group, also of the dead
            if process.popen:
                process.popen.wait()
        say("supervisor", "all processes stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("procfile", type=Path)
    parser.add_argument("--restart-delay", type=float, default=1.0, help="seconds (doubles)")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds before SIGKILL")
    args = parser.parse_args(argv)
    processes = procfile_parse(args.procfile.read_text())
    if not processes:
        parser.error(f"no processes in {args.procfile}")
    return Supervisor(processes, delay=args.restart_delay, grace=args.grace).run()


if __name__ == "__main__":
    sys.exit(main())
