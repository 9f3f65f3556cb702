"""Canonical URLs: one spelling per page, so the same item seen via two links dedups to one row.

Why by hand instead of a library: the rules are ours (which query parameters are tracking noise,
what the trailing-slash policy is) and must never raise on the junk feeds put in ``<link>``.
Policy, in order: resolve against ``base``; lower-case scheme and host; IDN host to punycode; drop
the default port, user-info is kept; remove dot segments; drop a trailing slash except on the root;
normalise percent-encoding (unreserved characters decoded, hex upper-cased, unsafe characters
encoded as UTF-8); drop tracking parameters and sort the rest; drop the fragment unless it is a
single-page-app route (``#/…`` or ``#!…``), which is the only thing that identifies such a page.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

import idna

_TRACKING_EXACT = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "twclid", "ttclid",
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "hsctatracking",
        "ref", "ref_src", "ref_url", "xtor", "xtref", "_ga", "_gl", "ncid", "cmpid", "s_cid", "spm",
        "oly_enc_id", "oly_anon_id", "sc_campaign", "wt.mc_id", "wt.tsrc", "rb_clickid", "mkt_tok",
    }
)
_TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "piwik_", "vero_", "hmb_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SUB_DELIMS = "!$&'()*+,;="
_PATH_SAFE = frozenset(_UNRESERVED | set(_SUB_DELIMS) | set(":@/"))
_QUERY_PART_SAFE = frozenset((_UNRESERVED | set(_SUB_DELIMS) | set(":@/?")) - set("&="))
_FRAGMENT_SAFE = frozenset(_UNRESERVED | set(_SUB_DELIMS) | set(":@/?"))
_HEX = "0123456789ABCDEFabcdef"
_SCHEMELESS_HOST = re.compile(r"^(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:[:/?#]|$)", re.IGNORECASE)


def is_tracking_param(name: str) -> bool:
    """True for query keys that only say where a click came from (utm_*, fbclid, xtor, at_*…)."""
    key = name.strip().lower()
    return key in _TRACKING_EXACT or key.startswith(_TRACKING_PREFIXES)


def _normalize_escapes(component: str, safe: frozenset[str]) -> str:
    """Decode escaped unreserved characters, upper-case other escapes, escape unsafe characters."""
    out: list[str] = []
    i, n = 0, len(component)
    while i < n:
        char = component[i]
        if char == "%" and i + 2 < n and component[i + 1] in _HEX and component[i + 2] in _HEX:
            decoded = chr(int(component[i + 1 : i + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + component[i + 1 : i + 3].upper())
            i += 3
            continue
        if char in safe:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, so ``/a/./b/../c`` and ``/a/c`` are one page."""
    if "." not in path:
        return path
    output: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(output) > 1:
                output.pop()
        elif segment != ".":
            output.append(segment)
    if path.endswith(("/.", "/..")):
        output.append("")
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def _host(hostname: str) -> str:
    host = hostname.strip().rstrip(".").lower()
    if not host or host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            return host


def _netloc(parts_netloc: str, scheme: str, hostname: str | None, port: int | None) -> str:
    userinfo = ""
    if "@" in parts_netloc:
        userinfo = parts_netloc.rsplit("@", 1)[0] + "@"
    host = _host(hostname or "")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        host = f"{host}:{port}"
    return userinfo + host


def _query(query: str) -> str:
    kept: list[tuple[str, str]] = []
    for pair in query.split("&"):
        if not pair:
            continue
        name, sep, value = pair.partition("=")
        if is_tracking_param(_normalize_escapes(name, _UNRESERVED)):
            continue
        kept.append(
            (_normalize_escapes(name, _QUERY_PART_SAFE), sep + _normalize_escapes(value, _QUERY_PART_SAFE))
        )
    kept.sort()
    return "&".join(name + value for name, value in kept)


def _path(path: str) -> str:
    path = _remove_dot_segments(_normalize_escapes(path, _PATH_SAFE)) if path else "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


def _fragment(fragment: str) -> str:
    if fragment.startswith(("/", "!")):
        return _normalize_escapes(fragment, _FRAGMENT_SAFE)
    return ""


def canonical_url(url: str, *, base: str | None = None) -> str:
    """The one spelling of ``url`` we store and compare; best effort, never raises on junk."""
    raw = (url or "").strip()
    try:
        if base:
            raw = urljoin(base.strip(), raw)
        if raw.startswith("//"):
            raw = "https:" + raw
        elif "://" not in raw and _SCHEMELESS_HOST.match(raw):
            raw = "https://" + raw
        parts = urlsplit(raw)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return raw
        netloc = _netloc(parts.netloc, scheme, parts.hostname, parts.port)
        return urlunsplit((scheme, netloc, _path(parts.path), _query(parts.query), _fragment(parts.fragment)))
    except (ValueError, UnicodeError):
        return raw
