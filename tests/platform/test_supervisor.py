"""`worklink serve`'s supervisor: a child that exits is started again after a growing back-off, a
child that ran long enough starts again at the shortest back-off, and stopping ends every child
and what it started. The children here are real processes (a small script standing in for the
`airflow` command, so the timing is exact); tests/e2e/test_scheduler.py runs it with Airflow."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from worklink.orchestration.supervisor import Supervisor

# "$1" is the subcommand. `db migrate` fails the first time (the database is not up yet), then
# works; `flaky` exits at once three times, then stays up and starts a grandchild (sleep).
FAKE_AIRFLOW = """#!/bin/sh
count_file="$STATE/$1.count"
n=$(cat "$count_file" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$count_file"
if [ "$1" = db ]; then [ $n -ge 2 ] && exit 0; exit 3; fi
if [ "$1" = flaky ] && [ $n -le 3 ]; then echo "flaky run $n failing"; exit 1; fi
sleep 300 &
echo $! > "$STATE/$1.grandchild"
wait
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_children_are_restarted_with_backoff_and_stopped_with_their_processes(tmp_path):
    script = tmp_path / "airflow"
    script.write_text(FAKE_AIRFLOW)
    script.chmod(0o755)
    said: list[tuple[float, str]] = []
    supervisor = Supervisor(str(script), {**os.environ, "STATE": str(tmp_path)}, tmp_path / "logs",
                            processes=("flaky", "steady"), max_backoff=2.0, healthy_after=60.0,
                            say=lambda m: said.append((time.monotonic(), m)))
    runner = threading.Thread(target=supervisor.run)
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (tmp_path / "flaky.grandchild").exists():
            time.sleep(0.2)
        assert (tmp_path / "flaky.grandchild").exists(), said
        time.sleep(0.5)
    finally:
        supervisor.stopping.set()
        runner.join(timeout=60)
    messages = [m for _, m in said]
    assert any("airflow db migrate failed (code 3" in m for m in messages)  # retried until it worked
    assert (tmp_path / "db.count").read_text().strip() == "2"
    # three quick exits: waits of 1 s, 2 s, then 2 s (max_backoff), each announced with the exit code
    restarts = [m for m in messages if m.startswith("flaky exited with code 1")]
    assert [m.split("restarting in ")[1].split("s")[0] for m in restarts] == ["1", "2", "2"]
    starts = [t for t, m in said if m.startswith("started flaky")]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 4 and gaps[0] >= 1.0 and gaps[1] >= 2.0 and gaps[2] >= 2.0, gaps
    assert (tmp_path / "steady.count").read_text().strip() == "1"  # never restarted
    assert "flaky run 1 failing" in (tmp_path / "logs" / "flaky.log").read_text()
    assert oct((tmp_path / "logs" / "flaky.log").stat().st_mode & 0o777) == "0o600"
    # stopped: the children and the processes they started are gone
    for name in ("flaky", "steady"):
        grandchild = int((tmp_path / f"{name}.grandchild").read_text())
        assert not _alive(grandchild), name
    assert all(c.proc is None or c.proc.poll() is not None for c in supervisor.children)
