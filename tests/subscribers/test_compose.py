"""Message headers: no injection from feed text, deterministic Message-ID, RFC 8058 list headers."""

from __future__ import annotations

import unicodedata
from email import message_from_bytes, policy

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from subscribers.compose import build_message, clean_header, message_id
from subscribers.digest import build_digest, render_digest
from subscribers.models import Subscriber
from tests.subscribers.factories import T0, make_item, make_subscriber


def test_clean_header_strips_line_breaks_and_controls() -> None:
    assert clean_header("Call\r\nBcc: x@evil.org") == "Call Bcc: x@evil.org"
    assert clean_header("A\u2028B\x00C\x85D\tE") == "A B C D E"
    assert len(clean_header("x" * 1000)) == 200


@given(st.text(max_size=300))
def test_clean_header_replaces_exactly_controls_and_separators(text: str) -> None:
    spaced = "".join(
        " " if unicodedata.category(ch)[0] == "C" or ch in "\u2028\u2029\x85" else ch for ch in text
    )
    expected = " ".join(spaced.split())
    assert clean_header(text, max_length=1000) == expected


def test_message_id_is_deterministic_and_uses_base_url_domain() -> None:
    first = message_id(5, "digest:weekly:2026-W47")
    assert first == message_id(5, "digest:weekly:2026-W47") != message_id(6, "digest:weekly:2026-W47")
    assert first.endswith("@127.0.0.1>") and len(first.split("@")[0]) == 33


def test_feed_title_cannot_inject_headers(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        subscriber = make_subscriber(session, name="Eve\r\nBcc: spy@evil.org")
        make_item(session, title="Grant\r\nBcc: victim@evil.org\r\nX-Evil: 1", first_seen_at=T0)
        digest = build_digest(session, subscriber, now=T0.replace(hour=9))
        assert digest is not None
        digest.subject = "Subject\r\nBcc: other@evil.org"
        raw = render_digest(digest, subscriber).raw
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert parsed["Subject"] == "Subject Bcc: other@evil.org"
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert [line for line in headers.split(b"\r\n") if line.lower().startswith((b"bcc", b"x-evil"))] == []
    assert parsed["To"] == '"Eve Bcc: spy@evil.org" <reader@example.org>'


def test_bulk_headers(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        subscriber = make_subscriber(session, name="Anna Bianchi")
        outgoing = build_message(
            subscriber=subscriber,
            message_key="k",
            subject="Hello · ciao",
            text="t",
            html="<p>h</p>",
            bulk=True,
        )
    message = outgoing.as_email()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(message["List-Unsubscribe"])
    assert (
        unsubscribe.startswith("<http://127.0.0.1:8000/u/")
        and "<mailto:noreply@clusterwatch.local?" in unsubscribe
    )
    assert message["List-Id"] and message["Message-ID"] == message_id(subscriber.id, "k")
    assert str(message["To"]) == "Anna Bianchi <reader@example.org>"
    assert message["From"] and message["Date"]
    raw = outgoing.raw
    headers = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "=?" not in headers.split("List-Unsubscribe:")[1].split("List-Unsubscribe-Post")[0]  # literal URLs
    reparsed = message_from_bytes(raw, policy=policy.default)
    assert reparsed["List-Unsubscribe"].strip() == unsubscribe and reparsed["List-Id"] == message["List-Id"]
    transactional = build_message(
        subscriber=subscriber, message_key="confirm:1", subject="s", text="t", html="h", bulk=False
    )
    assert transactional.as_email()["List-Unsubscribe"] is None


def test_only_web_links_from_feeds_reach_mail() -> None:
    from subscribers.compose import item_view
    from watcher.models import Item

    view = item_view(
        Item(id=3, source_id="s", guid="g", url="javascript:alert(1)", title="<b>T</b>", fingerprint="f"),
        "en",
    )
    assert view["url"] == "http://127.0.0.1:8000/items/3" and view["title"] == "<b>T</b>"  # escaped by Jinja


@given(name=st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_any_display_name_keeps_the_address(name: str) -> None:
    """Whatever a subscriber typed as a name, mail clients must still find the address."""
    subscriber = Subscriber(id=3, email="lettrice@example.it", name=name, language="it")
    message = build_message(
        subscriber=subscriber, message_key="k", subject="s", text="t", html="<p>h</p>", bulk=False
    )
    parsed = message_from_bytes(message.raw, policy=policy.default)
    assert [address.addr_spec for address in parsed["To"].addresses] == ["lettrice@example.it"]
