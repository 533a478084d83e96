"""The README's walkthrough, done word for word against a fresh sandbox: every command works,
and what it prints is what the README shows (numbers, times and paths aside).

The sandbox is started on free ports (the README's ``zaplite sandbox`` takes 8081 and
8082, which a busy machine may not have free); every other command is run as written,
in ``zaplite-sandbox/``, in a terminal (``TTY_COMPATIBLE=1``, colours stripped).
``zaplite connections --test`` only has to work: its table is the connections' own.
Commands that connect real accounts (``connect``, ``disconnect``, ``vault``) are left to
their own tests.
"""

from __future__ import annotations

import re
import shlex
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import Cli, stop
from tests.support.paths import REPO

README = REPO / "README.md"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ACCOUNTS = {"connect", "disconnect", "vault"}
"""Commands about real accounts, which a walkthrough on the sandbox does not run."""


@dataclass
class Step:
    """One ``$ command`` of the walkthrough and the lines the README shows after it."""

    command: list[str]
    shown: list[str]


def walkthrough_steps() -> list[Step]:
    """The commands of the walkthrough's console blocks, in order."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Walkthrough")
    section = text[start : text.index("\n## ", start + 1)]
    steps: list[Step] = []
    for block in re.findall(r"```console\n(.*?)```", section, flags=re.DOTALL):
        for line in block.splitlines():
            if line.startswith("$ "):
                if line.startswith(("$ #", "$ cd zaplite-sandbox")):
                    continue  # the commands run in zaplite-sandbox/ already
                steps.append(Step(shlex.split(line[2:]), []))
            elif steps:
                steps[-1].shown.append(line)
    return steps


def normal(line: str) -> str:
    """A line with what differs from run to run made the same: numbers, paths, spacing."""
    line = ANSI.sub("", line).removeprefix("^C")
    line = re.sub(r"sqlite:///\S+", "sqlite:///PATH", line)
    line = re.sub(r"\d+", "0", line)
    return " ".join(line.split())


def matches(shown: list[str], printed: list[str]) -> bool:
    """Whether ``printed`` is ``shown``, a ``...`` line standing for any lines."""
    if "..." in shown:
        at = shown.index("...")
        head, tail = shown[:at], shown[at + 1 :]
        return (
            len(printed) >= len(head) + len(tail)
            and matches(head, printed[: len(head)])
            and matches(tail, printed[len(printed) - len(tail) :] if tail else [])
        )
    return [normal(line) for line in shown] == [normal(line) for line in printed]


def _daemon(cli: Cli, count: int) -> list[str]:
    """``zaplite run`` until each of ``count`` zaps said when it polls next, then Ctrl-C."""
    process = cli.start("run", merge_stderr=True)
    lines: list[str] = []
    try:
        assert process.stdout is not None
        while sum("next poll at" in line for line in lines) < count:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
        time.sleep(0.5)
    finally:
        out, _ = stop(process, signal.SIGINT)
    return lines + out.splitlines()


@pytest.mark.slow
def test_the_walkthrough_works_word_for_word(tmp_path: Path) -> None:
    steps = walkthrough_steps()
    assert steps[0].command == ["zaplite", "sandbox"]
    env = {"TTY_COMPATIBLE": "1", "COLUMNS": "100"}
    sandbox = Cli(tmp_path, env=env).start(
        "sandbox", "--salesforce-port", "0", "--clevertap-port", "0"
    )
    try:
        assert sandbox.stdout is not None
        started = [sandbox.stdout.readline().rstrip("\n") for _ in steps[0].shown]
        assert matches(steps[0].shown, started), started
        cli = Cli(tmp_path / "zaplite-sandbox", env=env, timeout=300)
        for step in steps[1:]:
            assert step.command[0] == "zaplite", step.command
            args = step.command[1:]
            if args[0] in ACCOUNTS:
                continue
            if args == ["run"]:
                printed = _daemon(cli, count=sum("next poll" in line for line in step.shown))
                assert sorted(map(normal, printed)) == sorted(map(normal, step.shown)), printed
                continue
            out = cli(*args)
            assert out.returncode == 0, (args, out.stdout, out.stderr)
            if args[:1] == ["connections"]:
                continue
            printed = out.stdout.splitlines()
            if args[:1] == ["history"]:  # the zaps ran at once: their tasks' order varies
                printed = printed[:2] + sorted(printed[2:], key=normal)
                shown = step.shown[:2] + sorted(step.shown[2:], key=normal)
                assert matches(shown, printed), (args, printed)
                continue
            assert matches(step.shown, printed), (args, printed)
    finally:
        stop(sandbox, signal.SIGINT)
