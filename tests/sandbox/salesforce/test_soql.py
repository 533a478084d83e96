"""SOQL over HTTP: operators, literals, escapes, precedence, ordering, LIMIT, relationships, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from tests.sandbox.salesforce.helpers import error_of, records, soql
from tests.support.clock import clear_of_midnight
from zaplite.sandbox.salesforce import SalesforceEmulator

T0 = datetime(2026, 1, 8, 1, 2, 3, tzinfo=UTC)


@pytest.fixture
def org(emu: SalesforceEmulator) -> dict[str, Any]:
    """A small org: two accounts, a sales rep, six contacts, four opportunities."""
    rep = emu.create(
        "User",
        {
            "FirstName": "Priya",
            "LastName": "Sharma",
            "Username": "priya@x.example",
            "Email": "priya@x.example",
        },
    )
    acme = emu.create("Account", {"Name": "Acme", "Industry": "Technology", "OwnerId": rep["Id"]})
    globex = emu.create("Account", {"Name": "Globex", "Industry": "Finance"})
    people = [
        (
            "Ada",
            "Lovelace",
            "ada@example.com",
            acme,
            "Prospect",
            datetime(2026, 1, 8, 1, 2, 2, tzinfo=UTC),
        ),
        (
            "Grace",
            "Hopper",
            "grace@example.com",
            globex,
            "Qualified",
            datetime(2026, 1, 8, 1, 2, 3, tzinfo=UTC),
        ),
        ("Alan", "Turing", None, None, "Prospect", datetime(2026, 1, 8, 1, 2, 4, tzinfo=UTC)),
        ("Pat", "O'Brien", "pat.o'brien@example.com", acme, None, datetime(2026, 1, 9, tzinfo=UTC)),
        (
            "Bo",
            "Back\\slash",
            "bo@example.com",
            None,
            "Customer",
            datetime(2026, 1, 10, tzinfo=UTC),
        ),
        (
            "Sam",
            "100% Sure_Thing",
            "sam@example.com",
            globex,
            "Customer",
            datetime(2026, 1, 11, tzinfo=UTC),
        ),
    ]
    contacts = {}
    for first, last, email, account, status, ts in people:
        values: dict[str, Any] = {
            "FirstName": first,
            "LastName": last,
            "Email": email,
            "Lead_Status__c": status,
        }
        if account:
            values["AccountId"] = account["Id"]
        if first == "Ada":
            values["OwnerId"] = rep["Id"]
        contacts[first] = emu.create("Contact", values, timestamp=ts)
    opportunities = {}
    for name, amount, stage, close in (
        ("Small", 1000, "Prospecting", date(2026, 2, 1)),
        ("Medium", 5000, "Negotiation/Review", date(2026, 3, 1)),
        ("Large", 25000, "Closed Won", date(2026, 1, 15)),
        ("Unknown", None, "Closed Lost", date(2026, 4, 1)),
    ):
        opportunities[name] = emu.create(
            "Opportunity",
            {
                "Name": name,
                "Amount": amount,
                "StageName": stage,
                "CloseDate": close,
                "AccountId": acme["Id"],
            },
        )
    return {"rep": rep, "acme": acme, "globex": globex, "contacts": contacts, "opps": opportunities}


def first_names(api: httpx.Client, where: str, order: str = "ORDER BY FirstName") -> list[str]:
    return [
        r["FirstName"] for r in records(api, f"SELECT FirstName FROM Contact WHERE {where} {order}")
    ]


def opp_names(api: httpx.Client, where: str) -> list[str]:
    return sorted(r["Name"] for r in records(api, f"SELECT Name FROM Opportunity WHERE {where}"))


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("LastName = 'Hopper'", ["Grace"]),
        ("LastName = 'hopper'", ["Grace"]),  # text comparisons ignore case
        ("Lead_Status__c != 'Prospect'", ["Bo", "Grace", "Pat", "Sam"]),  # null is not 'Prospect'
        ("Lead_Status__c <> 'Prospect'", ["Bo", "Grace", "Pat", "Sam"]),
        ("Email = null", ["Alan"]),
        ("Email != null", ["Ada", "Bo", "Grace", "Pat", "Sam"]),
        ("FirstName < 'B'", ["Ada", "Alan"]),
        ("FirstName <= 'Bo'", ["Ada", "Alan", "Bo"]),
        ("FirstName > 'Pat'", ["Sam"]),
        ("FirstName >= 'Pat'", ["Pat", "Sam"]),
        ("Lead_Status__c IN ('Prospect', 'Customer')", ["Ada", "Alan", "Bo", "Sam"]),
        ("Lead_Status__c NOT IN ('Prospect', 'Customer')", ["Grace", "Pat"]),
        ("Lead_Status__c IN ('Prospect', null)", ["Ada", "Alan", "Pat"]),
        ("Email LIKE '%@example.com'", ["Ada", "Bo", "Grace", "Pat", "Sam"]),
        ("FirstName LIKE 'a%'", ["Ada", "Alan"]),
        ("FirstName LIKE '_o'", ["Bo"]),
        ("LastName LIKE '100\\% Sure\\_Thing'", ["Sam"]),
        ("LastName LIKE '100\\%%'", ["Sam"]),
        ("LastName LIKE '1_0\\_%'", []),
        ("CreatedDate > 2026-01-08T01:02:03Z", ["Alan", "Bo", "Pat", "Sam"]),
        ("CreatedDate >= 2026-01-08T01:02:03.000Z", ["Alan", "Bo", "Grace", "Pat", "Sam"]),
        ("CreatedDate = 2026-01-08T01:02:03Z", ["Grace"]),
        ("CreatedDate < 2026-01-08T02:02:03+01:00", ["Ada"]),
        ("CreatedDate <= 2026-01-07T20:02:03.000-05:00", ["Ada", "Grace"]),
        ("Account.Name = 'Acme'", ["Ada", "Pat"]),
        ("Account.Industry = 'Finance'", ["Grace", "Sam"]),
        ("Owner.Name = 'Priya Sharma'", ["Ada"]),
        ("contact.lastname = 'Turing'", ["Alan"]),
        ("IsDeleted = false", ["Ada", "Alan", "Bo", "Grace", "Pat", "Sam"]),
    ],
)
def test_operators(api: httpx.Client, org: dict[str, Any], where: str, expected: list[str]) -> None:
    assert first_names(api, where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Amount = 5000", ["Medium"]),
        ("Amount > 1000", ["Large", "Medium"]),
        ("Amount >= 1000.0", ["Large", "Medium", "Small"]),
        ("Amount < 5000", ["Small"]),
        ("Amount != 5000", ["Large", "Small", "Unknown"]),
        ("Amount IN (1000, 25000)", ["Large", "Small"]),
        ("Amount = null", ["Unknown"]),
        ("CloseDate = 2026-02-01", ["Small"]),
        ("CloseDate > 2026-02-01", ["Medium", "Unknown"]),
        ("CloseDate <= 2026-01-15", ["Large"]),
        ("IsWon = true", ["Large"]),
        ("IsClosed = TRUE AND IsWon = false", ["Unknown"]),
        ("StageName = 'Closed Won' AND Amount > 20000", ["Large"]),
        ("Probability >= 90", ["Large", "Medium"]),
    ],
)
def test_number_date_and_boolean_operators(
    api: httpx.Client, org: dict[str, Any], where: str, expected: list[str]
) -> None:
    assert opp_names(api, where) == expected


def test_string_escapes(api: httpx.Client, org: dict[str, Any]) -> None:
    assert first_names(api, "LastName = 'O\\'Brien'") == ["Pat"]
    assert first_names(api, "Email = 'pat.o\\'brien@example.com'") == ["Pat"]
    assert first_names(api, "LastName = 'Back\\\\slash'") == ["Bo"]
    response = soql(api, "SELECT Id FROM Contact WHERE LastName = 'bad \\q escape'")
    status, code, message = error_of(response)
    assert (status, code) == (400, "MALFORMED_QUERY")
    assert "Illegal character sequence '\\q'" in message


def test_precedence_needs_parentheses(api: httpx.Client, org: dict[str, Any]) -> None:
    left = "(Lead_Status__c = 'Prospect' AND Email != null) OR FirstName = 'Sam'"
    right = "Lead_Status__c = 'Prospect' AND (Email != null OR FirstName = 'Alan')"
    assert first_names(api, left) == ["Ada", "Sam"]
    assert first_names(api, right) == ["Ada", "Alan"]
    status, code, message = error_of(
        soql(
            api,
            "SELECT Id FROM Contact WHERE Lead_Status__c = 'Prospect' AND Email != null OR FirstName = 'Sam'",
        )
    )
    assert (status, code) == (400, "MALFORMED_QUERY")
    assert message.endswith("unexpected token: 'OR'")
    assert first_names(api, "NOT Lead_Status__c = 'Prospect'") == ["Bo", "Grace", "Pat", "Sam"]
    assert first_names(api, "Email != null AND (NOT (Lead_Status__c = 'Customer'))") == [
        "Ada",
        "Grace",
        "Pat",
    ]
    assert first_names(api, "FirstName = 'Ada' OR FirstName = 'Bo' OR FirstName = 'Sam'") == [
        "Ada",
        "Bo",
        "Sam",
    ]
    assert first_names(api, "((FirstName = 'Ada'))") == ["Ada"]


def test_keyset_filter(api: httpx.Client, org: dict[str, Any], emu: SalesforceEmulator) -> None:
    grace = org["contacts"]["Grace"]
    twin = emu.create("Contact", {"FirstName": "Twin", "LastName": "Hopper"}, timestamp=T0)
    assert twin["Id"] > grace["Id"]
    where = f"SystemModstamp > 2026-01-08T01:02:03Z OR (SystemModstamp = 2026-01-08T01:02:03Z AND Id > '{grace['Id']}')"
    names = [
        r["FirstName"]
        for r in records(
            api, f"SELECT FirstName FROM Contact WHERE {where} ORDER BY SystemModstamp, Id"
        )
    ]
    assert names == ["Twin", "Alan", "Pat", "Bo", "Sam"]
    fifteen = grace["Id"][:15]
    assert first_names(api, f"Id = '{fifteen}'") == ["Grace"]


def test_order_by_several_fields(api: httpx.Client, org: dict[str, Any]) -> None:
    rows = records(
        api, "SELECT FirstName FROM Contact ORDER BY Lead_Status__c ASC NULLS LAST, FirstName DESC"
    )
    assert [r["FirstName"] for r in rows] == ["Sam", "Bo", "Alan", "Ada", "Grace", "Pat"]
    rows = records(
        api, "SELECT FirstName FROM Contact ORDER BY Lead_Status__c DESC NULLS FIRST, FirstName"
    )
    assert [r["FirstName"] for r in rows] == ["Pat", "Grace", "Ada", "Alan", "Bo", "Sam"]
    rows = records(api, "SELECT FirstName FROM Contact ORDER BY Lead_Status__c, CreatedDate DESC")
    assert [r["FirstName"] for r in rows] == [
        "Pat",
        "Sam",
        "Bo",
        "Alan",
        "Ada",
        "Grace",
    ]  # nulls first by default
    rows = records(api, "SELECT Name FROM Opportunity ORDER BY Amount DESC NULLS LAST")
    assert [r["Name"] for r in rows] == ["Large", "Medium", "Small", "Unknown"]
    rows = records(api, "SELECT FirstName FROM Contact ORDER BY Account.Name, FirstName")
    assert [r["FirstName"] for r in rows] == ["Alan", "Bo", "Ada", "Pat", "Grace", "Sam"]


def test_limit_and_offset(api: httpx.Client, org: dict[str, Any]) -> None:
    body = soql(api, "SELECT FirstName FROM Contact ORDER BY FirstName LIMIT 2").json()
    assert body["totalSize"] == 2 and body["done"] is True
    assert [r["FirstName"] for r in body["records"]] == ["Ada", "Alan"]
    rows = records(api, "SELECT FirstName FROM Contact ORDER BY FirstName LIMIT 2 OFFSET 2")
    assert [r["FirstName"] for r in rows] == ["Bo", "Grace"]
    assert records(api, "SELECT Id FROM Contact LIMIT 0") == []
    status, code, _ = error_of(soql(api, "SELECT Id FROM Contact LIMIT 5 OFFSET 2001"))
    assert (status, code) == (400, "NUMBER_OUTSIDE_VALID_RANGE")


def test_relationship_fields_are_nested(api: httpx.Client, org: dict[str, Any]) -> None:
    rows = records(
        api,
        "SELECT Id, Name, Account.Name, Account.Industry, Owner.Name, Account.Owner.Name FROM Contact "
        "WHERE FirstName IN ('Ada', 'Alan') ORDER BY FirstName",
    )
    ada, alan = rows
    acme, rep = org["acme"], org["rep"]
    assert ada == {
        "attributes": {
            "type": "Contact",
            "url": f"/services/data/v64.0/sobjects/Contact/{ada['Id']}",
        },
        "Id": org["contacts"]["Ada"]["Id"],
        "Name": "Ada Lovelace",
        "Account": {
            "attributes": {
                "type": "Account",
                "url": f"/services/data/v64.0/sobjects/Account/{acme['Id']}",
            },
            "Name": "Acme",
            "Industry": "Technology",
            "Owner": {
                "attributes": {
                    "type": "User",
                    "url": f"/services/data/v64.0/sobjects/User/{rep['Id']}",
                },
                "Name": "Priya Sharma",
            },
        },
        "Owner": {
            "attributes": {
                "type": "User",
                "url": f"/services/data/v64.0/sobjects/User/{rep['Id']}",
            },
            "Name": "Priya Sharma",
        },
    }
    assert alan["Account"] is None
    assert alan["Owner"]["Name"] == "Integration User"


def test_fields_all_and_canonical_names(
    api: httpx.Client, org: dict[str, Any], emu: SalesforceEmulator
) -> None:
    rows = records(api, "select fields(all) from contact where firstname = 'Ada' limit 1")
    names = set(rows[0]) - {"attributes"}
    assert {f.name for f in emu.schema.require("Contact").fields.values()} == names
    assert rows[0]["Lead_Status__c"] == "Prospect"
    assert rows[0]["CreatedDate"] == "2026-01-08T01:02:02.000+0000"
    assert rows[0]["attributes"]["type"] == "Contact"
    custom = records(api, "SELECT FIELDS(CUSTOM) FROM Contact LIMIT 200")
    assert set(custom[0]) == {"attributes", "Lead_Status__c"}
    standard = records(api, "SELECT FIELDS(STANDARD) FROM Contact")  # no LIMIT needed
    assert "Lead_Status__c" not in standard[0] and "Email" in standard[0]
    status, code, message = error_of(soql(api, "SELECT FIELDS(ALL) FROM Contact"))
    assert (status, code) == (400, "MALFORMED_QUERY")
    assert "LIMIT of at most 200" in message
    rows = records(api, "SELECT id, EMAIL, account.NAME FROM CONTACT WHERE FirstName = 'Ada'")
    assert list(rows[0]) == ["attributes", "Id", "Email", "Account"]
    assert list(rows[0]["Account"]) == ["attributes", "Name"]


def test_values_are_formatted_as_salesforce_does(api: httpx.Client, org: dict[str, Any]) -> None:
    (row,) = records(
        api,
        "SELECT Amount, CloseDate, IsWon, Probability, CreatedDate FROM Opportunity WHERE Name = 'Large'",
    )
    assert row["Amount"] == 25000.0 and isinstance(row["Amount"], float)
    assert row["CloseDate"] == "2026-01-15"
    assert row["IsWon"] is True
    assert row["Probability"] == 100.0
    assert len(row["CreatedDate"]) == len("2026-05-08T21:20:00.000+0000") and row[
        "CreatedDate"
    ].endswith("+0000")


def test_count(api: httpx.Client, org: dict[str, Any]) -> None:
    body = soql(api, "SELECT COUNT() FROM Contact WHERE Email != null").json()
    assert body == {"totalSize": 5, "done": True, "records": []}


def test_query_all_sees_deleted_rows(
    api: httpx.Client, org: dict[str, Any], emu: SalesforceEmulator
) -> None:
    emu.delete("Contact", org["contacts"]["Bo"]["Id"])
    assert "Bo" not in first_names(api, "Email != null")
    rows = soql(
        api, "SELECT FirstName, IsDeleted FROM Contact WHERE FirstName = 'Bo'", all_rows=True
    ).json()["records"]
    assert rows[0]["IsDeleted"] is True


def test_relative_date_literals(api: httpx.Client, emu: SalesforceEmulator) -> None:
    clear_of_midnight()  # the record made now must still be today's when TODAY is asked
    emu.create("Contact", {"LastName": "Today"})
    emu.create("Contact", {"LastName": "Old"}, timestamp=datetime(2020, 1, 1, tzinfo=UTC))

    def names(where: str) -> list[str]:
        query = f"SELECT LastName FROM Contact WHERE {where}"
        return [r["LastName"] for r in records(api, query)]

    assert names("CreatedDate = TODAY") == ["Today"]
    assert names("CreatedDate = LAST_N_DAYS:30") == ["Today"]
    assert names("CreatedDate < LAST_N_DAYS:30") == ["Old"]
    assert names("CreatedDate = YESTERDAY") == []


@pytest.mark.parametrize(
    ("query", "status", "code", "fragment"),
    [
        (
            "SELECT Id, Foo FROM Contact",
            400,
            "INVALID_FIELD",
            "No such column 'Foo' on entity 'Contact'. If you are attempting to use a custom field, be sure to append the '__c'",
        ),
        (
            "SELECT Id FROM Contact WHERE Bar__c = 'x'",
            400,
            "INVALID_FIELD",
            "No such column 'Bar__c' on entity 'Contact'",
        ),
        ("SELECT Id FROM Contact ORDER BY Nope", 400, "INVALID_FIELD", "No such column 'Nope'"),
        (
            "SELECT Boss.Name FROM Contact",
            400,
            "INVALID_FIELD",
            "Didn't understand relationship 'Boss' in field path",
        ),
        (
            "SELECT Account.Nope FROM Contact",
            400,
            "INVALID_FIELD",
            "No such column 'Account.Nope' on entity 'Account'",
        ),
        ("SELECT Id FROM Foo", 400, "INVALID_TYPE", "sObject type 'Foo' is not supported."),
        ("SELECT Id FROM", 400, "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
        ("SELEC Id FROM Contact", 400, "MALFORMED_QUERY", "unexpected token: 'SELEC'"),
        (
            "SELECT Id FROM Contact WHERE LastName = 'open",
            400,
            "MALFORMED_QUERY",
            "ERROR at Row:1:Column:41",
        ),
        (
            "SELECT Id FROM Contact WHERE LastName == 'x'",
            400,
            "MALFORMED_QUERY",
            "unexpected token: '='",
        ),
        ("SELECT Id FROM Contact LIMIT x", 400, "MALFORMED_QUERY", "unexpected token: 'x'"),
        ("SELECT Id, Id FROM Contact", 400, "MALFORMED_QUERY", "duplicate field selected: Id"),
        (
            "SELECT Id FROM Contact WHERE LastName = 5",
            400,
            "INVALID_FIELD",
            "value of filter criterion for field 'LastName' must be of type string and should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate > '2026-01-01'",
            400,
            "INVALID_FIELD",
            "must be of type dateTime and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate > 2026-01-01",
            400,
            "INVALID_FIELD",
            "must be of type dateTime",
        ),
        (
            "SELECT Id FROM Opportunity WHERE Amount > '5'",
            400,
            "INVALID_FIELD",
            "must be of type double",
        ),
        (
            "SELECT Id FROM Opportunity WHERE CloseDate > 2026-01-01T00:00:00Z",
            400,
            "INVALID_FIELD",
            "must be of type date ",
        ),
        (
            "SELECT Id FROM Contact WHERE IsDeleted = 'false'",
            400,
            "INVALID_FIELD",
            "must be of type boolean",
        ),
        (
            "SELECT Id FROM Contact WHERE Id = 'abc'",
            400,
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: abc",
        ),
        (
            "SELECT Id FROM Contact WHERE Description = 'x'",
            400,
            "INVALID_FIELD",
            "can not be filtered",
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate > 2026-13-45T00:00:00Z",
            400,
            "MALFORMED_QUERY",
            "no viable alternative",
        ),
    ],
)
def test_errors(api: httpx.Client, query: str, status: int, code: str, fragment: str) -> None:
    got_status, got_code, message = error_of(soql(api, query))
    assert (got_status, got_code) == (status, code)
    assert fragment in message
    if code in ("INVALID_FIELD", "INVALID_TYPE", "MALFORMED_QUERY") and "Column" in message:
        assert message.startswith("\n" + query.splitlines()[0] + "\n")


def test_error_position(api: httpx.Client) -> None:
    _, _, message = error_of(soql(api, "SELECT Id, Foo FROM Contact"))
    assert message.split("\n")[1:4] == [
        "SELECT Id, Foo FROM Contact",
        "           ^",
        "ERROR at Row:1:Column:12",
    ]


def test_multi_line_query(api: httpx.Client, org: dict[str, Any]) -> None:
    assert len(records(api, "SELECT Id\n  FROM Contact\n WHERE FirstName = 'Ada'")) == 1
    _, code, message = error_of(soql(api, "SELECT Id\nFROM Contact\nWHERE Nope = 1"))
    assert code == "INVALID_FIELD"
    assert message.split("\n")[1:4] == ["WHERE Nope = 1", "      ^", "ERROR at Row:3:Column:7"]


def test_missing_query_string(api: httpx.Client) -> None:
    response = api.get("/query")
    assert error_of(response)[:2] == (400, "MALFORMED_QUERY")
