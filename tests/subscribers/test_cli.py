"""The delivery commands end to end: real database, real outbox drain into .eml files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from subscribers.models import Subscriber
from tests.subscribers.factories import make_item, outbox
from watcher.cli import app
from watcher.settings import get_settings

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def eml_files() -> list[Path]:
    return sorted(get_settings().outbox_dir.glob("*.eml"))


def test_add_list_export_remove(sqlite_engine: Engine, tmp_path: Path) -> None:
    run(
        "subscribers",
        "add",
        "Anna@Example.org",
        "--name",
        "Anna",
        "--language",
        "it",
        "--ecosystem",
        "health",
        "--kind",
        "call",
        "--frequency",
        "daily",
        "--confirmed",
    )
    out = run("subscribers", "add", "bruno@example.org")
    assert "pending" in out
    assert len(eml_files()) == 1  # the confirmation email went out (file outbox)
    listing = json.loads(run("subscribers", "list", "--json"))
    assert [(r["email"], r["status"], r["frequency"]) for r in listing] == [
        ("anna@example.org", "active", "daily"),
        ("bruno@example.org", "pending", "weekly"),
    ]
    exported = tmp_path / "subs.csv"
    run("subscribers", "export", str(exported))
    assert "anna@example.org" in exported.read_text() and "health" in exported.read_text()
    person = json.loads(run("subscribers", "export", "--email", "anna@example.org"))
    assert person["consent_log"][0]["origin"] == "cli: watcher subscribers add"
    run("subscribers", "remove", "anna@example.org")
    with Session(sqlite_engine) as session:
        assert [s.email for s in session.exec(select(Subscriber))] == ["bruno@example.org"]


def test_bad_input_fails_clearly(sqlite_engine: Engine) -> None:
    result = runner.invoke(app, ["subscribers", "add", "x@example.org", "--ecosystem", "space"])
    assert result.exit_code == 1 and "unknown ecosystem space" in result.output
    result = runner.invoke(app, ["subscribers", "add", "not-an-email", "--confirmed"])
    assert result.exit_code == 1 and "invalid email address" in result.output
    result = runner.invoke(app, ["subscribers", "remove", "nobody@example.org"])
    assert result.exit_code == 1 and "no subscriber" in result.output


def test_import_reports_bad_rows_and_keeps_good_ones(sqlite_engine: Engine, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "email,name,language,ecosystems,frequency\n"
        "ok@example.org,Ok,it,health;digital,weekly\n"
        "bad-address,Bad,en,,weekly\n"
        "eco@example.org,Eco,en,space,weekly\n"
        "OK@example.org,Dup,en,,weekly\n",
        encoding="utf-8",
    )
    out = run("subscribers", "import", str(source), "--confirmed")
    assert "row 3" in out and "row 4" in out and "unknown ecosystem" in out, out
    with Session(sqlite_engine) as session:
        rows = session.exec(select(Subscriber)).all()
    assert len(rows) == 1, out
    subscriber = rows[0]
    assert subscriber.ecosystems == ["digital", "health"] and subscriber.status == "active"
    assert subscriber.language == "it"
    json_source = tmp_path / "in.json"
    json_source.write_text(json.dumps([{"email": "j@example.org", "kinds": ["event"]}]), encoding="utf-8")
    run("subscribers", "import", str(json_source), "--confirmed")


def test_digest_send_now_twice_and_preview(sqlite_engine: Engine) -> None:
    run("subscribers", "add", "reader@example.org", "--confirmed")
    with Session(sqlite_engine) as session:
        make_item(
            session, title="Fresh call for hospitals", first_seen_at=datetime.now(UTC) - timedelta(hours=1)
        )
    out = run("digest", "preview", "--email", "reader@example.org")
    assert "Subject: 1 new call in Health" in out and "Fresh call for hospitals" in out
    dry = run("digest", "send", "--now", "--dry-run")
    assert "would send" in dry and eml_files() == []
    run("digest", "send", "--now")
    files = eml_files()
    assert len(files) == 1 and b"Fresh call for hospitals" in files[0].read_bytes()
    run("digest", "send", "--now")
    assert len(eml_files()) == 1
    with Session(sqlite_engine) as session:
        assert [r.state for r in outbox(session, "digest")] == ["sent"]


def test_topics_alerts_and_reminders_commands(sqlite_engine: Engine) -> None:
    run("topics", "add", "Eurocluster calls — Health", "--ecosystem", "health", "--kind", "call")
    assert "Eurocluster calls — Health" in run("topics", "list")
    run("subscribers", "add", "fast@example.org", "--frequency", "instant", "--confirmed", "--topic", "1")
    with Session(sqlite_engine) as session:
        make_item(
            session,
            title="Instant call",
            first_seen_at=datetime.now(UTC),
            deadline=(datetime.now(UTC) + timedelta(days=3)).date(),
        )
    run("alerts", "send", "--now")
    run("reminders", "send")
    with Session(sqlite_engine) as session:
        kinds = sorted(r.kind for r in outbox(session))
    assert kinds == ["alert", "reminder"]
