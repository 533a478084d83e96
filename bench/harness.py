"""Shared parts of the benchmark scripts: emulator processes, projects, measured child runs.

Every process started here is stopped by the context manager that started it, also
on errors and Ctrl-C. Nothing here asserts; the scripts print tables.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from zaplite.sandbox.server import free_port

__all__ = [
    "ACCOUNT_ID",
    "PASSCODE",
    "REPO",
    "Emulator",
    "Measured",
    "child_env",
    "config_text",
    "contact",
    "contact_zap",
    "daemon",
    "emulator",
    "load_contacts",
    "process_cpu",
    "run_measured",
    "stop_process",
    "table",
    "write_project",
]

REPO = Path(__file__).resolve().parents[1]
ACCOUNT_ID = "BENCH-ACCOUNT"
PASSCODE = "BENCH-PASSCODE"


@dataclass
class Emulator:
    """An emulator serving in its own process."""

    name: str
    url: str
    process: subprocess.Popen[bytes]

    def get(self, path: str) -> Any:
        """GET an admin path and return its JSON."""
        response = httpx.get(self.url + path, timeout=120)
        response.raise_for_status()
        return response.json()

    def cpu(self) -> float:
        """User+sys CPU seconds the emulator process has used so far (from ``/proc``)."""
        return process_cpu(self.process.pid)

    def post(self, path: str, body: Any) -> Any:
        """POST JSON to an admin path and return its JSON."""
        response = httpx.post(self.url + path, json=body, timeout=300)
        response.raise_for_status()
        return response.json()


def process_cpu(pid: int) -> float:
    """User+sys CPU seconds of a running process, from ``/proc/<pid>/stat`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_process(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """SIGTERM the process (SIGKILL after ``timeout``) and reap it."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


@contextmanager
def emulator(kind: str, *extra: str) -> Iterator[Emulator]:
    """Start ``python -m zaplite.sandbox.<kind> --port N`` and stop it on exit."""
    port = free_port()
    args = [sys.executable, "-m", f"zaplite.sandbox.{kind}", "--port", str(port), *extra]
    env = dict(os.environ, CLEVERTAP_PASSCODE=PASSCODE)
    process = subprocess.Popen(
        args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                err = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"the {kind} emulator exited at start-up: {err[-500:]}")
            try:
                httpx.get(url + "/__admin/stats", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the {kind} emulator did not start in 30 s") from None
                time.sleep(0.05)
        yield Emulator(kind, url, process)
    finally:
        stop_process(process)
        if process.stderr:
            process.stderr.close()


def contact(index: int) -> dict[str, Any]:
    """One synthetic contact (the admin API fills Id and CreatedDate)."""
    return {
        "FirstName": f"Bench{index}",
        "LastName": f"Contact{index}",
        "Email": f"bench{index}@example.com",
        "Phone": f"+1415555{index % 10000:04d}",
        "Lead_Status__c": "Prospect",
    }


def load_contacts(sf: Emulator, count: int, *, start: int = 0, chunk: int = 10_000) -> None:
    """Create ``count`` new contacts through the Salesforce emulator's admin API."""
    for first in range(start, start + count, chunk):
        last = min(start + count, first + chunk)
        sf.post("/__admin/records/Contact", [contact(i) for i in range(first, last)])


def contact_zap(
    zap_id: str = "new-contact-to-profile", *, every: str = "1m", start: str = "all"
) -> dict[str, Any]:
    """The shipped new-contact zap, with its id, schedule and start changed."""
    zap = json.loads((REPO / "zaps" / "new-contact-to-profile.json").read_text())
    zap["id"] = zap_id
    zap["schedule"] = {"every": every}
    zap["trigger"]["start"] = start
    return zap


def config_text(
    sf: Emulator,
    ct: Emulator,
    *,
    clevertap: dict[str, Any] | None = None,
    log_file: str | None = None,
) -> str:
    """A ``zaplite.toml`` for the two emulators; ``clevertap`` adds connection settings."""
    creds = sf.get("/__admin/credentials")
    extra = "".join(f"{key} = {json.dumps(value)}\n" for key, value in (clevertap or {}).items())
    log = f"log_file = {json.dumps(log_file)}\n" if log_file else ""
    return (
        '[store]\nurl = "sqlite:///zaplite.db"\n\n'
        f"[settings]\nretry_initial_wait = 0.05\n{log}\n"
        "[connections.salesforce]\n"
        'app = "salesforce"\n'
        # The engine's benchmarks read a backlog page by page through REST, as the raw
        # floor does; bench/economy.py sets bulk_threshold itself to compare the two.
        "bulk_threshold = 0\n"
        f'login_url = "{sf.url}"\n'
        'auth = "refresh_token"\n'
        f'client_id = "{creds["client_id"]}"\n'
        f'client_secret = "{creds["client_secret"]}"\n'
        f'refresh_token = "{creds["refresh_token"]}"\n\n'
        "[connections.clevertap]\n"
        'app = "clevertap"\n'
        f'account_id = "{ACCOUNT_ID}"\n'
        f'passcode = "{PASSCODE}"\n'
        f'endpoint = "{ct.url}"\n' + extra
    )


def write_project(
    folder: Path, sf: Emulator, ct: Emulator, zaps: Sequence[dict[str, Any]], **settings: Any
) -> Path:
    """A fresh project folder with a config and ``zaps``; returns the folder."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "zaps").mkdir(parents=True)
    (folder / "zaplite.toml").write_text(config_text(sf, ct, **settings))
    for zap in zaps:
        (folder / "zaps" / f"{zap['id']}.json").write_text(json.dumps(zap))
    return folder


@dataclass
class Measured:
    """What one child process cost."""

    wall: float
    cpu: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without ``ZAPLITE_*`` variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZAPLITE_")}
    env.update(extra or {})
    return env


@contextmanager
def daemon(
    folder: Path, *, env: dict[str, str] | None = None, stop_timeout: float = 30
) -> Iterator[subprocess.Popen[bytes]]:
    """``zaplite run`` in ``folder`` as a child, output in ``daemon.out``/``daemon.err``; stopped on exit."""
    with (folder / "daemon.out").open("wb") as out, (folder / "daemon.err").open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "zaplite", "run"],
            cwd=folder,
            env=child_env(env),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        try:
            yield process
        finally:
            stop_process(process, timeout=stop_timeout)


def run_measured(
    args: Sequence[str], *, cwd: Path, timeout: float = 1800, env: dict[str, str] | None = None
) -> Measured:
    """Run ``args`` as a child; its wall time, user+sys CPU and peak RSS (from ``wait4``)."""
    out_path = cwd / ".bench-stdout"
    err_path = cwd / ".bench-stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=child_env(env),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        deadline = started + timeout
        try:
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"{args[0]} ran longer than {timeout:g} s")
                time.sleep(0.005)
        except BaseException:
            process.kill()
            process.wait()
            raise
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,
        returncode=process.returncode,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (numbers right-aligned by being padded on the left)."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
