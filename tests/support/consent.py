"""Playing the person at the keyboard for ``zaplite connect``: the consent page and the callback.

:func:`start_connect` starts ``zaplite connect salesforce`` and returns the process and
the authorization URL it printed on a line by itself; :func:`answer_consent` clicks
Allow or Deny over plain HTTP (the form the emulator's page posts) and returns the
callback URL the emulator redirects to; :func:`follow` delivers it to the command's
local callback server, as the browser would. The browser test does the same with
Chromium.
"""

from __future__ import annotations

import re
import subprocess
import threading
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.cli import Cli
from zaplite.sandbox.server import free_port

__all__ = [
    "answer_consent",
    "connect_allowing",
    "follow",
    "query_of",
    "read_line",
    "start_connect",
]


def read_line(process: subprocess.Popen[str], pattern: str, timeout: float = 60) -> str:
    """The first line of the process's stdout matching ``pattern`` (a regex), within ``timeout``."""
    found: list[str] = []
    seen: list[str] = []

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if re.search(pattern, line):
                found.append(line.strip())
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(timeout)
    assert found, f"no line matching {pattern!r} in {seen!r} (exit {process.poll()})"
    return found[0]


def start_connect(cli: Cli, *args: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``zaplite connect salesforce ARGS --no-browser``; returns it and the URL it printed."""
    process = cli.start("connect", "salesforce", *args, "--no-browser")
    url = read_line(process, r"^https?://\S+/services/oauth2/authorize\?")
    return process, url


def answer_consent(url: str, *, allow: bool = True) -> str:
    """Open the consent page at ``url`` and press Allow (or Deny); the redirect's location."""
    with httpx.Client(timeout=30) as http:
        page = http.get(url)
        assert page.status_code == 200, page.text
        match = re.search(r'name=request_id value="([^"]+)"', page.text)
        assert match, page.text
        decision = "allow" if allow else "deny"
        answer = http.post(
            url.split("?")[0], data={"request_id": match.group(1), "decision": decision}
        )
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def follow(location: str) -> httpx.Response:
    """Deliver the redirect to the command's callback server, as the browser would."""
    return httpx.get(location, timeout=30)


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (one value each)."""
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def connect_allowing(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``zaplite connect salesforce ARGS`` to its end, pressing Allow on the consent page."""
    process, url = start_connect(cli, "--callback-port", str(free_port()), *args)
    page = follow(answer_consent(url))
    assert page.status_code == 200 and "Connected" in page.text
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)
