"""Store safety: live copies, upgrades in place, damaged and unwritable databases.

The store is a SQLite file the daemon writes while it runs. A user may copy it (``cp``
or sqlite3's backup API) at any moment, bring an older one to a newer zaplite, or hand
zaplite a damaged or read-only file: each must end well, in one clear sentence.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from tests.reliability.sqlite_copy import backup_copy, check_copy, naive_copy
from tests.reliability.store_reads import committed_tasks
from tests.support.cli import Cli
from tests.support.processes import (
    Daemon,
    Emulators,
    Processes,
    deliveries,
    load_contacts,
    wait_for,
    write_project,
)
from zaplite.store import Store, migrate
from zaplite.store.connect import create_store_engine, parse_url

ZAP = "new-contacts"
NOBODY = 65534


def _zaplite(
    root: Path, *args: str, timeout: float = 60, as_nobody: bool = False
) -> subprocess.CompletedProcess[str]:
    prefix: list[str] = []
    if as_nobody:  # root may write anything: drop to another user for the unwritable cases
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a file unwritable")
        prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    return Cli(root, timeout=timeout)(*args, prefix=prefix)


def _fingerprint(root: Path) -> dict[str, str]:
    """A hash of every file of the project but the store's own."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.startswith("zaplite.db")
    }


def _copy_project(root: Path, target: Path) -> Path:
    """The config and zaps of ``root`` in a new folder (the store is copied separately)."""
    target.mkdir(parents=True)
    shutil.copy(root / "zaplite.toml", target / "zaplite.toml")
    shutil.copytree(root / "zaps", target / "zaps")
    return target


def test_copies_of_a_live_store_open_and_are_consistent(tmp_path: Path, procs: Processes) -> None:
    """`cp zaplite.db*` and the backup API while the daemon writes: every copy opens and agrees."""
    emulators = Emulators.start(procs, ct_latency=0.4)
    root = tmp_path / "project"
    write_project(root, emulators)
    db = root / "zaplite.db"
    total = 12_000
    load_contacts(emulators.sf_url, total)
    daemon = Daemon.start(procs, root, "daemon")
    wait_for(lambda: committed_tasks(f"sqlite:///{db}") > 0, timeout=60, what="a first page")

    copies: list[tuple[str, Path]] = []
    for index in range(8):  # while pages are being committed
        kind = "backup" if index % 3 == 2 else "cp"
        folder = _copy_project(root, tmp_path / f"copy-{index}")
        copy = backup_copy(db, folder) if kind == "backup" else naive_copy(db, folder)
        copies.append((kind, copy))
        time.sleep(0.25)
    wait_for(lambda: committed_tasks(f"sqlite:///{db}") >= total, timeout=90, what="the rest")
    assert daemon.terminate() == 0

    seen = []
    for kind, copy in copies:
        shown = _zaplite(copy.parent, "history", "--json", "--limit", "5")
        assert shown.returncode == 0, f"{kind} copy: {shown.stderr}"
        assert "Traceback" not in shown.stderr
        history = json.loads(shown.stdout)
        check = check_copy(copy, ZAP)
        seen.append(check.tasks)
        print(f"{kind} copy: {check}")
        assert check.consistent, f"{kind} copy is not consistent: {check}"
        assert len(history) == min(5, check.tasks)
        assert check.tasks % 2000 == 0, "whole pages only"
    print(f"live copies: tasks seen in the copies {seen} of {total}")
    assert any(0 < n < total for n in seen), "some copies were taken mid-delivery"

    # A copy is a working store: the daemon there delivers the rest, nothing twice.
    kind, copy = copies[0]
    before = check_copy(copy, ZAP).tasks
    out = _zaplite(copy.parent, "run", "--once", timeout=120)
    assert out.returncode == 0, out.stderr
    assert check_copy(copy, ZAP).tasks == total
    assert f"{total - before} new" in out.stdout


def _revisions() -> list[str]:
    """Every schema revision, oldest first."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_an_older_store_with_data_is_upgraded_in_place(
    tmp_path: Path, emulators: Emulators
) -> None:
    """A store at each older revision (and at the first one, with data) opens, keeps its data."""
    root = tmp_path / "project"
    write_project(root, emulators)
    db = root / "zaplite.db"
    revisions = _revisions()
    head = revisions[-1]
    print(f"schema revisions: {revisions}")
    for older in revisions[:-1]:  # every revision before the newest, built by alembic itself
        path = tmp_path / f"at-{older}.db"
        engine = create_store_engine(parse_url(f"sqlite:///{path}"))
        try:
            with engine.begin() as connection:
                config = migrate.alembic_config(connection)
                command.upgrade(config, older)
        finally:
            engine.dispose()
        shutil.copy(path, db)
        out = _zaplite(root, "run", "--once")
        assert out.returncode == 0, out.stderr
        assert _stamp(db) == head
        db.unlink()

    # The first revision with data: two runs, the second adds to the history, sends only new.
    emails = load_contacts(emulators.sf_url, 300)
    first = _zaplite(root, "run", "--once", "--new-store")  # a store was here: start anew
    assert first.returncode == 0, first.stderr
    assert _stamp(db) == head
    with sqlite3.connect(db) as connection:
        rows_before = connection.execute("SELECT count(*) FROM tasks").fetchone()[0]
    emails += load_contacts(emulators.sf_url, 50, first=300)
    second = _zaplite(root, "run", "--once")
    assert second.returncode == 0, second.stderr
    assert "50 new, 50 delivered" in second.stdout
    shown = _zaplite(root, "history", "--json", "--limit", "1000")
    assert shown.returncode == 0, shown.stderr
    history = json.loads(shown.stdout)
    assert rows_before == 300 and len(history) == 350
    counts = deliveries(emulators.ct_url)
    assert set(counts) == set(emails) and set(counts.values()) == {1}


def _stamp(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        return str(connection.execute("SELECT version_num FROM alembic_version").fetchone()[0])


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder another user may enter (for running zaplite as ``nobody`` when we are root)."""
    folder = Path(tempfile.mkdtemp(prefix="zaplite-rel-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)


def _project_without_services(root: Path) -> None:
    """A project whose connections point at closed loopback ports (the store fails first)."""
    (root / "zaps").mkdir(parents=True)
    (root / "zaplite.toml").write_text(
        '[connections.salesforce]\napp = "salesforce"\nlogin_url = "http://127.0.0.1:9"\n'
        'auth = "refresh_token"\nclient_id = "id"\nrefresh_token = "token"\n\n'
        '[connections.clevertap]\napp = "clevertap"\naccount_id = "A"\npasscode = "P"\n'
        'endpoint = "http://127.0.0.1:9"\n'
    )
    zap = {
        "id": ZAP,
        "trigger": {"app": "salesforce", "event": "new_contact", "params": {"fields": ["Id"]}},
        "steps": [
            {
                "id": "p",
                "app": "clevertap",
                "action": "upload_profile",
                "params": {"identity": "{{trigger.Id}}"},
            }
        ],
    }
    (root / "zaps" / f"{ZAP}.json").write_text(json.dumps(zap))


def _assert_one_sentence_exit_2(out: subprocess.CompletedProcess[str], reason: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr and reason in lines[0], lines[0]
    assert lines[0].startswith("Error: ") and lines[0].rstrip().endswith(".")


def _damaged_databases(folder: Path) -> dict[str, bytes]:
    """A real store, and three damaged versions of its file."""
    real = folder / "real.db"
    Store(f"sqlite:///{real}").close()
    good = real.read_bytes()
    random_bytes = os.urandom(len(good))
    header_only = good[:100] + os.urandom(len(good) - 100)
    truncated = good[: len(good) // 3]
    return {
        "random bytes": random_bytes,
        "garbage after a valid header": header_only,
        "a truncated file": truncated,
        "a zap file, not a database": b'{"id": "not a database"}\n',
    }


@pytest.mark.parametrize(
    "damage",
    [
        "random bytes",
        "garbage after a valid header",
        "a truncated file",
        "a zap file, not a database",
    ],
)
def test_a_damaged_database_is_one_sentence_and_exit_2(tmp_path: Path, damage: str) -> None:
    """`zaplite run` on a damaged store: exit 2 at once, one sentence, nothing else touched."""
    root = tmp_path / "project"
    _project_without_services(root)
    db = root / "zaplite.db"
    db.write_bytes(_damaged_databases(tmp_path)[damage])
    damaged = db.read_bytes()
    before = _fingerprint(root)
    started = time.monotonic()
    out = _zaplite(root, "run", timeout=60)
    print(
        f"{damage}: exit {out.returncode} in {time.monotonic() - started:.1f}s: {out.stderr.strip()}"
    )
    _assert_one_sentence_exit_2(out, "zaplite.db")
    assert _fingerprint(root) == before, "the config and zaps are untouched"
    assert db.read_bytes() == damaged, "the damaged file is left as it was, for recovery"


def _immutable(path: Path, on: bool) -> bool:
    """Set or clear the immutable attribute (even root cannot write then); False if unsupported."""
    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    done = subprocess.run([chattr, "+i" if on else "-i", str(path)], capture_output=True)
    return done.returncode == 0


@pytest.mark.parametrize("what", ["file", "folder"])
def test_an_unwritable_database_is_one_sentence_and_exit_2(shared_folder: Path, what: str) -> None:
    """A read-only store file, or a store in a read-only folder: exit 2, one sentence.

    Root may write anything, so as root the file or folder is made immutable (chattr +i);
    where that is not supported, zaplite runs as ``nobody`` instead, which needs the
    installation to be readable by that user.
    """
    root = shared_folder / "project"
    _project_without_services(root)
    root.chmod(0o755)
    db = root / "zaplite.db"
    Store(f"sqlite:///{db}").close()
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    target = db if what == "file" else root
    if what == "file":
        db.chmod(0o444)
    else:
        root.chmod(0o555)
    as_nobody = False
    locked = os.geteuid() == 0 and _immutable(target, True)
    if os.geteuid() == 0 and not locked:
        as_nobody = True
        if what == "file":
            root.chmod(0o777)  # the folder is writable, only the file is not
    try:
        before = _fingerprint(root)
        stored = db.read_bytes()
        out = _zaplite(root, "run", as_nobody=as_nobody)
        if as_nobody and "Permission denied" in out.stderr and "zaplite.db" not in out.stderr:
            pytest.skip("the user nobody cannot run this installation of zaplite")
        print(f"unwritable {what}: exit {out.returncode}: {out.stderr.strip()}")
        _assert_one_sentence_exit_2(out, "zaplite.db")
        assert "writable" in out.stderr or "read-only" in out.stderr
        assert _fingerprint(root) == before
        assert db.read_bytes() == stored
    finally:
        if locked:
            _immutable(target, False)


def _damage_index_pages(db: Path, table: str) -> None:
    """Overwrite the root pages of ``table`` and its indexes with random bytes (header intact).

    ``zap_keys`` is a WITHOUT ROWID table: its key lookups read the table's own B-tree.
    """
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        pages = [
            row[0]
            for row in connection.execute(
                "SELECT rootpage FROM sqlite_master WHERE tbl_name = ? AND rootpage > 0",
                (table,),
            )
        ]
    connection.close()
    assert pages
    with open(db, "r+b") as handle:
        for page in pages:
            handle.seek((page - 1) * page_size)
            handle.write(os.urandom(page_size))


def test_a_store_damaged_under_the_daemon_stops_it_with_exit_2(
    tmp_path: Path, procs: Processes, emulators: Emulators
) -> None:
    """Damage found mid-run (a bad index page) ends the daemon: one sentence, exit 2, no loop."""
    root = tmp_path / "project"
    write_project(root, emulators)
    db = root / "zaplite.db"
    load_contacts(emulators.sf_url, 3000)
    first = _zaplite(root, "run", "--once")
    assert first.returncode == 0, first.stderr
    _damage_index_pages(db, "zap_keys")  # opening still works; the dedup lookup does not
    emails = load_contacts(emulators.sf_url, 10, first=3000)
    before = _fingerprint(root)
    daemon = Daemon.start(procs, root, "daemon")
    code = daemon.process.wait(timeout=60)
    out, err = daemon.output()
    print(f"damaged under the daemon: exit {code}: {err.strip().splitlines()[-1]}")
    assert code == 2
    assert "Traceback" not in err and "SELECT" not in err + out
    assert err.strip().splitlines()[-1] == (
        f"Error: {db}: store.url: the file is not a SQLite database or is damaged."
    )
    assert _fingerprint(root) == before
    assert not set(emails) & set(deliveries(emulators.ct_url)), "nothing sent past the damage"


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_store_deleted_or_replaced_under_the_daemon_stops_it_and_is_never_started_over(
    tmp_path: Path, procs: Processes, emulators: Emulators, how: str
) -> None:
    """`rm zaplite.db*` (or a copy moved over it) while the daemon runs: exit 2, one sentence.

    The daemon used to go on writing into the deleted file, exit 0, and start over on an
    empty store at the next start (records created meanwhile were never delivered, or
    everything was delivered again).
    """
    root = tmp_path / "project"
    write_project(root, emulators)
    db = root / "zaplite.db"
    emails = load_contacts(emulators.sf_url, 300)
    daemon = Daemon.start(procs, root, "daemon")
    wait_for(lambda: committed_tasks(f"sqlite:///{db}") == 300, timeout=60, what="300 tasks")
    if how == "deleted":
        for path in root.glob("zaplite.db*"):
            path.unlink()
    else:
        kept = tmp_path / "copy.db"
        backup_copy(db, tmp_path)
        shutil.move(tmp_path / "zaplite.db", kept)
        os.replace(kept, db)  # a new file (another inode) at the store's path
    later = load_contacts(emulators.sf_url, 50, first=300)
    code = daemon.process.wait(timeout=60)
    _out, err = daemon.output()
    last = err.strip().splitlines()[-1]
    print(f"store {how} under the daemon: exit {code}: {last}")
    assert code == 2
    assert "Traceback" not in err
    word = "deleted" if how == "deleted" else "replaced by another file"
    assert last.startswith(f"Error: {db}: store.url: the store file was {word} while zaplite")
    assert not set(later) & set(deliveries(emulators.ct_url)), "nothing sent it cannot record"

    again = _zaplite(root, "run", "--once")
    if how == "replaced":  # the copy is a working store: the rest is delivered, once
        assert again.returncode == 0, again.stderr
        assert "50 new, 50 delivered" in again.stdout
    else:  # a store existed here: never an empty one in its place, unless asked for
        _assert_one_sentence_exit_2(again, "the store file is missing, but a store existed here")
        assert "--new-store" in again.stderr and not db.exists()
        history = _zaplite(root, "history", "--json")
        assert history.returncode == 2 and not db.exists()
        fresh = _zaplite(root, "run", "--once", "--new-store")
        assert fresh.returncode == 0, fresh.stderr
        assert "350 new, 350 delivered" in fresh.stdout  # start "all": everything again
    counts = deliveries(emulators.ct_url)
    assert set(counts) == set(emails + later)
    assert max(counts.values()) == (2 if how == "deleted" else 1)


@dataclass
class SmallDisk:
    """A tmpfs of a few MiB mounted for one test: a disk that really fills up."""

    folder: Path

    def resize(self, mib: int) -> None:
        """Give the disk ``mib`` MiB in all (a remount keeps its files)."""
        subprocess.run(
            ["mount", "-o", f"remount,size={mib}m", str(self.folder)],
            check=True,
            capture_output=True,
        )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 4 MiB tmpfs, or the test is skipped (saying why) where mounting is not allowed."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mount = shutil.which("mount")
    if mount is None or os.geteuid() != 0:
        pytest.skip("a full disk needs a small tmpfs, and mounting one needs root and mount(8)")
    done = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield SmallDisk(folder)
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_full_disk_is_waited_out_and_no_page_is_sent_again_and_again(
    tmp_path: Path, procs: Processes, emulators: Emulators, small_disk: SmallDisk
) -> None:
    """The store on a 4 MiB tmpfs that fills up: one sentence, no polling, then on when there is room.

    zaplite used to send the page it could not record at every poll (15 times) with a
    traceback each time. Now a page is sent only when the store has room to record it,
    so at most the page that was in flight when the disk filled is sent twice.
    """
    root = tmp_path / "project"
    db = small_disk.folder / "zaplite.db"
    # REST pages of 2,000: the Bulk path's 10,000-record checkpoints would not fit at all.
    write_project(
        root, emulators, store_url=f"sqlite:///{db}", salesforce_settings={"bulk_threshold": 0}
    )
    total = 12_000
    emails = load_contacts(emulators.sf_url, total)
    daemon = Daemon.start(procs, root, "daemon")
    wait_for(
        lambda: "disk holding the store is full" in daemon.output()[1],
        timeout=120,
        what="the daemon to find the disk full",
    )
    recorded = committed_tasks(f"sqlite:///{db}")
    assert 0 < recorded < total
    time.sleep(5)  # several backoffs: nothing is sent while there is no room
    sent = emulators.ct_stats()["upload_count"]
    time.sleep(3)
    assert emulators.ct_stats()["upload_count"] == sent, "nothing sent while the disk is full"

    small_disk.resize(64)
    wait_for(
        lambda: committed_tasks(f"sqlite:///{db}") >= total,
        timeout=180,
        what="the rest once there is room",
    )
    assert daemon.terminate() == 0
    _out, err = daemon.output()
    print(f"full disk: {recorded} of {total} recorded when it filled; stderr:\n{err}")
    assert "Traceback" not in err
    assert err.count("disk holding the store is full") == 1, "said once"
    assert err.count("has room again") == 1
    counts = deliveries(emulators.ct_url)
    assert set(counts) == set(emails)
    twice = sum(1 for n in counts.values() if n > 1)
    assert max(counts.values()) <= 2 and twice <= 2000, "at most the page in flight, once more"
    assert committed_tasks(f"sqlite:///{db}") == total, "one task per record"


def _fill(folder: Path) -> Path:
    """A file taking every free byte of the disk holding ``folder``."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as handle:
        block = b"\0" * 65536
        with contextlib.suppress(OSError):
            while True:
                handle.write(block)
    return filler


def test_a_disk_that_fills_while_a_page_is_sent_sends_that_page_once_more_at_most(
    tmp_path: Path, procs: Processes, small_disk: SmallDisk
) -> None:
    """The disk fills while an upload is in flight: its commit fails, and it waits for room.

    The page was sent but not recorded, so it is sent again, but only once the disk
    has more room than it had when that commit failed: not at every poll.
    """
    emulators = Emulators.start(procs, ct_latency=1.5)
    small_disk.resize(16)
    root = tmp_path / "project"
    db = small_disk.folder / "zaplite.db"
    write_project(root, emulators, store_url=f"sqlite:///{db}")
    emails = load_contacts(emulators.sf_url, 4000)
    daemon = Daemon.start(procs, root, "daemon")
    wait_for(lambda: emulators.ct_stats()["in_flight"] > 0, timeout=60, what="an upload in flight")
    filler = _fill(small_disk.folder)
    wait_for(
        lambda: "disk holding the store is full" in daemon.output()[1],
        timeout=60,
        what="the commit to fail for want of room",
    )
    recorded = committed_tasks(f"sqlite:///{db}")
    emulators.ct_settled(timeout=30)
    sent = emulators.ct_stats()["upload_count"]
    time.sleep(6)  # several backoffs
    assert emulators.ct_stats()["upload_count"] == sent, "the unrecorded page is not sent again"

    filler.unlink()
    wait_for(
        lambda: committed_tasks(f"sqlite:///{db}") >= len(emails),
        timeout=120,
        what="the rest once there is room",
    )
    assert daemon.terminate() == 0
    _out, err = daemon.output()
    print(f"disk filled mid-page: {recorded} recorded then; stderr:\n{err}")
    assert "Traceback" not in err
    assert err.count("disk holding the store is full") == 1 and err.count("has room again") == 1
    counts = deliveries(emulators.ct_url)
    assert set(counts) == set(emails)
    twice = sum(1 for n in counts.values() if n > 1)
    assert max(counts.values()) <= 2 and 0 < twice <= 2000, "the page in flight, once more"
    assert committed_tasks(f"sqlite:///{db}") == len(emails)
