"""Small charts as inline SVG, drawn on the server: no script, nothing fetched.

Every number is formatted by this module and every text is escaped, so a chart is
safe to put in a page as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta

from markupsafe import Markup, escape

__all__ = ["hourly_bars", "usage_bar"]


@functools.lru_cache(maxsize=8)
def _hour_labels(last_hour: datetime, n: int) -> tuple[str, ...]:
    first = last_hour - timedelta(hours=n - 1)
    return tuple((first + timedelta(hours=i)).strftime("%H:00") for i in range(n))


def hourly_bars(
    counts: Sequence[int], last_hour: datetime, *, width: int = 168, height: int = 28
) -> Markup:
    """Deliveries per hour as bars, oldest hour left, drawn as one path; the title sums them up.

    One path, not a rectangle per hour: a page of 50 zaps stays a few dozen kilobytes.
    Every text in it is made here from numbers and hours.
    """
    n = len(counts) or 1
    peak = max(counts) if counts else 0
    bar = max(1, (width - (n - 1)) // n)
    segments = []
    for index, count in enumerate(counts):
        if count:
            h = max(1, round((height - 2) * count / peak))
            segments.append(f"M{index * (bar + 1)} {height - 1}v-{h}h{bar}v{h}z")
    summary = f"{int(sum(counts))} delivered in the last {n} hours"
    if peak:
        busiest = _hour_labels(last_hour, n)[list(counts).index(peak)]
        summary += f" (peak {int(peak)} an hour, at {busiest} UTC)"
    return Markup(
        f'<svg class="spark" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{summary}</title>"
        f'<path class="axis" d="M0 {height - 0.5}H{width}"/>'
        + (f'<path class="bars" d="{"".join(segments)}"/>' if segments else "")
        + "</svg>"
    )


def usage_bar(used: int, limit: int, *, width: int = 240, height: int = 14) -> Markup:
    """A bar of ``used`` out of ``limit`` (turning amber past 70 %, red past 90 %)."""
    share = 0.0 if limit <= 0 else min(1.0, used / limit)
    level = "high" if share > 0.9 else "mid" if share > 0.7 else "low"
    label = f"{used:,} of {limit:,} API requests used ({share:.1%})"
    return Markup(
        f'<svg class="usage {level}" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>"
        f'<rect x="0" y="0" width="{width}" height="{height}" class="track"/>'
        f'<rect x="0" y="0" width="{round(width * share, 1)}" height="{height}" class="fill"/>'
        "</svg>"
    )
