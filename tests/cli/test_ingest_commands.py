"""`watcher poll`, `sources`, `items`: exit codes and output people and scripts rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import DATA_DIR
from tests.support.http_server import LoopbackServer
from watcher.cli import app
from watcher.settings import get_settings

runner = CliRunner()


def _use_sources(monkeypatch: pytest.MonkeyPatch, path: Path, text: str) -> None:
    path.write_text(text)
    monkeypatch.setenv("WATCHER_SOURCES", str(path))
    get_settings.cache_clear()


def test_bad_sources_file_fails_with_the_source_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_sources(
        monkeypatch,
        tmp_path / "s.yaml",
        "sources:\n  - id: broken\n    name: B\n    url: ftp://x\n    type: rss\n",
    )
    result = runner.invoke(app, ["poll"])
    assert result.exit_code == 1
    assert "broken" in result.output and "url" in result.output


def test_bad_taxonomy_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "eco.yaml").write_text("just: [a, list")
    monkeypatch.setenv("WATCHER_ECOSYSTEMS", str(tmp_path / "eco.yaml"))
    get_settings.cache_clear()
    result = runner.invoke(app, ["poll"])
    assert result.exit_code == 1 and "eco.yaml" in result.output


def test_poll_succeeds_with_a_failing_source_and_items_list_prints_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_server: LoopbackServer
) -> None:
    feed = http_server.route(
        "/feed.xml", (DATA_DIR / "fixtures" / "rss_bandi_regione_piemonte.xml").read_bytes()
    )
    dead = http_server.route("/dead.xml", status=500)
    _use_sources(
        monkeypatch,
        tmp_path / "s.yaml",
        (
            f"sources:\n  - id: piemonte\n    name: P\n    url: {feed}\n    type: rss\n    language: it\n"
            f"  - id: dead\n    name: D\n    url: {dead}\n    type: rss\n"
        ),
    )
    result = runner.invoke(app, ["poll", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "1 failed" in result.output

    listed = runner.invoke(app, ["items", "list", "--json", "--source", "piemonte"])
    items = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(items) == 10 and all(item["source_id"] == "piemonte" for item in items)

    health = runner.invoke(app, ["sources", "list", "--json"])
    rows = {row["id"]: row for row in map(json.loads, health.stdout.splitlines())}
    assert rows["dead"]["consecutive_failures"] == 1 and "500" in rows["dead"]["last_error"]
    assert rows["piemonte"]["last_success_at"] is not None


def test_unknown_source_id_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["poll", "--source", "nope"])
    assert result.exit_code == 1 and "unknown source id" in result.output
