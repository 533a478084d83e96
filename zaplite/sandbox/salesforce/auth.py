"""OAuth 2.0 for the emulator: its fake credentials, access tokens, and the four token grants.

The credentials are the emulator's own fake ones (nothing here is a real secret);
:class:`SalesforceCredentials` still masks them in its ``repr`` so that tests and logs
never show them, as the rest of zaplite does with real secrets.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

if TYPE_CHECKING:
    from .oauthflows import Authorizations

__all__ = [
    "JWT_GRANT",
    "OAuthError",
    "SalesforceCredentials",
    "TokenStore",
    "default_credentials",
    "grant_token",
]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
STANDARD_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


@lru_cache(maxsize=1)
def _private_key_pem() -> str:
    """One RSA key per process (generating one takes a while), as PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@dataclass(frozen=True)
class SalesforceCredentials:
    """The emulator's fake connected-app and user credentials, for every OAuth grant."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    username: str
    password: str = field(repr=False)
    private_key_pem: str = field(repr=False)

    @property
    def public_key_pem(self) -> str:
        """The public half of :attr:`private_key_pem` (what the connected app's certificate holds)."""
        key = serialization.load_pem_private_key(self.private_key_pem.encode(), password=None)
        return (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def as_dict(self) -> dict[str, str]:
        """All fields as a dict (for the admin API and for writing a sandbox config)."""
        return asdict(self)


def default_credentials() -> SalesforceCredentials:
    """Fixed fake credentials (stable across runs, so a sandbox config can name them) and a key."""
    return SalesforceCredentials(
        client_id="3MVG9zaplite.sandbox.consumer.key.0000000000000000000000000000000000000000000",
        client_secret="ZAPLITE0SANDBOX0CONSUMER0SECRET0",
        refresh_token="5Aep861zaplite.sandbox.refresh.token.000000000000000000000000000000000",
        username="integration@zaplite.sandbox",
        password="sandbox-passwordSECURITYTOKEN",
        private_key_pem=_private_key_pem(),
    )


class OAuthError(Exception):
    """A refused token request: ``error`` and ``error_description`` as Salesforce sends them."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        """The JSON error body of the token endpoint."""
        return {"error": self.error, "error_description": self.description}


class TokenStore:
    """Issued access tokens and when they expire; thread-safe."""

    def __init__(self, org_id: str, ttl: float = 7200.0) -> None:
        self.org_id = org_id
        self.ttl = ttl
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        """A new access token, valid for :attr:`ttl` seconds."""
        token = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(72)}"
        with self._lock:
            self._tokens[token] = time.monotonic() + self.ttl
        return token

    def valid(self, token: str) -> bool:
        """Whether ``token`` was issued and has neither expired nor been revoked."""
        with self._lock:
            expiry = self._tokens.get(token)
            if expiry is None:
                return False
            if expiry < time.monotonic():
                del self._tokens[token]
                return False
            return True

    def revoke(self, token: str) -> bool:
        """Revoke one access token; true if it was valid."""
        with self._lock:
            return self._tokens.pop(token, None) is not None

    def expire_all(self) -> None:
        """Revoke every access token (as a session timeout or a password reset does)."""
        with self._lock:
            self._tokens.clear()


def _same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted secret with the expected one."""
    return secrets.compare_digest((given or "").encode(), expected.encode())


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` from an ``Authorization: Basic`` header, if there is one."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def _check_client(
    creds: SalesforceCredentials,
    client_id: str | None,
    secret: str | None,
    *,
    secret_required: bool,
) -> None:
    if client_id != creds.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if (secret_required or secret) and not _same(secret, creds.client_secret):
        raise OAuthError("invalid_client", "invalid client credentials")


def _check_assertion(creds: SalesforceCredentials, assertion: str, login_url: str) -> None:
    """Verify a JWT bearer assertion: RS256 by our key, iss, sub, aud and exp."""
    audiences = [login_url, login_url + "/", *STANDARD_AUDIENCES]
    try:
        claims = jwt.decode(
            assertion,
            creds.public_key_pem,
            algorithms=["RS256"],
            audience=audiences,
            options={"require": ["iss", "sub", "aud", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise OAuthError("invalid_grant", "expired authorization code") from None
    except jwt.InvalidAudienceError:
        raise OAuthError("invalid_grant", "audience is invalid") from None
    except jwt.PyJWTError:
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if claims.get("iss") != creds.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if claims.get("sub") != creds.username:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")


def grant_token(
    creds: SalesforceCredentials,
    form: Mapping[str, str],
    *,
    authorization: str | None,
    login_url: str,
    user_id: str,
    tokens: TokenStore,
    flows: Authorizations | None = None,
) -> dict[str, Any]:
    """Handle one ``POST /services/oauth2/token``: the success body, or raise :class:`OAuthError`.

    ``login_url`` is the emulator's own base URL, which is both the login host (the JWT
    audience) and the ``instance_url`` handed back. ``flows`` holds the interactive
    grants (authorization code, device) and the refresh tokens issued; without it the
    credentials' one refresh token is the only one.
    """
    grant = form.get("grant_type")
    extra: dict[str, Any] = {}
    refresh_used: str | None = None
    if flows is not None and form.get("response_type") == "device_code":
        return flows.start_device(form, login_url)
    if grant == "authorization_code" and flows is not None:
        extra = flows.exchange_code(form)
    elif grant == "device" and flows is not None:
        extra = flows.poll_device(form)
    elif grant == "password":
        _check_client(creds, form.get("client_id"), form.get("client_secret"), secret_required=True)
        if form.get("username") != creds.username or not _same(
            form.get("password"), creds.password
        ):
            raise OAuthError("invalid_grant", "authentication failure")
    elif grant == "refresh_token":
        _check_client(
            creds, form.get("client_id"), form.get("client_secret"), secret_required=False
        )
        if flows is not None:
            refresh_used = form.get("refresh_token") or ""
            rotated = flows.refresh(refresh_used)
            if rotated is not None:
                extra = {"refresh_token": rotated}
                refresh_used = rotated
        elif not _same(form.get("refresh_token"), creds.refresh_token):
            raise OAuthError("invalid_grant", "expired access/refresh token")
    elif grant == JWT_GRANT:
        assertion = form.get("assertion")
        if not assertion:
            raise OAuthError("invalid_grant", "invalid assertion")
        _check_assertion(creds, assertion, login_url)
    elif grant == "client_credentials":
        pair = _basic_auth(authorization) or (form.get("client_id"), form.get("client_secret"))
        if pair[0] != creds.client_id or not _same(pair[1], creds.client_secret):
            raise OAuthError("invalid_client", "invalid client credentials")
    else:
        raise OAuthError("unsupported_grant_type", "grant type not supported")
    access_token = tokens.issue()
    if flows is not None:
        flows.issued(extra.get("refresh_token") or refresh_used, access_token)
    issued_at = str(int(time.time() * 1000))
    signature = base64.b64encode(secrets.token_bytes(32)).decode()
    return {
        "access_token": access_token,
        **({"refresh_token": extra["refresh_token"]} if "refresh_token" in extra else {}),
        "instance_url": login_url,
        "id": f"{login_url}/id/{tokens.org_id}/{user_id}",
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature,
        **({"scope": extra["scope"]} if "scope" in extra else {}),
    }
