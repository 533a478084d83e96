"""Letting go of an httpx response as soon as it has been read.

An httpx response and its stream refer to each other (the stream sets the response's
``elapsed`` when it closes), so a response that has been read is freed only by the
cyclic garbage collector, with its body: a 2,000-record Salesforce page is most of a
megabyte. zaplite runs that collector rarely (see :mod:`zaplite.engine.gctune`), so plugins
that read large bodies call :func:`release` once they are done with a response.
"""

from __future__ import annotations

import httpx

__all__ = ["release"]


def release(response: httpx.Response) -> None:
    """Break the response's reference cycle so that it is freed by reference counting.

    Call it after the body has been read (``response.content``); the response stays
    usable for everything but streaming its body again.
    """
    if response.is_closed:
        response.stream = httpx.ByteStream(b"")
