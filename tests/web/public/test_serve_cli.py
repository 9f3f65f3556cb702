"""`watcher serve --host --port` starts the real app; `--help` documents the options."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from watcher.cli import app


def test_serve_help_lists_host_and_port() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.output and "--port" in result.output


def test_serve_answers_on_the_given_port(sqlite_engine: Engine, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-c", "from watcher.cli import main; main()", "serve",
               "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=dict(os.environ), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/feeds", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert response.status_code == 200 and "Feeds and calendars" in response.text
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
    finally:
        process.terminate()
        process.wait(timeout=10)
