"""A small shop REST API on loopback: what the README's example plugin talks to.

``GET /me``, ``GET /orders/latest``, ``GET /orders?after=ID&status=S`` (at most
``page_size`` orders, oldest first) and ``POST /tags`` (many tags, one result each).
Every request needs ``Authorization: Bearer <api_key>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Shop:
    """The shop's orders and the tags it was sent."""

    api_key: str = "test"
    name: str = "Test Shop"
    page_size: int = 2
    orders: list[dict[str, Any]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def add_order(self, email: str, total: float, status: str = "paid") -> dict[str, Any]:
        """A new order, with the next id."""
        order = {"id": len(self.orders) + 1, "email": email, "total": total, "status": status}
        self.orders.append(order)
        return order

    def app(self) -> Starlette:
        """The shop's API as an ASGI app."""

        def refused(request: Request) -> JSONResponse | None:
            self.requests.append(f"{request.method} {request.url.path}")
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return JSONResponse({"error": "invalid API key"}, status_code=401)
            return None

        async def me(request: Request) -> JSONResponse:
            return refused(request) or JSONResponse({"name": self.name})

        async def latest(request: Request) -> JSONResponse:
            return refused(request) or JSONResponse(
                {"id": self.orders[-1]["id"] if self.orders else 0}
            )

        async def orders(request: Request) -> JSONResponse:
            if answer := refused(request):
                return answer
            after = int(request.query_params.get("after", "0"))
            status = request.query_params.get("status")
            found = [
                order
                for order in self.orders
                if order["id"] > after and (status is None or order["status"] == status)
            ]
            return JSONResponse({"orders": found[: self.page_size]})

        async def tag(request: Request) -> JSONResponse:
            if answer := refused(request):
                return answer
            results = []
            for item in (await request.json())["tags"]:
                if "@" not in item["email"]:
                    results.append(
                        {"ok": False, "error": "not an email address", "code": "bad_email"}
                    )
                    continue
                self.tags.append((item["email"], item["tag"]))
                results.append({"ok": True})
            return JSONResponse({"results": results})

        return Starlette(
            routes=[
                Route("/me", me),
                Route("/orders/latest", latest),
                Route("/orders", orders),
                Route("/tags", tag, methods=["POST"]),
            ]
        )
