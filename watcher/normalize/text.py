"""Plain text from source markup: what the classifier reads, what text emails show and search uses.

Block elements become line breaks so paragraphs, list items and table rows stay readable; entities
are decoded; runs of whitespace collapse. Most RSS descriptions are short text without tags, so
those skip the HTML parser entirely.

Markup is parsed by nh3 (html5ever, in Rust) told to keep only the tags that shape text, without
attributes: its output is well-formed and attribute-free, so one regular expression turns those
tags into line breaks. This runs for every item of every round; an lxml tree walked in Python cost
about six times as much.
"""

from __future__ import annotations

import html as htmllib
import re
import unicodedata

import nh3

from watcher.settings import get_settings

_DROP = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "head", "title"}
)
_PARAGRAPH_TAGS = frozenset(
    {
    "p", "div", "section", "article", "header", "footer", "aside", "main", "nav", "blockquote", "pre",
    "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "figure", "figcaption", "hr",
    "address", "details", "summary", "form", "fieldset",
    }
)
_LINE_TAGS = frozenset({"tr", "dt", "dd", "caption", "thead", "tbody", "tfoot"})
_CELL_TAGS = frozenset({"td", "th"})
_TAG_HINT = re.compile(r"<[a-zA-Z!/?]")
_ENTITY_HINT = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]{1,31});")
_INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_INVISIBLE = dict.fromkeys(map(ord, _INVISIBLE_CHARS), None)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[^\S\n][^\S\n]*")  # not [^\S\n]+: see _BLANK_LINES
# Written with a literal start, which ``re`` finds with a fast search: ``\n{3,}`` has none, so
# every position of the text was tried (a third of the tidying).
_BLANK_LINES = re.compile(r"\n\n\n+")


def _unescape(value: str) -> str:
    """Decode entities, twice when a feed double-escaped them (``&amp;#8217;``)."""
    value = htmllib.unescape(value)
    if _ENTITY_HINT.search(value):
        value = htmllib.unescape(value)
    return value


def _tidy(value: str) -> str:
    """NFC, no invisible or control characters, spaces collapsed per line, at most one blank line."""
    if not value.isascii():  # ASCII is NFC already, and the invisible characters are not ASCII
        value = unicodedata.normalize("NFC", value)
        if any(char in value for char in _INVISIBLE_CHARS):  # a scan each: cheaper than translate()
            value = value.translate(_INVISIBLE)
    value = _CONTROL.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n"))
    # str.split() splits on exactly the whitespace ``\s`` matches, several times faster than a regex.
    lines = [" ".join(line.split()) for line in value.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# What each tag left by the text cleaner becomes; tags missing here (closing <br>) become nothing.
_SEPARATORS: dict[str, str] = {
    **{f"<{tag}>": "\n\n" for tag in _PARAGRAPH_TAGS},
    **{f"</{tag}>": "\n\n" for tag in _PARAGRAPH_TAGS},
    **{f"<{tag}>": "\n" for tag in _LINE_TAGS},
    **{f"</{tag}>": " " for tag in _CELL_TAGS},
    "<br>": "\n",
    "<li>": "\n- ",
}
_TEXT_CLEANER = nh3.Cleaner(
    tags=set(_PARAGRAPH_TAGS | _LINE_TAGS | _CELL_TAGS | {"br", "li"}),
    clean_content_tags=set(_DROP),
    attributes={"*": set()},  # an empty map still lets ammonia keep `lang` and `title`
    strip_comments=True,
    link_rel=None,
)
_CLEAN_TAG = re.compile(r"</?[a-z0-9]+>")


def _soup_text(markup: str) -> str:
    """Text of ``markup`` with block structure kept as line breaks (entities decoded once)."""
    structural = _TEXT_CLEANER.clean(markup)
    return htmllib.unescape(_CLEAN_TAG.sub(lambda tag: _SEPARATORS.get(tag.group(), ""), structural))


def html_to_text(html: str) -> str:
    """Readable plain text from HTML (or from text that merely contains entities)."""
    if not html:
        return ""
    text = _soup_text(html) if _TAG_HINT.search(html) else _unescape(html)
    # Feeds sometimes escape markup once too often: what decoding revealed is still markup.
    if _looks_like_markup(text):
        text = _soup_text(text)
    return _tidy(_unescape(text) if _ENTITY_HINT.search(text) else text)


def _looks_like_markup(text: str) -> bool:
    return "</" in text and _TAG_HINT.search(text) is not None


def clean_title(title: str) -> str:
    """One line: entities decoded, tags stripped, whitespace collapsed, cut at a word boundary."""
    text = html_to_text(title or "").replace("\n- ", " ").replace("\n", " ")
    text = _SPACES.sub(" ", text).strip()
    limit = get_settings().title_max_length
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–") + "…"
