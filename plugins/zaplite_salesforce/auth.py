"""OAuth 2.0 sign-in against ``{login_url}/services/oauth2/token`` for the four grants.

:func:`fetch_token` posts the grant's form and returns a :class:`Token`; a 4xx
answer is an :class:`~zaplite.errors.AuthError` carrying Salesforce's own
``error_description`` (never a secret), and is not retried.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field

import httpx

from zaplite import KeptSecret
from zaplite.errors import AuthError, RetryableError
from zaplite_salesforce.errors import token_error
from zaplite_salesforce.settings import SalesforceSettings

__all__ = ["JWT_GRANT", "Token", "fetch_token", "jwt_assertion", "token_request"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Token:
    """An access token and the instance it is valid for."""

    access_token: str = field(repr=False)
    instance_url: str
    identity_url: str | None = None
    """The ``id`` of the token answer: ``{login}/id/{organization id}/{user id}``."""
    issued_at: float = field(default_factory=time.time)


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if getter else value or "")


def jwt_assertion(settings: SalesforceSettings, *, now: float | None = None) -> str:
    """The RS256 JWT of the jwt-bearer grant (``iss`` client id, ``sub`` user, ``aud`` login)."""
    path = settings.private_key_file
    if path is None:
        raise AuthError("auth = 'jwt' needs 'private_key_file'.")
    try:
        key = path.read_bytes()
    except OSError as error:
        raise AuthError(
            f"Cannot read the Salesforce private key file {path}: {error.strerror}."
        ) from None
    # Imported here: PyJWT loads the cryptography package (a tenth of a second of every
    # start-up), and only the JWT sign-in needs it.
    import jwt

    issued = int(now if now is not None else time.time())
    claims = {
        "iss": settings.client_id,
        "sub": settings.username,
        "aud": settings.login_url,
        "exp": issued + 180,
    }
    try:
        return jwt.encode(claims, key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError):
        raise AuthError(
            f"The Salesforce private key file {path} is not a valid RSA private key (PEM)."
        ) from None


def token_request(
    settings: SalesforceSettings, *, refresh_token: str | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """The ``(form, headers)`` of the token request for the configured grant.

    ``refresh_token`` overrides the settings' one (the value the vault holds now).
    """
    headers: dict[str, str] = {"Accept": "application/json"}
    client_id = settings.client_id or ""
    if settings.auth == "refresh_token":
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token or _secret(settings.refresh_token),
            "client_id": client_id,
        }
        if settings.client_secret is not None:
            form["client_secret"] = _secret(settings.client_secret)
    elif settings.auth == "password":
        form = {
            "grant_type": "password",
            "client_id": client_id,
            "client_secret": _secret(settings.client_secret),
            "username": settings.username or "",
            "password": _secret(settings.password),
        }
    elif settings.auth == "jwt":
        form = {"grant_type": JWT_GRANT, "assertion": jwt_assertion(settings)}
    else:
        pair = f"{client_id}:{_secret(settings.client_secret)}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        form = {"grant_type": "client_credentials"}
    return form, headers


async def fetch_token(http: httpx.AsyncClient, settings: SalesforceSettings) -> Token:
    """Sign in with the configured grant and return the new token.

    A refresh token zaplite keeps (a :class:`~zaplite.KeptSecret`) is used through its
    ``rotate``: when Salesforce answers with a new refresh token (the app rotates them),
    zaplite saves it before this returns the access token that came with it.
    """
    secret = settings.refresh_token
    if settings.auth == "refresh_token" and isinstance(secret, KeptSecret):

        async def exchange(current: str) -> tuple[Token, str | None]:
            form, headers = token_request(settings, refresh_token=current)
            body = await _post_token(http, settings, form, headers)
            rotated = body.get("refresh_token")
            return _token_of(body, settings), str(rotated) if rotated else None

        return await secret.rotate(exchange)
    form, headers = token_request(settings)
    return _token_of(await _post_token(http, settings, form, headers), settings)


async def _post_token(
    http: httpx.AsyncClient,
    settings: SalesforceSettings,
    form: dict[str, str],
    headers: dict[str, str],
) -> dict[str, object]:
    """POST the token request; the answer's JSON body, or the error it means."""
    url = f"{settings.login_url}/services/oauth2/token"
    try:
        response = await http.post(url, data=form, headers=headers)
    except httpx.TimeoutException:
        raise RetryableError(
            f"Signing in to Salesforce at {settings.login_url} timed out.", code="timeout"
        ) from None
    except httpx.TransportError as error:
        raise RetryableError(
            f"Cannot reach the Salesforce sign-in service at {settings.login_url} "
            f"({type(error).__name__}).",
            code="connection",
        ) from None
    if response.status_code >= 400:
        raise token_error(response, settings.auth, settings.login_url)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise AuthError(
            f"The Salesforce sign-in service at {settings.login_url} "
            "answered without an access token and instance URL."
        )
    return body


def _token_of(body: dict[str, object], settings: SalesforceSettings) -> Token:
    try:
        access_token = str(body["access_token"])
        instance_url = str(body["instance_url"]).rstrip("/")
    except (ValueError, KeyError, TypeError):
        raise AuthError(
            f"The Salesforce sign-in service at {settings.login_url} "
            "answered without an access token and instance URL."
        ) from None
    identity = body.get("id")
    return Token(
        access_token=access_token,
        instance_url=instance_url,
        identity_url=str(identity) if isinstance(identity, str) else None,
    )
