"""Turn rendered templates into an ``EmailMessage`` with safe, complete headers.

Every header value that could carry feed text (Subject, display names) goes through
``clean_header``: control characters, CR/LF and Unicode line separators become spaces, so a title
like "Call\\r\\nBcc: x" cannot add a header. Message-IDs are derived from (subscriber, message key),
so a re-built message is byte-for-byte the same message. Bulk mail carries RFC 8058 one-click
unsubscribe headers and a List-Id.
"""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import UTC, date, datetime, timedelta
from email import _header_value_parser as header_parser
from email import policy as email_policy
from email.headerregistry import Address, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from subscribers.i18n import format_date, t
from subscribers.models import Subscriber
from subscribers.tokens import token_for
from watcher.models import Item
from watcher.settings import PROJECT_ROOT, get_settings

TEMPLATES_DIR = PROJECT_ROOT / "templates" / "email"
SUBJECT_MAX = 200
SMTP_LINE_MAX = 998  # RFC 5322 2.1.1, without CRLF
SEPARATORS = {"\u2028", "\u2029", "\x85"}


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


@lru_cache(maxsize=64)
def fixed_header(name: str, value: str) -> Any:
    """A parsed header for values shared by many messages (From, List-Id, ...): ``email`` parses
    every header it is given in pure Python, and header objects are immutable strings."""
    return MESSAGE_POLICY.header_factory(name, value)


def clean_header(text: str, *, max_length: int = SUBJECT_MAX) -> str:
    """Header-safe single line: no control or separator characters, collapsed spaces, bounded."""
    chars = [
        " " if (unicodedata.category(ch)[0] == "C" or ch in SEPARATORS) else ch for ch in str(text or "")
    ]
    line = " ".join("".join(chars).split())
    if len(line) > max_length:
        line = line[: max_length - 1].rstrip() + "…"
    return line


def base_url() -> str:
    return get_settings().base_url.rstrip("/")


def mail_domain() -> str:
    return urlsplit(base_url()).hostname or "localhost"


def message_id(subscriber_id: int | None, message_key: str) -> str:
    digest = hashlib.sha256(f"{subscriber_id}:{message_key}".encode()).hexdigest()[:32]
    return f"<{digest}@{mail_domain()}>"


def subscriber_links(subscriber: Subscriber) -> dict[str, str]:
    root = base_url()
    return {
        "unsubscribe_url": f"{root}/u/{token_for(subscriber, 'unsubscribe')}",
        "preferences_url": f"{root}/preferences/{token_for(subscriber, 'preferences')}",
    }


def item_url(item: Item) -> str:
    return f"{base_url()}/items/{item.id}"


def calendar_date(item: Item) -> date | None:
    """The day to put in a calendar: an event's date, else a call's deadline."""
    if item.kind == "event" and item.event_date:
        return item.event_date
    return item.deadline or item.event_date


def google_calendar_url(item: Item, language: str) -> str | None:
    day = calendar_date(item)
    if day is None:
        return None
    title = clean_header(item.title, max_length=150)
    if item.kind == "call":
        title = f"{t('deadline', language)}: {title}"
    query = {
        "action": "TEMPLATE",
        "text": title,
        "dates": f"{day:%Y%m%d}/{day + timedelta(days=1):%Y%m%d}",
        "details": item.url,
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(query, quote_via=quote)


def item_view(item: Item, language: str, *, today: date | None = None) -> dict[str, Any]:
    """What templates need of an item: plain text only (feed HTML never reaches mail)."""
    limit = get_settings().digest_summary_chars
    summary = " ".join((item.text or "")[: limit * 4].split())
    if len(summary) > limit:
        summary = summary[: limit - 1].rsplit(" ", 1)[0] + "…"
    days_left = (item.deadline - today).days if (item.deadline and today) else None
    return {
        "id": item.id,
        "title": " ".join(clean_header(item.title, max_length=300).split()),
        "summary": summary,
        "url": item.url if urlsplit(item.url or "").scheme in ("http", "https") else item_url(item),
        "page_url": item_url(item),
        "kind": item.kind,
        "deadline": format_date(item.deadline, language) if item.deadline else None,
        "days_left": days_left,
        "event_date": format_date(item.event_date, language) if item.event_date else None,
        "editor_note": " ".join((item.editor_note or "").split()) or None,
        "ics_url": f"{base_url()}/calendar/item/{item.id}.ics" if calendar_date(item) else None,
        "gcal_url": google_calendar_url(item, language),
    }


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@lru_cache(maxsize=8)
def _macros(language: str) -> tuple[Any, Any]:
    """The item-block macros (text, HTML) bound to ``language``, for rendering blocks once per run."""
    env = _environment()
    context = {"t": lambda key, **kw: t(key, language, **kw)}
    return (
        env.get_template("_macros.txt").make_module(vars=context),
        env.get_template("_macros.html").make_module(vars=context),
    )


def item_blocks(view: dict[str, Any], language: str) -> dict[str, Any]:
    """``view`` plus its rendered blocks: ``block_text``/``block_html`` and, without the summary,
    ``brief_text``/``brief_html``. A digest run renders each item's blocks once, not per subscriber."""
    text, html = _macros(language)
    return {
        **view,
        "block_text": str(text.item_block(view)),
        "block_html": html.item_block(view),
        "brief_text": str(text.item_block(view, show_summary=False)),
        "brief_html": html.item_block(view, show_summary=False),
    }


def render_pair(name: str, context: dict[str, Any]) -> tuple[str, str]:
    """(text, html) of ``templates/email/<name>.{txt,html}``; HTML has its CSS inlined and is ASCII."""
    language = context.get("language", "en")
    env = _environment()
    full = {"t": lambda key, **kw: t(key, language, **kw), **context}
    text = env.get_template(f"{name}.txt").render(full)
    html = env.get_template(f"{name}.html").render(full)
    # ASCII HTML (non-ASCII as character references) goes out as 7bit instead of quoted-printable:
    # smaller on the wire and no pure-Python body encoding per message.
    inlined = css_inline.inline(html).encode("ascii", "xmlcharrefreplace").decode("ascii")
    return text.strip() + "\n", inlined


def build_message(
    *,
    subscriber: Subscriber,
    message_key: str,
    subject: str,
    text: str,
    html: str,
    bulk: bool,
    now: datetime | None = None,
) -> EmailMessage:
    """A multipart/alternative message to ``subscriber`` with all the headers we promise."""
    settings = get_settings()
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = fixed_header("From", settings.mail_from)
    name = clean_header(subscriber.name or "", max_length=100)
    # Address objects let the header registry quote specials and encode non-ASCII names; a
    # formatted string with an encoded display name like ") ¡" hid the address from parsers.
    message["To"] = Address(display_name=name, addr_spec=subscriber.email)
    message["Subject"] = clean_header(subject)
    message["Date"] = format_datetime((now or datetime.now(UTC)).astimezone(UTC))
    message["Message-ID"] = message_id(subscriber.id, message_key)
    message["Content-Language"] = fixed_header("Content-Language", subscriber.language)
    if bulk:
        _add_list_headers(message, subscriber)
    message.set_content(text, cte=plain_cte(text))
    message.add_alternative(html, subtype="html", cte=plain_cte(html))
    return message


def plain_cte(body: str) -> str | None:
    """"7bit" for an ASCII body whose lines fit SMTP's 998 octets; None lets ``email`` choose.

    ``email`` quoted-printable-encodes any body with a line over 78 characters, in pure Python:
    for our ASCII HTML that is pure cost (bigger message, ~1 ms per digest) and no benefit.
    """
    if not body.isascii() or max(map(len, body.splitlines()), default=0) > SMTP_LINE_MAX:
        return None
    return "7bit"


def _add_list_headers(message: EmailMessage, subscriber: Subscriber) -> None:
    settings = get_settings()
    token = token_for(subscriber, "unsubscribe")
    mailbox = settings.list_unsubscribe_mailto or parseaddr(settings.mail_from)[1]
    targets = [f"<{base_url()}/u/{token}>"]
    if mailbox and "@" in mailbox:
        address = Address(addr_spec=mailbox)
        targets.append(f"<mailto:{address.addr_spec}?subject={quote('unsubscribe ' + token)}>")
    # No space after the comma: CPython's folder emits an empty line when a long URL is followed by
    # whitespace (ending the header block); RFC 2369 does not require the space.
    message["List-Unsubscribe"] = ",".join(targets)
    message["List-Unsubscribe-Post"] = fixed_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    message["List-Id"] = fixed_header("List-Id", f"Cluster Watch <clusterwatch.{mail_domain()}>")
    message["Precedence"] = fixed_header("Precedence", "bulk")
    message["Auto-Submitted"] = fixed_header("Auto-Submitted", "auto-generated")
