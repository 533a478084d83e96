"""The sorted-index path of ordered queries returns exactly what a full scan and sort would."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from zaplite.sandbox.salesforce import RecordError, SalesforceEmulator, format_datetime

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def literal(value: datetime) -> str:
    return format_datetime(value).replace("+0000", "Z")


def ids_of(emu: SalesforceEmulator, soql: str, *, include_deleted: bool = False) -> list[str]:
    body = emu.query(soql, include_deleted=include_deleted)
    assert body["done"], "the test data fits in one page"
    return [record["Id"] for record in body["records"]]


@pytest.mark.parametrize("seed", range(6))
def test_indexed_and_scanned_queries_agree(seed: int) -> None:
    rng = random.Random(seed)
    emu = SalesforceEmulator()
    stamps = [BASE + timedelta(seconds=n) for n in range(8)]
    emu.create_many("Contact", [{"LastName": f"A{i}"} for i in range(40)], timestamp=stamps[3])
    for round_ in range(5):
        for _ in range(15):
            emu.create(
                "Contact", {"LastName": f"R{round_}"}, timestamp=rng.choice(stamps)
            )  # late commits too
        live = [row for row in emu.records("Contact") if not row["IsDeleted"]]
        for row in rng.sample(live, 5):
            emu.update("Contact", row["Id"], {"Phone": "1"}, timestamp=rng.choice(stamps))
        emu.delete("Contact", rng.choice(live)["Id"])
        pivot = rng.choice(emu.records("Contact"))
        ts, last_id = literal(pivot["SystemModstamp"]), pivot["Id"]
        for where in (
            "",
            f"WHERE SystemModstamp > {ts} OR (SystemModstamp = {ts} AND Id > '{last_id}')",
            f"WHERE SystemModstamp >= {ts} AND LastName LIKE 'R%'",
            f"WHERE Id > '{last_id}'",
        ):
            for limit in ("", " LIMIT 7", " LIMIT 7 OFFSET 3"):
                indexed = f"SELECT Id FROM Contact {where} ORDER BY SystemModstamp, Id{limit}"
                scanned = (
                    f"SELECT Id FROM Contact {where} ORDER BY SystemModstamp, Id, LastName{limit}"
                )
                for include_deleted in (False, True):
                    assert emu.compile(indexed).index_field == "SystemModstamp"
                    assert emu.compile(scanned).index_field is None
                    assert ids_of(emu, indexed, include_deleted=include_deleted) == ids_of(
                        emu, scanned, include_deleted=include_deleted
                    )
            by_id = f"SELECT Id FROM Contact {where} ORDER BY Id"
            assert ids_of(emu, by_id) == sorted(ids_of(emu, f"SELECT Id FROM Contact {where}"))


def test_required_fields_cannot_be_emptied() -> None:
    emu = SalesforceEmulator()
    opportunity = emu.create(
        "Opportunity", {"Name": "D", "StageName": "Prospecting", "CloseDate": "2026-01-01"}
    )
    emu.query("SELECT Id FROM Opportunity ORDER BY CloseDate")  # builds the CloseDate index
    with pytest.raises(RecordError) as error:
        emu.update("Opportunity", opportunity["Id"], {"CloseDate": None})
    assert error.value.error_code == "REQUIRED_FIELD_MISSING"
    with pytest.raises(RecordError):
        emu.update("Contact", emu.create("Contact", {"LastName": "X"})["Id"], {"LastName": ""})
    assert emu.query("SELECT Id FROM Opportunity ORDER BY CloseDate")["totalSize"] == 1
