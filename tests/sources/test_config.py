"""The sources file: the shipped one is valid, and every mistake names the source and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.settings import PROJECT_ROOT
from watcher.sources.config import (
    FtPortalOptions,
    HtmlOptions,
    RssOptions,
    SourceConfig,
    SourcesConfigError,
    load_sources,
    parse_interval,
)

SHIPPED = PROJECT_ROOT / "config" / "sources.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_sources_file_is_valid_and_broad() -> None:
    sources = load_sources(SHIPPED)
    assert len(sources) >= 15
    assert len({s.id for s in sources}) == len(sources)
    assert {"rss", "html", "ftportal", "grantstenders"} <= {s.type for s in sources}
    by_id = {s.id: s for s in sources}
    eccp = by_id["eccp-feed"].options
    assert isinstance(eccp, RssOptions) and eccp.rewrite_host == "https://clustercollaboration.eu"
    assert isinstance(by_id["eismea-news"].options, HtmlOptions)
    assert by_id["eismea-events"].options.date_field == "event_date"  # type: ignore[union-attr]
    ft = by_id["ft-topics"]
    assert ft.url.startswith("https://api.tech.ec.europa.eu/search-api/prod/rest/search?apiKey=SEDIA")
    assert isinstance(ft.options, FtPortalOptions) and ft.options.statuses == [31094501, 31094502]
    assert by_id["piemonte-bandi"].url == "https://bandi.regione.piemonte.it/tutti/rss.xml"
    assert all(s.interval_s >= 60 for s in sources)


@pytest.mark.parametrize(
    ("raw", "seconds"), [("30m", 1800), ("6h", 21600), ("1d", 86400), ("90s", 90), (3600, 3600), ("120", 120)]
)
def test_interval_forms(raw: object, seconds: int) -> None:
    assert parse_interval(raw) == seconds


def test_yaml_key_interval_maps_to_interval_s() -> None:
    source = SourceConfig.model_validate(
        {"id": "a", "name": "A", "url": "https://x.eu/f", "type": "rss", "interval": "2h"}
    )
    assert source.interval_s == 7200 and isinstance(source.options, RssOptions)


MINIMAL = """
sources:
  - id: good-one
    name: Good
    url: https://example.eu/feed
    type: rss
    interval: 1h
"""


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "  - {id: eismea-news, name: E, url: 'https://e.eu/', type: html, interval: 6h, options: {}}",
            "source 'eismea-news' (#2): field 'options.item_selector': field required",
        ),
        (
            "  - {id: x, name: X, url: 'https://e.eu/', type: html, options: {item_selector: a, hue: 1}}",
            "source 'x' (#2): field 'options.hue': extra inputs are not permitted",
        ),
        (
            "  - {id: Bad_Id, name: B, url: 'https://e.eu/', type: rss}",
            "field 'id': value error, must be a slug",
        ),
        ("  - {id: b, name: B, url: 'ftp://e.eu/', type: rss}", "source 'b' (#2): field 'url'"),
        ("  - {id: b, name: B, url: 'https://e.eu/', type: atom}", "source 'b' (#2): field 'type'"),
        ("  - {id: b, name: B, url: 'https://e.eu/', type: rss, interval: 10s}", "field 'interval'"),
        ("  - {id: b, name: B, url: 'https://e.eu/', type: rss, interval: soon}", "field 'interval'"),
        ("  - {id: b, name: B, url: 'https://e.eu/', type: rss, country: Italy}", "field 'country'"),
        ("  - {id: b, name: B, url: 'https://e.eu/', type: rss, kind: grant}", "field 'kind'"),
        ("  - {id: b, name: B, url: 'https://e.eu/', type: rss, colour: red}", "field 'colour'"),
        ("  - {id: b, url: 'https://e.eu/', type: rss}", "source 'b' (#2): field 'name': field required"),
        (
            "  - {id: f, name: F, url: 'https://e.eu/', type: ftportal, options: {page_size: 500}}",
            "source 'f' (#2): field 'options.page_size'",
        ),
        (
            "  - {id: good-one, name: Dup, url: 'https://e.eu/', type: rss}",
            "source 'good-one' (#2): field 'id': duplicate",
        ),
        ("  - just a string", "source #2: expected a mapping"),
    ],
)
def test_errors_name_file_source_and_field(tmp_path: Path, entry: str, message: str) -> None:
    path = _write(tmp_path, MINIMAL + entry + "\n")
    with pytest.raises(SourcesConfigError) as caught:
        load_sources(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_bad_yaml_reports_line(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "  - id: broken\n    name: [unclosed\n")
    with pytest.raises(SourcesConfigError, match=r"line \d+, column \d+: invalid YAML"):
        load_sources(path)


@pytest.mark.parametrize("text", ["", "sources: 3\n", "- id: a\n"])
def test_missing_sources_list(tmp_path: Path, text: str) -> None:
    with pytest.raises(SourcesConfigError, match="expected a top-level 'sources:' list"):
        load_sources(_write(tmp_path, text))


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(SourcesConfigError, match="cannot read sources file"):
        load_sources(tmp_path / "nope.yaml")


def test_sources_config_error_is_a_value_error() -> None:
    assert issubclass(SourcesConfigError, ValueError)


ONE_SOURCE = """
sources:
  - id: regione-x
    name: Regione X
    url: https://regione-x.example.eu/feed.xml
    type: rss
    interval: 2h
"""


def _fresh(path: Path) -> list[SourceConfig]:
    """Read as a new process would (the in-process copy is per file version)."""
    from watcher.sources import config

    config._cache.clear()
    return load_sources(path)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from watcher.settings import get_settings

    monkeypatch.setenv("WATCHER_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    return tmp_path / "cache"


def test_a_parsed_copy_serves_the_next_process_and_tracks_the_text(tmp_path: Path, cache: Path) -> None:
    path = _write(tmp_path, ONE_SOURCE)
    assert [s.id for s in _fresh(path)] == ["regione-x"]
    [copy] = list(cache.glob("sources-*.json"))
    # The next process reads the copy, not the YAML: prove it with a copy that says otherwise.
    copy.write_text(copy.read_text().replace("regione-x", "from-the-copy"))
    assert [s.id for s in _fresh(path)] == ["from-the-copy"]
    copy.write_text("{ damaged")
    assert [s.id for s in _fresh(path)] == ["regione-x"]  # parsed again, copy rewritten
    _write(tmp_path, ONE_SOURCE.replace("2h", "3h"))  # another text, another copy
    assert _fresh(path)[0].interval_s == 3 * 3600 and len(list(cache.glob("sources-*.json"))) == 2


def test_yaml_that_json_would_change_is_not_copied(tmp_path: Path, cache: Path) -> None:
    text = ONE_SOURCE.replace("    interval: 2h\n", "    interval: 2h\n    region: 2024-01-01\n")
    with pytest.raises(SourcesConfigError):  # a date is not a region: still reported as before
        _fresh(_write(tmp_path, text))
    assert not list(cache.glob("sources-*.json"))


def test_only_the_newest_copies_are_kept(tmp_path: Path, cache: Path) -> None:
    from watcher.cache_files import KEEP

    path = tmp_path / "sources.yaml"
    for hours in range(1, KEEP + 4):
        path.write_text(ONE_SOURCE.replace("2h", f"{hours}h"), encoding="utf-8")
        assert _fresh(path)[0].interval_s == hours * 3600
    assert len(list(cache.glob("sources-*.json"))) == KEEP
