"""``zaplite.toml``: the store, the connections and the settings.

::

    config = load_config(find_config(explicit_path))
    for connection in config.connections_of("salesforce"):
        settings = connection.resolve()      # "${VAR}" replaced from the environment

Every problem is a :class:`~zaplite.errors.FileError` naming the file, the field
(``settings.retry_attempts``) and the reason in one sentence. Values of connections
are never put in an error message: they may be secrets.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from zaplite.errors import FileError
from zaplite.project.problems import explain

__all__ = [
    "CONFIG_ENV",
    "CONFIG_NAME",
    "DEFAULT_HTTP_PORT",
    "DEFAULT_STORE_URL",
    "KEY_NAME",
    "MAX_USER_FILE_BYTES",
    "Config",
    "ConnectionConfig",
    "HttpSettings",
    "Settings",
    "VaultSettings",
    "find_config",
    "load_config",
    "parse_config",
    "parse_listen",
    "resolve_env",
]

CONFIG_NAME = "zaplite.toml"
"""The file looked for in the working directory."""
CONFIG_ENV = "ZAPLITE_CONFIG"
"""The environment variable naming the config file."""
DEFAULT_STORE_URL = "sqlite:///zaplite.db"
"""The store used when the config names none (relative to the config folder)."""
KEY_NAME = "zaplite.key"
"""The vault's key file beside the config, when ``[vault] key_file`` names none."""
DEFAULT_HTTP_PORT = 8642
"""The console's port when ``--http`` / ``[http] listen`` names only a host."""

_VAR = re.compile(r"\$(\$?)\{([^{}]*)\}")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --------------------------------------------------------------------------- ${VAR} resolution


def _split_var(body: str) -> tuple[str, str | None]:
    """``"NAME"`` -> ("NAME", None); ``"NAME:-default"`` -> ("NAME", "default")."""
    name, sep, default = body.partition(":-")
    return name, (default if sep else None)


def _vars_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        for match in _VAR.finditer(value):
            if not match.group(1):
                yield _split_var(match.group(2))[0]
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _vars_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _vars_in(item)


def resolve_env(value: Any, env: Mapping[str, str], *, file: str | None, where: str) -> Any:
    """Replace ``${VAR}`` (and ``${VAR:-default}``) in every string of ``value`` from ``env``.

    ``$${`` stands for a literal ``${``. An unset variable without a default raises
    :class:`FileError` at ``where`` naming the variable (never any value).
    """
    if isinstance(value, str):
        if "${" not in value:
            return value

        def substitute(match: re.Match[str]) -> str:
            if match.group(1):
                return "${" + match.group(2) + "}"
            name, default = _split_var(match.group(2))
            if not _VAR_NAME.fullmatch(name):
                raise FileError(
                    file, where, f'"${{{name}}}" is not a valid environment variable reference'
                )
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise FileError(file, where, f"environment variable {name} is not set")

        return _VAR.sub(substitute, value)
    if isinstance(value, Mapping):
        return {
            key: resolve_env(item, env, file=file, where=f"{where}.{key}")
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            resolve_env(item, env, file=file, where=f"{where}[{index}]")
            for index, item in enumerate(value)
        ]
    return value


# --------------------------------------------------------------------------- public objects


@dataclass(frozen=True)
class ConnectionConfig:
    """One ``[connections.NAME]`` table: its app and its settings as written.

    ``raw`` holds the table without ``app``, with ``"${VAR}"`` references not yet
    resolved; :meth:`resolve` resolves them. The app's own connection model (owned by
    the plugin) validates the resolved settings.
    """

    name: str
    app: str
    raw: dict[str, Any]
    file: str | None = None

    def resolve(self, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The settings with every ``${VAR}`` replaced from ``env`` (default ``os.environ``).

        An unset variable raises :class:`FileError` naming the file, the field
        (``connections.<name>.<key>``) and the variable.
        """
        environ = os.environ if env is None else env
        return {
            key: resolve_env(value, environ, file=self.file, where=f"connections.{self.name}.{key}")
            for key, value in self.raw.items()
        }

    def env_vars(self) -> list[str]:
        """The environment variables this connection references, in order, without repeats."""
        return list(dict.fromkeys(_vars_in(self.raw)))

    def missing_env_vars(self, env: Mapping[str, str] | None = None) -> list[str]:
        """The referenced variables that ``env`` (default ``os.environ``) does not set.

        Variables written with a default (``${VAR:-x}``) are never missing.
        """
        environ = os.environ if env is None else env
        missing: list[str] = []
        for value in _strings(self.raw):
            for match in _VAR.finditer(value):
                if match.group(1):
                    continue
                name, default = _split_var(match.group(2))
                if default is None and name not in environ and name not in missing:
                    missing.append(name)
        return missing


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass(frozen=True)
class Settings:
    """The ``[settings]`` table, with paths made absolute against the config folder."""

    zaps_dir: Path
    plugins_dir: Path | None = None
    retry_attempts: int = 5
    retry_initial_wait: float = 1.0
    retry_max_wait: float = 60.0
    pause_after_auth_failures: int = 3
    log_file: Path | None = None
    lease_seconds: float = 30.0


@dataclass(frozen=True)
class VaultSettings:
    """The ``[vault]`` table: where the vault's key file is (when ``ZAPLITE_SECRET_KEY`` is unset)."""

    key_file: Path


@dataclass(frozen=True)
class HttpSettings:
    """The ``[http]`` table: where the daemon's HTTP server listens, and its token.

    ``listen`` is ``None`` when the table does not ask for a server (``--http`` may
    still). ``token`` is resolved from ``${VAR}``; it is a secret and never shown.
    """

    listen: tuple[str, int] | None = None
    token: str | None = field(default=None, repr=False)


def parse_listen(text: str) -> tuple[str, int]:
    """``"127.0.0.1:8642"``, ``"8642"``, ``"[::1]:8642"`` or ``"0.0.0.0"`` as (host, port).

    A missing host is 127.0.0.1 (loopback, the safe default); a missing port is
    :data:`DEFAULT_HTTP_PORT`. Raises ``ValueError`` with the reason.
    """
    value = text.strip()
    if not value:
        raise ValueError("must be [HOST:]PORT, e.g. 127.0.0.1:8642")
    if value.isdigit():
        host, port_text = "127.0.0.1", value
    elif value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r} is not [HOST]:PORT")
        port_text = rest[1:] or str(DEFAULT_HTTP_PORT)
    elif value.count(":") == 1:
        host, port_text = value.split(":")
        host = host or "127.0.0.1"
    elif ":" in value:  # a bare IPv6 address
        host, port_text = value, str(DEFAULT_HTTP_PORT)
    else:
        host, port_text = value, str(DEFAULT_HTTP_PORT)
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r} has no valid port (0-65535)")
    if not host or any(ch.isspace() or ch in "/?#@" for ch in host):
        raise ValueError(f"{text!r} has no valid host")
    return host, int(port_text)


@dataclass(frozen=True)
class Config:
    """A loaded ``zaplite.toml`` (or the defaults, when there is none)."""

    path: Path | None
    base_dir: Path
    store_url: str
    connections: dict[str, ConnectionConfig] = field(default_factory=dict)
    settings: Settings = field(default_factory=lambda: Settings(zaps_dir=Path("zaps")))
    http: HttpSettings = field(default_factory=HttpSettings)
    vault: VaultSettings = field(default_factory=lambda: VaultSettings(key_file=Path(KEY_NAME)))

    def connections_of(self, app: str) -> list[ConnectionConfig]:
        """The connections of ``app``, in the order they are written."""
        return [conn for conn in self.connections.values() if conn.app == app]

    @property
    def store_url_masked(self) -> str:
        """The store URL with any password replaced by ``***``, for display."""
        return _mask_url(self.store_url)


def _mask_url(url: str) -> str:
    return re.sub(r"(://[^/:@]*:)[^/@]*@", r"\1***@", url)


# --------------------------------------------------------------------------- validation models


class _StoreModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    url: str = DEFAULT_STORE_URL

    @field_validator("url")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        if "://" not in value:
            raise ValueError('must be a database URL such as "sqlite:///zaplite.db"')
        return value.strip()


class _SettingsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    zaps_dir: str | None = None
    plugins_dir: str | None = None
    retry_attempts: int = Field(5, ge=1)
    retry_initial_wait: float = Field(1.0, ge=0)
    retry_max_wait: float = Field(60.0, ge=0)
    pause_after_auth_failures: int = Field(3, ge=1)
    log_file: str | None = None
    lease_seconds: float = Field(30.0, ge=1, le=3600)

    @field_validator("retry_max_wait")
    @classmethod
    def _waits_in_order(cls, value: float, info: ValidationInfo) -> float:
        initial = info.data.get("retry_initial_wait")
        if initial is not None and value < initial:
            raise ValueError("must not be less than retry_initial_wait")
        return value


class _HttpModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    listen: str | None = None
    token: str | None = None

    @field_validator("listen")
    @classmethod
    def _listen_address(cls, value: str | None) -> str | None:
        if value is not None:
            parse_listen(value)
        return value

    @field_validator("token")
    @classmethod
    def _token_long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 16:
            raise ValueError(
                "must be at least 16 characters (generate one with `openssl rand -hex 32`)"
            )
        return value


class _VaultModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    key_file: str = KEY_NAME

    @field_validator("key_file")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a file")
        return value.strip()


class _ConnectionModel(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    app: str

    @field_validator("app")
    @classmethod
    def _app_named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name an app")
        return value.strip()


class _ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    store: _StoreModel = Field(default_factory=_StoreModel)
    settings: _SettingsModel = Field(default_factory=_SettingsModel)
    http: _HttpModel = Field(default_factory=_HttpModel)
    vault: _VaultModel = Field(default_factory=_VaultModel)
    connections: dict[str, _ConnectionModel] = Field(default_factory=dict)


def _toml_known_fields(loc: tuple[Any, ...]) -> list[str] | None:
    models: dict[tuple[Any, ...], type[BaseModel]] = {
        (): _ConfigModel,
        ("store",): _StoreModel,
        ("settings",): _SettingsModel,
        ("http",): _HttpModel,
        ("vault",): _VaultModel,
    }
    model = models.get(loc)
    return list(model.model_fields) if model else None


# --------------------------------------------------------------------------- finding and loading


def find_config(
    explicit: Path | None = None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Path | None:
    """The config file to use: ``--config FILE`` > ``$ZAPLITE_CONFIG`` > ``./zaplite.toml`` > None.

    An explicit or environment path is returned even if it does not exist (loading it
    then says so); relative paths are taken against ``cwd`` when it is given.
    """
    environ = os.environ if env is None else env
    chosen: Path | None = None
    if explicit is not None:
        chosen = Path(explicit)
    elif environ.get(CONFIG_ENV):
        chosen = Path(environ[CONFIG_ENV])
    if chosen is not None:
        chosen = chosen.expanduser()
        if cwd is not None and not chosen.is_absolute():
            chosen = cwd / chosen
        return chosen
    local = (cwd if cwd is not None else Path.cwd()) / CONFIG_NAME
    # A pipe or device by that name is found, so that loading it says what it is.
    return local if local.exists() and not local.is_dir() else None


def _absolute_sqlite(url: str, base_dir: Path) -> str:
    """Make the file of a relative SQLite URL absolute against ``base_dir``."""
    match = re.fullmatch(r"(sqlite(?:\+\w+)?):///(.*)", url, flags=re.DOTALL)
    if not match:
        return url
    scheme, rest = match.groups()
    file_part, sep, query = rest.partition("?")
    if not file_part or file_part == ":memory:" or file_part.startswith("/"):
        return url
    if file_part.startswith("file:"):
        return url
    absolute = (base_dir / Path(file_part).expanduser()).resolve()
    return f"{scheme}:///{absolute}{sep}{query}"


def _path_setting(value: str | None, base_dir: Path) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base_dir / path).resolve()


def _toml_position(message: str) -> str:
    match = re.search(r"\(at line (\d+), column (\d+)\)", message)
    detail = re.sub(r"\s*\(at (?:line \d+, column \d+|end of document)\)", "", message).strip()
    detail = detail[:1].lower() + detail[1:] if detail else "syntax error"
    if match:
        return f"invalid TOML at line {match.group(1)}, column {match.group(2)}: {detail}"
    if "end of document" in message:
        return f"invalid TOML at the end of the file: {detail}"
    return f"invalid TOML: {detail}"


def parse_config(
    data: Mapping[str, Any],
    *,
    path: Path | None = None,
    base_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Validate a parsed TOML document into a :class:`Config` (paths against ``base_dir``).

    ``${VAR}`` in ``[store]``, ``[settings]`` and ``[http]`` is resolved now (from ``env``, default
    ``os.environ``); in connections it is kept for :meth:`ConnectionConfig.resolve`.
    """
    file = str(path) if path is not None else None
    base = (base_dir if base_dir is not None else Path.cwd()).resolve()
    environ = os.environ if env is None else env
    if not isinstance(data, Mapping):
        raise FileError(file, None, "the configuration must be a TOML document of tables")
    document = dict(data)
    for table in ("store", "settings", "http", "vault"):
        if isinstance(document.get(table), Mapping):
            document[table] = resolve_env(document[table], environ, file=file, where=table)
    try:
        model = _ConfigModel.model_validate(document)
    except ValidationError as error:
        raise explain(
            error, file=file, object_word="a table", known_fields=_toml_known_fields
        ) from None
    connections = {
        name: ConnectionConfig(
            name=name,
            app=conn.app,
            raw={key: value for key, value in (conn.model_extra or {}).items()},
            file=file,
        )
        for name, conn in model.connections.items()
    }
    raw_settings = model.settings
    settings = Settings(
        zaps_dir=_path_setting(raw_settings.zaps_dir, base) or base / "zaps",
        plugins_dir=_path_setting(raw_settings.plugins_dir, base),
        retry_attempts=raw_settings.retry_attempts,
        retry_initial_wait=float(raw_settings.retry_initial_wait),
        retry_max_wait=float(raw_settings.retry_max_wait),
        pause_after_auth_failures=raw_settings.pause_after_auth_failures,
        log_file=_path_setting(raw_settings.log_file, base),
        lease_seconds=float(raw_settings.lease_seconds),
    )
    return Config(
        path=path,
        base_dir=base,
        store_url=_absolute_sqlite(model.store.url, base),
        connections=connections,
        settings=settings,
        http=HttpSettings(
            listen=parse_listen(model.http.listen) if model.http.listen else None,
            token=model.http.token,
        ),
        vault=VaultSettings(key_file=_path_setting(model.vault.key_file, base) or base / KEY_NAME),
    )


MAX_USER_FILE_BYTES = 1024 * 1024
"""The largest zap file or ``zaplite.toml`` zaplite reads (1 MiB); a larger one is refused."""


def read_user_file(path: Path, file: str, kind: str) -> str:
    """The text of a file the user wrote; one clear :class:`FileError` when it cannot be read.

    ``file`` is how messages name it; ``kind`` says what it should be ("zap file").
    Only a regular file (or a link to one) is read, and at most
    :data:`MAX_USER_FILE_BYTES` of it: a FIFO would block the reader for ever and
    ``/dev/zero`` would fill its memory. The file is opened without blocking and
    checked on the open descriptor, so it cannot be swapped in between.
    """
    if path.is_dir():
        raise FileError(file, None, f"is a folder, not a {kind}")
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileError(file, None, f"the {kind} does not exist") from None
    except OSError as error:
        raise FileError(file, None, f"cannot be read ({error.strerror or error})") from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise FileError(
                file, None, f"is not a regular file (a pipe, device or socket), so not a {kind}"
            )
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            raw = handle.read(MAX_USER_FILE_BYTES + 1)
    except OSError as error:
        raise FileError(file, None, f"cannot be read ({error.strerror or error})") from None
    finally:
        os.close(descriptor)
    if len(raw) > MAX_USER_FILE_BYTES:
        raise FileError(
            file,
            None,
            f"is larger than {MAX_USER_FILE_BYTES // 1024 // 1024} MiB, too large for a {kind}",
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileError(file, None, "is not UTF-8 text") from None


def load_config(
    path: Path | None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Read and validate ``path`` (``None``: the defaults, relative to ``cwd``).

    Raises :class:`FileError` for a missing or unreadable file, a TOML syntax error
    (with line and column), unknown tables or keys, wrong types, and a connection
    without ``app``.
    """
    if path is None:
        return parse_config({}, path=None, base_dir=cwd if cwd is not None else Path.cwd(), env=env)
    file = str(path)
    actual = cwd / path if cwd is not None and not path.is_absolute() else path
    text = read_user_file(actual, file, "configuration file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise FileError(file, None, _toml_position(str(error))) from None
    return parse_config(data, path=path, base_dir=actual.parent, env=env)
