"""SVG charts: escaped labels, stacked totals, folding of small series, thinned axis labels."""

from __future__ import annotations

from datetime import date

from watcher.web.admin.charts import stacked_bars
from watcher.web.admin.dashboard import week_label, week_labels


def test_labels_are_escaped_and_totals_shown() -> None:
    svg = str(stacked_bars([("W1", {"<b>x</b>": 2, "y": 3})], title="T & <t>"))
    assert "<b>x</b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg and "T &amp; &lt;t&gt;" in svg
    assert ">5</text>" in svg and "style=" not in svg


def test_small_series_fold_into_other_and_empty_says_so() -> None:
    bars = [("W1", {f"s{i}": i + 1 for i in range(12)})]
    svg = str(stacked_bars(bars, title="t", max_series=3))
    assert "other" in svg and "s11" in svg and "s0<" not in svg
    assert "No data yet" in str(stacked_bars([("W1", {})], title="t"))


def test_axis_labels_thinned_for_long_series() -> None:
    svg = str(stacked_bars([(f"d{i}", {"sent": 1}) for i in range(30)], title="t"))
    assert svg.count('font-size="10">d') <= 16 and ">d29<" in svg


def test_iso_week_labels_span_twelve_weeks() -> None:
    labels = week_labels(date(2026, 1, 7))
    assert len(labels) == 12 and labels[-1] == "2026-W02" and labels[0] == "2025-W43"
    assert week_label(date(2024, 12, 30)) == "2025-W01"
