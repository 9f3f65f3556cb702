"""Collections tuned at start-up: none during imports, start-up objects frozen, young ones collected
less often; for the command line, for `watcher poll`'s pipeline imports and for pool workers.

Each check runs in its own interpreter: garbage collection settings are process-wide."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from watcher.gc_tuning import YOUNG_THRESHOLD

REPORT = (
    "import gc, json; print(json.dumps([gc.get_threshold()[0], gc.get_freeze_count() > 0, gc.isenabled()]))"
)


def _run(code: str, tmp_path: Path) -> list[object]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60, cwd=tmp_path
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_collects_nothing_then_freezes_and_raises_the_threshold(tmp_path: Path) -> None:
    code = (
        "import gc, json\nfrom watcher import gc_tuning\nwith gc_tuning.importing():\n"
        "    during = gc.isenabled()\n    import sqlalchemy\n"
        "print(json.dumps([during, gc.get_threshold()[0], gc.get_freeze_count() > 0, gc.isenabled()]))"
    )
    assert _run(code, tmp_path) == [False, YOUNG_THRESHOLD, True, True]


def test_the_command_line_settles_after_loading_its_command(tmp_path: Path) -> None:
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: exec({REPORT!r}))\n"
        "sys.argv = ['watcher', 'db', '--help']\nfrom watcher.cli import main\nmain()"
    )
    assert _run(code, tmp_path) == [YOUNG_THRESHOLD, True, True]


def test_pool_workers_settle_when_they_start(tmp_path: Path) -> None:
    code = (
        "from watcher.processes import init_worker\nfrom watcher.settings import Settings\n"
        f"init_worker(Settings().model_dump_json())\n{REPORT}"
    )
    assert _run(code, tmp_path) == [YOUNG_THRESHOLD, True, True]
