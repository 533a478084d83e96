"""Opening a store that cannot be used: one clear sentence, the place named, no password."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.support.stores import needs_postgres
from zaplite.errors import FileError
from zaplite.store import Store


def _refused(url: str, **options: object) -> FileError:
    with pytest.raises(FileError) as caught:
        Store(url, **options)  # type: ignore[arg-type]
    error = caught.value
    assert error.field == "store.url"
    assert "\n" not in str(error) and "Traceback" not in str(error)
    return error


def test_a_corrupted_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "zaplite.db"
    path.write_bytes(b"garbage, not a database " * 200)
    error = _refused(f"sqlite:///{path}")
    assert error.file == str(path)
    assert "not a SQLite database or is damaged" in str(error)
    assert path.read_bytes() == b"garbage, not a database " * 200  # left as it was


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    error = _refused(f"sqlite:///{tmp_path}/nowhere/zaplite.db")
    assert "does not exist" in str(error) and "nowhere" in str(error)


def test_a_file_in_place_of_the_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    assert "is not a folder" in str(_refused(f"sqlite:///{tmp_path}/plain/zaplite.db"))


def test_a_folder_in_place_of_the_file_is_a_clear_error(tmp_path: Path) -> None:
    assert "is a folder" in str(_refused(f"sqlite:///{tmp_path}"))


def _open_in_child(url: str, *, uid: int | None) -> str:
    """Open ``url`` in a forked child (as ``uid`` if given); returns what it reported."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            if uid is not None:
                os.setgid(uid)
                os.setuid(uid)
            try:
                Store(url).close()
                report = "opened"
            except FileError as error:
                report = str(error)
            except BaseException as error:
                report = f"{type(error).__name__}: {error}"
            os.write(write_end, report.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode()
    os.waitpid(pid, 0)
    return report


def test_an_unwritable_folder_is_a_clear_error() -> None:
    # Root may write anywhere, so as root the store is opened by "nobody" in a forked child.
    folder = Path(tempfile.mkdtemp(prefix="zaplite-ro-"))
    try:
        folder.chmod(0o555)
        uid = 65534 if os.geteuid() == 0 else None
        if uid is None and os.access(folder, os.W_OK):
            pytest.skip("this user may write into a read-only folder")
        report = _open_in_child(f"sqlite:///{folder}/zaplite.db", uid=uid)
        assert report == f"{folder}/zaplite.db: store.url: the folder {folder} is not writable."
        assert not (folder / "zaplite.db").exists()
    finally:
        folder.chmod(0o755)
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()


def test_create_false_does_not_create_a_file(tmp_path: Path) -> None:
    path = tmp_path / "zaplite.db"
    assert "does not exist" in str(_refused(f"sqlite:///{path}", create=False))
    assert not path.exists()


def test_a_url_that_is_not_one_or_not_supported() -> None:
    assert "is not a database URL" in str(_refused("zaplite.db is here"))
    assert "SQLite or PostgreSQL" in str(_refused("mysql+pymysql://u:pw@127.0.0.1/db"))


def test_url_for_display_masks_the_password(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path}/a.db") as store:
        assert store.url_for_display == f"sqlite:///{tmp_path}/a.db"
        assert repr(store) == f"Store('sqlite:///{tmp_path}/a.db')"


@needs_postgres
def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    error = _refused("postgresql+psycopg://zap:Sup3rSecretPw@127.0.0.1:1/zaplite")
    assert "Sup3rSecretPw" not in str(error) and "Sup3rSecretPw" not in repr(error.args)
    assert error.file == "postgresql+psycopg://zap:***@127.0.0.1:1/zaplite"
    assert "cannot reach the database server at 127.0.0.1:1" in str(error)


@needs_postgres
def test_plain_postgresql_urls_use_psycopg(postgres_url: str) -> None:
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with Store(plain) as store:
        assert store.url_for_display.startswith("postgresql+psycopg://")
        assert store.list_runs() == []


@needs_postgres
def test_a_missing_database_or_user_is_a_clear_error(postgres_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    missing = url.set(database=f"{url.database}_missing").render_as_string(hide_password=False)
    assert "does not exist on the server" in str(_refused(missing))
    stranger = url.set(username="zaplite_no_such_user", password="Pw0rdXyz")
    error = _refused(stranger.render_as_string(hide_password=False))
    assert "Pw0rdXyz" not in str(error)
    assert "zaplite_no_such_user" in str(error)
