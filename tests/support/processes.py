"""Real processes for the reliability tests: both emulators, `zaplite` daemons, a project folder.

Everything listens on 127.0.0.1 only, every wait is bounded, and every process started
here is stopped by :meth:`Processes.stop_all` (the fixtures call it in ``finally``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import clean_env, zaplite_exe
from tests.support.config import write_config
from tests.support.zaps import NAME, contact_zap

__all__ = [
    "CT_ACCOUNT",
    "CT_PASSCODE",
    "Daemon",
    "Emulators",
    "Processes",
    "contacts_zap",
    "dead_pid",
    "deliveries",
    "event_zap",
    "load_contacts",
    "procs",
    "wait_for",
    "write_project",
]

CT_ACCOUNT = "REL-ACCOUNT"
CT_PASSCODE = "REL-PASSCODE"
LOOPBACK = "127.0.0.1"


def dead_pid() -> int:
    """The pid of a process of this host that has exited (and was reaped)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    return int(done.stdout)


def wait_for(
    check: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str = "a condition"
) -> Any:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


@dataclass
class Processes:
    """Every process a test started, so that all of them are killed at the end."""

    folder: Path
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    named: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def spawn(
        self,
        name: str,
        argv: list[str],
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` with stdout and stderr in ``<folder>/<name>.out|.err``; ``env`` is added."""
        self.folder.mkdir(parents=True, exist_ok=True)
        out = open(self.folder / f"{name}.out", "ab")  # noqa: SIM115 - closed with the process
        err = open(self.folder / f"{name}.err", "ab")  # noqa: SIM115
        try:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=clean_env(**(env or {})),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        finally:
            out.close()
            err.close()
        self.started.append(process)
        self.named[name] = process
        return process

    def stop_all(self) -> None:
        """Kill whatever is still running (SIGKILL) and reap it."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)

    def output(self, name: str) -> str:
        """What the process ``name`` wrote to stderr so far."""
        return (self.folder / f"{name}.err").read_text(errors="replace")

    def emulator(
        self, app: str, *args: str, env: dict[str, str] | None = None, wait: bool = True
    ) -> tuple[subprocess.Popen[bytes], str]:
        """``python -m zaplite.sandbox.APP ARGS`` on a free loopback port: the process and its URL.

        The emulator binds port 0 and prints the port it got (no port is chosen here and
        bound there later, which another process could take in between). With ``wait``,
        returns once its admin API answers (and fails if it exits first).
        """
        argv = [sys.executable, "-m", f"zaplite.sandbox.{app}", "--host", LOOPBACK]
        out = self.folder / f"{app}.out"
        before = out.stat().st_size if out.exists() else 0  # the file is appended to
        process = self.spawn(app, [*argv, "--port", "0", *args], env=env)

        def announced() -> str | None:
            if process.poll() is not None:
                raise AssertionError(
                    f"the {app} emulator exited with code {process.returncode}: " + self.output(app)
                )
            with out.open("rb") as printed:
                printed.seek(before)
                found = re.search(rb" on (http://\S+)", printed.read())
            return found.group(1).decode() if found else None

        url = str(wait_for(announced, timeout=60, interval=0.05, what=f"the {app} emulator's URL"))
        if wait:
            wait_answering(self, {app: url})
        return process, url


def wait_answering(procs: Processes, urls: dict[str, str], timeout: float = 30.0) -> None:
    """Wait until each named emulator's admin API answers; fail at once if one of them exited."""

    def up() -> bool:
        for name in urls:
            process = procs.named[name]
            if process.poll() is not None:
                raise AssertionError(
                    f"the {name} emulator exited with code {process.returncode}: "
                    + procs.output(name)
                )
        try:
            for url in urls.values():
                httpx.get(url + "/__admin/stats", timeout=2).raise_for_status()
        except httpx.HTTPError:
            return False
        return True

    wait_for(
        up, timeout=timeout, interval=0.2, what=f"the {' and '.join(urls)} emulator(s) to answer"
    )


@dataclass
class Emulators:
    """The Salesforce and CleverTap emulators, each in its own process."""

    sf_url: str
    ct_url: str
    sf: subprocess.Popen[bytes]
    ct: subprocess.Popen[bytes]

    @classmethod
    def start(cls, procs: Processes, *, ct_latency: float = 0.0) -> Emulators:
        """Start both on free loopback ports and wait until they answer."""
        sf, sf_url = procs.emulator("salesforce", wait=False)
        ct_args = ["--account-id", CT_ACCOUNT, "--passcode", CT_PASSCODE]
        ct_args += ["--request-log-limit", "0", "--latency", str(ct_latency)]
        ct, ct_url = procs.emulator("clevertap", *ct_args, wait=False)
        wait_answering(procs, {"salesforce": sf_url, "clevertap": ct_url})
        return cls(sf_url, ct_url, sf, ct)

    def sf_credentials(self) -> dict[str, str]:
        """The Salesforce emulator's own fake credentials."""
        response = httpx.get(self.sf_url + "/__admin/credentials", timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def ct_stats(self) -> dict[str, Any]:
        """The CleverTap emulator's counters."""
        response = httpx.get(self.ct_url + "/__admin/stats", timeout=30)
        response.raise_for_status()
        return dict(response.json())

    def ct_settled(self, timeout: float) -> int:
        """Wait until no upload is in flight at CleverTap; returns the records it processed."""
        stats = wait_for(
            lambda: (s := self.ct_stats())["in_flight"] == 0 and s,
            timeout=timeout,
            what="CleverTap to finish the uploads in flight",
        )
        return int(stats["processed"])

    def ct_faults(self, **spec: Any) -> None:
        """Arm or change the CleverTap emulator's faults (e.g. ``latency=0.5``)."""
        httpx.post(self.ct_url + "/__admin/faults", json=spec, timeout=10).raise_for_status()


def load_contacts(
    sf_url: str, count: int, *, prefix: str = "rel", first: int = 0, chunk: int = 5000
) -> list[str]:
    """Create ``count`` Contacts (emails ``<prefix><n>@example.com`` from ``first``); returns the emails."""
    emails = [f"{prefix}{index}@example.com" for index in range(first, first + count)]
    with httpx.Client(timeout=120) as client:
        for start in range(0, count, chunk):
            body = [
                {
                    "FirstName": "Rel",
                    "LastName": f"Contact{first + index}",
                    "Email": emails[index],
                    "Lead_Status__c": "Prospect",
                }
                for index in range(start, min(count, start + chunk))
            ]
            response = client.post(sf_url + "/__admin/records/Contact", json=body)
            assert response.status_code == 201, response.text
    return emails


def deliveries(ct_url: str, statuses: tuple[int, ...] = (200,)) -> Counter[str]:
    """How many times each record was uploaded and accepted (from the full request log).

    A profile counts under its identity, an event under ``"<event name>:<identity>"``.
    ``statuses`` are the logged statuses that count (add 0 for uploads processed and then
    dropped by the emulator's ``drop_next`` with ``after_processing``).
    """
    response = httpx.get(ct_url + "/__admin/requests", params={"full": "1"}, timeout=120)
    response.raise_for_status()
    counts: Counter[str] = Counter()
    for entry in response.json()["requests"]:
        if entry["status"] not in statuses:
            continue
        body = entry.get("body")
        for record in body.get("d", []) if isinstance(body, dict) else []:
            identity = str(record.get("identity"))
            if record.get("type") == "event":
                identity = f"{record.get('evtName')}:{identity}"
            counts[identity] += 1
    return counts


CONTACT_ID_FIELDS = ["Id", "FirstName", "LastName", "Email", "CreatedDate"]


def contacts_zap(zap_id: str = "new-contacts", *, every: str = "1s") -> dict[str, Any]:
    """The new-contact → profile zap, on a short schedule, reading every contact."""
    profile = {"Name": NAME, "Salesforce Contact Id": "{{trigger.Id}}"}
    return contact_zap(zap_id, every=every, start="all", fields=CONTACT_ID_FIELDS, profile=profile)


def event_zap(zap_id: str, *, every: str = "1s") -> dict[str, Any]:
    """A new-contact → event zap whose event is named after the zap (to count per zap)."""
    zap = contacts_zap(zap_id, every=every)
    zap["steps"] = [
        {
            "id": "event",
            "app": "clevertap",
            "action": "upload_event",
            "params": {
                "identity": "{{trigger.Email}}",
                "ts": "{{trigger.CreatedDate}}",
                "event_name": zap_id,
                "event_properties": {"Contact Id": "{{trigger.Id}}"},
            },
        }
    ]
    return zap


def write_project(
    root: Path,
    emulators: Emulators,
    *,
    store_url: str = "sqlite:///zaplite.db",
    zaps: list[dict[str, Any]] | None = None,
    retry_initial_wait: float = 0.2,
    retry_max_wait: float = 2.0,
    salesforce_settings: dict[str, Any] | None = None,
    **settings: Any,
) -> Path:
    """Write ``zaplite.toml`` and ``zaps/*.json`` for the emulators into ``root``.

    ``salesforce_settings`` are added to the Salesforce connection's table, ``settings``
    to ``[settings]`` (e.g. ``lease_seconds=3``).
    """
    creds = emulators.sf_credentials()
    (root / "zaps").mkdir(parents=True, exist_ok=True)
    settings = {
        "retry_attempts": 5,
        "retry_initial_wait": retry_initial_wait,
        "retry_max_wait": retry_max_wait,
        **settings,
    }
    salesforce = {"app": "salesforce", "login_url": emulators.sf_url, "auth": "refresh_token"}
    salesforce.update({key: creds[key] for key in ("client_id", "client_secret", "refresh_token")})
    salesforce.update(salesforce_settings or {})
    clevertap = {"app": "clevertap", "account_id": CT_ACCOUNT, "passcode": CT_PASSCODE}
    clevertap["endpoint"] = emulators.ct_url
    tables = {
        "settings": settings,
        "connections.salesforce": salesforce,
        "connections.clevertap": clevertap,
    }
    config = write_config(root, tables, store_url=store_url)
    for zap in zaps if zaps is not None else [contacts_zap()]:
        (root / "zaps" / f"{zap['id']}.json").write_text(json.dumps(zap, indent=2))
    return config


@dataclass
class Daemon:
    """One ``zaplite run`` process in a project folder."""

    process: subprocess.Popen[bytes]
    name: str
    logs: Path

    @classmethod
    def start(cls, procs: Processes, root: Path, name: str, *args: str) -> Daemon:
        """Start ``zaplite run [args]`` in ``root``."""
        process = procs.spawn(name, [zaplite_exe(), "run", *args], cwd=root)
        return cls(process, name, procs.folder)

    def kill(self) -> None:
        """SIGKILL, and reap it."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, wait for the exit (bounded); returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def output(self) -> tuple[str, str]:
        """What it printed so far: (stdout, stderr)."""
        out = (self.logs / f"{self.name}.out").read_text(errors="replace")
        err = (self.logs / f"{self.name}.err").read_text(errors="replace")
        return out, err


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    """Start processes through this; every one is killed (SIGKILL) and reaped at the end."""
    processes = Processes(tmp_path / "logs")
    try:
        yield processes
    finally:
        processes.stop_all()
