"""`watcher classify` and `watcher eval` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from watcher.cli import app

DEV = Path(__file__).resolve().parents[1] / "data" / "eval" / "dev.jsonl"


def test_classify_lines_and_report_bad_ones() -> None:
    lines = "\n".join(
        [
            json.dumps(
                {"id": "a", "title": "Bando per le imprese tessili", "text": "Scadenza: 30 novembre 2021"}
            ),
            "not json",
            json.dumps({"id": "b"}),
            json.dumps({"id": "c", "title": "Call", "deadlines": ["tomorrow"]}),
            json.dumps(
                {
                    "id": "d",
                    "title": "Webinar on AI in hospitals",
                    "published": "2024-01-10",
                    "text": "The webinar will take place on 7-8 March 2024.",
                    "deadlines": [],
                }
            ),
        ]
    )
    result = CliRunner().invoke(app, ["classify"], input=lines + "\n")
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [o["id"] for o in out] == ["a", "d"]
    first = out[0]
    assert set(first) >= {
        "id",
        "ecosystems",
        "kind",
        "deadline",
        "deadlines",
        "event_date",
        "language",
        "scores",
        "why",
    }
    assert (first["ecosystems"], first["kind"], first["deadline"]) == (["textile"], "call", "2021-11-30")
    assert first["why"]["textile"] == ["tessili"]
    assert (out[1]["kind"], out[1]["event_date"], out[1]["language"]) == ("event", "2024-03-07", "en")
    errors = [json.loads(line) for line in result.stderr.splitlines()]
    assert [e["line"] for e in errors] == [2, 3, 4]
    assert "deadlines" in errors[2]["error"]


def test_eval_prints_figures_and_json_last(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", str(DEV), "--json"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert any("micro" in line for line in lines) and any("kind accuracy" in line for line in lines)
    figures = json.loads(lines[-1])
    assert figures["items"] == 24
    assert figures["micro"]["f1"] >= 0.85 and figures["kind_accuracy"] >= 0.9
    assert figures["deadline_accuracy"] >= 0.9 and "per_ecosystem" in figures and "confusions" in figures


def test_eval_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert "cannot read" in result.output
