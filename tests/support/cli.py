"""The one way tests run the ``zaplite`` command.

:class:`Cli` runs the installed console script in a project folder, as a user does: in
a subprocess (``cli("run", "--once")``), as a long-running process (``cli.start("run")``,
stopped with :func:`stop`), or in this process through click's ``CliRunner``
(``cli.invoke(...)``, fast enough for hypothesis to call hundreds of times). Its
environment is this one without any ``ZAPLITE_*`` variable, so a test says everything
it relies on, plus the test's own ``env``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from zaplite.testing import logging_restored

__all__ = ["Cli", "clean_env", "stop", "zaplite_exe"]


def zaplite_exe() -> str:
    """The path of the installed ``zaplite`` console script."""
    exe = shutil.which("zaplite")
    assert exe, "the zaplite console script is not installed"
    return exe


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any ZAPLITE_* variable, 200 columns wide, unbuffered, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZAPLITE_")}
    env["COLUMNS"] = "200"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass
class Cli:
    """Runs the installed ``zaplite`` command in the project folder ``root``.

    ``env`` is added to the clean environment of every command (connection secrets,
    ``ZAPLITE_PLUGINS_DIR``...); ``timeout`` bounds each command in seconds.
    """

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 120

    def environment(self, unset: Sequence[str] = ()) -> dict[str, str]:
        """The environment a command runs with, without the variables named in ``unset``."""
        env = clean_env(**self.env)
        for name in unset:
            env.pop(name, None)
        return env

    def __call__(
        self,
        *args: str,
        timeout: float | None = None,
        unset: Sequence[str] = (),
        prefix: Sequence[str] = (),
    ) -> subprocess.CompletedProcess[str]:
        """Run ``zaplite ARGS`` to its end; ``prefix`` goes before the command (``setpriv ...``)."""
        return subprocess.run(
            [*prefix, zaplite_exe(), *args],
            cwd=self.root,
            env=self.environment(unset),
            capture_output=True,
            text=True,
            timeout=timeout or self.timeout,
            stdin=subprocess.DEVNULL,
        )

    def json(self, *args: str) -> Any:
        """Run ``zaplite ARGS --json``, which must succeed, and return what it printed."""
        out = self(*args, "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def start(self, *args: str, merge_stderr: bool = False) -> subprocess.Popen[str]:
        """Start ``zaplite ARGS`` (``run``, ``sandbox``) with its output piped; end it with :func:`stop`."""
        return subprocess.Popen(
            [zaplite_exe(), *args],
            cwd=self.root,
            env=self.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    def invoke(self, *args: str) -> Result:
        """Run ``zaplite ARGS`` in this process against ``root/zaplite.toml``."""
        from zaplite.cli.main import _add_commands, cli

        if not cli.commands:
            _add_commands()
        env = {"ZAPLITE_CONFIG": str(self.root / "zaplite.toml"), "ZAPLITE_DEBUG": "", **self.env}
        with logging_restored():
            return CliRunner().invoke(cli, [*args], env=env)


def stop(
    process: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 30
) -> tuple[str, str]:
    """Send ``sig`` to a started command and return its (stdout, stderr); killed if it hangs."""
    try:
        if process.poll() is None:
            process.send_signal(sig)
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return out, err or ""
