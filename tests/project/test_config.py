"""zaplite.toml: finding, loading, defaults, ${VAR} resolution and every error's shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from zaplite.errors import FileError, UsageError
from zaplite.project.config import (
    DEFAULT_STORE_URL,
    Config,
    ConnectionConfig,
    find_config,
    load_config,
    parse_config,
)

FULL = """
[store]
url = "sqlite:///data/zaplite.db"

[connections.salesforce]
app = "salesforce"
login_url = "https://login.salesforce.com"
auth = "refresh_token"
client_id = "${SF_CLIENT_ID}"
client_secret = "${SF_CLIENT_SECRET}"
refresh_token = "${SF_REFRESH_TOKEN}"
api_version = "64.0"

[connections.clevertap]
app = "clevertap"
account_id = "${CLEVERTAP_ACCOUNT_ID}"
passcode = "${CLEVERTAP_PASSCODE}"
region = "in1"

[connections.clevertap_eu]
app = "clevertap"
account_id = "acct-${REGION:-eu1}"
passcode = "${CT_EU_PASSCODE}"

[settings]
zaps_dir = "my-zaps"
plugins_dir = "/opt/zaplite/plugins"
retry_attempts = 3
retry_initial_wait = 0.5
retry_max_wait = 30
pause_after_auth_failures = 2
log_file = "logs/zaplite.log"
"""


def write(tmp_path: Path, text: str, name: str = "zaplite.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))
    assert isinstance(config, Config)
    assert config.base_dir == tmp_path.resolve()
    assert config.store_url == f"sqlite:///{tmp_path.resolve()}/data/zaplite.db"
    assert config.store_url.startswith("sqlite:////")
    assert list(config.connections) == ["salesforce", "clevertap", "clevertap_eu"]
    salesforce = config.connections["salesforce"]
    assert salesforce.app == "salesforce"
    assert "app" not in salesforce.raw
    assert salesforce.raw["client_id"] == "${SF_CLIENT_ID}"
    assert [c.name for c in config.connections_of("clevertap")] == ["clevertap", "clevertap_eu"]
    assert config.connections_of("nothing") == []
    settings = config.settings
    assert settings.zaps_dir == tmp_path.resolve() / "my-zaps"
    assert settings.plugins_dir == Path("/opt/zaplite/plugins")
    assert settings.log_file == tmp_path.resolve() / "logs" / "zaplite.log"
    assert (settings.retry_attempts, settings.retry_initial_wait, settings.retry_max_wait) == (
        3,
        0.5,
        30.0,
    )
    assert settings.pause_after_auth_failures == 2


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(None, cwd=tmp_path)
    assert config.path is None
    assert config.base_dir == tmp_path.resolve()
    assert config.store_url == f"sqlite:///{tmp_path.resolve()}/zaplite.db"
    assert config.connections == {}
    assert config.settings.zaps_dir == tmp_path.resolve() / "zaps"
    assert config.settings.retry_attempts == 5
    assert config.settings.pause_after_auth_failures == 3


def test_empty_file_gives_defaults_beside_it(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.settings.zaps_dir == tmp_path.resolve() / "zaps"
    assert DEFAULT_STORE_URL.endswith("zaplite.db")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite://", "sqlite://"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite:////abs/z.db", "sqlite:////abs/z.db"),
        ("sqlite+pysqlite:///z.db?timeout=5", "sqlite+pysqlite:///{base}/z.db?timeout=5"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_store_urls(tmp_path: Path, url: str, expected: str) -> None:
    config = parse_config({"store": {"url": url}}, base_dir=tmp_path)
    assert config.store_url == expected.format(base=tmp_path.resolve())


def test_store_url_env_is_resolved_and_masked(tmp_path: Path) -> None:
    config = parse_config(
        {"store": {"url": "postgresql+psycopg://zap:${PGPASS}@db/zaplite"}},
        base_dir=tmp_path,
        env={"PGPASS": "hunter2"},
    )
    assert config.store_url == "postgresql+psycopg://zap:hunter2@db/zaplite"
    assert "hunter2" not in config.store_url_masked
    with pytest.raises(FileError) as caught:
        parse_config({"store": {"url": "postgresql://zap:${PGPASS}@db/x"}}, env={})
    assert caught.value.field == "store.url"
    assert "PGPASS" in caught.value.reason


def test_find_config_order(tmp_path: Path) -> None:
    assert find_config(cwd=tmp_path, env={}) is None
    local = write(tmp_path, "")
    assert find_config(cwd=tmp_path, env={}) == local
    assert (
        find_config(cwd=tmp_path, env={"ZAPLITE_CONFIG": "other.toml"}) == tmp_path / "other.toml"
    )
    assert find_config(cwd=tmp_path, env={"ZAPLITE_CONFIG": ""}) == local
    explicit = Path("/somewhere/explicit.toml")
    assert find_config(explicit, cwd=tmp_path, env={"ZAPLITE_CONFIG": "x.toml"}) == explicit


def test_connection_resolve_and_env_vars() -> None:
    connection = ConnectionConfig(
        name="sf",
        app="salesforce",
        raw={
            "client_id": "${SF_ID}",
            "url": "https://${HOST}/x/${HOST}",
            "options": {"nested": ["${SF_ID}", 5]},
            "defaulted": "${MAYBE:-fallback}",
            "literal": "$${NOT_A_VAR}",
            "port": 8080,
        },
        file="zaplite.toml",
    )
    assert connection.env_vars() == ["SF_ID", "HOST", "MAYBE"]
    assert connection.missing_env_vars({"HOST": "h"}) == ["SF_ID"]
    resolved = connection.resolve({"SF_ID": "abc", "HOST": "example.com"})
    assert resolved == {
        "client_id": "abc",
        "url": "https://example.com/x/example.com",
        "options": {"nested": ["abc", 5]},
        "defaulted": "fallback",
        "literal": "${NOT_A_VAR}",
        "port": 8080,
    }


def test_unset_variable_names_variable_and_connection_never_a_value() -> None:
    connection = ConnectionConfig(
        name="clevertap",
        app="clevertap",
        raw={"account_id": "plain-acct", "passcode": "${CLEVERTAP_PASSCODE}"},
        file="zaplite.toml",
    )
    with pytest.raises(FileError) as caught:
        connection.resolve({})
    error = caught.value
    assert (error.file, error.field) == ("zaplite.toml", "connections.clevertap.passcode")
    assert error.reason == "environment variable CLEVERTAP_PASSCODE is not set"
    assert str(error) == (
        "zaplite.toml: connections.clevertap.passcode: "
        "environment variable CLEVERTAP_PASSCODE is not set."
    )
    assert "plain-acct" not in str(error)
    assert isinstance(error, UsageError) and error.exit_code == 2


def test_resolve_uses_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZAPLITE_TEST_MODELS_VAR", "from-env")
    connection = ConnectionConfig("c", "app", {"k": "${ZAPLITE_TEST_MODELS_VAR}"})
    assert connection.resolve() == {"k": "from-env"}


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("[stor]\nurl = 'x'", "stor", 'unknown field (did you mean "store"?'),
        (
            "[settings]\nretry_atempts = 1",
            "settings.retry_atempts",
            'did you mean "retry_attempts"',
        ),
        ("[settings]\nretry_attempts = 0", "settings.retry_attempts", "must be at least 1"),
        ("[settings]\nretry_attempts = '5'", "settings.retry_attempts", "expected a whole number"),
        ("[settings]\nretry_attempts = 2.5", "settings.retry_attempts", "expected a whole number"),
        (
            "[settings]\npause_after_auth_failures = 0",
            "settings.pause_after_auth_failures",
            "must be at least 1",
        ),
        (
            "[settings]\nretry_initial_wait = 10\nretry_max_wait = 1",
            "settings.retry_max_wait",
            "must not be less than retry_initial_wait",
        ),
        ("[settings]\nzaps_dir = 5", "settings.zaps_dir", "expected text"),
        ("[store]\nurl = ''", "store.url", "must not be empty"),
        ("[store]\nurl = 'zaplite.db'", "store.url", "must be a database URL"),
        ("[store]\nuri = 'x'", "store.uri", "unknown field"),
        ("[connections.sf]\nclient_id = 'x'", "connections.sf.app", "required field is missing"),
        ("[connections.sf]\napp = 5", "connections.sf.app", "expected text"),
        ("[connections.sf]\napp = ' '", "connections.sf.app", "must name an app"),
        ("connections = 5", "connections", "expected a table"),
        ("[connections]\nsf = 'x'", "connections.sf", "expected a table"),
        ("store = 'x'", "store", "expected a table"),
    ],
)
def test_config_errors_name_file_field_reason(
    tmp_path: Path, text: str, field: str, reason: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(FileError) as caught:
        load_config(path)
    error = caught.value
    assert error.file == str(path)
    assert error.field == field
    assert reason in error.reason
    assert str(error) == f"{path}: {field}: {error.reason}."


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '[store]\nurl = "sqlite:///x.db"\n\n[connections.sf\napp = "x"\n')
    with pytest.raises(FileError) as caught:
        load_config(path)
    assert caught.value.field is None
    assert caught.value.reason.startswith("invalid TOML at line 4, column")


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda p: None, "the configuration file does not exist"),
        (lambda p: p.mkdir(), "is a folder, not a configuration file"),
        (lambda p: p.write_bytes(b"\xff\xfe\x00bad"), "is not UTF-8 text"),
    ],
)
def test_file_level_errors(tmp_path: Path, setup, reason: str) -> None:
    path = tmp_path / "zaplite.toml"
    setup(path)
    with pytest.raises(FileError) as caught:
        load_config(path)
    assert (caught.value.file, caught.value.field, caught.value.reason) == (str(path), None, reason)


def test_relative_config_path_is_resolved_against_cwd(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    write(tmp_path / "conf", '[settings]\nzaps_dir = "z"')
    config = load_config(Path("conf/zaplite.toml"), cwd=tmp_path)
    assert config.settings.zaps_dir == (tmp_path / "conf" / "z").resolve()
    assert config.path == Path("conf/zaplite.toml")
