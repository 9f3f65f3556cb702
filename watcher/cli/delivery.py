"""`watcher subscribers|topics|digest|alerts|reminders ...`: the delivery side's commands.

Jobs queue messages in the outbox (idempotent per subscriber and message key), then drain it so
mail really leaves (SMTP, or .eml files under data/outbox when WATCHER_SMTP_URL is unset);
``--queue-only`` leaves draining to the scheduler or `watcher outbox drain`.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from watcher.cli.common import fail, settings_or_exit
from watcher.db import get_engine, session_scope

if TYPE_CHECKING:
    from subscribers.drain import DrainReport
    from subscribers.report import Report

console = Console()
subscribers_app = typer.Typer(help="Add, list, import, export and erase subscribers.", no_args_is_help=True)
topics_app = typer.Typer(help="Admin-defined topics subscribers can follow.", no_args_is_help=True)
digest_app = typer.Typer(help="Weekly/daily digests: preview and send.", no_args_is_help=True)
alerts_app = typer.Typer(help="Instant alerts for new matching calls.", no_args_is_help=True)
reminders_app = typer.Typer(help="Deadline reminders.", no_args_is_help=True)

QueueOnly = Annotated[bool, typer.Option("--queue-only", help="Queue in the outbox; do not drain it now.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Count what would be sent; queue nothing.")]


def _now() -> datetime:
    return datetime.now(UTC)


def _engine() -> Engine:
    """The configured database (by URL: ``get_engine()`` without one caches the first URL seen)."""
    return get_engine(settings_or_exit().resolved_database_url())


def _report_table(report: Any) -> None:
    table = Table(title=f"{report.job}")
    table.add_column("count")
    table.add_column("value", justify="right")
    for name, value in report.counts().items():
        table.add_row(name.replace("_", " "), str(value))
    console.print(table)
    for message in report.error_messages:
        console.print(f"[red]{message}[/]")


def _drain(queue_only: bool, dry_run: bool = False) -> None:
    """Send what was queued, through the outbox's own drain (never SMTP from here)."""
    if queue_only or dry_run:
        return
    try:
        from subscribers.drain import drain_sync
    except ImportError:
        console.print("[yellow]outbox drain not available; messages stay queued[/]")
        return
    _print_drain(drain_sync(settings_or_exit()))


def _print_drain(report: DrainReport) -> None:
    console.print(f"outbox: sent {report.sent}, retry {report.retry}, failed {report.failed}")


# --- subscribers ------------------------------------------------------------------------------


@subscribers_app.command("add")
def add(
    email: str,
    name: Annotated[str | None, typer.Option("--name")] = None,
    language: Annotated[str, typer.Option("--language", help="it | en")] = "en",
    ecosystem: Annotated[
        list[str] | None, typer.Option("--ecosystem", help="Slug; repeat. Default: all.")
    ] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="call | event | news; repeat.")] = None,
    frequency: Annotated[str, typer.Option("--frequency", help="weekly | daily | instant | off")] = "weekly",
    topic: Annotated[list[int] | None, typer.Option("--topic", help="Topic id to follow; repeat.")] = None,
    confirmed: Annotated[
        bool, typer.Option("--confirmed", help="Consent was given to the admin: skip the opt-in email.")
    ] = False,
    queue_only: QueueOnly = False,
) -> None:
    """Subscribe EMAIL; without --confirmed a confirmation email is sent."""
    from subscribers import service
    from subscribers.preferences import PreferencesInput

    settings_or_exit()
    try:
        prefs = PreferencesInput.model_validate(
            {"ecosystems": ecosystem or [], "kinds": kind or [], "frequency": frequency}
        )
        with session_scope(_engine()) as session:
            subscriber = service.subscribe(
                session,
                email=email,
                name=name,
                language=language,
                preferences=prefs,
                topic_ids=topic or [],
                origin="cli: watcher subscribers add",
                confirmed=confirmed,
            )
            summary = f"{subscriber.email}: {subscriber.status} (id {subscriber.id})"
    except (ValidationError, ValueError) as error:
        fail(str(error))
    console.print(summary)
    if not confirmed:
        _drain(queue_only)


@subscribers_app.command("list")
def list_subscribers(
    status: Annotated[str | None, typer.Option("--status")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List subscribers with their status and main preferences."""
    from subscribers.transfer import export_rows

    settings_or_exit()
    with session_scope(_engine()) as session:
        rows = export_rows(session, status=status)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(rows)} subscriber(s)")
    for column in ("email", "name", "lang", "status", "frequency", "ecosystems", "kinds"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["email"],
            row["name"] or "",
            row["language"],
            row["status"],
            row["frequency"],
            ", ".join(row["ecosystems"]) or "all",
            ", ".join(row["kinds"]) or "all",
        )
    console.print(table)


@subscribers_app.command("import")
def import_subscribers(
    path: Path,
    fmt: Annotated[str | None, typer.Option("--format", help="csv | json (default: by extension)")] = None,
    confirmed: Annotated[
        bool, typer.Option("--confirmed", help="Consent was collected by the admin.")
    ] = False,
    queue_only: QueueOnly = False,
) -> None:
    """Import subscribers from CSV (header with 'email') or JSON; bad rows are reported and skipped."""
    from subscribers.transfer import import_rows, read_rows

    settings_or_exit()
    if not path.is_file():
        fail(f"no such file: {path}")
    try:
        with session_scope(_engine()) as session:
            result = import_rows(
                session, read_rows(path, fmt), origin=f"cli import {path.name}", confirmed=confirmed
            )
    except (ValueError, UnicodeDecodeError) as error:
        fail(f"cannot read {path}: {error}")
    table = Table(title=f"Import {path.name}")
    table.add_column("result")
    table.add_column("count", justify="right")
    for label, value in (
        ("added", result.added),
        ("already subscribed", result.existing),
        ("rejected", len(result.errors)),
    ):
        table.add_row(label, str(value))
    console.print(table)
    for problem in result.errors:
        console.print(f"[red]{problem}[/]")
    if not confirmed:
        _drain(queue_only)


@subscribers_app.command("export")
def export_subscribers(
    output: Annotated[Path | None, typer.Argument(help="File to write; default stdout.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv | json")] = "csv",
    email: Annotated[
        str | None, typer.Option("--email", help="Everything held about one person (JSON).")
    ] = None,
) -> None:
    """Export subscribers as CSV/JSON, or one subscriber's full data (--email)."""
    from subscribers import service
    from subscribers.transfer import export_rows, write_rows

    settings_or_exit()
    if fmt not in ("csv", "json"):
        fail("--format must be csv or json")
    with session_scope(_engine()) as session:
        if email:
            subscriber = _find(session, email)
            text = json.dumps(service.export_data(session, subscriber), ensure_ascii=False, indent=2) + "\n"
        else:
            text = write_rows(export_rows(session), fmt)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"written {output}")


@subscribers_app.command("remove")
def remove(email: str) -> None:
    """Erase a subscriber and everything that names them (no row is left behind)."""
    from subscribers import service

    settings_or_exit()
    with session_scope(_engine()) as session:
        service.erase(session, _find(session, email))
    console.print(f"erased {email}")


def _find(session: Session, email: str) -> Any:
    from subscribers import service

    try:
        subscriber = service.find_by_email(session, email)
    except ValueError as error:
        fail(str(error))
    if subscriber is None:
        fail(f"no subscriber with address {email}")
    return subscriber


# --- topics -------------------------------------------------------------------------------------


@topics_app.command("add")
def add_topic(
    name: str,
    ecosystem: Annotated[list[str] | None, typer.Option("--ecosystem")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind")] = None,
    programme: Annotated[list[str] | None, typer.Option("--programme")] = None,
    keyword: Annotated[list[str] | None, typer.Option("--keyword", help="Include keyword.")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Exclude keyword.")] = None,
    description: Annotated[str, typer.Option("--description")] = "",
) -> None:
    """Define a named filter, e.g. "Eurocluster calls — Health"."""
    from subscribers.models import Topic
    from subscribers.preferences import TopicFilter

    settings_or_exit()
    try:
        flt = TopicFilter(
            ecosystems=ecosystem or [],
            kinds=kind or [],
            programmes=programme or [],
            include_keywords=keyword or [],
            exclude_keywords=exclude or [],
        )
    except ValidationError as error:
        fail(str(error))
    with session_scope(_engine()) as session:
        if session.exec(select(Topic).where(Topic.name == name)).first():
            fail(f"a topic named {name!r} exists")
        topic = Topic(name=name, description=description, filters=flt.model_dump())
        session.add(topic)
        session.flush()
        console.print(f"topic {topic.id}: {name}")


@topics_app.command("list")
def list_topics() -> None:
    """List topics and how many subscribers follow each."""
    from sqlalchemy import func

    from subscribers.models import Topic, TopicFollow

    settings_or_exit()
    table = Table(title="Topics")
    for column in ("id", "name", "followers", "filters"):
        table.add_column(column, overflow="fold")
    with session_scope(_engine()) as session:
        counts = dict(
            session.exec(select(TopicFollow.topic_id, func.count()).group_by(col(TopicFollow.topic_id))).all()
        )
        for topic in session.exec(select(Topic).order_by(col(Topic.id))):
            filters = {k: v for k, v in topic.filters.items() if v}
            table.add_row(str(topic.id), topic.name, str(counts.get(topic.id or 0, 0)), json.dumps(filters))
    console.print(table)


# --- jobs ---------------------------------------------------------------------------------------


@digest_app.command("preview")
def digest_preview(
    email: Annotated[str, typer.Option("--email", help="Subscriber address.")],
    html: Annotated[bool, typer.Option("--html", help="Print the HTML part instead of the text.")] = False,
) -> None:
    """Show the digest EMAIL would receive now (nothing is sent or recorded)."""
    from subscribers.digest import preview

    settings_or_exit()
    with Session(_engine()) as session:
        try:
            subject, text, html_part = preview(session, email, _now())
        except (LookupError, ValueError) as error:
            fail(str(error))
    typer.echo(f"Subject: {subject}\n")
    typer.echo(html_part if html else text)


@digest_app.command("send")
def digest_send(
    now: Annotated[
        bool, typer.Option("--now", help="Treat every active subscriber's digest as due.")
    ] = False,
    dry_run: DryRun = False,
    queue_only: QueueOnly = False,
) -> None:
    """Queue and send due digests (sending starts while later ones are built); a period already sent
    is never sent again."""
    from subscribers.digest import send_due_digests

    settings = settings_or_exit()
    at = _now()

    def queue() -> Report:
        return send_due_digests(_engine(), now=at, force_all=now, dry_run=dry_run)

    if queue_only or dry_run:
        _report_table(queue())
        return
    from subscribers.drain_alongside import drain_alongside

    report, drained = drain_alongside(queue, settings)
    _report_table(report)
    _print_drain(drained)


@alerts_app.command("send")
def alerts_send(
    now: Annotated[
        bool, typer.Option("--now", help="Flush pending calls without waiting for the window.")
    ] = False,
    dry_run: DryRun = False,
    queue_only: QueueOnly = False,
) -> None:
    """Queue and send instant alerts for new matching calls."""
    from subscribers.alerts import flush_alerts

    settings_or_exit()
    report = flush_alerts(_engine(), now=_now(), window_s=0 if now else None, dry_run=dry_run)
    _report_table(report)
    _drain(queue_only, dry_run)


@reminders_app.command("send")
def reminders_send(dry_run: DryRun = False, queue_only: QueueOnly = False) -> None:
    """Queue and send the deadline reminders due today."""
    from subscribers.reminders import scan_reminders

    settings_or_exit()
    report = scan_reminders(_engine(), now=_now(), dry_run=dry_run)
    _report_table(report)
    _drain(queue_only, dry_run)


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.add_typer(subscribers_app, name="subscribers")
    app.add_typer(topics_app, name="topics")
    app.add_typer(digest_app, name="digest")
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(reminders_app, name="reminders")
