"""`watcher outbox ...`: drain the outbox and let an admin inspect and decide on messages.

``resolve`` exists for rows whose outcome is ``unknown`` (the reply was lost after the message was
handed over, or the sender died): only a human can check the mailbox or server logs and say
"it arrived" (``--sent``) or "send it again" (``--resend``).
"""

from __future__ import annotations

import json

import typer
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, func, select

from subscribers.drain import drain_sync
from subscribers.outbox import STATES, OutboxMessage, admin_action
from subscribers.smtp_url import SmtpUrlError
from watcher.cli.common import fail, settings_or_exit
from watcher.db import get_engine
from watcher.models import utcnow

outbox_app = typer.Typer(
    help="The mail outbox: drain it, list messages, retry, cancel, resolve.", no_args_is_help=True
)


@outbox_app.command("drain")
def drain_command(
    limit: int | None = typer.Option(None, "--limit", min=1, help="Claim at most this many messages."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Send every due message (SMTP when WATCHER_SMTP_URL is set, else .eml files)."""
    settings = settings_or_exit()
    try:
        report = drain_sync(settings, limit=limit)
    except (SmtpUrlError, ValueError) as error:
        fail(f"cannot send mail: {error}")
    except SQLAlchemyError as error:
        fail(f"database error while draining the outbox: {error}"[:1000])
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        typer.echo(str(report))
        for detail in report.errors:
            typer.echo(f"  {detail}", err=True)
    if report.stopped:
        fail(f"drain stopped early: {report.stopped}")


@outbox_app.command("list")
def list_command(
    state: str | None = typer.Option(None, "--state", help=f"Only this state: {', '.join(STATES)}."),
    limit: int = typer.Option(50, "--limit", min=1, help="Most rows shown (newest first)."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
) -> None:
    """List outbox messages with their state, attempts and last error; counts per state first."""
    if state is not None and state not in STATES:
        fail(f"unknown state {state!r}; one of {', '.join(STATES)}")
    settings = settings_or_exit()
    with Session(get_engine(settings.resolved_database_url())) as session:
        counts = dict(
            session.exec(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all()
        )
        query = select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(limit)
        if state:
            query = query.where(OutboxMessage.state == state)
        rows = session.exec(query).all()
    if not as_json:
        typer.echo("  ".join(f"{name}={counts.get(name, 0)}" for name in STATES))
    for row in rows:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "id": row.id,
                        "state": row.state,
                        "recipient": row.recipient,
                        "kind": row.kind,
                        "message_key": row.message_key,
                        "subject": row.subject,
                        "message_id": row.message_id,
                        "attempts": row.attempts,
                        "smtp_code": row.smtp_code,
                        "last_error": row.last_error,
                        "created_at": row.created_at.isoformat(),
                        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
                    }
                )
            )
        else:
            code = row.smtp_code or "-"
            error = f"  {row.last_error[:80]}" if row.last_error and row.state != "sent" else ""
            typer.echo(
                f"{row.id:>7}  {row.state:<9} {row.attempts:>2} {code!s:>3}  {row.recipient}  "
                f"{row.message_key}{error}"
            )


def _act(message_id: int, action: str) -> None:
    settings = settings_or_exit()
    with Session(get_engine(settings.resolved_database_url())) as session:
        try:
            state = admin_action(session, message_id=message_id, action=action, now=utcnow()).state
        except ValueError as error:
            fail(str(error))
        session.commit()
    typer.echo(f"message {message_id} is now {state}")


@outbox_app.command("retry")
def retry_command(message_id: int = typer.Argument(..., help="Outbox id.")) -> None:
    """Queue a failed or cancelled message again (attempts reset)."""
    _act(message_id, "retry")


@outbox_app.command("cancel")
def cancel_command(message_id: int = typer.Argument(..., help="Outbox id.")) -> None:
    """Never send this message."""
    _act(message_id, "cancel")


@outbox_app.command("resolve")
def resolve_command(
    message_id: int = typer.Argument(..., help="Outbox id of an `unknown` message."),
    sent: bool = typer.Option(False, "--sent", help="It did arrive: record it as sent."),
    resend: bool = typer.Option(False, "--resend", help="It did not arrive: send it again."),
) -> None:
    """Decide an `unknown` message: --sent (it arrived) or --resend (queue it again)."""
    if sent == resend:
        fail("give exactly one of --sent or --resend")
    _act(message_id, "resolve-sent" if sent else "resolve-resend")


def register(app: typer.Typer) -> None:
    """Add `watcher outbox ...`."""
    app.add_typer(outbox_app, name="outbox")
