"""The README's table of metrics names every metric the daemon serves, and only those."""

from __future__ import annotations

import re
from pathlib import Path

from zaplite.engine.metrics import Metrics

README = Path(__file__).resolve().parents[2] / "README.md"


def _served_names() -> set[str]:
    names = set()
    for family in Metrics().registry.collect():
        # A counter's family is named without its _total suffix; the README names the sample.
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    return names


def _documented_names() -> set[str]:
    return set(re.findall(r"^\| `(zaplite_[a-z_]+)` \|", README.read_text(), re.MULTILINE))


def test_every_metric_served_is_in_the_readme_table_and_no_other() -> None:
    assert _documented_names() == _served_names()
