"""Interface language: ?lang= switch (remembered in a cookie), Accept-Language, English default."""

from __future__ import annotations

from fastapi.testclient import TestClient

from watcher.web import i18n


def test_default_is_english(sqlite_client: TestClient) -> None:
    html = sqlite_client.get("/").text
    assert '<html lang="en">' in html and "Archive" in html


def test_accept_language_picks_italian(sqlite_client: TestClient) -> None:
    html = sqlite_client.get("/", headers={"Accept-Language": "it-IT,it;q=0.9,en;q=0.8"}).text
    assert '<html lang="it">' in html and "Archivio" in html


def test_switch_sets_a_cookie_that_wins_over_accept_language(sqlite_client: TestClient) -> None:
    response = sqlite_client.get("/?lang=it", headers={"Accept-Language": "en"})
    assert response.cookies.get("lang") == "it"
    later = sqlite_client.get("/feeds", headers={"Accept-Language": "en"})
    assert '<html lang="it">' in later.text
    back = sqlite_client.get("/feeds?lang=en")
    assert '<html lang="en">' in back.text


def test_unknown_language_falls_back(sqlite_client: TestClient) -> None:
    assert '<html lang="en">' in sqlite_client.get("/?lang=xx").text


def test_accept_language_parsing() -> None:
    assert i18n.from_accept_language("fr-FR, it;q=0.5, en;q=0.7") == "en"
    assert i18n.from_accept_language("de, fr") is None
    assert i18n.from_accept_language("it;q=abc, en;q=0") is None
    assert i18n.from_accept_language("IT_it") == "it"


def test_catalogues_have_the_same_keys() -> None:
    assert set(i18n.catalogue("en")) == set(i18n.catalogue("it"))


def test_missing_key_falls_back_to_the_key() -> None:
    assert i18n.translate("it", "no.such.key") == "no.such.key"
    assert i18n.translate("it", "archive.results", count=3) == "3 elementi"
