"""The errors zaplite shows to its users, and the typed errors plugins raise.

Every message here is written to be shown as it is: one sentence that says what
is wrong and where. The CLI prints ``str(error)`` and exits with ``exit_code``.

Plugins raise the :class:`PluginError` family from their poll and perform
functions; the engine decides from the class whether to retry, fail the task,
re-authenticate or pause the zap.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "FileError",
    "ParamsRejected",
    "PermanentError",
    "PluginError",
    "QuotaExceeded",
    "RateLimited",
    "RetryableError",
    "StartupError",
    "UsageError",
    "ZapliteError",
]


class ZapliteError(Exception):
    """Base of every error zaplite shows to a user; the message is shown as is."""

    exit_code: int = 1


class UsageError(ZapliteError):
    """Bad input from the user (a file, a flag, an argument): exit code 2."""

    exit_code = 2


class FileError(UsageError):
    """A file the user wrote (``zaplite.toml``, a zap file) is wrong: names the file, the field and the reason.

    Raised by zaplite itself, never by plugins: a plugin whose service refuses a zap's
    params raises :class:`ParamsRejected`.
    """

    def __init__(self, file: str | None, field: str | None, reason: str) -> None:
        self.file = file
        self.field = field
        self.reason = reason.rstrip(".")
        where = ": ".join(part for part in (file, field) if part)
        super().__init__(f"{where}: {self.reason}." if where else f"{self.reason}.")


class StartupError(UsageError):
    """A plugin could not be loaded or registered something invalid."""


class PluginError(ZapliteError):
    """Base of the errors a plugin raises from a poll, perform or test function.

    ``code`` is the service's own error code where it has one (``"INVALID_FIELD"``,
    ``523``); the message should be the service's own words.
    """

    def __init__(self, message: str, *, code: str | int | None = None) -> None:
        super().__init__(message)
        self.code = code


class RetryableError(PluginError):
    """A transient fault (timeout, connection reset, 5xx): the engine retries with backoff.

    ``retry_after`` (seconds) is honoured when the service said how long to wait.
    """

    def __init__(
        self, message: str, *, code: str | int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class RateLimited(RetryableError):
    """The service asked us to slow down (HTTP 429); retried after ``retry_after``."""


class AuthError(PluginError):
    """The credentials were refused and could not be renewed.

    Raise it only after the plugin's own renewal (a new access token) failed. A zap
    whose authentication keeps failing is paused by the engine.
    """


class PermanentError(PluginError):
    """The service refused the request for good (a 4xx validation error): not retried."""


class ParamsRejected(PermanentError):
    """The service rejected what the zap's params ask for (an unknown field or object): fix the zap.

    Raised by plugins (Salesforce's ``INVALID_FIELD``, say). Not retried; the run fails
    with the service's message.
    """


class QuotaExceeded(PluginError):
    """The service's usage quota is spent; polling waits ``retry_after`` seconds (or long)."""

    def __init__(
        self, message: str, *, code: str | int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
