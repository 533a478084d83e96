"""One TLS context for every HTTP client a plugin opens in this process.

``httpx`` builds a verifying ``ssl.SSLContext`` for each client it creates, and
loading the certificate authorities into it takes tens of milliseconds of CPU. A
zaplite process opens one client per connection, so plugins pass this shared context
instead:
``httpx.AsyncClient(verify=zaplite.tls.client_context())``. It verifies
certificates as httpx's default does, and honours ``SSL_CERT_FILE`` and
``SSL_CERT_DIR``.
"""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ["client_context"]


@functools.cache
def client_context() -> ssl.SSLContext:
    """The verifying TLS context shared by the process's HTTP clients (made on first use)."""
    return httpx.create_ssl_context()
