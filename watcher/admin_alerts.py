"""Emails to admins when something needs a human: a source failing round after round, or mail
whose delivery is ``unknown``.

Each incident mails once: the outbox's idempotency key names the incident, not the check. A failing
source's streak is identified by its last success (a new streak can only start after a success),
and the unknown-mail incident by the newest unknown row, so a later unknown row is a new incident
while re-running the check over the same rows queues nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from watcher.db import get_engine
from watcher.models import SourceState
from watcher.settings import Settings


@dataclass(frozen=True)
class Incident:
    key: str
    subject: str
    body: str


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y%m%dT%H%M%S") if value else "never"


def failing_sources(session: Session, *, after: int) -> list[Incident]:
    """One incident per enabled source that failed ``after`` rounds or more in a row."""
    rows = session.exec(
        select(SourceState)
        .where(SourceState.consecutive_failures >= after, col(SourceState.enabled).is_(True))
        .order_by(col(SourceState.source_id))
    ).all()
    return [
        Incident(
            key=f"admin:source-failing:{row.source_id}:{_stamp(row.last_success_at)}",
            subject=f"[Cluster Watch] source {row.source_id} failing: {row.consecutive_failures} rounds",
            body=(
                f"Source {row.source_id} has failed {row.consecutive_failures} polling rounds in a row.\n"
                f"Last success: {row.last_success_at or 'never'}\n"
                f"Last attempt: {row.last_attempt_at}\n"
                f"Last HTTP status: {row.last_status}\n"
                f"Last error: {row.last_error}\n\n"
                "Check it with `watcher sources check` or on the admin console's sources page.\n"
            ),
        )
        for row in rows
    ]


def unknown_mail(session: Session) -> list[Incident]:
    """One incident while the outbox holds ``unknown`` rows, re-raised when a newer one appears."""
    count, newest = session.execute(
        text("SELECT COUNT(*), MAX(id) FROM outbox WHERE state = 'unknown'")
    ).one()
    if not count:
        return []
    return [
        Incident(
            key=f"admin:outbox-unknown:{newest}",
            subject=f"[Cluster Watch] {count} message(s) with unknown delivery",
            body=(
                f"The outbox holds {count} message(s) whose delivery is unknown: the sender stopped\n"
                "after the SMTP transaction started, so the message may or may not have arrived.\n"
                "They are never resent blindly. List them with `watcher outbox list --state unknown`\n"
                "and decide with `watcher outbox resolve ID --sent|--resend`.\n"
            ),
        )
    ]


def _message(*, recipient: str, incident: Incident) -> EmailMessage:
    from subscribers.compose import clean_header

    message = EmailMessage()
    message["To"] = recipient
    message["Subject"] = clean_header(incident.subject)
    message.set_content(incident.body)
    return message


def queue_admin_alerts(engine: Engine, *, settings: Settings) -> int:
    """Queue one email per admin per new incident; returns how many were newly queued."""
    if not settings.admin_emails:
        return 0
    from subscribers.outbox import enqueue

    queued = 0
    with Session(engine) as session:
        incidents = failing_sources(session, after=settings.source_failure_alert_after)
        incidents += unknown_mail(session)
        for incident in incidents:
            for recipient in settings.admin_emails:
                queued += enqueue(
                    session,
                    subscriber_id=None,
                    message_key=incident.key,
                    kind="admin",
                    message=_message(recipient=recipient, incident=incident),
                )
        session.commit()
    return queued


def send_admin_alerts(settings: Settings) -> str:
    """The scheduler job: queue what is new (the outbox drain sends it)."""
    queued = queue_admin_alerts(get_engine(settings.resolved_database_url()), settings=settings)
    return f"queued {queued} admin alert(s)" if queued else ""
