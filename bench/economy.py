"""Salesforce API calls: zaplite against Zapier-style per-zap polling, on the same emulator.

1. **Idle zaps.** ``zaplite run`` with N idle new-contact zaps of one connection on a 30 s
   schedule, for a window of whole intervals: the API calls the emulator counted (as
   Salesforce counts them: a composite call is one), per 30 s and per day. Zapier-style
   is the same daemon with ``composite = false``: one query per zap per poll.
2. **An idle poll after a large import.** A ``new_contact`` zap reads an import of
   N contacts; then the API calls (and seconds) of one idle poll inside the 5-minute
   look-back window: zaplite (the window counted, ``lookback.py``) against reading the
   window again (what every poll did before, and what a per-zap poller with a look-back
   does).

3. **Latency hidden, and Bulk.** With ``--sf-latency`` (0.3 s) on every Salesforce
   call and ``--ct-latency`` (0.15 s) on every CleverTap upload, a backlog of
   ``--backlog`` contacts: ``zaplite run --once`` through REST (``bulk_threshold = 0``;
   its run's own seconds, from its summary line), a reader that only signs in and
   reads the same pages one after the other, and ``zaplite run --once`` through a Bulk
   API 2.0 query job. They take turns (``--turns``); each turn's ratios are printed,
   with the API calls each made.

Usage: ``python bench/economy.py [--zaps 50,1000] [--window 60] [--import 180000]
[--backlog 100000] [--skip idle,import,latency]``. Prints Markdown tables; ``--json FILE``
keeps the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import subprocess
import sys
import tempfile
import time
from contextlib import aclosing
from pathlib import Path
from typing import Any

from harness import (
    ACCOUNT_ID,
    Emulator,
    child_env,
    contact_zap,
    daemon,
    emulator,
    load_contacts,
    table,
    write_project,
)

from zaplite import PollContext
from zaplite.engine.schedules import grid_offset

DAY = 24 * 60 * 60
INTERVAL = 30


def idle_calls(sf: Emulator, ct: Emulator, zaps: int, window: float, composite: bool) -> float:
    """API calls per interval of ``zaps`` idle zaps run by a daemon (composite on or off)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_project(
            Path(tmp) / "project",
            sf,
            ct,
            [contact_zap(f"idle-{n}", every=f"{INTERVAL}s", start="now") for n in range(zaps)],
        )
        if not composite:
            config = folder / "zaplite.toml"
            text = config.read_text().replace(
                '[connections.salesforce]\napp = "salesforce"\n',
                '[connections.salesforce]\napp = "salesforce"\ncomposite = false\n',
            )
            config.write_text(text)
        with daemon(folder):
            # The first polls (at start-up) set each zap's cursor; then count whole intervals.
            _wait_for_grid(sf)
            used = sf.get("/__admin/stats")["api_usage"]
            time.sleep(window)
            spent = sf.get("/__admin/stats")["api_usage"] - used
    return spent * INTERVAL / window


def _wait_for_grid(sf: Emulator) -> None:
    """Until the start-up polls are over, then to halfway between two of the grid's ticks."""
    settled = time.monotonic() + 300
    last = -1
    while time.monotonic() < settled:
        used = sf.get("/__admin/stats")["api_usage"]
        if used == last and used > 0:
            break
        last = used
        time.sleep(2)
    tick = grid_offset("salesforce", INTERVAL)
    time.sleep((tick + INTERVAL / 2 - time.time()) % INTERVAL)


async def _drain(trigger: Any, params: Any, client: Any, cursor: Any) -> tuple[Any, int]:
    """Poll until nothing new: the cursor after it, and the records read."""
    found = 0
    while True:
        ctx = PollContext(
            zap_id="bench",
            params=params,
            connection=client,
            cursor=cursor,
            start="all",
            state=_NoState(),
            log=logging.getLogger("bench"),
        )
        before, fresh = cursor, 0
        async with aclosing(trigger.poll(ctx)) as pages:
            async for page in pages:
                fresh += len(page.records)
                cursor = page.cursor
        found += fresh
        if cursor == before:
            return cursor, found


class _NoState:
    def get(self, keys: Any) -> dict[str, Any]:
        return {}


async def _after_import(sf: Emulator, size: int) -> list[list[Any]]:
    from zaplite_salesforce import SalesforceSettings, app
    from zaplite_salesforce.connection import connect

    creds = sf.get("/__admin/credentials")
    settings = SalesforceSettings(
        login_url=sf.url,
        auth="refresh_token",
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"],
    )
    client = connect(settings)
    trigger = app.triggers["new_contact"]
    params = trigger.params(fields=["FirstName", "LastName", "Email", "CreatedDate"])
    try:
        load_contacts(sf, size)
        cursor, found = await _drain(trigger, params, client, None)
        assert found == size, f"read {found} of {size}"
        rows = []
        for name, saved in (
            ("zaplite: the window counted", cursor),
            ("the window read again", {k: v for k, v in cursor.items() if k != "seen"}),
        ):
            used = sf.get("/__admin/stats")["api_usage"]
            started = time.perf_counter()
            await _drain(trigger, params, client, saved)
            seconds = time.perf_counter() - started
            rows.append([name, sf.get("/__admin/stats")["api_usage"] - used, f"{seconds:.2f}"])
        return rows
    finally:
        await client.aclose()


PAGES_QUERY = (
    "SELECT Id, FirstName, LastName, Email, CreatedDate, Owner.Name FROM Contact "
    "ORDER BY CreatedDate, Id"
)


async def pages_alone(sf: Emulator) -> tuple[float, int]:
    """Sign in and read every page of the backlog, one after the other: seconds, pages."""
    import httpx

    creds = sf.get("/__admin/credentials")
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=120) as http:
        token = (
            await http.post(
                sf.url + "/services/oauth2/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"],
                    "refresh_token": creds["refresh_token"],
                },
            )
        ).json()
        headers = {
            "Authorization": f"Bearer {token['access_token']}",
            "Sforce-Query-Options": "batchSize=2000",
        }
        body = (
            await http.get(
                sf.url + "/services/data/v64.0/query", params={"q": PAGES_QUERY}, headers=headers
            )
        ).json()
        pages = 1
        while body.get("nextRecordsUrl"):
            body = (await http.get(sf.url + body["nextRecordsUrl"], headers=headers)).json()
            pages += 1
    return time.perf_counter() - started, pages


def _salesforce_settings(folder: Path, **values: Any) -> None:
    """Add settings to the project's ``[connections.salesforce]`` table."""
    config = folder / "zaplite.toml"
    head = '[connections.salesforce]\napp = "salesforce"\n'
    text = config.read_text()
    for key in values:  # the harness's own value of a key gives way
        text = re.sub(rf"(?m)^{key} = .*\n", "", text)
    extra = "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
    config.write_text(text.replace(head, head + extra))


def engine_once(sf: Emulator, ct: Emulator, folder: Path, *, bulk_threshold: int) -> dict[str, Any]:
    """``zaplite run --once`` of a start="all" new-contact zap: its run's seconds, calls, line."""
    write_project(folder, sf, ct, [contact_zap("backlog", every="1h", start="all")])
    _salesforce_settings(folder, bulk_threshold=bulk_threshold)
    used = sf.get("/__admin/stats")["api_usage"]
    done = subprocess.run(
        [sys.executable, "-m", "zaplite", "run", "--once"],
        cwd=folder,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    calls = sf.get("/__admin/stats")["api_usage"] - used
    line = next((x for x in done.stdout.splitlines() if x.startswith("backlog:")), done.stdout)
    match = re.search(r" in ([0-9.]+)s", line)
    if done.returncode != 0 or match is None or " ok: " not in line:
        raise RuntimeError(f"the engine's run failed: {line[-500:]} {done.stderr[-1000:]}")
    return {"seconds": float(match.group(1)), "calls": calls, "line": line}


def latency_hidden(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Engine (REST), pages-alone reader and engine (Bulk), turn by turn, with latency."""
    turns = []
    with (
        emulator("salesforce", "--latency", str(args.sf_latency)) as sf,
        emulator(
            "clevertap",
            "--account-id",
            ACCOUNT_ID,
            "--request-log-limit",
            "1",
            "--latency",
            str(args.ct_latency),
        ) as ct,
        tempfile.TemporaryDirectory() as tmp,
    ):
        load_contacts(sf, args.backlog)
        for turn in range(args.turns):
            rest = engine_once(sf, ct, Path(tmp) / f"rest{turn}", bulk_threshold=0)
            alone, pages = asyncio.run(pages_alone(sf))
            bulk = engine_once(sf, ct, Path(tmp) / f"bulk{turn}", bulk_threshold=10_000)
            turns.append({"rest": rest, "pages_alone": alone, "pages": pages, "bulk": bulk})
    return turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zaps", default="50,1000", help="idle zap counts (comma-separated)")
    parser.add_argument("--window", type=float, default=60.0, help="seconds measured (whole 30s)")
    parser.add_argument("--import", dest="size", type=int, default=180_000)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--sf-latency", type=float, default=0.3)
    parser.add_argument("--ct-latency", type=float, default=0.15)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--skip", default="", help="parts to skip: idle, import, latency")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    numbers: dict[str, Any] = {}
    with (
        emulator("salesforce") as sf,
        emulator("clevertap", "--account-id", ACCOUNT_ID, "--request-log-limit", "1") as ct,
    ):
        if "idle" not in skip:
            rows = []
            numbers["idle"] = []
            for zaps in (int(n) for n in args.zaps.split(",")):
                for composite in (True, False):
                    per = idle_calls(sf, ct, zaps, args.window, composite)
                    who = "zaplite (composite)" if composite else "Zapier-style (a call per zap)"
                    rows.append([zaps, who, f"{per:.1f}", f"{per * DAY / INTERVAL:,.0f}"])
                    numbers["idle"].append({"zaps": zaps, "composite": composite, "per_30s": per})
            print(
                f"## Idle zaps on one connection, every {INTERVAL} s ({args.window:g} s measured)\n"
            )
            print(table(["zaps", "polling", "API calls / 30 s", "API calls / day"], rows))
        if "import" not in skip:
            after = asyncio.run(_after_import(sf, args.size))
            numbers["after_import"] = after
            print(
                f"\n## An idle poll in the look-back window after a {args.size:,}-contact import\n"
            )
            print(table(["poll", "API calls", "seconds"], after))
    if "latency" not in skip:
        turns = latency_hidden(args)
        numbers["latency"] = turns
        print(
            f"\n## A {args.backlog:,}-contact backlog, {args.sf_latency:g} s per Salesforce "
            f"call, {args.ct_latency:g} s per upload\n"
        )
        rows = []
        for n, t in enumerate(turns):
            rest, bulk, alone = t["rest"], t["bulk"], t["pages_alone"]
            rows.append(
                [
                    n + 1,
                    f"{rest['seconds']:.2f} ({rest['calls']})",
                    f"{alone:.2f} ({t['pages']})",
                    f"{bulk['seconds']:.2f} ({bulk['calls']})",
                    f"{rest['seconds'] / alone:.3f}",
                    f"{bulk['seconds'] / rest['seconds']:.3f}",
                ]
            )
        print(
            table(
                [
                    "turn",
                    "zaplite REST s (calls)",
                    "pages alone s (pages)",
                    "zaplite Bulk s (calls)",
                    "REST / pages alone",
                    "Bulk / REST",
                ],
                rows,
            )
        )
        best_rest = min(t["rest"]["seconds"] for t in turns)
        best_alone = min(t["pages_alone"] for t in turns)
        print(f"\nbest against best: REST / pages alone {best_rest / best_alone:.3f}")
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
