"""THE sanitizer: every piece of source HTML that reaches an email or a web page goes through here.

Sources are untrusted (a compromised regional site, a feed with injected markup), and our emails go
to thousands of people, so the allowlist is small: text structure, links and simple tables. Images
are off by default because a remote image in an email is a tracking pixel for whoever hosts it.
Relative links are resolved against the page they came from; without a base they would point at
our own site, so they are dropped (the link text stays).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

import nh3

LINK_REL = "noopener noreferrer nofollow"
URL_SCHEMES = frozenset({"http", "https", "mailto"})
ALLOWED_TAGS = frozenset(
    {
        "p", "br", "ul", "ol", "li", "strong", "b", "em", "i", "a", "h2", "h3", "h4", "blockquote",
        "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
    }
)
# Tags removed together with their content: code, styling, embedded documents and form controls.
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript",
        "template", "form", "select", "textarea", "button", "svg", "math", "head", "title",
    }
)
# "*" empty: ammonia would otherwise allow `lang` and `title` on every tag.
_ATTRIBUTES: dict[str, set[str]] = {
    "*": set(),
    "a": {"href"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
_IMAGE_ATTRIBUTES = {"src", "alt", "width", "height"}


@lru_cache(maxsize=64)
def _cleaner(base_url: str | None, allow_images: bool) -> nh3.Cleaner:
    tags = set(ALLOWED_TAGS)
    attributes = {tag: set(names) for tag, names in _ATTRIBUTES.items()}
    if allow_images:
        tags.add("img")
        attributes["img"] = set(_IMAGE_ATTRIBUTES)
    if base_url:
        return _build(tags, attributes, ("rewrite_with_base", base_url))
    return _build(tags, attributes, "deny")


_Relative = Literal["deny"] | tuple[Literal["rewrite_with_base"], str]


def _build(tags: set[str], attributes: dict[str, set[str]], relative: _Relative) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=tags,
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes=attributes,
        link_rel=LINK_REL,
        url_schemes=set(URL_SCHEMES),
        url_relative=relative,
        strip_comments=True,
    )


# Lower-case patterns run on lower-cased markup: ``re`` scans a literal start much faster that way.
_LINK_VALUE = re.compile(r"""(?:href|src)\s*=\s*(?:"\s*([^"]*)"|'\s*([^']*)'|([^\s"'>]+))""")
_ABSOLUTE = ("http:", "https:", "mailto:")


def _has_relative_links(html: str) -> bool:
    """Whether a base URL could change the output: a cleaner per base costs more than the cleaning.

    Anything this cannot read plainly (odd quoting, entities in a URL, "src" in the text) counts
    as relative, which only costs time.
    """
    lowered = html.lower()
    values = _LINK_VALUE.findall(lowered)
    if len(values) != lowered.count("href") + lowered.count("src"):
        return True
    return any(not "".join(value).startswith(_ABSOLUTE) for value in values)


def _usable_base(base_url: str | None) -> str | None:
    """An absolute http(s) base, or None (a bad base must not make the sanitizer fail)."""
    if not base_url:
        return None
    # Not canonicalised: the trailing slash and query matter when resolving "doc.pdf" or "?p=2".
    base = base_url.strip()
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    return base if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def sanitize_html(html: str, *, base_url: str | None = None, allow_images: bool = False) -> str:
    """Safe-to-display HTML: allowlisted tags only, http/https/mailto links with ``rel`` set."""
    if not html or not html.strip():
        return ""
    base = _usable_base(base_url) if _has_relative_links(html) else None
    try:
        cleaner = _cleaner(base, allow_images)
    except ValueError:  # ammonia rejected the base URL: drop relative links instead of failing
        cleaner = _cleaner(None, allow_images)
    return cleaner.clean(html).strip()
