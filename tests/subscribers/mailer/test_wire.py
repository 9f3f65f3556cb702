"""DATA written as it goes on the wire: the same bytes aiosmtplib would write, and what arrives."""

from __future__ import annotations

import pytest
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from subscribers.drain import drain_sync
from subscribers.mailer import wire_form
from subscribers.mime import OutgoingMessage
from subscribers.outbox import enqueue
from tests.support.smtp_server import FaultySmtpServer
from watcher.settings import get_settings


def aiosmtplib_data(raw: bytes) -> bytes:
    """What ``aiosmtplib.SMTP.data`` writes after ``DATA``."""
    return PERIOD_REGEX.sub(b"..", normalize_message_line_endings(raw)) + b".\r\n"


LINE = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@given(st.lists(LINE, min_size=1, max_size=30))
def test_crlf_messages_go_out_exactly_as_aiosmtplib_would_send_them(lines: list[bytes]) -> None:
    raw = b"".join(line + b"\r\n" for line in lines)
    assert wire_form(raw) == aiosmtplib_data(raw)


@pytest.mark.parametrize(
    "raw", [b"a\nb\r\n", b"a\rb\r\n", b"a\r\nb", b"a\r\n\r", b"\n", b""],
    ids=["bare-lf", "bare-cr", "no-final-crlf", "trailing-cr", "lf-only", "empty"],
)
def test_anything_else_is_left_to_aiosmtplib(raw: bytes) -> None:
    assert wire_form(raw) is None


def _raw(to: str, body: bytes) -> bytes:
    head = f"To: {to}\r\nSubject: dots\r\nMessage-ID: <{to}>\r\n\r\n".encode()
    return head + body


@pytest.mark.parametrize(
    ("body", "arrives"),
    [
        (b".starts with a dot\r\n..two\r\n.\r\nend\r\n", None),  # CRLF: the wire path
        (b".bare\nline feeds\n", b".bare\r\nline feeds\r\n"),  # aiosmtplib normalises these
    ],
    ids=["crlf", "bare-lf"],
)
def test_lines_starting_with_a_dot_arrive_intact(
    body: bytes, arrives: bytes | None, smtp_server: FaultySmtpServer, sqlite_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WATCHER_SMTP_URL", smtp_server.url)
    get_settings.cache_clear()
    raw = _raw("dots@example.eu", body)
    with Session(sqlite_engine) as session:
        message = OutgoingMessage(raw=raw, recipient="dots@example.eu", subject="dots", message_id="<d@x>")
        assert enqueue(session, subscriber_id=None, message_key="k", kind="digest", message=message)
        session.commit()
    assert drain_sync(get_settings()).sent == 1
    [received] = smtp_server.received
    assert received.data == _raw("dots@example.eu", arrives or body)
