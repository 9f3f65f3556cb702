"""Property-based tests (hypothesis) for URL canonicalisation and the HTML sanitizer."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from bs4 import BeautifulSoup
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from watcher.normalize import canonical_url, sanitize_html

PROFILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- URLs ------------------------------------------------------------------------------------
labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
hosts = st.lists(labels, min_size=2, max_size=4).map(".".join)
segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-._~%20àé", max_size=10)
paths = st.lists(segment, max_size=5).map(lambda parts: "/" + "/".join(parts))
keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
    lambda key: not key.startswith(("utm_", "at_", "pk_", "mtm_", "piwik_", "vero_", "hmb_"))
    and key not in {"ref", "spm", "ncid", "xtor", "xtref", "fbclid", "gclid", "cmpid"}
)
values = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789+-", max_size=8)
queries = st.lists(st.tuples(keys, values), max_size=4, unique_by=lambda pair: pair[0])


def _url(scheme: str, host: str, path: str, query: list[tuple[str, str]]) -> str:
    text = "&".join(f"{key}={value}" for key, value in query)
    return f"{scheme}://{host}{path}" + (f"?{text}" if text else "")


@PROFILE
@given(st.text())
@example("http://[::1")
@example("https://ex ample.eu/ a b")
def test_canonical_url_never_raises_on_junk(raw: str) -> None:
    assert isinstance(canonical_url(raw), str)
    assert isinstance(canonical_url(raw, base="https://example.eu/a/b"), str)


@PROFILE
@given(st.sampled_from(["http", "https"]), hosts, paths, queries)
def test_canonical_url_is_idempotent(scheme: str, host: str, path: str, query: list[tuple[str, str]]) -> None:
    once = canonical_url(_url(scheme, host, path, query))
    assert canonical_url(once) == once


@PROFILE
@given(hosts, paths, queries, st.sampled_from(["utm_source", "utm_campaign", "fbclid", "gclid", "xtor"]))
def test_case_order_and_tracking_noise_do_not_change_the_canonical_url(
    host: str, path: str, query: list[tuple[str, str]], tracker: str
) -> None:
    plain = canonical_url(_url("https", host, path, query))
    noisy = _url("HTTPS", host.upper(), path, [*reversed(query), (tracker, "newsletter")]) + "#section"
    assert canonical_url(noisy) == plain
    parts = urlsplit(plain)
    assert parts.scheme == "https" and parts.hostname == host
    assert tracker not in parts.query


# --- sanitizer ----------------------------------------------------------------------------------
HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src="https://tracker.example/pixel.gif" width="1" height="1">',
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt&#58;alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    '<form action="https://evil.example"><input name=p><button>go</button></form>',
    '<div onclick="steal()">text</div>',
    '<p onmouseover=alert(1)>hover</p>',
    '<svg onload=alert(1)><circle/></svg>',
    '<iframe src="https://evil.example"></iframe>',
    '<object data="x.swf"></object><embed src="x.swf">',
    '<style>body{background:url(https://tracker.example/p.gif)}</style>',
    '<p style="background:url(https://tracker.example/p.gif)">styled</p>',
    '<link rel=stylesheet href="https://evil.example/x.css">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<base href="https://evil.example/">',
    '<table background="https://tracker.example/p.gif"><tr><td>t</td></tr></table>',
    '<video poster="https://tracker.example/p.gif"></video>',
    '<input type="image" src="https://tracker.example/p.gif">',
    "<!--<script>alert(1)</script>-->",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
]
BENIGN = [
    "<p>Bando</p>", "<strong>Scadenza</strong>", "plain text & more", '<a href="https://ok.eu/x">ok</a>',
    "<ul><li>uno</li></ul>", "<br>", "<table><tr><td>1</td></tr></table>", "città è", '<a href="/rel">r</a>',
]
fragments = st.sampled_from(HOSTILE + BENIGN) | st.text(max_size=30)
documents = st.lists(fragments, min_size=1, max_size=8).map("".join)
bases = st.sampled_from(
    [None, "https://example.eu/news/", "http://example.eu", "javascript:alert(1)", "not a url"]
)
_EVENT_ATTRIBUTE = re.compile(r"^on", re.IGNORECASE)
_REMOTE_TAGS = {"img", "video", "audio", "source", "image", "picture", "link", "meta", "base"}
_ACTIVE_TAGS = {"script", "style", "iframe", "form", "input", "button", "object", "embed", "svg", "math"}


def _assert_safe(cleaned: str) -> None:
    soup = BeautifulSoup(cleaned, "html.parser")
    for tag in soup.find_all(True):
        assert tag.name not in _ACTIVE_TAGS, f"active tag survived: {tag}"
        assert tag.name not in _REMOTE_TAGS, f"remote-loading tag survived: {tag}"
        for name, value in tag.attrs.items():
            assert not _EVENT_ATTRIBUTE.match(name), f"event handler survived: {tag}"
            assert name not in {"style", "src", "background", "poster", "action", "formaction"}
            if name == "href":
                target = re.sub(r"[\x00-\x20]", "", html.unescape(str(value))).lower()
                assert target.startswith(("http://", "https://", "mailto:")), f"unsafe link survived: {tag}"
    lowered = cleaned.lower()
    assert "<script" not in lowered and "javascript:" not in re.sub(r"\s", "", html.unescape(lowered))


@PROFILE
@given(documents, bases)
def test_no_script_handler_javascript_url_form_or_pixel_survives(document: str, base: str | None) -> None:
    _assert_safe(sanitize_html(document, base_url=base))


@PROFILE
@given(documents)
def test_sanitizing_twice_changes_nothing(document: str) -> None:
    once = sanitize_html(document, base_url="https://example.eu/")
    assert sanitize_html(once, base_url="https://example.eu/") == once


plain = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn")), max_size=200)


@PROFILE
@given(plain)
def test_escaped_text_comes_out_as_the_same_text(text: str) -> None:
    cleaned = sanitize_html(html.escape(text))
    assert BeautifulSoup(cleaned, "html.parser").get_text().split() == text.split()
    _assert_safe(cleaned)
