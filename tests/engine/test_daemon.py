"""The daemon: schedules, one run of a zap at a time, clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

from tests.support import memory_plugin
from tests.support.cli import Cli, stop
from tests.support.files_project import files_project
from tests.support.memory_plugin import memory_zap
from tests.support.paths import PLUGINS_DIR
from zaplite.engine.daemon import Daemon
from zaplite.engine.run import Engine
from zaplite.project.config import MAX_USER_FILE_BYTES


class SlowService(memory_plugin.MemoryService):
    """A service whose polls take a while and that counts overlapping polls."""

    active: int = 0
    most_at_once: int = 0


def test_daemon_polls_on_schedule_and_never_overlaps_a_zap(project, service, caplog):
    import threading

    lock = threading.Lock()
    original = memory_plugin.new_item.poll

    def slow_poll(ctx):
        with lock:
            SlowService.active += 1
            SlowService.most_at_once = max(SlowService.most_at_once, SlowService.active)
        try:
            time.sleep(0.6)  # longer than the 0.2 s schedule
            yield from original(ctx)
        finally:
            with lock:
                SlowService.active -= 1

    memory_plugin.new_item.poll = slow_poll
    try:
        project.add_zap(memory_zap(schedule={"every": "0.2s"}))
        workspace = project.workspace
        engine = Engine.for_workspace(workspace, owner="test-daemon")
        results = []
        daemon = Daemon(engine, workspace.zaps, on_result=results.append)

        async def scenario():
            runner = asyncio.create_task(daemon.run(install_signals=False))
            await asyncio.sleep(0.3)
            service.add(name="while running")
            for _ in range(600):
                if service.received:
                    break
                await asyncio.sleep(0.05)
            daemon.stop()
            await asyncio.wait_for(runner, 10)

        asyncio.run(scenario())
    finally:
        memory_plugin.new_item.poll = original
    assert [item["to"] for item in service.received] == ["while running"]
    assert SlowService.most_at_once == 1
    assert results
    assert "maximum number of running instances reached" in caplog.text
    assert all(r.status in ("ok", "interrupted") for r in results)


def test_sigterm_stops_the_daemon_cleanly(tmp_path):
    """`zaplite run` in a subprocess: delivers, then SIGTERM ends it with exit 0 and a message."""
    root = files_project(tmp_path / "proj", [{"id": 1, "email": "a@example.com"}], every="1s")
    cli = Cli(root, env={"ZAPLITE_PLUGINS_DIR": str(PLUGINS_DIR), "ZAPLITE_LOAD_PLUGINS": ""})
    process = cli.start("run")
    try:
        deadline = time.monotonic() + 30
        while not (root / "sink.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        records = json.loads((root / "source.json").read_text())
        records.append({"id": 2, "email": "b@example.com"})
        (root / "source.json").write_text(json.dumps(records))
        while len(json.loads((root / "sink.json").read_text())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        out, err = stop(process, signal.SIGTERM)
    assert process.returncode == 0, err
    assert "stopped cleanly" in err
    assert "Traceback" not in err
    assert [r["email"] for r in json.loads((root / "sink.json").read_text())] == [
        "a@example.com",
        "b@example.com",
    ]
    assert "copy: ok: 1 new, 1 delivered" in out


def test_zap_files_are_reloaded_and_a_broken_edit_keeps_the_last_good_version(project, service):
    service.add(name="first")
    path = project.add_zap(memory_zap(schedule={"every": "0.2s"}))
    workspace = project.workspace
    engine = Engine.for_workspace(workspace, owner="reload-test")
    reloads = []
    daemon = Daemon(
        engine,
        workspace.zaps,
        reload=workspace.reload_zaps,
        watch=workspace.config.settings.zaps_dir,
        on_reload=reloads.append,
    )

    async def wait_for(predicate, seconds=15.0):
        for _ in range(int(seconds / 0.05)):
            if predicate():
                return True
            await asyncio.sleep(0.05)
        return False

    async def scenario():
        runner = asyncio.create_task(daemon.run(install_signals=False))
        assert await wait_for(lambda: len(service.received) == 1)
        # A broken edit: reported, and the last good version keeps delivering.
        path.write_text('{"id": "z", "trigger": ')
        assert await wait_for(lambda: any(r.problems for r in reloads))
        service.add(name="second")
        assert await wait_for(lambda: len(service.received) == 2)
        # A good edit changes the mapping without a restart.
        fixed = memory_zap(
            schedule={"every": "0.2s"},
            steps=[{"id": "out", "app": "memory", "action": "send", "params": {"to": "edited"}}],
        )
        path.write_text(json.dumps(fixed))
        assert await wait_for(lambda: any("z" in r.changed for r in reloads))
        # A run that began before the reload finishes with the old version; two more
        # polls mean a run begun after the reload has polled, so "third" meets the edit.
        polls = service.polls
        assert await wait_for(lambda: service.polls >= polls + 2)
        service.add(name="third")
        assert await wait_for(lambda: len(service.received) == 3)
        # A new zap file is scheduled; a removed one stops.
        project.zaps_dir.joinpath("other.json").write_text(
            json.dumps(memory_zap("other", schedule={"every": "0.2s"}, trigger={"start": "now"}))
        )
        assert await wait_for(lambda: any("other" in r.added for r in reloads))
        path.unlink()
        assert await wait_for(lambda: any("z" in r.removed for r in reloads))
        daemon.stop()
        await asyncio.wait_for(runner, 10)

    asyncio.run(scenario())
    assert [item["to"] for item in service.received] == ["first", "second", "edited"]
    broken = next(r for r in reloads if r.problems)
    assert "z" in broken.kept and "z.json" in str(broken.problems[0])
    assert any("keeping the last good version" in line for line in broken.lines())


def _wait_sink(root: Path, count: int, seconds: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + seconds
    sink = root / "sink.json"
    lines: list[dict] = []
    while time.monotonic() < deadline:
        if sink.exists():
            lines = json.loads(sink.read_text() or "[]")
            if len(lines) >= count:
                return lines
        time.sleep(0.1)
    raise AssertionError(f"the sink holds {len(lines)} deliveries, not {count}")


def test_a_fifo_a_link_to_dev_zero_and_a_huge_file_in_zaps_are_refused_and_the_daemon_goes_on(
    tmp_path: Path,
) -> None:
    """Hostile files in zaps/: each one sentence; the healthy zap keeps delivering; SIGTERM works.

    A FIFO used to block the reload on the event loop (the daemon froze, SIGTERM ignored);
    a link to /dev/zero was read until memory ran out.
    """
    root = files_project(tmp_path / "proj", [{"id": 1, "email": "a@example.com"}], every="0.3s")
    cli = Cli(root, env={"ZAPLITE_PLUGINS_DIR": str(PLUGINS_DIR), "ZAPLITE_LOAD_PLUGINS": ""})
    zaps = root / "zaps"
    os.mkfifo(zaps / "at-start.json")  # there before the daemon starts, too
    checked = cli("validate", timeout=30)
    assert checked.returncode == 2 and "at-start.json" in checked.stderr, checked.stderr
    assert "not a regular file" in checked.stderr and "Traceback" not in checked.stderr
    process = cli.start("run")
    try:
        _wait_sink(root, 1)
        os.mkfifo(zaps / "pipe.json")
        (zaps / "zero.json").symlink_to("/dev/zero")
        (zaps / "huge.json").write_text(" " * (MAX_USER_FILE_BYTES + 1))
        records = json.loads((root / "source.json").read_text())
        for n in (2, 3):
            records.append({"id": n, "email": f"user{n}@example.com"})
            (root / "source.json").write_text(json.dumps(records))
            _wait_sink(root, n)
    finally:
        _out, err = stop(process, signal.SIGTERM, timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "stopped cleanly" in err
    for name in ("at-start.json", "pipe.json", "zero.json"):
        assert f"{name}: is not a regular file" in err, err
    assert "huge.json: is larger than 1 MiB" in err, err
