"""The Salesforce client: one pooled ``httpx.AsyncClient``, a cached token renewed on 401, paging.

``connect(settings)`` builds a :class:`SalesforceClient`; polls use
:meth:`SalesforceClient.query` (pages through ``nextRecordsUrl``) and
:meth:`SalesforceClient.describe` (cached per connection). A ``401
INVALID_SESSION_ID`` gets a new token and repeats the request once, also in the
middle of paging; transient faults are raised as
:class:`~zaplite.errors.RetryableError` for the engine to retry by its one policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from zaplite import ApiUse, jsoncodec
from zaplite.errors import AuthError, PluginError, RetryableError
from zaplite.httpresponses import release
from zaplite.tls import client_context
from zaplite_salesforce.auth import Token, fetch_token
from zaplite_salesforce.composite import Gatherer, Sub
from zaplite_salesforce.errors import SessionExpired, error_for_response
from zaplite_salesforce.limits import LimitInfo, parse_limit_info
from zaplite_salesforce.settings import SalesforceSettings

__all__ = ["QueryPage", "SalesforceClient", "connect", "verify_connection"]


@dataclass
class QueryPage:
    """One page of a query's answer, and the API usage Salesforce reported with it."""

    records: list[dict[str, Any]]
    total_size: int | None
    usage: str | None


MAX_CONNECTIONS = 20
"""HTTP connections one Salesforce connection keeps open at most."""

QUERY_URLS_KEPT = 4096
"""How many parsed query URLs a connection keeps (an idle zap sends the same query each poll)."""


class SalesforceClient:
    """A signed-in Salesforce REST client holding one pooled ``httpx.AsyncClient``."""

    def __init__(self, settings: SalesforceSettings) -> None:
        self.settings = settings
        self.http = httpx.AsyncClient(
            verify=client_context(),
            timeout=settings.timeout,
            headers={"Accept": "application/json", "User-Agent": "zaplite-salesforce"},
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=10),
        )
        # Requests wait here rather than in httpx's pool, whose queue gets slow (every freed
        # connection scans all waiting requests) when many zaps poll one connection at once.
        self._gate = asyncio.Semaphore(MAX_CONNECTIONS)
        self.limit_info = LimitInfo()
        self.server_date: datetime | None = None
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        self._describe: dict[str, dict[str, Any]] = {}
        self._describing: dict[str, asyncio.Lock] = {}
        self._query_urls: dict[tuple[str, str, tuple[tuple[str, str], ...]], httpx.URL] = {}
        self.org_id: str | None = None
        """The org this connection signs in to, once a sign-in told it (kept for its life)."""
        self.plans: dict[Any, Any] = {}
        self.gatherer = Gatherer(self)
        self.calls = 0
        """API calls made (a composite call is one; sign-ins and refused sessions are not)."""
        self._calls_reported = 0
        """Polls' first requests falling due together, sent as one composite call."""
        """What polls were planned against this connection's cached describes (``polling.build_plan``)."""

    # ------------------------------------------------------------------ token

    @property
    def api_path(self) -> str:
        """The REST root path for the configured API version (``/services/data/v64.0``)."""
        return f"/services/data/v{self.settings.api_version}"

    @property
    def instance_url(self) -> str | None:
        """The org's instance URL once signed in."""
        return self._token.instance_url if self._token else None

    @property
    def usage(self) -> str | None:
        """The latest ``Sforce-Limit-Info`` summary (``"api-usage=18/5000"``)."""
        return self.limit_info.summary()

    async def token(self) -> Token:
        """The cached token, signing in first when there is none."""
        if self._token is None:
            return await self.renew(None)
        return self._token

    async def renew(self, stale: Token | None) -> Token:
        """Get a new token unless another task already replaced ``stale``."""
        async with self._lock:
            if self._token is not None and self._token is not stale:
                return self._token
            self._token = None
            self._token = await fetch_token(self.http, self.settings)
            return self._token

    async def organization_id(self) -> str:
        """The org of this connection, from the identity URL of its token (signing in if needed)."""
        if self.org_id is None:
            token = await self.token()
            parts = urlsplit(token.identity_url or "").path.rstrip("/").split("/")
            if len(parts) < 3 or parts[-3] != "id" or not parts[-2].startswith("00D"):
                raise PluginError(
                    "Salesforce's sign-in answer had no identity URL naming the org; list the "
                    "org in the zap's organization_ids instead."
                )
            self.org_id = parts[-2]
        return self.org_id

    # ------------------------------------------------------------------ requests

    async def get(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET ``path`` on the instance and return the JSON body.

        An expired session is renewed and the request made again once; a transient fault
        is raised as :class:`~zaplite.errors.RetryableError` for the engine to retry.
        """
        try:
            return await self._request_once("GET", path, params, headers, None)
        except PluginError as error:
            raise self._scrubbed(error) from None

    async def post(self, path: str, body: Any, *, headers: Mapping[str, str] | None = None) -> Any:
        """POST ``body`` as JSON to ``path`` and return the JSON answer (as :meth:`get` does)."""
        try:
            return await self._request_once(
                "POST", path, None, headers, jsoncodec.dumps_bytes(body)
            )
        except PluginError as error:
            raise self._scrubbed(error) from None

    async def get_text(
        self, path: str, *, params: Mapping[str, str] | None = None
    ) -> tuple[str, dict[str, str]]:
        """GET ``path`` and return its body as text with its headers (a Bulk API CSV page)."""
        try:
            return await self._request_once("GET", path, params, None, None, text=True)
        except PluginError as error:
            raise self._scrubbed(error) from None

    async def _request_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        *,
        text: bool = False,
    ) -> Any:
        token = await self.token()
        response = await self._send(token, method, path, params, headers, content)
        if response.status_code == 401:
            token = await self.renew(token)
            response = await self._send(token, method, path, params, headers, content)
        if response.status_code >= 400:
            error = error_for_response(response, usage=self.usage)
            if isinstance(error, SessionExpired):
                raise AuthError(
                    "Salesforce refused a freshly issued access token; check the connected "
                    "app's permissions and the user's API access.",
                    code=error.code,
                )
            raise error
        if text:
            try:
                return response.text, dict(response.headers)
            finally:
                release(response)
        try:
            return jsoncodec.loads(response.content)
        except ValueError:
            raise RetryableError(
                f"Salesforce answered {urlsplit(str(response.url)).path} with something "
                "that is not JSON.",
                code=response.status_code,
            ) from None
        finally:
            release(response)

    async def _send(
        self,
        token: Token,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        content: bytes | None = None,
    ) -> httpx.Response:
        url = self._request_url(token, path, params)
        all_headers = {"Authorization": f"Bearer {token.access_token}", **(headers or {})}
        if content is not None:
            all_headers["Content-Type"] = "application/json"
        try:
            async with self._gate:
                if method == "GET":
                    response = await self.http.get(url, headers=all_headers)
                else:
                    response = await self.http.request(
                        method, url, headers=all_headers, content=content
                    )
        except httpx.TimeoutException:
            raise RetryableError(
                f"Salesforce did not answer within {self.settings.timeout:g} s.", code="timeout"
            ) from None
        except httpx.TransportError as error:
            raise RetryableError(
                f"Cannot reach Salesforce at {url.netloc.decode()} ({type(error).__name__}).",
                code="connection",
            ) from None
        if response.status_code != 401:
            self.calls += 1
        self._note(response)
        return response

    def _request_url(self, token: Token, path: str, params: Mapping[str, str] | None) -> httpx.URL:
        """The URL of a request, as httpx would build it from ``path`` and ``params``.

        A query's URL is parsed once and kept: an idle zap sends the same SOQL at every
        poll, and httpx's parsing and checking of a long query string costs more CPU
        than the rest of the request. Pages after the first (``nextRecordsUrl``, no
        params) are parsed each time, as they are never asked for twice.
        """
        if not params:
            return httpx.URL(self._url(token, path))
        key = (token.instance_url, path, tuple(params.items()))
        url = self._query_urls.get(key)
        if url is None:
            if len(self._query_urls) >= QUERY_URLS_KEPT:
                del self._query_urls[next(iter(self._query_urls))]  # the oldest
            url = httpx.URL(self._url(token, path)).copy_merge_params(params)
            self._query_urls[key] = url
        return url

    def _url(self, token: Token, path: str) -> str:
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
        if not path.startswith("/"):
            path = "/" + path
        return token.instance_url + path

    def _note(self, response: httpx.Response) -> None:
        info = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        if info.entries:
            self.limit_info = info
        date = response.headers.get("Date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                self.server_date = email.utils.parsedate_to_datetime(date).astimezone(UTC)

    def _scrubbed(self, error: PluginError) -> PluginError:
        """Remove any secret or token that found its way into ``error``'s message."""
        secrets = [self._token.access_token if self._token else None]
        for name in ("client_secret", "refresh_token", "password"):
            value = getattr(self.settings, name)
            secrets.append(value.get_secret_value() if value is not None else None)
        message = str(error)
        for secret in secrets:
            if secret and len(secret) >= 4 and secret in message:
                message = message.replace(secret, "***")
        if message != str(error):
            error.args = (message,)
        return error

    # ------------------------------------------------------------------ REST helpers

    def query_headers(self) -> dict[str, str]:
        """The headers of a query request (the page size)."""
        return {"Sforce-Query-Options": f"batchSize={self.settings.page_size}"}

    def query_url(self, soql: str, *, all_rows: bool = False) -> str:
        """The path of a query (``queryAll`` with ``all_rows``) for a composite subrequest."""
        resource = "queryAll" if all_rows else "query"
        return f"{self.api_path}/{resource}?{urlencode({'q': soql})}"

    async def first_pages(self, queries: Sequence[tuple[str, bool]]) -> list[Any]:
        """The first answers of ``(soql, all_rows)`` queries, sent in one call, in order.

        With ``composite`` on (the default) they go out together with the first pages
        of other polls falling due at the same moment (see ``composite.py``).
        """
        if not self.settings.composite:
            return [await self.first_page(soql, all_rows=all_rows) for soql, all_rows in queries]
        return await self.gatherer.get([Sub(soql, all_rows) for soql, all_rows in queries])

    async def first_page(self, soql: str, *, all_rows: bool = False) -> Any:
        """The first answer of a query sent by itself (a ``queryAll`` with ``all_rows``)."""
        resource = "queryAll" if all_rows else "query"
        return await self.get(
            f"{self.api_path}/{resource}", params={"q": soql}, headers=self.query_headers()
        )

    async def query(
        self, soql: str, *, gather: bool = True, all_rows: bool = False
    ) -> AsyncIterator[QueryPage]:
        """Run ``soql`` (through ``queryAll`` with ``all_rows``) and yield its pages.

        The first page is gathered with other polls' (``gather``) into composite calls;
        the next ones follow ``nextRecordsUrl``.
        """
        if gather:
            (body,) = await self.first_pages([(soql, all_rows)])
        else:
            body = await self.first_page(soql, all_rows=all_rows)
        async for page in self.pages_from(body):
            yield page

    async def pages_from(self, body: Any) -> AsyncIterator[QueryPage]:
        """The pages of a query from its first answer ``body`` on, following ``nextRecordsUrl``."""
        headers = self.query_headers()
        while True:
            records = body.get("records") or []
            yield QueryPage(records=records, total_size=body.get("totalSize"), usage=self.usage)
            next_url = body.get("nextRecordsUrl")
            if not next_url or body.get("done") is True:
                return
            body = await self.get(str(next_url), headers=headers)

    async def describe(self, object_name: str) -> dict[str, Any]:
        """The object's describe (cached for the life of the connection)."""
        key = object_name.lower()
        if key not in self._describe:
            # Zaps starting together ask at once: one request answers all of them.
            async with self._describing.setdefault(key, asyncio.Lock()):
                if key not in self._describe:
                    path = f"{self.api_path}/sobjects/{object_name}/describe"
                    self._describe[key] = await self.get(path)
        return self._describe[key]

    def api_use(self) -> ApiUse:
        """The calls made since last asked, the org's allowance and usage, and the budget."""
        calls, self._calls_reported = self.calls - self._calls_reported, self.calls
        usage = self.limit_info.api_usage
        return ApiUse(
            calls=calls,
            allowance=usage.limit if usage else None,
            used=usage.used if usage else None,
            share=self.settings.api_budget,
        )

    async def aclose(self) -> None:
        """Close the pooled HTTP client."""
        await self.http.aclose()


def connect(settings: SalesforceSettings) -> SalesforceClient:
    """Build the client for a connection (it signs in on first use)."""
    return SalesforceClient(settings)


async def verify_connection(client: SalesforceClient) -> str:
    """Sign in and return what was reached: ``"signed in to <host> (API v64.0, api-usage=…)"``."""
    try:
        token = await client.renew(client._token)
    except PluginError as error:
        raise client._scrubbed(error) from None
    await client.get(f"{client.api_path}/limits/")
    host = urlsplit(token.instance_url).netloc
    usage = f", {client.usage}" if client.usage else ""
    return f"signed in to {host} (API v{client.settings.api_version}{usage})"
