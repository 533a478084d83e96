"""Pure unit tests of the Salesforce plugin: SOQL building, limits, settings, errors, cursors."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError
from zaplite_salesforce import NewRecordParams, UpdatedRecordParams, app
from zaplite_salesforce.auth import jwt_assertion, token_request
from zaplite_salesforce.errors import QueryLocatorExpired, error_for_response, token_error
from zaplite_salesforce.limits import parse_limit_info
from zaplite_salesforce.polling import Cursor, Plan, Position
from zaplite_salesforce.records import clean_record, get_path
from zaplite_salesforce.settings import SalesforceSettings
from zaplite_salesforce.soql import (
    after_keyset,
    build_select,
    check_field_name,
    datetime_literal,
    equality_conditions,
    escape_string,
    literal,
    parse_datetime,
)

from zaplite.errors import (
    AuthError,
    ParamsRejected,
    PermanentError,
    QuotaExceeded,
    RateLimited,
    RetryableError,
)


def test_escape_string_escapes_quotes_and_backslashes() -> None:
    assert escape_string("O'Brien") == "O\\'Brien"
    assert escape_string("a\\b") == "a\\\\b"
    assert escape_string("' OR Id != '") == "\\' OR Id != \\'"
    assert escape_string("line\nnext") == "line\\nnext"


def test_literal_forms() -> None:
    assert literal("x") == "'x'"
    assert literal(None) == "null"
    assert literal(True) == "TRUE"
    assert literal(3) == "3"
    assert literal(2.5) == "2.5"
    assert literal("2026-01-08T01:02:03Z", "datetime") == "2026-01-08T01:02:03Z"
    assert literal("2026-01-08", "date") == "2026-01-08"
    with pytest.raises(ValueError):
        literal("2026-01-08 OR Id != null", "date")
    with pytest.raises(ValueError):
        literal("not a time", "datetime")
    with pytest.raises(ValueError):
        literal(float("nan"))


def test_equality_conditions_with_in_list() -> None:
    conditions = equality_conditions({"StageName": ["Closed Won", "Prospect"], "IsDeleted": False})
    assert conditions == ["StageName IN ('Closed Won', 'Prospect')", "IsDeleted = FALSE"]


@pytest.mark.parametrize("name", ["Id; DELETE", "Name OR 1=1", "a..b", "1abc", "", "Owner.", "a b"])
def test_bad_field_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        check_field_name(name)
    with pytest.raises(ValueError):
        equality_conditions({name: "x"})


def test_datetime_literal_and_parse_round_trip() -> None:
    stamp = parse_datetime("2026-05-08T21:20:00.000+0000")
    assert stamp == datetime(2026, 5, 8, 21, 20, tzinfo=UTC)
    assert datetime_literal(stamp) == "2026-05-08T21:20:00Z"
    with_ms = parse_datetime("2026-05-08T21:20:00.123+0200")
    assert datetime_literal(with_ms) == "2026-05-08T19:20:00.123Z"


def test_keyset_condition() -> None:
    stamp = datetime(2026, 1, 8, 1, 2, 3, tzinfo=UTC)
    assert after_keyset("SystemModstamp", stamp, "003A") == (
        "(SystemModstamp > 2026-01-08T01:02:03Z OR "
        "(SystemModstamp = 2026-01-08T01:02:03Z AND Id > '003A'))"
    )
    assert after_keyset("CreatedDate", stamp, None) == "CreatedDate >= 2026-01-08T01:02:03Z"


def test_build_select() -> None:
    query = build_select("Contact", ["Id", "Owner.Name"], ["A = 'x'"], ["CreatedDate", "Id"], 5)
    assert query == (
        "SELECT Id, Owner.Name FROM Contact WHERE A = 'x' ORDER BY CreatedDate, Id LIMIT 5"
    )
    with pytest.raises(ValueError):
        build_select("Contact WHERE", ["Id"])


@pytest.mark.parametrize(
    ("header", "summary", "count"),
    [
        ("api-usage=18/5000", "api-usage=18/5000", 1),
        ("api-usage=25/5000; per-app-api-usage=17/250(appName=x)", "api-usage=25/5000", 2),
        ("api-usage=10018/100000; api-bursts=1/750", "api-usage=10018/100000", 2),
        ("per-app-api-usage=17/250(appName=x)", "per-app-api-usage=17/250", 1),
        ("garbage; api-usage=x/y; =1/2", None, 0),
        ("", None, 0),
        (None, None, 0),
        ("api-usage=1/2;;junk=;api-bursts=3/4", "api-usage=1/2", 2),
    ],
)
def test_limit_info_is_parsed_tolerantly(
    header: str | None, summary: str | None, count: int
) -> None:
    info = parse_limit_info(header)
    assert info.summary() == summary
    assert len(info.entries) == count


def test_limit_info_note() -> None:
    info = parse_limit_info("api-usage=25/5000; per-app-api-usage=17/250(appName=x)")
    assert info.entries[1].note == "appName=x"
    assert info.api_usage is not None and info.api_usage.used == 25


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("settings", "missing"),
    [
        ({"auth": "refresh_token", "client_id": "c"}, "refresh_token"),
        ({"auth": "jwt", "client_id": "c", "username": "u"}, "private_key_file"),
        ({"auth": "client_credentials", "client_id": "c"}, "client_secret"),
        ({"auth": "password", "client_id": "c", "client_secret": "s", "username": "u"}, "password"),
        ({"auth": "password", "client_secret": "s", "username": "u", "password": "p"}, "client_id"),
    ],
)
def test_settings_name_the_missing_key(settings: dict[str, str], missing: str) -> None:
    with pytest.raises(ValidationError) as raised:
        SalesforceSettings(**settings)
    assert f"needs '{missing}'" in str(raised.value)


def test_settings_defaults_and_bounds() -> None:
    settings = SalesforceSettings(client_id="c", refresh_token="rt-Secret-9")
    assert "rt-Secret-9" not in repr(settings)
    assert settings.login_url == "https://login.salesforce.com"
    assert settings.api_version == "64.0"
    assert settings.page_size == 2000
    with pytest.raises(ValidationError):
        SalesforceSettings(client_id="c", refresh_token="r", page_size=100)
    with pytest.raises(ValidationError):
        SalesforceSettings(client_id="c", refresh_token="r", unknown=1)
    with pytest.raises(ValidationError):
        SalesforceSettings(client_id="c", refresh_token="r", login_url="ftp://x")


def test_token_requests_per_grant(tmp_path) -> None:
    form, headers = token_request(
        SalesforceSettings(client_id="cid", client_secret="sec", refresh_token="rt")
    )
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": "rt",
        "client_id": "cid",
        "client_secret": "sec",
    }
    form, headers = token_request(
        SalesforceSettings(auth="client_credentials", client_id="cid", client_secret="sec")
    )
    assert form == {"grant_type": "client_credentials"}
    assert headers["Authorization"] == "Basic Y2lkOnNlYw=="
    form, _ = token_request(
        SalesforceSettings(
            auth="password", client_id="cid", client_secret="sec", username="u", password="pw"
        )
    )
    assert form["grant_type"] == "password" and form["password"] == "pw"


def test_jwt_assertion_claims(tmp_path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = tmp_path / "server.key"
    path.write_bytes(pem)
    settings = SalesforceSettings(
        auth="jwt",
        client_id="cid",
        username="u@example.com",
        private_key_file=path,
        login_url="https://test.salesforce.com/",
    )
    token = jwt_assertion(settings, now=1_000_000)
    claims = jwt.decode(
        token,
        key.public_key(),
        algorithms=["RS256"],
        audience="https://test.salesforce.com",
        options={"verify_exp": False},
    )
    assert claims == {
        "iss": "cid",
        "sub": "u@example.com",
        "aud": "https://test.salesforce.com",
        "exp": 1_000_180,
    }
    path.write_text("not a key")
    with pytest.raises(AuthError, match="not a valid RSA private key"):
        jwt_assertion(settings)
    missing = settings.model_copy(update={"private_key_file": tmp_path / "nope.key"})
    with pytest.raises(AuthError, match="Cannot read"):
        jwt_assertion(missing)


# --------------------------------------------------------------------------- errors


def _response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (403, "REQUEST_LIMIT_EXCEEDED", QuotaExceeded),
        (400, "INVALID_FIELD", ParamsRejected),
        (400, "MALFORMED_QUERY", ParamsRejected),
        (400, "INVALID_TYPE", ParamsRejected),
        (400, "INVALID_QUERY_LOCATOR", QueryLocatorExpired),
        (400, "QUERY_TIMEOUT", RetryableError),
        (500, "UNKNOWN_EXCEPTION", RetryableError),
        (503, "SERVER_UNAVAILABLE", RetryableError),
        (429, "TOO_MANY", RateLimited),
        (400, "SOMETHING_ELSE", PermanentError),
    ],
)
def test_error_codes_map_to_typed_errors(status: int, code: str, kind: type) -> None:
    error = error_for_response(
        _response(status, [{"message": "Said by Salesforce", "errorCode": code}]),
        usage="api-usage=5000/5000",
    )
    assert type(error) is kind
    assert error.code == code
    if kind is QuotaExceeded:
        assert "daily API request quota is spent (api-usage=5000/5000)" in str(error)
        assert error.retry_after
    else:
        assert "Said by Salesforce." in str(error)


def test_error_without_json_body() -> None:
    error = error_for_response(httpx.Response(502, text="<html>bad gateway</html>"))
    assert isinstance(error, RetryableError)
    assert "HTTP 502" in str(error)


def test_token_errors() -> None:
    refused = token_error(
        _response(400, {"error": "invalid_grant", "error_description": "authentication failure"}),
        "refresh_token",
        "https://login.salesforce.com",
    )
    assert isinstance(refused, AuthError)
    assert str(refused) == (
        "Salesforce refused the sign-in (refresh_token grant at https://login.salesforce.com): "
        "authentication failure."
    )
    assert isinstance(token_error(_response(503, {}), "jwt", "https://x"), RetryableError)


# --------------------------------------------------------------------------- records and cursors


def test_clean_record_removes_attributes_everywhere() -> None:
    raw = {
        "attributes": {"type": "Contact"},
        "Id": "003",
        "Owner": {"attributes": {"type": "User"}, "Name": "Grace", "Manager": None},
        "Account": {"attributes": {"type": "Account"}, "Owner": {"attributes": {}, "Name": "A"}},
    }
    assert clean_record(raw) == {
        "Id": "003",
        "Owner": {"Name": "Grace", "Manager": None},
        "Account": {"Owner": {"Name": "A"}},
    }
    assert get_path(raw, "Account.Owner.Name") == "A"
    assert get_path(raw, "Owner.Manager.Name") is None


def _plan(overlap: timedelta) -> Plan:
    return Plan("Contact", ("Id", "CreatedDate"), "CreatedDate", (), overlap)


def test_cursor_never_moves_backwards() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    cursor = Cursor(position=Position(t0, "003B"))
    assert cursor.advanced(Position(t0, "003A")) is cursor
    assert cursor.advanced(Position(t0 - timedelta(seconds=1), "003Z")) is cursor
    assert cursor.advanced(Position(t0, "003C")).position == Position(t0, "003C")
    loaded = Cursor.load(cursor.dump())
    assert loaded == cursor


def test_cursor_conditions_overlap_and_floor() -> None:
    t0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
    floor = Position(t0 - timedelta(minutes=2), "003F")
    cursor = Cursor(position=Position(t0, "003X"), floor=floor, origin=floor.ts)
    assert cursor.conditions(_plan(timedelta(0))) == [
        "(CreatedDate > 2026-01-01T12:00:00Z OR "
        "(CreatedDate = 2026-01-01T12:00:00Z AND Id > '003X'))"
    ]
    assert cursor.conditions(_plan(timedelta(minutes=5))) == [
        "CreatedDate >= 2026-01-01T11:55:00Z",
        "(CreatedDate > 2026-01-01T11:58:00Z OR "
        "(CreatedDate = 2026-01-01T11:58:00Z AND Id > '003F'))",
    ]
    assert cursor.conditions(_plan(timedelta(minutes=1))) == ["CreatedDate >= 2026-01-01T11:59:00Z"]
    assert Cursor().conditions(_plan(timedelta(minutes=5))) == []
    with pytest.raises(ParamsRejected):
        Cursor.load("garbage")


# --------------------------------------------------------------------------- params and the app


def test_params_models_refuse_injection_and_extras() -> None:
    NewRecordParams(object="Lead", fields=["Owner.Name"], where={"Status": ["Open", "New"]})
    with pytest.raises(ValidationError):
        NewRecordParams(object="Lead WHERE", fields=[])
    with pytest.raises(ValidationError):
        NewRecordParams(object="Lead", fields=["Name, (SELECT Id FROM Cases)"])
    with pytest.raises(ValidationError):
        NewRecordParams(object="Lead", where={"Name = 'x' OR Name": "y"})
    with pytest.raises(ValidationError):
        NewRecordParams(object="Lead", surprise=True)
    with pytest.raises(ValidationError):
        UpdatedRecordParams(object="Lead", watch_fields=["Status)"])


def test_app_declares_its_triggers() -> None:
    assert set(app.triggers) == {
        "new_record",
        "new_contact",
        "updated_record",
        "deleted_record",
        "outbound_message",
    }
    assert [name for name, t in app.triggers.items() if t.instant] == ["outbound_message"]
    deleted = app.triggers["deleted_record"]
    stamp = "2026-01-01T00:00:00.000+0000"
    assert deleted.key_of({"Id": "003A", "SystemModstamp": stamp}) == f"003A|{stamp}"
    assert deleted.fields_for(deleted.params(object="Contact", fields=["Email"])) == [
        "Id",
        "Email",
        "IsDeleted",
        "SystemModstamp",
    ]
    updated = app.triggers["updated_record"]
    record = {"Id": "006A", "SystemModstamp": "2026-01-01T00:00:00.000+0000"}
    assert updated.key_of(record) == "006A|2026-01-01T00:00:00.000+0000"
    assert app.triggers["new_record"].key_of(record) == "006A"
    params = UpdatedRecordParams(object="Opportunity", fields=["Name"], watch_fields=["StageName"])
    assert updated.fields_for(params) == [
        "Id",
        "Name",
        "SystemModstamp",
        "StageName",
        "CreatedDate",
        "_previous.StageName",
    ]
    assert app.triggers["new_contact"].sample["Email"]
    assert all(
        trigger.overlap_for(params) == timedelta(minutes=5)
        for trigger in app.triggers.values()
        if not trigger.instant
    )
    # An instant trigger remembers a notification's Id longer than Salesforce repeats it.
    assert app.triggers["outbound_message"].overlap_for(params) == timedelta(hours=25)
    quick = UpdatedRecordParams(object="Lead", overlap_seconds=0)
    assert updated.overlap_for(quick) == timedelta(0)


def test_start_up_leaves_pyjwt_and_cryptography_unloaded() -> None:
    """PyJWT loads cryptography (a tenth of a second); only a JWT sign-in imports them."""
    code = (
        "import sys, zaplite.cli.main\n"
        "from zaplite.plugin.manager import load_registry\n"
        "assert 'salesforce' in load_registry().apps\n"
        "print(sorted(m for m in ('jwt', 'cryptography') if m in sys.modules))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "[]"
