"""Plain text from source markup: what the classifier reads, what text emails show and search uses.

Block elements become line breaks so paragraphs, list items and table rows stay readable; entities
are decoded; runs of whitespace collapse. Most RSS descriptions are short text without tags, so
those skip the HTML parser entirely.
"""

from __future__ import annotations

import html as htmllib
import re
import unicodedata

from lxml import etree
from lxml import html as lxml_html

from watcher.settings import get_settings

_DROP = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "head", "title"}
)
_PARSER = lxml_html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
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
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _unescape(value: str) -> str:
    """Decode entities, twice when a feed double-escaped them (``&amp;#8217;``)."""
    value = htmllib.unescape(value)
    if _ENTITY_HINT.search(value):
        value = htmllib.unescape(value)
    return value


def _tidy(value: str) -> str:
    """NFC, no invisible or control characters, spaces collapsed per line, at most one blank line."""
    value = unicodedata.normalize("NFC", value).translate(_INVISIBLE)
    value = _CONTROL.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [_SPACES.sub(" ", line).strip() for line in value.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _soup_text(markup: str) -> str:
    """Text of ``markup`` with block structure kept as line breaks.

    lxml's own tree and one recursive walk: this runs for every item of every round, and it is
    several times faster than building a BeautifulSoup tree for the same result.
    """
    try:
        root = lxml_html.document_fromstring(markup, parser=_PARSER)
    except (etree.ParserError, ValueError):  # empty or unparseable: nothing readable
        return ""
    out: list[str] = []
    _walk(root, out)
    return "".join(out)


def _walk(element: etree._Element, out: list[str]) -> None:
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    if tag and tag not in _DROP:
        if tag == "br":
            out.append("\n")
        elif tag in _PARAGRAPH_TAGS:
            out.append("\n\n")
        elif tag in _LINE_TAGS:
            out.append("\n")
        elif tag == "li":
            out.append("\n- ")
        if element.text:
            out.append(element.text)
        for child in element:
            _walk(child, out)
        if tag in _PARAGRAPH_TAGS:
            out.append("\n\n")
        elif tag in _CELL_TAGS:
            out.append(" ")
    if element.tail:  # text after a dropped element or a comment still belongs to the parent
        out.append(element.tail)


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
