"""Helpers to run real `watcher worker` subprocesses against one database in tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watcher.settings import PROJECT_ROOT

WORKER = [sys.executable, "-c", "from watcher.cli import main; main()", "worker", "--processes", "1"]


def worker_env(tmp_path: Path, *, db_url: str, **overrides: str) -> dict[str, str]:
    """Environment for a test worker: no real sources, JSON logs, short pauses."""
    sources = tmp_path / "sources.yaml"
    if not sources.exists():
        sources.write_text("sources: []\n")
    env = {
        **os.environ,
        "WATCHER_DATABASE_URL": db_url,
        "WATCHER_SOURCES": str(sources),
        "WATCHER_LOG_FORMAT": "json",
        "WATCHER_WORKER_IDLE_S": "0.5",
        "WATCHER_MAIL_POLL_INTERVAL_S": "0.2",
        "WATCHER_SCHEDULER_LOCK_RETRY_S": "0.5",
        "WATCHER_DATA_DIR": str(tmp_path / "data"),
    }
    env.update(overrides)
    return env


@dataclass
class WorkerProcess:
    proc: subprocess.Popen[bytes]
    log_path: Path
    name: str

    def events(self) -> list[dict[str, Any]]:
        lines = self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def has_event(self, name: str) -> bool:
        return any(event.get("event") == name for event in self.events())

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


@dataclass
class Cluster:
    tmp_path: Path
    env: dict[str, str]
    workers: list[WorkerProcess] = field(default_factory=list)

    def start(self, count: int) -> list[WorkerProcess]:
        for _ in range(count):
            name = f"w{len(self.workers)}"
            log_path = self.tmp_path / f"{name}.log"
            handle = log_path.open("wb")
            proc = subprocess.Popen(WORKER, cwd=PROJECT_ROOT, env=self.env, stdout=handle, stderr=handle)
            handle.close()
            self.workers.append(WorkerProcess(proc, log_path, name))
        return self.workers

    def stop(self) -> None:
        for worker in self.workers:
            if worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str, step: float = 0.05) -> float:
    """Poll ``condition`` until true; returns seconds waited; AssertionError after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)
    return time.monotonic() - started
