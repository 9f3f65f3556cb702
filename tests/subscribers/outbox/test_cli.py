"""`watcher outbox drain|list|retry|cancel|resolve` (registered on a bare app so only this module runs)."""

from __future__ import annotations

import json

import pytest
import typer
from sqlalchemy import update
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from subscribers.outbox import OUTBOX
from tests.support.outbox_data import queue
from tests.support.smtp_server import Fault, FaultySmtpServer
from watcher.cli.outbox import register
from watcher.settings import get_settings

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("noop")(lambda: None)  # keep "outbox" a sub-command, as in the real app
    register(app)
    return app


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(_app(), ["outbox", *args])
    return result.exit_code, result.output or repr(result.exception)


def test_drain_list_and_resolve_unknown(
    smtp_server: FaultySmtpServer, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHER_SMTP_URL", smtp_server.url)
    get_settings.cache_clear()
    smtp_server.script("lost@example.eu", Fault("data", "drop"))
    queue(sqlite_engine, to="lost@example.eu", key="k")
    queue(sqlite_engine, to="ok@example.eu", key="k")
    code, out = _run("drain", "--json")
    assert code == 0 and json.loads(out.splitlines()[-1])["sent"] == 1
    code, out = _run("list", "--state", "unknown", "--json")
    [row] = [json.loads(line) for line in out.splitlines()]
    assert row["recipient"] == "lost@example.eu" and row["state"] == "unknown"
    assert _run("resolve", str(row["id"]))[0] != 0  # neither --sent nor --resend
    assert _run("retry", str(row["id"]))[0] != 0  # unknown rows are resolved, not retried
    code, out = _run("resolve", str(row["id"]), "--resend")
    assert code == 0 and "pending" in out, out
    code, out = _run("drain")
    assert code == 0 and "sent 1" in out
    assert sorted(m.recipient for m in smtp_server.received) == ["lost@example.eu", "ok@example.eu"]
    code, out = _run("list")
    assert code == 0 and "sent=2" in out.splitlines()[0]


def test_retry_and_cancel(sqlite_engine: Engine) -> None:
    queue(sqlite_engine, to="a@example.eu", key="k")
    with sqlite_engine.begin() as conn:
        conn.execute(update(OUTBOX).values(state="failed", attempts=8, last_error="550 no such user"))
    assert _run("retry", "1") == (0, "message 1 is now pending\n")
    assert _run("cancel", "1") == (0, "message 1 is now cancelled\n")
    code, out = _run("cancel", "1")
    assert code == 1 and "is cancelled" in out
    assert _run("list", "--state", "bogus")[0] == 1
    assert _run("drain")[1].startswith("outbox (file): sent 0")


def test_bad_smtp_url_is_a_clear_error(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_SMTP_URL", "smtp://host?tls=1")
    get_settings.cache_clear()
    code, out = _run("drain")
    assert code == 1 and "unknown SMTP URL parameter" in out
