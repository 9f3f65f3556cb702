"""Server-rendered SVG stacked bar charts: no JavaScript, no inline style, so the strict CSP holds.

Colours are SVG presentation attributes (``fill=``), which CSP's style-src does not govern.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#ad494a",
    "#637939",
    "#843c39",
)
OTHER_COLOUR = "#c7c7c7"
MAX_AXIS_LABELS = 15


@dataclass(frozen=True)
class ChartLayout:
    width: int = 760
    plot_height: int = 220
    left: int = 40
    top: int = 30
    bottom: int = 40
    legend_row: int = 18
    legend_columns: int = 3


def _series_order(bars: Sequence[tuple[str, Mapping[str, int]]], max_series: int) -> list[str]:
    totals: dict[str, int] = {}
    for _, values in bars:
        for name, count in values.items():
            totals[name] = totals.get(name, 0) + count
    ordered = sorted(totals, key=lambda name: (-totals[name], name))
    return ordered[:max_series]


def _fold_other(values: Mapping[str, int], kept: Sequence[str]) -> dict[str, int]:
    folded = {name: values.get(name, 0) for name in kept}
    other = sum(count for name, count in values.items() if name not in kept)
    if other:
        folded["other"] = other
    return folded


def stacked_bars(
    bars: Sequence[tuple[str, Mapping[str, int]]],
    *,
    title: str,
    colours: Mapping[str, str] | None = None,
    max_series: int = 10,
    layout: ChartLayout = ChartLayout(),
) -> Markup:
    """An accessible SVG: one bar per label, stacked by series, a legend, a text fallback title."""
    kept = _series_order(bars, max_series)
    folded = [(label, _fold_other(values, kept)) for label, values in bars]
    series = kept + (["other"] if any("other" in v for _, v in folded) else [])
    colour = {name: (colours or {}).get(name) or PALETTE[i % len(PALETTE)] for i, name in enumerate(kept)}
    colour["other"] = OTHER_COLOUR
    peak = max([sum(v.values()) for _, v in folded] + [1])
    legend_rows = -(-len(series) // layout.legend_columns) if series else 0
    height = layout.top + layout.plot_height + layout.bottom + legend_rows * layout.legend_row
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"'
        f' viewBox="0 0 {layout.width} {height}" width="{layout.width}" height="{height}"'
        f' aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{layout.left}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    parts += _axis(peak, layout)
    parts += _bars(folded, series, colour, peak, layout)
    parts += _legend(series, colour, layout)
    if not any(sum(v.values()) for _, v in folded):
        parts.append(
            f'<text x="{layout.width // 2}" y="{layout.top + layout.plot_height // 2}" text-anchor="middle"'
            ' fill="#666">No data yet</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _axis(peak: int, layout: ChartLayout) -> list[str]:
    base = layout.top + layout.plot_height
    right = layout.width - 10
    return [
        f'<line x1="{layout.left}" y1="{base}" x2="{right}" y2="{base}" stroke="#333"/>',
        f'<text x="{layout.left - 6}" y="{layout.top + 10}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{layout.left - 6}" y="{base}" text-anchor="end" font-size="11">0</text>',
    ]


def _bars(
    folded: Sequence[tuple[str, Mapping[str, int]]],
    series: Sequence[str],
    colour: Mapping[str, str],
    peak: int,
    layout: ChartLayout,
) -> list[str]:
    if not folded:
        return []
    base = layout.top + layout.plot_height
    slot = (layout.width - layout.left - 10) / len(folded)
    bar_width = max(2.0, slot * 0.7)
    label_every = max(1, -(-len(folded) // MAX_AXIS_LABELS))  # thin labels so they never overlap
    parts: list[str] = []
    for index, (label, values) in enumerate(folded):
        x = layout.left + index * slot + (slot - bar_width) / 2
        y = float(base)
        for name in series:
            count = values.get(name, 0)
            if not count:
                continue
            h = count / peak * layout.plot_height
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" height="{h:.1f}"'
                f' fill="{colour[name]}">'
                f"<title>{escape(label)} · {escape(name)}: {count}</title></rect>"
            )
        total = sum(values.values())
        last = len(folded) - 1
        if index == last or (index % label_every == 0 and last - index >= label_every):
            parts.append(
                f'<text x="{x + bar_width / 2:.1f}" y="{base + 14}" text-anchor="middle" font-size="10">'
                f"{escape(label)}</text>"
            )
        if total:
            parts.append(
                f'<text x="{x + bar_width / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="10">'
                f"{total}</text>"
            )
    return parts


def _legend(series: Sequence[str], colour: Mapping[str, str], layout: ChartLayout) -> list[str]:
    parts: list[str] = []
    column_width = (layout.width - layout.left) / layout.legend_columns
    top = layout.top + layout.plot_height + layout.bottom - 10
    for index, name in enumerate(series):
        row, column = divmod(index, layout.legend_columns)
        x = layout.left + column * column_width
        y = top + row * layout.legend_row
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="12" height="12" fill="{colour[name]}"/>')
        parts.append(f'<text x="{x + 16:.1f}" y="{y + 10}" font-size="11">{escape(name)}</text>')
    return parts
