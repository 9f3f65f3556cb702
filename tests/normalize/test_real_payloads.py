"""Normalisation of real payloads from tests/data/fixtures (see PROVENANCE.md there)."""

from __future__ import annotations

import json
import re

import feedparser

from tests.conftest import DATA_DIR
from watcher.drafts import ItemDraft
from watcher.normalize import normalize
from watcher.normalize.sanitize import sanitize_html
from watcher.normalize.text import html_to_text

FIXTURES = DATA_DIR / "fixtures"
_ATTRIBUTE = re.compile(r"<(?!a )[a-z0-9]+ [^>]*>")  # any tag but <a> carrying attributes


def test_regione_piemonte_feed_items_normalise_cleanly() -> None:
    feed = feedparser.parse((FIXTURES / "rss_bandi_regione_piemonte.xml").read_bytes(), sanitize_html=False)
    assert feed.entries
    items = [
        normalize(
            ItemDraft(
                source_id="piemonte",
                guid=entry.get("id", entry.link),
                url=entry.link,
                title=entry.title,
                html=entry.get("description", ""),
            )
        )
        for entry in feed.entries
    ]
    for item in items:
        assert item.url.startswith("https://bandi.regione.piemonte.it/")
        assert "&amp;" not in item.title and "<" not in item.title
        assert "<" not in item.text or "< " in item.text
        assert not _ATTRIBUTE.search(item.content_html), item.content_html
        assert item.story_key == "url:" + item.url  # each bando page is one call
    assert len({item.fingerprint for item in items}) == len(items)
    assert "Gare d'appalto" in items[0].text and "esecuzione" in items[0].text


def test_portal_description_markup_is_sanitised_and_readable() -> None:
    payload = json.loads((FIXTURES / "sedia_search_trimmed_georget-j.json").read_text(encoding="utf-8"))
    for result in payload["results"]:
        description = result["metadata"]["descriptionByte"][0]
        clean = sanitize_html(description)
        assert "class=" not in clean and "level=" not in clean and "<span" not in clean
        text = html_to_text(description)
        assert "<" not in text.replace("< ", "")
        if "<li" in description:
            assert "<ul>" in clean and "\n- " in text
        item = normalize(
            ItemDraft(
                source_id="ftportal",
                guid=result["reference"],
                url=result["metadata"]["url"][0],
                title=result["metadata"]["title"][0],
                html=description,
            )
        )
        assert item.story_key == "topic:" + result["metadata"]["identifier"][0].upper()
