"""The emulator's interactive OAuth: consent page, PKCE code exchange, device flow, rotation, revoke.

:class:`Authorizations` is the state behind what a person does in a browser (the
consent page's Allow / Deny, the device page's code) and behind the grants that
follow: ``authorization_code`` (single-use codes, ``redirect_uri`` and the PKCE S256
verifier checked), ``device`` (``authorization_pending`` until approved), and the
refresh tokens it issued, rotated on each refresh when :attr:`rotate_refresh_tokens`
is on (the old one stops working, as Salesforce's "rotate refresh token" policy does).
Bodies and errors follow Salesforce's (see API-NOTES.md).
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from .auth import OAuthError, SalesforceCredentials

__all__ = ["SCOPES", "Authorizations", "consent_page", "device_page", "message_page"]

SCOPES = "api refresh_token offline_access"
"""The scopes the emulated connected app grants."""
CALLBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
"""The emulated app's callback URLs: any loopback URL (``http://localhost:1717/OauthRedirect``)."""
CODE_SECONDS = 15 * 60.0
"""How long an authorization code may be exchanged."""


def s256(verifier: str) -> str:
    """``base64url(sha256(verifier))`` without padding: the PKCE S256 code challenge."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class AuthRequest:
    """An authorization request waiting on the consent page."""

    client_id: str
    redirect_uri: str
    state: str | None
    challenge: str
    scope: str


@dataclass
class Code:
    """An authorization code, until it is exchanged (once) or expires."""

    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    expires: float


@dataclass
class Device:
    """A device-flow request: pending until the person approves or denies it."""

    user_code: str
    client_id: str
    expires: float
    status: str = "pending"  # pending | approved | denied
    last_poll: float = 0.0


@dataclass
class Authorizations:
    """Consent requests, codes, device requests and the refresh tokens the emulator issued.

    ``credentials`` gives the emulator's credentials as they are now (tests replace them):
    their fixed refresh token stays valid until it is rotated away or revoked.
    """

    credentials: Callable[[], SalesforceCredentials]
    rotate_refresh_tokens: bool = False
    """Salesforce's rotation policy: each refresh returns a new refresh token, the old one dies."""
    device_interval: int = 5
    """Seconds a device must wait between polls (``slow_down`` when it polls faster)."""
    device_seconds: float = 600.0
    """How long a device code may be approved."""
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    """Valid refresh tokens this emulator issued, and their scopes."""
    retired: set[str] = field(default_factory=set)
    """Fixed credential refresh tokens that were rotated away or revoked."""
    ever_issued: list[str] = field(default_factory=list)
    """Every refresh token issued, valid or not (for tests that scan for leaked secrets)."""
    revoked: int = 0
    """How many tokens were revoked (for tests)."""
    refused_refreshes: int = 0
    """How many refreshes came with a refresh token that is not (or no longer) valid."""
    _requests: dict[str, AuthRequest] = field(default_factory=dict)
    _codes: dict[str, Code] = field(default_factory=dict)
    _devices: dict[str, Device] = field(default_factory=dict)
    _access: dict[str, set[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ the web-server flow

    def start(self, query: Mapping[str, str]) -> tuple[str, AuthRequest]:
        """Check ``GET /services/oauth2/authorize``; returns the request's id for the consent page.

        Problems that cannot go back to the app (unknown client, foreign redirect URI)
        raise :class:`OAuthError` for an error page; the others raise
        :class:`Redirect` to the app's callback with ``error``.
        """
        if query.get("client_id") != self.credentials().client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        redirect_uri = query.get("redirect_uri", "")
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.netloc.rsplit(":", 1)[0] not in CALLBACK_HOSTS:
            raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
        state = query.get("state")
        if query.get("response_type") != "code":
            raise Redirect(
                redirect_uri, state, "unsupported_response_type", "response type not supported"
            )
        challenge = query.get("code_challenge", "")
        if not challenge:
            raise Redirect(
                redirect_uri, state, "invalid_request", "missing required code challenge"
            )
        if query.get("code_challenge_method", "S256") != "S256":
            raise Redirect(
                redirect_uri, state, "invalid_request", "code challenge method not supported"
            )
        request = AuthRequest(
            client_id=self.credentials().client_id,
            redirect_uri=redirect_uri,
            state=state,
            challenge=challenge,
            scope=query.get("scope") or SCOPES,
        )
        request_id = secrets.token_urlsafe(24)
        with self._lock:
            self._requests[request_id] = request
        return request_id, request

    def decide(self, request_id: str, allow: bool) -> str:
        """The consent page's answer: the callback URL with a code, or with ``access_denied``."""
        with self._lock:
            request = self._requests.pop(request_id, None)
        if request is None:
            raise OAuthError("invalid_request", "this authorization request is over; start again")
        if not allow:
            return Redirect(
                request.redirect_uri,
                request.state,
                "access_denied",
                "end-user denied authorization",
            ).location
        code = "aPrx" + secrets.token_urlsafe(48)
        with self._lock:
            self._codes[code] = Code(
                client_id=request.client_id,
                redirect_uri=request.redirect_uri,
                challenge=request.challenge,
                scope=request.scope,
                expires=time.monotonic() + CODE_SECONDS,
            )
        query = {"code": code}
        if request.state is not None:
            query["state"] = request.state
        return _with_query(request.redirect_uri, query)

    def exchange_code(self, form: Mapping[str, str]) -> dict[str, str]:
        """``grant_type=authorization_code``: the refresh token and scope to add to the body."""
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)
        if code is None:
            raise OAuthError("invalid_grant", "invalid authorization code")
        if code.expires < time.monotonic():
            raise OAuthError("invalid_grant", "expired authorization code")
        if form.get("client_id") != code.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        secret = form.get("client_secret")
        if secret and not secrets.compare_digest(
            secret.encode(), self.credentials().client_secret.encode()
        ):
            raise OAuthError("invalid_client", "invalid client credentials")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri must match configuration")
        verifier = form.get("code_verifier", "")
        if not verifier or not secrets.compare_digest(s256(verifier), code.challenge):
            raise OAuthError("invalid_grant", "invalid code verifier")
        return {"refresh_token": self._new_refresh(code.scope), "scope": code.scope}

    # ------------------------------------------------------------------ the device flow

    def start_device(self, form: Mapping[str, str], base_url: str) -> dict[str, object]:
        """``response_type=device_code``: the device code, the user code and where to enter it."""
        if form.get("client_id") != self.credentials().client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        device_code = secrets.token_urlsafe(32)
        alphabet = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"
        user_code = "".join(secrets.choice(alphabet) for _ in range(8))
        with self._lock:
            self._devices[device_code] = Device(
                user_code=user_code,
                client_id=self.credentials().client_id,
                expires=time.monotonic() + self.device_seconds,
            )
        return {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": f"{base_url}/setup/connect",
            "interval": self.device_interval,
        }

    def find_device(self, user_code: str) -> Device | None:
        """The pending device request of ``user_code`` (case and dashes ignored)."""
        wanted = user_code.strip().upper().replace("-", "")
        with self._lock:
            for device in self._devices.values():
                if device.user_code == wanted and device.status == "pending":
                    return device
        return None

    def poll_device(self, form: Mapping[str, str]) -> dict[str, str]:
        """``grant_type=device``: pending, slow down, denied, expired, or the refresh token."""
        if form.get("client_id") != self.credentials().client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        device_code = form.get("code", "")
        now = time.monotonic()
        with self._lock:
            device = self._devices.get(device_code)
            if device is None:
                raise OAuthError("invalid_grant", "invalid device code")
            if device.expires < now:
                del self._devices[device_code]
                raise OAuthError("invalid_grant", "expired authorization code")
            too_soon = now - device.last_poll < self.device_interval
            device.last_poll = now
            if device.status == "denied":
                del self._devices[device_code]
                raise OAuthError("access_denied", "end-user denied authorization")
            if device.status == "pending":
                if too_soon:
                    raise OAuthError("slow_down", "polling too frequently")
                raise OAuthError("authorization_pending", "authorization pending")
            del self._devices[device_code]
        return {"refresh_token": self._new_refresh(SCOPES), "scope": SCOPES}

    # ------------------------------------------------------------------ refresh tokens

    def _new_refresh(self, scope: str) -> str:
        token = "5Aep861" + secrets.token_urlsafe(60)
        with self._lock:
            self.refresh_tokens[token] = scope
            self.ever_issued.append(token)
        return token

    def refresh(self, token: str) -> str | None:
        """Check a refresh token; returns its replacement when rotation is on (the old one dies)."""
        fixed = self.credentials().refresh_token
        with self._lock:
            scope = self.refresh_tokens.get(token)
            if scope is None and token == fixed and token not in self.retired:
                scope = SCOPES
            if scope is None:
                self.refused_refreshes += 1
                raise OAuthError("invalid_grant", "expired access/refresh token")
            if not self.rotate_refresh_tokens:
                return None
            if token in self.refresh_tokens:
                del self.refresh_tokens[token]
            else:
                self.retired.add(token)
            self._access.pop(token, None)
        return self._new_refresh(scope)

    def issued(self, refresh_token: str | None, access_token: str) -> None:
        """Remember which refresh token an access token came from (revoking one revokes both)."""
        if refresh_token:
            with self._lock:
                self._access.setdefault(refresh_token, set()).add(access_token)

    def revoke(self, token: str) -> list[str] | None:
        """Forget a refresh token; returns the access tokens issued from it, or None if unknown."""
        fixed = self.credentials().refresh_token
        with self._lock:
            if token in self.refresh_tokens:
                del self.refresh_tokens[token]
            elif token == fixed and token not in self.retired:
                self.retired.add(token)
            else:
                return None
            self.revoked += 1
            return sorted(self._access.pop(token, set()))


class Redirect(Exception):
    """An authorization error sent back to the app's callback URL."""

    def __init__(self, redirect_uri: str, state: str | None, error: str, description: str) -> None:
        super().__init__(error)
        query = {"error": error, "error_description": description}
        if state is not None:
            query["state"] = state
        self.location = _with_query(redirect_uri, query)


def _with_query(url: str, query: Mapping[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(query)


# --------------------------------------------------------------------------- pages

_STYLE = (
    "body{font-family:sans-serif;max-width:32rem;margin:4rem auto;color:#181818}"
    "h1{font-size:1.4rem}button{font-size:1rem;padding:.5rem 1.4rem;margin-right:.6rem}"
    ".allow{background:#0176d3;color:#fff;border:0;border-radius:4px}"
)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}"
        f"</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def consent_page(request_id: str, request: AuthRequest, username: str) -> str:
    """The "Allow Access?" page with its two buttons."""
    scopes = "".join(f"<li>{html.escape(s)}</li>" for s in request.scope.split())
    return _page(
        "Allow Access?",
        "<h1>Allow Access?</h1>"
        f"<p>The app <b>zaplite</b> is asking to access the org as "
        f"<b>{html.escape(username)}</b>:</p><ul>{scopes}</ul>"
        '<form method=post action="/services/oauth2/authorize">'
        f'<input type=hidden name=request_id value="{html.escape(request_id)}">'
        "<button class=allow name=decision value=allow id=oaapprove>Allow</button>"
        "<button name=decision value=deny id=oadeny>Deny</button></form>",
    )


def device_page(user_code: str = "", message: str = "") -> str:
    """The device flow's page: enter the code shown by the device, then Allow or Deny."""
    note = f"<p><b>{html.escape(message)}</b></p>" if message else ""
    return _page(
        "Connect Your Device",
        "<h1>Connect Your Device</h1>"
        f"{note}<p>Enter the code shown on your device.</p>"
        '<form method=post action="/setup/connect">'
        f'<input name=user_code id=user_code value="{html.escape(user_code)}" autocomplete=off>'
        "<p><button class=allow name=decision value=allow id=oaapprove>Allow</button>"
        "<button name=decision value=deny id=oadeny>Deny</button></p></form>",
    )


def message_page(title: str, message: str) -> str:
    """A page that only says something (an error, or that the device is connected)."""
    return _page(title, f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>")
