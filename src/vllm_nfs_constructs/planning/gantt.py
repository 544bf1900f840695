"""The planner's timeline as a Gantt chart: text for the terminal, SVG for the docs.

Plain Python (no cdk8s, no plotting library). Both read :meth:`planner.Plan.bars`, so the picture
is the planner's own figures; ``docs/hooks/cold_start_gantt.py`` writes the SVG at docs build.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .planner import Plan, Step


class _Timeline(Protocol):
    """Anything with :meth:`planner.Plan.bars`' shape (a cold-start plan, a wake plan)."""

    def bars(self) -> list[tuple[Step, float, float]]: ...


__all__ = ["ascii_gantt", "cold_start_charts", "cold_start_svg", "svg_gantt"]

#: Bar colours per step (SVG), one per step name.
COLOURS = {
    "node provisioning": "#9e9e9e",
    "tuning": "#8d6e63",
    "image pull": "#42a5f5",
    "gate": "#ab47bc",
    "weight read": "#ef6c00",
    "page cache load": "#fdd835",
    "engine start": "#43a047",
}


def _tick(span: float) -> float:
    """A round tick (1, 2, 2.5 or 5 times a power of ten, at least 10 s) giving at most ten
    ticks over ``span``, whatever its size (a plan of 10^15 s draws ten ticks, not 10^11)."""
    base = 10.0 ** max(1, math.floor(math.log10(max(span, 1.0) / 10)))
    for factor in (1, 2, 2.5, 5, 10):
        if span / (base * factor) <= 10:
            return base * factor
    return base * 10


def ascii_gantt(
    plan: _Timeline, width: int = 60, *, from_node_join: bool = False, unit: str | None = None
) -> str:
    """Each step as a bar on a shared time axis (``#`` where it runs), so overlaps show.

    ``from_node_join`` drops node provisioning and starts the axis at the node's join; ``unit``
    names the axis (default: seconds from apply, or from node join).
    """
    bars = plan.bars()
    offset = 0.0
    if from_node_join:
        offset = next(end for s, _, end in bars if s.name == "node provisioning")
        bars = [b for b in bars if b[0].name != "node provisioning"]
    end_all = max(end for _, _, end in bars) - offset
    span = max(end_all, 1.0)
    scale = width / span
    name_width = max(len(s.name) for s, _, _ in bars)
    lines = []
    for s, start, end in bars:
        a = round((start - offset) * scale)
        b = round((end - offset) * scale)
        if s.seconds > 0 and b == a:
            b = a + 1
        row = " " * a + "#" * (b - a)
        lines.append(f"  {s.name:<{name_width}} |{row:<{width}}| {s.seconds:4.0f} s")
    tick = _tick(span)
    axis = [" "] * (width + 1)
    labels = [" "] * (width + 8)
    t = 0.0
    while t <= span:
        pos = round(t * scale)
        axis[pos] = "+"
        text = f"{t:g}"
        for i, ch in enumerate(text):
            if pos + i < len(labels):
                labels[pos + i] = ch
        t += tick
    lines.append(f"  {'':<{name_width}} {''.join(axis)}")
    if unit is None:
        unit = "s from node join" if from_node_join else "s from apply"
    lines.append(f"  {'':<{name_width}} {''.join(labels).rstrip()} ({unit})")
    return "\n".join(lines)


def svg_gantt(charts: Sequence[tuple[str, Plan]], width: int = 760) -> str:
    """One Gantt chart per (title, plan), stacked, on one time axis from node join: an SVG
    document (bars, step names, seconds, a grid and each chart's total)."""
    rows = []
    for title, plan in charts:
        bars = plan.bars()
        join = next(end for s, _, end in bars if s.name == "node provisioning")
        rows.append((title, plan, join, [b for b in bars if b[0].name != "node provisioning"]))
    span = max(max(end for _, _, end in bars) - join for _, _, join, bars in rows)
    label_w, right = 150, 60
    plot_w = width - label_w - right
    scale = plot_w / span
    row_h, title_h, gap = 18, 24, 18
    height = 30 + sum(title_h + row_h * len(b) + gap for *_, b in rows) + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    tick = _tick(span)
    y = 20
    for title, plan, join, bars in rows:
        total = plan.total_seconds - join
        out.append(
            f'<text x="4" y="{y + 14}" font-weight="bold">{escape(title)}: '
            f"{total:.0f} s from node join</text>"
        )
        y += title_h
        top = y
        for s, start, end in bars:
            x = label_w + (start - join) * scale
            w = max((end - start) * scale, 1.0 if s.seconds > 0 else 0.0)
            colour = COLOURS.get(s.name, "#607d8b")
            out.append(f'<text x="4" y="{y + 13}">{escape(s.name)}</text>')
            out.append(
                f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row_h - 4}" '
                f'fill="{colour}"><title>{escape(s.name)}: {s.seconds:.0f} s '
                f"[{escape(s.basis)}]</title></rect>"
            )
            out.append(
                f'<text x="{x + w + 4:.1f}" y="{y + 13}" fill="#333">{s.seconds:.0f} s</text>'
            )
            y += row_h
        t = 0.0
        while t <= span:
            x = label_w + t * scale
            out.append(
                f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{y}" stroke="#ccc" '
                'stroke-dasharray="2,2"/>'
            )
            out.append(
                f'<text x="{x:.1f}" y="{y + 12}" text-anchor="middle" fill="#555">{t:g}</text>'
            )
            t += tick
        ready = label_w + total * scale
        out.append(
            f'<line x1="{ready:.1f}" y1="{top}" x2="{ready:.1f}" y2="{y}" stroke="#d32f2f" '
            'stroke-width="2"/>'
        )
        y += gap
    out.append(
        f'<text x="{label_w}" y="{height - 6}" fill="#555">seconds from node join '
        "(vllm-nfs plan's figures)</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def cold_start_charts() -> list[tuple[str, Plan]]:
    """The plans docs/cold-start.md draws: the 70B replica on 8xH100 before and after #20."""
    from .planner import plan_cold_start

    slug = "gpu-h100x8-640gb"

    def after(size: float) -> Plan:
        return plan_cold_start(size, slug, prepull_image=True, warm_up=True, compile_cache=True)

    return [
        ("70B bf16 (140 GiB), one step after another", plan_cold_start(140, slug)),
        ("70B bf16, pre-pull + warm-up + compile cache", after(140)),
        ("70B FP8 (70 GiB), pre-pull + warm-up + compile cache", after(70)),
    ]


def cold_start_svg() -> str:
    """The SVG of :func:`cold_start_charts` (what the docs build writes)."""
    return svg_gantt(cold_start_charts())
