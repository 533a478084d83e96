"""Each benchmark script runs end to end at a tiny size and prints its table (so they don't rot).

Nothing here is timed: the numbers are printed, not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.paths import BENCH, REPO
from zaplite.store import Store


def run_bench(name: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``bench/<name>`` with ``args``, whatever its exit code."""
    return subprocess.run(
        [sys.executable, str(BENCH / name), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def run_script(name: str, *args: str, timeout: float = 120) -> str:
    """Run ``bench/<name>`` with ``args``; its stdout (it must exit 0)."""
    done = run_bench(name, *args, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def header_cells(output: str) -> list[list[str]]:
    """The cells of every Markdown table row in ``output``."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in output.splitlines()
        if line.startswith("|") and not line.startswith("|-")
    ]


def test_throughput_prints_engine_floor_and_per_record_rows(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.json"
    out = run_script("throughput.py", "--sizes", "150,300", "--json", str(numbers))
    rows = header_cells(out)
    runs = [row[1] for row in rows if row[0] in ("150", "300")]
    assert runs.count("zaplite engine") == 2
    assert runs.count("raw floor") == 2
    assert runs.count("per-record") == 2
    assert "per-record/engine wall" in out
    assert "peak RSS at 300 / at 150" in out
    by_size = {row[0]: row for row in rows if row[1] == "per-record"}
    assert by_size["300"][-1] == "300"  # one CleverTap request per record
    assert numbers.exists()


def test_throughput_extrapolates_per_record_above_its_maximum() -> None:
    out = run_script("throughput.py", "--sizes", "100,400", "--per-record-max", "100")
    assert "extrapolated linearly" in out
    assert any(row[1] == "per-record" and row[2].endswith("*") for row in header_cells(out))


def test_throughput_with_repeat_takes_turns_and_gives_each_turns_ratio(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.json"
    out = run_script(
        "throughput.py",
        "--sizes",
        "200",
        "--per-record-max",
        "0",
        "--repeat",
        "2",
        "--json",
        str(numbers),
    )
    (row,) = json.loads(numbers.read_text())
    assert len(row["engine"]["walls"]) == len(row["raw"]["walls"]) == 2
    assert len(row["turn_ratios"]) == 2
    turns = ", ".join(f"{ratio:.2f}" for ratio in row["turn_ratios"])
    assert f"engine/raw wall at 200, turn by turn: {turns}" in out


def test_scheduler_idle_prints_both_kinds() -> None:
    out = run_script(
        "scheduler_idle.py", "--zaps", "5", "--every", "1", "--window", "2", timeout=180
    )
    cells = header_cells(out)
    requests = cells[0].index("SF requests")
    rows = {row[0]: row for row in cells[1:]}
    assert set(rows) >= {"salesforce", "trivial"}
    assert int(rows["salesforce"][requests].replace(",", "")) > 0  # they really queried
    assert int(rows["trivial"][requests].replace(",", "")) == 0
    per_run = cells[0].index("CPU ms per run")
    float(rows["trivial"][per_run])  # a number (nan if no run fell in the window)


def test_latency_sees_every_created_contact_arrive() -> None:
    out = run_script("latency.py", "--duration", "3", "--rate", "3")
    [header, row] = header_cells(out)
    assert header[:3] == ["schedule", "created", "arrived"]
    assert row[1] == row[2] and int(row[1]) > 0


def test_instant_sees_every_pushed_contact_arrive_acknowledged_once() -> None:
    out = run_script("instant.py", "--duration", "2", "--rate", "3")
    [header, row] = header_cells(out)
    assert header[:3] == ["trigger", "created", "arrived"]
    assert row[1] == row[2] and int(row[1]) > 0
    assert row[header.index("acked once")] == row[1]
    assert row[header.index("acked twice+")] == "0"


def test_page_timeline_splits_every_page_into_its_stages() -> None:
    out = run_script("page_timeline.py", "--records", "4500")
    rows = {row[0]: row for row in header_cells(out)}
    assert {"dedup lookup", "record the page", "wait for the uploads", "sum"} <= set(rows)
    assert float(rows["record the page"][2]) > 0
    assert "4,500 records, 3 pages with new records" in out


def test_store_commit_records_every_page_and_prints_its_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    out = run_script("store_commit.py", "--url", url, "--pages", "3", "--page-size", "250")
    assert out.startswith("sqlite: 3 pages of 250 tasks: median ")
    with Store(url) as store:
        assert store.count_tasks(zap_id="bench") == {"success": 750, "failed": 0, "filtered": 0}
        assert store.get_cursor("bench") == {"page": 2}
        assert store.known_keys("bench", [f"003{749:015d}", "other"]) == {f"003{749:015d}"}


def test_store_commit_refuses_a_bad_store_url_in_one_sentence() -> None:
    done = run_bench("store_commit.py", "--url", "nope://x", timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "store_commit.py: nope://x: store.url: zaplite stores live in SQLite or PostgreSQL, "
        "not nope."
    ]


def test_store_commit_refuses_a_page_count_below_one() -> None:
    done = run_bench("store_commit.py", "--pages", "0", timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "store_commit.py: error: argument --pages: 0 is not at least 1"
    )


def test_console_times_every_page_over_http(tmp_path: Path) -> None:
    numbers = tmp_path / "console.json"
    out = run_script(
        "console.py", "--zaps", "12", "--tasks", "3000", "--requests", "2", "--json", str(numbers)
    )
    rows = header_cells(out)
    pages = {row[0] for row in rows[1:]}
    assert {
        "Zaps, first page (50)",
        "A zap: deepest page (keyset)",
        "A zap: search by record id",
    } <= pages
    assert "slowest page's p95" in out
    assert len(json.loads(numbers.read_text())["pages"]) == len(rows) - 1


def test_one_timestamp_delivers_an_import_once_and_the_next_polls_nothing() -> None:
    out = run_script("one_timestamp.py", "--size", "1200", "--polls", "2")
    rows = {row[0]: row for row in header_cells(out)}
    assert rows["1"][1:5] == ["1,200", "1,200", "1,200", "1,200"]
    assert rows["2"][1:5] == ["0", "0", "1,200", "1,200"]
    assert "every record delivered once: yes" in out


def test_economy_prints_calls_after_an_import_and_the_latency_turns() -> None:
    out = run_script(
        "economy.py",
        "--skip",
        "idle",
        "--import",
        "3000",
        "--backlog",
        "12000",
        "--sf-latency",
        "0.01",
        "--ct-latency",
        "0.01",
        "--turns",
        "1",
        timeout=300,
    )
    rows = header_cells(out)
    polls = {row[0]: row for row in rows if row[0].startswith(("zaplite:", "the window"))}
    assert polls["zaplite: the window counted"][1] == "1"
    assert int(polls["the window read again"][1]) >= 2
    assert "REST / pages alone" in out and "Bulk / REST" in out
