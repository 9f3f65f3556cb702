"""Turn rendered templates into an outgoing message (raw bytes) with safe, complete headers.

Every header value that could carry feed text (Subject, display names) goes through
``clean_header``: control characters, CR/LF and Unicode line separators become spaces, so a title
like "Call\\r\\nBcc: x" cannot add a header. Message-IDs are derived from (subscriber, message key),
so a re-built message is byte-for-byte the same message. Bulk mail carries RFC 8058 one-click
unsubscribe headers and a List-Id.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from email.headerregistry import Address
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from subscribers.i18n import format_date, t
from subscribers.mime import (
    HeaderLine,
    OutgoingMessage,
    address_header,
    compose,
    fixed_header,
    header,
    verbatim_header,
)
from subscribers.models import Subscriber
from subscribers.tokens import token_for
from watcher.models import Item
from watcher.settings import PROJECT_ROOT, get_settings

TEMPLATES_DIR = PROJECT_ROOT / "templates" / "email"
SUBJECT_MAX = 200
# Minified declarations ("color:#039" rather than "color: #039;"): a digest carries a few hundred of
# them. Our templates link no stylesheet, and nothing is ever fetched to render a message.
INLINER = css_inline.CSSInliner(minify_css=True, load_remote_stylesheets=False)
SEPARATORS = {"\u2028", "\u2029", "\x85"}


def clean_header(text: str, *, max_length: int = SUBJECT_MAX) -> str:
    """Header-safe single line: no control or separator characters, collapsed spaces, bounded."""
    text = str(text or "")
    if not text.isprintable():  # printable text has no C* character and no line/paragraph separator
        text = "".join(" " if (unicodedata.category(ch)[0] == "C" or ch in SEPARATORS) else ch for ch in text)
    line = " ".join(text.split())
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
    dated = calendar_date(item) is not None
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
        "ics_url": f"{base_url()}/calendar/item/{item.id}.ics" if dated else None,
        # our redirect to Google Calendar, which builds the event from the item as it is when clicked
        "gcal_url": f"{base_url()}/calendar/item/{item.id}/google?lang={language}" if dated else None,
    }


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        auto_reload=False,  # no stat() of every template for every message; a restart picks up edits
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


def item_blocks(view: dict[str, Any], language: str, fragments: Fragments | None = None) -> dict[str, Any]:
    """``view`` plus its rendered blocks: ``block_text``/``block_html`` and, without the summary,
    ``brief_text``/``brief_html``. A digest run renders each item's blocks once, not per subscriber;
    with ``fragments`` the HTML blocks are placeholders of blocks whose CSS is inlined once too."""
    text, html = _macros(language)
    block_html, brief_html = html.item_block(view), html.item_block(view, show_summary=False)
    if fragments is not None:
        block_html, brief_html = fragments.add(block_html), fragments.add(brief_html)
    return {
        **view,
        "block_text": str(text.item_block(view)),
        "block_html": block_html,
        "brief_text": str(text.item_block(view, show_summary=False)),
        "brief_html": brief_html,
    }


@lru_cache(maxsize=1)
def email_css() -> str:
    """The stylesheet of every HTML email (``_layout.html`` includes it; fragments are inlined with it)."""
    return (TEMPLATES_DIR / "_style.css").read_text(encoding="utf-8")


def _ascii_html(html: str) -> str:
    # ASCII HTML (non-ASCII as character references) goes out as 7bit instead of quoted-printable:
    # smaller on the wire and no pure-Python body encoding per message.
    return html.encode("ascii", "xmlcharrefreplace").decode("ascii")


_PLACEHOLDER = re.compile(r"<!--cw-fragment:(\d+)-->")


class Fragments:
    """HTML blocks whose CSS is inlined once and then shared by every message of a run.

    Inlining costs in proportion to the document, and inlining each digest whole redid the same item
    blocks for every subscriber: a quarter of a digest's build time. A block added here is inlined
    once, on its own, with the layout's stylesheet; templates place its placeholder (an HTML comment,
    which feed text cannot produce because Jinja escapes it), ``render_pair`` inlines the rest of the
    message around it and then fills it in. A block gets the same styles as inlined in place as long
    as no selector reaches into it from outside: the stylesheet's one descendant rule, ``.i a``,
    starts inside the item block (``tests/subscribers/test_compose.py`` checks whole digests).
    """

    def __init__(self) -> None:
        self.inlined: list[str] = []

    def add(self, html: str) -> Markup:
        """A placeholder for ``html``, whose CSS is inlined now."""
        self.inlined.append(_ascii_html(INLINER.inline_fragment(str(html), email_css())))
        return Markup(f"<!--cw-fragment:{len(self.inlined) - 1}-->")

    def fill(self, html: str) -> str:
        """``html`` with every placeholder replaced by its inlined block."""
        return _PLACEHOLDER.sub(lambda match: self.inlined[int(match[1])], html)


def render_pair(
    name: str, context: dict[str, Any], *, fragments: Fragments | None = None
) -> tuple[str, str]:
    """(text, html) of ``templates/email/<name>.{txt,html}``; HTML has its CSS inlined and is ASCII.

    ``fragments``: the run whose placeholders ``context`` holds (see :class:`Fragments`).
    """
    language = context.get("language", "en")
    env = _environment()
    full = {"t": lambda key, **kw: t(key, language, **kw), **context}
    text = env.get_template(f"{name}.txt").render(full)
    html = _ascii_html(INLINER.inline(env.get_template(f"{name}.html").render(full)))
    if fragments is not None:
        html = fragments.fill(html)
    return text.strip() + "\n", html


def build_message(
    *,
    subscriber: Subscriber,
    message_key: str,
    subject: str,
    text: str,
    html: str,
    bulk: bool,
    now: datetime | None = None,
) -> OutgoingMessage:
    """A multipart/alternative message to ``subscriber`` with all the headers we promise.

    Composed as raw bytes by :mod:`subscribers.mime`; headers that need it are encoded and folded by
    ``email`` as before (feed text in Subject and display names always passes ``clean_header``).
    """
    settings = get_settings()
    name = clean_header(subscriber.name or "", max_length=100)
    to, recipient = address_header("To", display_name=name, addr_spec=subscriber.email)
    subject_line = header("Subject", clean_header(subject))
    identifier = message_id(subscriber.id, message_key)
    headers = [
        fixed_header("From", settings.mail_from),
        to,
        subject_line,
        header("Date", format_datetime((now or datetime.now(UTC)).astimezone(UTC))),
        header("Message-ID", identifier),
        fixed_header("Content-Language", subscriber.language),
    ]
    if bulk:
        headers += _list_headers(subscriber)
    raw = compose(headers, message_id=identifier, text=text, html=html)
    return OutgoingMessage(raw=raw, recipient=recipient, subject=subject_line.value, message_id=identifier)


@lru_cache(maxsize=8)
def _mailto(mailbox: str) -> str:
    """The validated addr-spec of the unsubscribe mailbox (parsed once, not per message)."""
    return Address(addr_spec=mailbox).addr_spec


def _list_headers(subscriber: Subscriber) -> list[HeaderLine]:
    """RFC 2369/8058 headers of bulk mail: one-click unsubscribe URL (+ mailto), List-Id, Precedence."""
    settings = get_settings()
    token = token_for(subscriber, "unsubscribe")
    mailbox = settings.list_unsubscribe_mailto or parseaddr(settings.mail_from)[1]
    targets = [f"<{base_url()}/u/{token}>"]
    if mailbox and "@" in mailbox:
        targets.append(f"<mailto:{_mailto(mailbox)}?subject={quote('unsubscribe ' + token)}>")
    # Verbatim on one line (< 998 octets), no space after the comma: RFC 2369 does not require it,
    # and a folded or encoded URL is one clients cannot use.
    return [
        verbatim_header("List-Unsubscribe", ",".join(targets)),
        fixed_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        fixed_header("List-Id", f"Cluster Watch <clusterwatch.{mail_domain()}>"),
        fixed_header("Precedence", "bulk"),
        fixed_header("Auto-Submitted", "auto-generated"),
    ]
