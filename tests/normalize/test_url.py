"""canonical_url: one spelling per page, best effort on junk, never an exception."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.normalize.url import canonical_url, is_tracking_param

CASES = [
    # scheme, host, port
    ("HTTP://WWW.Example.COM/a", "http://www.example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("https://example.com./a", "https://example.com/a"),
    ("  https://example.com/a  ", "https://example.com/a"),
    # path: empty, dot segments, trailing slash
    ("https://example.com", "https://example.com/"),
    ("https://example.com/", "https://example.com/"),
    ("https://example.com/a/", "https://example.com/a"),
    ("https://example.com/a//", "https://example.com/a"),
    ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    ("https://example.com/../a", "https://example.com/a"),
    # fragments: dropped, except single-page-app routes
    ("https://example.com/a#section-2", "https://example.com/a"),
    ("https://example.com/a#", "https://example.com/a"),
    ("https://example.com/app#/topic/42", "https://example.com/app#/topic/42"),
    ("https://example.com/app#!/topic/42", "https://example.com/app#!/topic/42"),
    # tracking parameters
    ("https://x.eu/a?utm_source=nl&utm_medium=email&id=3", "https://x.eu/a?id=3"),
    ("https://x.eu/a?UTM_Campaign=x", "https://x.eu/a"),
    ("https://x.eu/a?fbclid=abc&gclid=d&yclid=e&igshid=f", "https://x.eu/a"),
    ("https://x.eu/a?mc_cid=1&mc_eid=2&_hsenc=3&_hsmi=4", "https://x.eu/a"),
    ("https://x.eu/a?ref=homepage&xtor=RSS-1&at_medium=x&at_campaign=y", "https://x.eu/a"),
    ("https://x.eu/a?pk_campaign=x&mtm_source=y&_ga=1", "https://x.eu/a"),
    ("https://x.eu/a?reference=keep", "https://x.eu/a?reference=keep"),
    ("https://x.eu/a?data=1&at=keep", "https://x.eu/a?at=keep&data=1"),
    # remaining parameters sorted, blanks kept, repeated keys kept
    ("https://x.eu/a?b=2&a=1", "https://x.eu/a?a=1&b=2"),
    ("https://x.eu/a?b=2&a=1&a=0", "https://x.eu/a?a=0&a=1&b=2"),
    ("https://x.eu/a?flag&b=", "https://x.eu/a?b=&flag"),
    ("https://x.eu/a?&&b=1&", "https://x.eu/a?b=1"),
    ("https://x.eu/a?", "https://x.eu/a"),
    # percent-encoding
    ("https://x.eu/%7Euser/%c3%a9t%c3%a9", "https://x.eu/~user/%C3%A9t%C3%A9"),
    ("https://x.eu/été", "https://x.eu/%C3%A9t%C3%A9"),
    ("https://x.eu/a b", "https://x.eu/a%20b"),
    ("https://x.eu/a%2Fb", "https://x.eu/a%2Fb"),
    ("https://x.eu/a%2fb", "https://x.eu/a%2Fb"),
    ("https://x.eu/100%", "https://x.eu/100%25"),
    ("https://x.eu/s?q=caf%c3%a9&x=a+b", "https://x.eu/s?q=caf%C3%A9&x=a+b"),
    ("https://x.eu/s?q=a%26b", "https://x.eu/s?q=a%26b"),
    # IDN to punycode
    ("https://MÜNCHEN.de/x", "https://xn--mnchen-3ya.de/x"),
    ("https://regione.città.it/", "https://regione.xn--citt-3na.it/"),
    # IPv6, user info
    ("http://[::1]:8080/x", "http://[::1]:8080/x"),
    ("https://user@x.eu/a", "https://user@x.eu/a"),
    # scheme-less
    ("//cdn.x.eu/a", "https://cdn.x.eu/a"),
    ("www.example.com/path?fbclid=1", "https://www.example.com/path"),
    # real sources
    (
        "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/"
        "HORIZON-CL4-2025-04-DATA-03?utm_source=newsletter",
        "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/"
        "HORIZON-CL4-2025-04-DATA-03",
    ),
    ("https://bandi.regione.piemonte.it/gare-appalto/bando-82026/", "https://bandi.regione.piemonte.it/gare-appalto/bando-82026"),
]

JUNK = [
    ("", ""),
    ("   ", ""),
    ("javascript:alert(1)", "javascript:alert(1)"),
    ("mailto:info@x.eu", "mailto:info@x.eu"),
    ("not a url", "not a url"),
    ("http://", "http://"),
    ("http://[::1/x", "http://[::1/x"),
    ("http://x.eu:notaport/", "http://x.eu:notaport/"),
    ("/relative/only", "/relative/only"),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), JUNK)
def test_junk_is_returned_best_effort(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "base", "expected"),
    [
        ("/bandi/1?utm_source=x", "https://www.regione.it/news/a", "https://www.regione.it/bandi/1"),
        ("../x", "https://a.eu/b/c/d", "https://a.eu/b/x"),
        ("x", "https://a.eu/b/", "https://a.eu/b/x"),
        ("https://other.eu/y", "https://a.eu/b/", "https://other.eu/y"),
        ("?page=2", "https://a.eu/list", "https://a.eu/list?page=2"),
    ],
)
def test_relative_urls_resolve_against_base(raw: str, base: str, expected: str) -> None:
    assert canonical_url(raw, base=base) == expected


def test_is_idempotent_on_cases() -> None:
    for _, expected in CASES:
        assert canonical_url(expected) == expected


@pytest.mark.parametrize("name", ["utm_source", "UTM_MEDIUM", "fbclid", "at_medium", "xtor", " ref "])
def test_tracking_names(name: str) -> None:
    assert is_tracking_param(name)


@given(st.text(max_size=200))
def test_never_raises(raw: str) -> None:
    result = canonical_url(raw)
    assert isinstance(result, str)


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60))
def test_canonical_http_urls_are_stable(path: str) -> None:
    once = canonical_url("https://Example.eu/" + path)
    assert canonical_url(once) == once
