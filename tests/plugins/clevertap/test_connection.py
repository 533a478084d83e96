"""The connection model, the client it opens, and the plugin's registration through pluggy."""

from __future__ import annotations

import asyncio

import pluggy
import pytest
from pydantic import ValidationError
from zaplite_clevertap import CleverTapConnection, app, register_apps
from zaplite_clevertap.connection import REGIONS, connect

from zaplite import App
from zaplite.plugin import hookspecs

BASE = {"account_id": "ACC-1", "passcode": "secret-passcode"}


def make(**values: object) -> CleverTapConnection:
    return CleverTapConnection.model_validate({**BASE, **values})


def test_defaults_are_eu1_1000_records_and_15_requests() -> None:
    settings = make()
    assert settings.region == "eu1"
    assert settings.base_url == "https://api.clevertap.com"
    assert (settings.batch_size, settings.max_concurrency) == (1000, 15)
    assert "secret-passcode" not in repr(settings)


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_every_region_has_its_host(region: str) -> None:
    assert make(region=region).base_url == f"https://{REGIONS[region]}"


def test_an_unknown_region_lists_the_valid_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        make(region="eu2")
    message = str(caught.value)
    assert "'eu2'" in message
    assert "eu1, in1, sg1, us1, aps3, mec1" in message


def test_endpoint_overrides_the_region() -> None:
    settings = make(region="in1", endpoint="http://127.0.0.1:8082/")
    assert settings.base_url == "http://127.0.0.1:8082"
    assert settings.where == "account ACC-1 in region in1 via http://127.0.0.1:8082"
    with pytest.raises(ValidationError, match="http"):
        make(endpoint="127.0.0.1:8082")


@pytest.mark.parametrize(
    "values",
    [
        {"batch_size": 1001},
        {"batch_size": 0},
        {"max_concurrency": 16},
        {"max_concurrency": 0},
        {"timeout": 0},
        {"pascode": "typo"},
        {"account_id": ""},
    ],
)
def test_out_of_range_or_unknown_settings_are_refused(values: dict) -> None:
    with pytest.raises(ValidationError):
        make(**values)


def test_the_client_pools_one_http_client_and_closes_it() -> None:
    async def main() -> None:
        client = connect(make())
        assert client.upload_url == "https://api.clevertap.com/1/upload"
        assert client.headers(masked=True)["X-CleverTap-Passcode"] == "****"
        assert client.headers()["X-CleverTap-Passcode"] == "secret-passcode"
        assert "secret-passcode" not in repr(client)
        await client.aclose()
        assert client.http.is_closed

    asyncio.run(main())


def test_the_plugin_registers_its_app_through_the_hook() -> None:
    manager = pluggy.PluginManager("zaplite")
    manager.add_hookspecs(hookspecs)
    manager.register(__import__("zaplite_clevertap"))
    manager.check_pending()
    registered: list[App] = []
    manager.hook.register_apps(register=registered.append)
    assert registered == [app]
    assert sorted(app.actions) == ["delete_profile", "upload_event", "upload_profile"]
    for action in app.actions.values():
        assert action.perform_batch is not None and action.batch_size == 1000
        assert action.preview_request is not None
        assert action.sample_output["status"] == "success"
        assert action.description
    assert app.connection is CleverTapConnection
    assert callable(register_apps)
