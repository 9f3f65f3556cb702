"""Raw RFC 5322 bytes for our outgoing mail, without building an ``EmailMessage``.

Every message we send has the same shape: a few headers, then multipart/alternative with a
text/plain and a text/html part. Building that with ``email`` costs ~1 ms a message in pure Python
(the header registry parses every header, ``set_content`` and ``as_bytes`` walk a message tree);
writing the bytes directly costs a small fraction of that. ``email`` still does what it is good
at: any header that needs encoding or folding (non-ASCII or long Subject, display names with
specials) is produced by its header registry exactly as before, and :meth:`OutgoingMessage.as_email`
parses the bytes back for previews and tests.

Output is SMTP-ready like ``message.as_bytes(policy=email.policy.SMTP)`` was: CRLF line endings and
no line over 998 octets; and it is 7-bit throughout (non-ASCII bodies go quoted-printable rather
than 8bit), so no server needs 8BITMIME. ``tests/subscribers/test_mime.py`` checks every header and
decoded body against the ``EmailMessage`` path this replaced.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email import _header_value_parser as header_parser
from email import message_from_bytes
from email import policy as email_policy
from email.headerregistry import Address, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

SMTP_LINE_MAX = 998  # RFC 5322 2.1.1, without CRLF
HEADER_LINE_MAX = 78  # RFC 5322 2.1.1 "SHOULD", and what ``email`` folds to
CRLF = "\r\n"

# A header value written as is: printable ASCII only (no CR/LF/controls), not looking like an
# RFC 2047 encoded word (``email`` would decode and re-encode that; leave it to ``email``).
_PLAIN_VALUE = re.compile(r"[ -~]+")
# A display name that needs neither quoting nor encoding: RFC 5322 atext and single spaces.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?: [A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*")
# An addr-spec that ``Address`` returns unchanged: dot-atom local part, LDH domain labels.
_ATOM = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+"
_PLAIN_ADDR = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_LINE_BREAKS = re.compile(r"\r\n|\r")


class _Verbatim(header_parser.UnstructuredTokenList):
    as_ew_allowed = False


class VerbatimHeader(UnstructuredHeader):
    """An ASCII header never rewritten as RFC 2047 encoded-words when folded.

    ``email`` folds a long unbreakable word (our signed unsubscribe URL) into ``=?utf-8?q?...?=``,
    which mail clients cannot use as a List-Unsubscribe target; a long line (< 998) is legal.
    """

    value_parser = staticmethod(lambda value: _Verbatim([header_parser.get_unstructured(value)]))


def _policy() -> Any:
    registry = HeaderRegistry()
    for name in ("list-unsubscribe", "list-unsubscribe-post", "list-id"):
        registry.map_to_type(name, VerbatimHeader)  # type: ignore[arg-type]
    return email_policy.default.clone(header_factory=registry)


MESSAGE_POLICY = _policy()
SMTP_POLICY = MESSAGE_POLICY.clone(linesep=CRLF)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A composed message: what the outbox stores (``raw``) and the fields it indexes."""

    raw: bytes
    recipient: str  # the single To addr-spec
    subject: str  # decoded, as a reader sees it
    message_id: str

    def as_email(self) -> EmailMessage:
        """``raw`` parsed back (for previews and tests; never on the sending path).

        Parsed with LF line endings, as ``email`` keeps messages in memory: a parsed CRLF body would
        otherwise keep its CRs in ``get_content()`` (previews showed LF text before). ``raw``
        has CRLF only as line endings, so this loses nothing.
        """
        message = message_from_bytes(self.raw.replace(b"\r\n", b"\n"), policy=MESSAGE_POLICY)
        assert isinstance(message, EmailMessage)
        return message


@dataclass(frozen=True, slots=True)
class HeaderLine:
    """One header as written (``line``: folded, CRLF-terminated) and as read (``value``: decoded)."""

    line: str
    value: str


def header(name: str, value: str) -> HeaderLine:
    """``name: value``, written as is when that is what ``email`` would write, else folded by ``email``.

    Written as is: printable ASCII (which excludes CR/LF and controls) without ``=?``, fitting in
    78 characters with its name. Anything else goes through ``MESSAGE_POLICY``'s header registry
    and is folded with CRLF, exactly as ``EmailMessage.as_bytes(policy=SMTP)`` did.
    """
    if len(name) + 2 + len(value) <= HEADER_LINE_MAX and _plain(value):
        return HeaderLine(f"{name}: {value}{CRLF}", value)
    if value.isprintable() and (not value.isascii() or "=?" in value):
        return _encoded_words(name, value)
    return _folded_text(name, value)


# RFC 2047 5(3): what a "Q"-encoded word in free text may carry as is; a space is written "_".
_Q_AS_IS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_ENCODED_WORD_OVERHEAD = len("=?utf-8?q??=")


def _q(char: str) -> str:
    if char == " ":
        return "_"
    if char in _Q_AS_IS:
        return char
    return "".join(f"={byte:02X}" for byte in char.encode("utf-8"))


def _encoded_words(name: str, value: str) -> HeaderLine:
    """``name: value`` as RFC 2047 "Q" encoded-words, folded so no line passes 78 characters.

    For non-ASCII text such as a digest's Subject ("… · 1 scade tra 5 giorni"): ``email``'s header
    registry took ~0.15 ms per message to parse and fold it, and nearly every subject is new. Also
    for text containing "=?", which ``email`` may take for an encoded-word of its own. Each
    word holds whole characters (RFC 2047 6.3), and readers join adjacent encoded-words without the
    folding white space between them, so the value reads back exactly (``tests/subscribers/test_mime.py``).
    """
    words: list[str] = []
    current = ""
    room = max(12, HEADER_LINE_MAX - len(name) - 2 - _ENCODED_WORD_OVERHEAD)  # a 4-byte char is 12
    for char in value:
        piece = _q(char)
        if len(current) + len(piece) > room:
            words.append(current)
            current, room = "", HEADER_LINE_MAX - 1 - _ENCODED_WORD_OVERHEAD
        current += piece
    words.append(current)
    encoded = f"{CRLF} ".join(f"=?utf-8?q?{word}?=" for word in words)
    return HeaderLine(f"{name}: {encoded}{CRLF}", value)


def _plain(value: str) -> bool:
    return (
        _PLAIN_VALUE.fullmatch(value) is not None
        and "=?" not in value
        and "  " not in value
        and value == value.strip()
    )


@lru_cache(maxsize=512)
def _folded_text(name: str, value: str) -> HeaderLine:
    """:func:`_folded` for a text value, remembered: a digest run sends the same Subject (same
    counts, same sections) to many subscribers, and folding it costs ~60 µs a time."""
    return _folded(name, value)


def _folded(name: str, value: Any) -> HeaderLine:
    parsed = MESSAGE_POLICY.header_factory(name, value)
    return HeaderLine(parsed.fold(policy=SMTP_POLICY), str(parsed))


@lru_cache(maxsize=64)
def fixed_header(name: str, value: str) -> HeaderLine:
    """:func:`header` for values shared by many messages (From, List-Id, ...), computed once."""
    return header(name, value)


def address_header(name: str, *, display_name: str, addr_spec: str) -> tuple[HeaderLine, str]:
    """(``name: display_name <addr_spec>``, the addr-spec as written).

    A plain display name (atext words) and dot-atom address are written as is; anything else goes
    through ``email.headerregistry.Address`` and the header registry, which quote specials and
    RFC 2047-encode non-ASCII names (a hand-formatted ``) ¡`` once hid the address from parsers).
    """
    if _PLAIN_ADDR.fullmatch(addr_spec) and (not display_name or _PLAIN_NAME.fullmatch(display_name)):
        value = f"{display_name} <{addr_spec}>" if display_name else addr_spec
        if len(name) + 2 + len(value) <= HEADER_LINE_MAX and "=?" not in value:
            return HeaderLine(f"{name}: {value}{CRLF}", value), addr_spec
    address = Address(display_name=display_name, addr_spec=addr_spec)
    return _folded(name, address), address.addr_spec


def verbatim_header(name: str, value: str) -> HeaderLine:
    """One unfolded line (the List-* rule of :class:`VerbatimHeader`): ASCII, no controls, < 998."""
    line = f"{name}: {value}"
    if not _PLAIN_VALUE.fullmatch(value) or len(line) > SMTP_LINE_MAX:
        raise ValueError(f"{name} must be printable ASCII on one line of at most {SMTP_LINE_MAX} octets")
    return HeaderLine(line + CRLF, value)


def _lf_lines(text: str) -> str:
    """``text`` with LF line endings and exactly one final line break (what ``set_content`` sent).

    Only CR, LF and CRLF end a line, as for ``email`` (which splits the encoded bytes), so U+2028
    and friends stay in the text.
    """
    if "\r" in text:
        text = _LINE_BREAKS.sub("\n", text)
    return text if text.endswith("\n") else text + "\n"


def encode_body(text: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, body bytes with CRLF line endings) for a text part in UTF-8.

    7bit when the body is ASCII with every line within SMTP's 998 octets (and no NUL): no encoding
    work, and readable on the wire. Otherwise quoted-printable by ``binascii.b2a_qp`` (C): our
    non-ASCII bodies are Italian or English prose and HTML, mostly ASCII, so quoted-printable stays
    near the text's size (an accent costs 6 octets) where base64 costs a third more on every octet;
    it also keeps soft line breaks under 76 characters for over-long HTML lines. The text is encoded
    with LF line breaks (so ``b2a_qp`` writes soft breaks as ``=\\n``) and then turned into CRLF,
    which decodes back to the exact text.
    """
    lines = _lf_lines(text)
    if lines.isascii() and "\0" not in lines and max(map(len, lines.split("\n"))) <= SMTP_LINE_MAX:
        return "7bit", lines.replace("\n", CRLF).encode("ascii")
    encoded = binascii.b2a_qp(lines.encode("utf-8"), quotetabs=False, istext=True, header=False)
    return "quoted-printable", encoded.replace(b"\n", b"\r\n")


def boundary_for(message_id: str, bodies: Iterable[bytes]) -> str:
    """A multipart boundary derived from the Message-ID, so a rebuilt message is byte-identical.

    ``=_`` cannot occur in quoted-printable output; a 7bit body is checked (and another candidate
    derived) should it ever contain the boundary.
    """
    parts = list(bodies)
    for attempt in range(1000):
        digest = hashlib.sha256(f"{message_id}:{attempt}".encode()).hexdigest()[:24]
        boundary = f"=_{digest}"
        marker = boundary.encode("ascii")
        if not any(marker in part for part in parts):
            return boundary
    raise ValueError("no multipart boundary absent from the bodies")  # pragma: no cover


def compose(headers: Iterable[HeaderLine], *, message_id: str, text: str, html: str) -> bytes:
    """The message bytes: ``headers``, then multipart/alternative of ``text`` and ``html``."""
    text_cte, text_body = encode_body(text)
    html_cte, html_body = encode_body(html)
    boundary = boundary_for(message_id, (text_body, html_body))
    head = "".join(line.line for line in headers)
    top = f'MIME-Version: 1.0{CRLF}Content-Type: multipart/alternative; boundary="{boundary}"{CRLF}{CRLF}'
    return b"".join(
        (
            (head + top).encode("ascii"),
            _part_head(boundary, "plain", text_cte),
            text_body,
            _part_head(boundary, "html", html_cte, first=False),
            html_body,
            f"{CRLF}--{boundary}--{CRLF}".encode("ascii"),
        )
    )


def _part_head(boundary: str, subtype: str, cte: str, *, first: bool = True) -> bytes:
    """The delimiter line and headers of one part (a part's body ends before the CRLF of the next)."""
    lead = "" if first else CRLF
    return (
        f'{lead}--{boundary}{CRLF}Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: {cte}{CRLF}{CRLF}"
    ).encode("ascii")
