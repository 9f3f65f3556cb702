"""The raw composer (``subscribers.mime``) against the ``EmailMessage`` path it replaced.

``_reference`` is the old ``build_message`` (``EmailMessage`` + ``set_content``/``add_alternative``,
serialised with ``as_bytes(policy=SMTP)``); every message built both ways must carry the same
header values and the same decoded bodies, and the raw bytes must be clean SMTP data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from unittest.mock import patch
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous.timed import TimestampSigner

from subscribers.compose import base_url, build_message, clean_header, mail_domain, message_id
from subscribers.mime import MESSAGE_POLICY, OutgoingMessage, encode_body, header
from subscribers.models import Subscriber
from subscribers.tokens import token_for
from watcher.settings import get_settings

NOW = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)
LONG_HTML_LINE = "<p>" + "<a href='https://example.eu/x'>bando</a> " * 40 + "</p>"  # ~1,700 chars
ITALIAN = "Ciao, ecco le novità: è già possibile partecipare. Perché? Più fondi, più città.\n"

NAMES = [
    "",
    "Anna Bianchi",
    "Maria Rossì",
    "Eve\r\nBcc: spy@evil.org",
    ") ¡",
    'Dr. "Quoted" O\'Brien, Jr.',
    "=?utf-8?q?Mallory?=",
    "Zoë 🌍 Ünïcödé",
    "x" * 90,
    "Ana  Maria\tLópez",
    "  ",
]
SUBJECTS = [
    "Weekly digest",
    "3 nuovi bandi in Salute · 1 scade tra 5 giorni",
    "Subject\r\nBcc: other@evil.org",
    "=?utf-8?q?not_really_encoded?=",
    "Città ✓ 🎉 novità",
    "A fairly long subject line that goes well past seventy-eight characters, to be folded " * 2,
    "",
    "Call\u2028X-Evil: 1\x85end",
]
BODIES = [
    ("Hello\n", "<p>Hello</p>"),
    (ITALIAN * 5, "<p>Novit&#224;</p>\n"),
    ("Emoji 🎉 and accents àèìòù\r\nCRLF line\rCR line\n", "<p>🎉 non-ASCII HTML</p>"),
    ("plain\n", LONG_HTML_LINE + "\n" + LONG_HTML_LINE),
    ("trailing spaces   \nand tabs\t\n.\nFrom here\n", "<p>x</p>   \n"),
    ("", ""),
    ("no final newline", "=3D looks like QP =?utf-8?q?x?= --=_ boundary-ish"),
    ("x" * 2000 + "è", "<p>" + "y" * 5000 + "</p>"),
]


@pytest.fixture(autouse=True, scope="module")
def _frozen_token_time() -> Iterator[None]:
    """Unsubscribe tokens carry a timestamp (itsdangerous); one clock for the module keeps the old and
    new paths, and a rebuild, on the same token even across a second boundary."""
    with patch.object(TimestampSigner, "get_timestamp", return_value=1_795_000_000):
        yield


def _subscriber(name: str, language: str = "it") -> Subscriber:
    return Subscriber(id=7, email="lettrice@example.it", name=name, language=language, token_nonce="n0")


def _plain_cte(body: str) -> str | None:
    if not body.isascii() or max(map(len, body.splitlines()), default=0) > 998:
        return None
    return "7bit"


def _reference(subscriber: Subscriber, *, subject: str, text: str, html: str, bulk: bool) -> EmailMessage:
    """The message as the old ``build_message`` built it (``outbox.enqueue`` serialised it for SMTP)."""
    settings_ = get_settings()
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = settings_.mail_from
    name = clean_header(subscriber.name or "", max_length=100)
    message["To"] = Address(display_name=name, addr_spec=subscriber.email)
    message["Subject"] = clean_header(subject)
    message["Date"] = format_datetime(NOW)
    message["Message-ID"] = message_id(subscriber.id, "digest:k")
    if bulk:
        token = token_for(subscriber, "unsubscribe")
        mailbox = settings_.list_unsubscribe_mailto or parseaddr(settings_.mail_from)[1]
        targets = [f"<{base_url()}/u/{token}>"]
        if mailbox and "@" in mailbox:
            targets.append(f"<mailto:{mailbox}?subject={quote('unsubscribe ' + token)}>")
        message["List-Unsubscribe"] = ",".join(targets)
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["List-Id"] = f"Cluster Watch <clusterwatch.{mail_domain()}>"
        message["Precedence"] = "bulk"
        message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, cte=_plain_cte(text))
    message.add_alternative(html, subtype="html", cte=_plain_cte(html))
    return message


def _build(subscriber: Subscriber, *, subject: str, text: str, html: str, bulk: bool) -> OutgoingMessage:
    return build_message(
        subscriber=subscriber, message_key="digest:k", subject=subject, text=text, html=html, bulk=bulk,
        now=NOW,
    )


def _header_lines(raw: bytes) -> dict[str, bytes]:
    """Top-level header name (lower case) -> its raw (possibly folded) line(s)."""
    block = raw.split(b"\r\n\r\n", 1)[0]
    lines: dict[str, bytes] = {}
    name = ""
    for line in block.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            lines[name] += b"\r\n" + line
        else:
            name = line.split(b":", 1)[0].decode().lower()
            lines[name] = line
    return lines


def _bodies(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    return text.get_content(), html.get_content()


def _lf(bodies: tuple[str, str]) -> tuple[str, str]:
    return bodies[0].replace("\r\n", "\n"), bodies[1].replace("\r\n", "\n")


def _check(subscriber: Subscriber, *, subject: str, text: str, html: str, bulk: bool) -> None:
    built = _build(subscriber, subject=subject, text=text, html=html, bulk=bulk)
    raw = built.raw
    reference = _reference(subscriber, subject=subject, text=text, html=html, bulk=bulk)
    old_raw = reference.as_bytes(policy=policy.SMTP)
    new, old = (message_from_bytes(data, policy=policy.default) for data in (raw, old_raw))
    assert isinstance(new, EmailMessage) and isinstance(old, EmailMessage)

    # Clean SMTP data: parses without defects, CRLF only, 7-bit, no line over 998 octets.
    assert not new.defects and all(not part.defects for part in new.walk())
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    assert raw.isascii() and all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert [part.get_content_type() for part in new.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]

    # The same headers and values as the EmailMessage path (Content-Language: see below).
    skip = {"mime-version", "content-type"}
    assert [k.lower() for k in old if k.lower() not in skip] == [
        k.lower() for k in new if k.lower() not in skip | {"content-language"}
    ]
    encoded = built.subject.isprintable() and (not built.subject.isascii() or "=?" in built.subject)
    plain_subject = not encoded
    for name in old:
        if name.lower() == "subject" and not plain_subject:
            # Ours reads back as written; email's own folding of "¡=??Q??=" read back as "¡".
            assert str(new[name]) == built.subject == clean_header(subject)
        elif name.lower() not in skip:
            # strip(): the old folder put List-Unsubscribe on a continuation line, read back as " <...".
            assert str(new[name]) == str(old[name]).strip(), name
    # Identical bytes for every header but List-Unsubscribe (now unfolded, on one line, < 998) and a
    # non-ASCII Subject (now whole encoded-words; the same value read back, checked above).
    new_lines, old_lines = _header_lines(raw), _header_lines(old_raw)
    for name in ("from", "to", "date", "message-id") + (("list-id", "precedence") if bulk else ()):
        assert new_lines[name] == old_lines[name], name
    if plain_subject:
        assert new_lines["subject"] == old_lines["subject"]
    else:
        assert all(len(line) <= 78 for line in new_lines["subject"].split(b"\r\n"))
        words = rb"=\?utf-8\?q\?[!->@-~]+\?="  # printable ASCII but "?" inside a word
        assert re.fullmatch(rb"Subject: %s(\r\n %s)*" % (words, words), new_lines["subject"])
    if bulk:
        assert b"\r\n" not in new_lines["list-unsubscribe"] and b"=?" not in new_lines["list-unsubscribe"]
    # The old path dropped Content-Language (set_content clears Content-* headers); it is sent now.
    assert old["Content-Language"] is None and new["Content-Language"] == subscriber.language
    assert new.is_multipart() and new["MIME-Version"] == "1.0"

    # Both bodies decode to what the old message carried, up to line endings: the old path
    # base64-encoded some bodies with LF inside; ours are canonical CRLF (RFC 2045) in every encoding.
    assert all("\n" not in body.replace("\r\n", "") for body in _bodies(new))
    assert _lf(_bodies(new)) == _lf(_bodies(old)) == _bodies(built.as_email())

    # What the outbox indexes (the old enqueue read them from the in-memory message).
    assert built.recipient == reference["To"].addresses[0].addr_spec == subscriber.email
    assert built.subject == (str(reference["Subject"]) if plain_subject else clean_header(subject))
    assert built.message_id == str(reference["Message-ID"]).strip()

    # Deterministic (boundary from the Message-ID), and the boundary is in neither body.
    assert _build(subscriber, subject=subject, text=text, html=html, bulk=bulk).raw == raw
    boundary = new.get_boundary()
    assert boundary and boundary.startswith("=_")
    body_bytes = raw.split(b"\r\n\r\n", 1)[1]
    assert body_bytes.count(f"--{boundary}".encode()) == 3
    assert all(boundary not in body for body in _bodies(new))


@pytest.mark.parametrize("bulk", [True, False])
@pytest.mark.parametrize("name", NAMES)
def test_names_match_the_email_package(name: str, bulk: bool) -> None:
    for subject in SUBJECTS[:3]:
        _check(_subscriber(name), subject=subject, text=ITALIAN, html="<p>h</p>", bulk=bulk)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subjects_match_the_email_package(subject: str) -> None:
    for name in NAMES[:4]:
        _check(_subscriber(name), subject=subject, text="t\n", html="<p>h</p>", bulk=True)


@pytest.mark.parametrize(("text", "html"), BODIES)
def test_bodies_match_the_email_package(text: str, html: str) -> None:
    _check(_subscriber("Anna"), subject="s", text=text, html=html, bulk=True)
    _check(_subscriber("Zoë", language="en"), subject="Città", text=html, html=text, bulk=False)


INJECTIONS = ["\r\n", "\n", "\r", "\r\nBcc: x@evil.eu", "=?utf-8?q?x?=", "\u2028", "\x85", "\t", "  ", "."]
hostile = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40) | st.sampled_from(INJECTIONS),
    max_size=8,
).map("".join)
bodies = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
    | st.sampled_from(INJECTIONS)
    | st.sampled_from(["x" * 1200, "é" * 500, "=_", "--=_", "="]),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=hostile, subject=hostile, text=bodies, html=bodies, bulk=st.booleans())
def test_any_message_matches_the_email_package(
    name: str, subject: str, text: str, html: str, bulk: bool
) -> None:
    _check(_subscriber(name), subject=subject, text=text, html=html, bulk=bulk)


@given(text=bodies)
@settings(max_examples=300, deadline=None)
def test_body_encoding_decodes_to_the_same_text(text: str) -> None:
    cte, data = encode_body(text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    expected = (lines if lines.endswith("\n") else lines + "\n").replace("\n", "\r\n")
    if cte == "7bit":
        assert data.decode("ascii") == expected
    else:
        import binascii

        assert cte == "quoted-printable" and data.isascii()
        assert binascii.a2b_qp(data).decode("utf-8") == expected
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))


def test_plain_headers_are_written_as_is_and_the_rest_by_email() -> None:
    assert header("Subject", "Weekly digest").line == "Subject: Weekly digest\r\n"
    folded = header("Subject", "Città")
    assert folded.line == "Subject: =?utf-8?q?Citt=C3=A0?=\r\n" and folded.value == "Città"
    long_subject = header("Subject", "word " * 30)
    assert all(len(line) <= 78 for line in long_subject.line.split("\r\n"))


def test_a_body_containing_the_boundary_gets_another_one() -> None:
    from subscribers.mime import boundary_for

    first = boundary_for("<m@x>", [b""])
    assert boundary_for("<m@x>", [first.encode()]) != first
    subscriber = _subscriber("Anna")
    body = f"--{first}\n"  # the boundary the Message-ID of this message would give, were it free
    message_id_of = message_id(subscriber.id, "digest:k")
    boundary = boundary_for(message_id_of, [b""])
    _check(subscriber, subject="s", text=f"--{boundary}\n{body}", html=f"--{boundary}--", bulk=True)


def test_long_non_ascii_subjects_fold_into_whole_character_words() -> None:
    subject = "3 nuovi bandi in Salute · 1 scade tra 5 giorni · città 🎉 " * 4
    line = header("Subject", subject.strip()).line.encode("ascii")
    assert line.endswith(b"\r\n") and all(len(part) <= 78 for part in line.split(b"\r\n"))
    parsed = message_from_bytes(line + b"\r\n", policy=policy.default)
    assert str(parsed["Subject"]) == subject.strip() and not parsed.defects
