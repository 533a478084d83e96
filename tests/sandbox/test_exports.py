"""What the README offers plugin authors from ``zaplite.sandbox`` is importable from there."""

from __future__ import annotations

import pytest


def test_the_emulators_and_the_server_helpers_import_from_the_package() -> None:
    from zaplite.sandbox import (
        CleverTapEmulator,
        RunningServer,
        SalesforceEmulator,
        free_port,
        serve_in_thread,
    )

    assert SalesforceEmulator.__name__ == "SalesforceEmulator"
    assert CleverTapEmulator.__name__ == "CleverTapEmulator"
    assert callable(serve_in_thread) and callable(free_port) and RunningServer


def test_an_unknown_name_is_an_attribute_error() -> None:
    import zaplite.sandbox

    with pytest.raises(AttributeError):
        zaplite.sandbox.Nothing  # noqa: B018
