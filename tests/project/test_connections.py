"""Which connection settings are secrets: masked where settings are shown, redacted in the console."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from zaplite.project.connections import mask_settings
from zaplite.web.redact import secret_values


class Aliased(BaseModel):
    """A connection model whose secret the config writes under an alias."""

    api_secret: SecretStr = Field(alias="apiSecret")
    region: str = "eu1"


def test_a_secret_field_is_masked_under_its_name_and_its_alias() -> None:
    raw = {"apiSecret": "s3cret-value", "api_secret": "s3cret-value", "region": "eu1"}
    assert mask_settings(raw, Aliased) == {
        "apiSecret": "****",
        "api_secret": "****",
        "region": "eu1",
    }


def test_without_a_model_a_setting_named_like_a_secret_is_masked_and_redacted() -> None:
    raw = {"api_token": "t0ken-value", "db_password": "pw-value", "region": "eu1", "n": 3}
    assert mask_settings(raw, None) == {
        "api_token": "****",
        "db_password": "****",
        "region": "eu1",
        "n": 3,
    }
    assert mask_settings({"api_token": "${API_TOKEN}"}, None) == {"api_token": "${API_TOKEN}"}
    assert secret_values(None, raw) == ["t0ken-value", "pw-value"]
