"""`make run`'s supervisor: a process that dies is restarted, the others keep running, and
Ctrl-C stops every process, also children and processes that ignore SIGTERM."""

import os
import signal
import subprocess
import sys

from leadsync.supervisor import procfile_parse
from tests.conftest import REPO, wait_until


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too (its parent, the shell, may not have reaped it yet)
    stat = f"/proc/{pid}/stat"
    return os.path.exists(stat) and open(stat).read().split(") ", 1)[1][0] != "Z"


def pids(path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_procfile_of_make_run_names_every_process():
    processes = procfile_parse((REPO / "Procfile").read_text())
    assert set(processes) == {"web", "worker", "beat", "emulator"}


def test_dead_process_is_restarted_others_keep_running_and_ctrl_c_stops_all(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        f"# flaky dies at once; steady runs with a child; stubborn ignores SIGTERM\n"
        f"flaky: echo $$ >> {tmp_path}/flaky; exit 3\n"
        f"steady: echo $$ >> {tmp_path}/steady; sleep 300 & echo $! >> {tmp_path}/child; wait\n"
        f"stubborn: trap '' TERM; echo $$ >> {tmp_path}/stubborn; while :; do sleep 0.1; done\n"
    )
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "leadsync.supervisor", str(procfile),
         "--restart-delay", "0.1", "--grace", "1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        wait_until(lambda: len(pids(tmp_path / "flaky")) >= 3, timeout=15, message="restarts")
        wait_until(lambda: pids(tmp_path / "child") and pids(tmp_path / "stubborn"), timeout=10)
        assert supervisor.poll() is None
        assert len(pids(tmp_path / "steady")) == 1  # never restarted: the others keep running
        assert len(pids(tmp_path / "stubborn")) == 1
        survivors = [*pids(tmp_path / "steady"), *pids(tmp_path / "child"),
                     *pids(tmp_path / "stubborn")]  # fmt: skip
        assert all(alive(pid) for pid in survivors)

        supervisor.send_signal(signal.SIGINT)
        output, _ = supervisor.communicate(timeout=20)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()

    assert supervisor.returncode == 0, output
    assert "flaky    | exited with code 3; restarting" in output
    assert "all processes stopped" in output
    wait_until(lambda: not any(alive(pid) for pid in survivors), timeout=5, message="all stopped")
