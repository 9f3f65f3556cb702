"""html_to_text and clean_title: readable plain text out of whatever markup sources send."""

from __future__ import annotations

import pytest

from watcher.normalize.text import clean_title, html_to_text
from watcher.settings import get_settings


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("plain text", "plain text"),
        ("  many   spaces\t\there  ", "many spaces here"),
        ("caf&eacute; &amp; bar &#8217;s", "café & bar ’s"),
        ("double &amp;#8217; escaped", "double ’ escaped"),
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("line<br>break<br/>again", "line\nbreak\nagain"),
        ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
        ("<h2>Title</h2>Body text", "Title\n\nBody text"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
        ("<p>keep</p><script>var x = 1;</script><style>p{}</style>", "keep"),
        ("<div><div><p>deep</p></div></div>\n\n\n\n<p>next</p>", "deep\n\nnext"),
        ("<p>in<b>line</b> <i>tags</i> stay</p>", "inline tags stay"),
        ("&lt;p&gt;escaped markup&lt;/p&gt;", "escaped markup"),
        ("a &lt;b&gt; c", "a <b> c"),
        ("zero\u200bwidth\u00adsoft", "zerowidthsoft"),
        ("ctrl\x00chars\x07", "ctrl chars"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("<p>a < b</p>", "a < b"),
        ("<!-- hidden --><p>shown</p>", "shown"),
    ],
)
def test_html_to_text(raw: str, expected: str) -> None:
    assert html_to_text(raw) == expected


def test_double_escaped_markup_is_stripped() -> None:
    assert html_to_text("&lt;p&gt;Hello &lt;b&gt;world&lt;/b&gt;&lt;/p&gt;<br>") == "Hello world"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Bando &amp; <b>avviso</b>\n 2025 ", "Bando & avviso 2025"),
        ("<h1>Call</h1><p>for proposals</p>", "Call for proposals"),
        ("Title&nbsp;with&nbsp;nbsp", "Title with nbsp"),
        ("", ""),
    ],
)
def test_clean_title(raw: str, expected: str) -> None:
    assert clean_title(raw) == expected


def test_clean_title_cuts_long_titles_at_a_word(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_TITLE_MAX_LENGTH", "20")
    get_settings.cache_clear()
    title = clean_title("Digitalisation of small enterprises in the Alps")
    assert title == "Digitalisation of…"
    assert len(title) <= 20
