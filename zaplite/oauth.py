"""OAuth 2.0 for a person at the keyboard: PKCE, a loopback callback, the device flow.

What ``zaplite connect`` needs to obtain a refresh token the way ``sf org login web``
does, in Salesforce's shapes (API-NOTES.md): :func:`pkce_pair` and
:func:`authorize_url` for the web-server flow, :class:`CallbackServer` for the answer
on ``http://localhost:PORT/OauthRedirect``, :func:`exchange_code`, the device flow
(:func:`start_device`, :func:`poll_device`), :func:`revoke` and :func:`identity`.
Every failure is an :class:`OAuthFlowError` of one sentence; no token or code is ever
put in a message.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from zaplite.errors import ZapliteError

__all__ = [
    "CALLBACK_PATH",
    "SCOPES",
    "CallbackServer",
    "DeviceStart",
    "OAuthFlowError",
    "authorize_url",
    "exchange_code",
    "identity",
    "pkce_pair",
    "poll_device",
    "revoke",
    "start_device",
]

CALLBACK_PATH = "/OauthRedirect"
"""The callback path the Salesforce CLI uses (``http://localhost:1717/OauthRedirect``)."""
SCOPES = "api refresh_token offline_access"
"""The scopes zaplite asks for: the REST API, and a refresh token for the daemon."""


class OAuthFlowError(ZapliteError):
    """Connecting an account failed (denied, timed out, refused): one sentence, exit code 1."""


def pkce_pair() -> tuple[str, str]:
    """A random ``code_verifier`` (64 characters) and its S256 ``code_challenge``."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(
    login_url: str, client_id: str, redirect_uri: str, state: str, challenge: str
) -> str:
    """The ``/services/oauth2/authorize`` URL to send the person to."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": SCOPES,
    }
    return f"{login_url}/services/oauth2/authorize?{urlencode(query)}"


# --------------------------------------------------------------------------- the callback


_DONE_PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>zaplite</title></head>"
    "<body style='font-family:sans-serif;max-width:32rem;margin:4rem auto'>"
    "<h1>{title}</h1><p>{message}</p></body></html>"
)


@dataclass
class CallbackServer:
    """A one-shot HTTP server on ``127.0.0.1:port`` waiting for the authorization redirect.

    Use as a context manager; :meth:`wait` returns the callback's query parameters
    (``code`` and ``state``, or ``error``). The browser is shown a short page saying
    whether to go back to the terminal.
    """

    port: int
    _answer: dict[str, str] | None = None
    _arrived: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> CallbackServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH or owner._arrived.is_set():
                    self.send_error(404)
                    return
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                if "error" in query:
                    title, message = "Not connected", "zaplite was not given access."
                else:
                    title = "Connected"
                    message = "zaplite has its answer: you can close this tab."
                body = _DONE_PAGE.format(title=html.escape(title), message=html.escape(message))
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)
                owner._answer = query
                owner._arrived.set()

            def log_message(self, format: str, *args: Any) -> None:
                """Say nothing: the request line holds the authorization code."""

        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        except OSError as error:
            raise OAuthFlowError(
                f"Cannot listen for the sign-in answer on localhost:{self.port} "
                f"({error.strerror or error}); free the port or choose another with "
                "--callback-port (and add its URL to the app's callback URLs)."
            ) from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def redirect_uri(self) -> str:
        """``http://localhost:PORT/OauthRedirect``."""
        return f"http://localhost:{self.port}{CALLBACK_PATH}"

    def wait(self, timeout: float) -> dict[str, str]:
        """The callback's query parameters, waiting at most ``timeout`` seconds.

        Waits in short steps so that Ctrl-C (``KeyboardInterrupt``) is felt at once.
        """
        deadline = time.monotonic() + timeout
        while not self._arrived.wait(0.2):
            if time.monotonic() >= deadline:
                raise OAuthFlowError(
                    f"No answer came back from the sign-in page within {timeout:g} s "
                    "(--timeout); nothing was saved."
                )
        assert self._answer is not None
        return self._answer


# --------------------------------------------------------------------------- token endpoint


def _post(http: httpx.Client, url: str, form: Mapping[str, str], what: str) -> httpx.Response:
    try:
        return http.post(url, data=dict(form), headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise OAuthFlowError(
            f"Cannot reach {urlsplit(url).netloc} to {what} ({type(error).__name__})."
        ) from None


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return str(body.get("error", "")), str(body.get("error_description", ""))
    return "", response.text[:200]


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise OAuthFlowError(f"The answer to {what} was not a JSON object.")
    return body


def exchange_code(
    http: httpx.Client,
    login_url: str,
    *,
    client_id: str,
    code: str,
    redirect_uri: str,
    verifier: str,
    client_secret: str | None = None,
) -> dict[str, Any]:
    """``grant_type=authorization_code`` with the PKCE verifier: the token response."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "code_verifier": verifier,
    }
    if client_secret:
        form["client_secret"] = client_secret
    response = _post(http, f"{login_url}/services/oauth2/token", form, "exchange the code")
    if response.status_code != 200:
        error, description = _error_of(response)
        raise OAuthFlowError(
            f"Salesforce refused to exchange the authorization code "
            f"({error or response.status_code}: {description or 'no description'})."
        )
    return _checked_tokens(_json_object(response, "the code exchange"))


def _checked_tokens(body: dict[str, Any]) -> dict[str, Any]:
    for key in ("access_token", "refresh_token", "instance_url"):
        if not isinstance(body.get(key), str) or not body[key]:
            hint = (
                " (add the refresh_token and offline_access scopes to the app)"
                if key == "refresh_token"
                else ""
            )
            raise OAuthFlowError(f"Salesforce's token answer has no {key}{hint}.")
    return body


@dataclass(frozen=True)
class DeviceStart:
    """What the device flow's first request answers: codes, where to go, how often to poll."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    interval: float


def start_device(http: httpx.Client, login_url: str, client_id: str) -> DeviceStart:
    """``response_type=device_code``: a device code and the user code to enter."""
    form = {"response_type": "device_code", "client_id": client_id, "scope": SCOPES}
    response = _post(http, f"{login_url}/services/oauth2/token", form, "start the device flow")
    if response.status_code != 200:
        error, description = _error_of(response)
        raise OAuthFlowError(
            f"Salesforce refused to start the device flow ({error or response.status_code}: "
            f"{description or 'no description'}); is the device flow enabled for the app?"
        )
    body = _json_object(response, "the device flow's start")
    try:
        return DeviceStart(
            device_code=str(body["device_code"]),
            user_code=str(body["user_code"]),
            verification_uri=str(body["verification_uri"]),
            interval=max(float(body["interval"] if body.get("interval") is not None else 5), 0.0),
        )
    except (KeyError, TypeError, ValueError):
        raise OAuthFlowError(
            "Salesforce's answer to the device flow's start is incomplete."
        ) from None


def poll_device(
    http: httpx.Client,
    login_url: str,
    client_id: str,
    start: DeviceStart,
    *,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll ``grant_type=device`` every ``interval`` seconds until approval, denial or expiry."""
    deadline = time.monotonic() + timeout
    interval = start.interval
    url = f"{login_url}/services/oauth2/token"
    form = {"grant_type": "device", "client_id": client_id, "code": start.device_code}
    while True:
        if time.monotonic() >= deadline:
            raise OAuthFlowError(
                f"The code {start.user_code} was not approved within {timeout:g} s (--timeout); "
                "nothing was saved."
            )
        sleep(interval)
        response = _post(http, url, form, "poll the device flow")
        if response.status_code == 200:
            return _checked_tokens(_json_object(response, "the device flow"))
        error, description = _error_of(response)
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5
            continue
        if error == "access_denied":
            raise OAuthFlowError("Access was denied on the device page; nothing was saved.")
        if error in ("expired_token", "invalid_grant") and "expired" in description.lower():
            raise OAuthFlowError(
                f"The code {start.user_code} expired before it was approved; nothing was saved."
            )
        raise OAuthFlowError(
            f"Salesforce refused the device flow ({error or response.status_code}: "
            f"{description or 'no description'})."
        )


# --------------------------------------------------------------------------- after sign-in


def revoke(http: httpx.Client, login_url: str, token: str) -> None:
    """``POST /services/oauth2/revoke``: the token (and those issued from it) stop working."""
    response = _post(http, f"{login_url}/services/oauth2/revoke", {"token": token}, "revoke")
    if response.status_code != 200:
        error, description = _error_of(response)
        raise OAuthFlowError(
            f"Salesforce refused to revoke the token ({error or response.status_code}: "
            f"{description or 'no description'})."
        )


def identity(http: httpx.Client, id_url: str, access_token: str) -> dict[str, Any] | None:
    """The identity URL's answer (``username``, ``organization_id``...), or ``None`` if it fails."""
    try:
        response = http.get(id_url, headers={"Authorization": f"Bearer {access_token}"})
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
