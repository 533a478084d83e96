"""What a person types to change the running sandbox's Salesforce: ``zaplite sandbox add|stage|delete|...``.

The commands talk over HTTP to the emulator a ``zaplite sandbox`` started (in another
terminal), through its admin API, and print the records they made or changed. The
emulator is found from ``--salesforce URL``, else the Salesforce connection of
``./zaplite.toml`` (or of the sandbox folder's), else ``http://127.0.0.1:8081``.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import httpx

from zaplite.cli.common import console, echo_json
from zaplite.errors import UsageError, ZapliteError
from zaplite.sandbox.activity import FIRST, LAST
from zaplite.sandbox.salesforce.ids import is_valid_id
from zaplite.sandbox.salesforce.schema import (
    CONTACT_LEAD_STATUSES,
    LEAD_STATUSES,
    OPPORTUNITY_STAGES,
)

__all__ = ["FOLDER_KEY", "SANDBOX_COMMANDS", "SandboxClient", "find_sandbox"]

DEFAULT_URL = "http://127.0.0.1:8081"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
IMPORT_CHUNK = 5_000
"""Records sent to the emulator per request by ``import`` (each chunk shares one timestamp)."""

SHOWN = {
    "Contact": ("FirstName", "LastName", "Email", "Phone", "Lead_Status__c", "AccountId"),
    "Lead": ("FirstName", "LastName", "Email", "Company", "Status"),
    "Opportunity": ("Name", "StageName", "Amount", "CloseDate", "AccountId", "ContactId"),
    "Account": ("Name", "Industry"),
}
OBJECTS = {
    "contact": "Contact",
    "contacts": "Contact",
    "lead": "Lead",
    "leads": "Lead",
    "opportunity": "Opportunity",
    "opportunities": "Opportunity",
    "deal": "Opportunity",
    "deals": "Opportunity",
    "account": "Account",
    "accounts": "Account",
}
OPEN_DEAL_DAYS = 30
"""The close date of an open opportunity made without ``--close-date``: this many days ahead."""


def _salesforce_url_in(config: Path) -> str | None:
    """The login URL of ``config``'s first Salesforce connection on this machine, if any."""
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    for table in (data.get("connections") or {}).values():
        if isinstance(table, dict) and table.get("app") == "salesforce":
            url = table.get("login_url")
            if isinstance(url, str) and urlsplit(url).hostname in LOOPBACK:
                return url  # only a local emulator: never a real org's login host
    return None


def find_sandbox(explicit: str | None, folder: Path) -> str:
    """The Salesforce emulator's URL: ``--salesforce``, ./zaplite.toml's, ``folder``'s, the default."""
    if explicit:
        return explicit.rstrip("/")
    for config in (Path("zaplite.toml"), folder / "zaplite.toml"):
        if config.is_file():
            url = _salesforce_url_in(config)
            if url:
                return url.rstrip("/")
    return DEFAULT_URL


class SandboxClient:
    """The admin API of a running Salesforce emulator, with errors a person can act on."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=120)

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One admin call; a refused write is a :class:`UsageError` with the emulator's words."""
        try:
            response = self.http.request(method, f"/__admin/{path}", json=body)
        except httpx.TransportError:
            raise ZapliteError(
                f"No Salesforce sandbox answers at {self.url}: start one with `zaplite sandbox` "
                "(in another terminal), or name it with --salesforce URL."
            ) from None
        if response.status_code >= 400:
            raise UsageError(f"The Salesforce sandbox refused it: {_reason(response)}")
        return response.json()

    def create(self, sobject: str, values: dict[str, Any]) -> dict[str, Any]:
        """Create one record; returns it as stored."""
        return self.call("POST", f"records/{sobject}", values)

    def create_many(self, sobject: str, records: list[dict[str, Any]]) -> list[str]:
        """Create records sharing one timestamp (a bulk insert); returns their ids."""
        return self.call("POST", f"records/{sobject}", records)["ids"]

    def update(self, sobject: str, record_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Change fields of a record; returns it as stored (a clear error if there is none)."""
        try:
            return self.call("PATCH", f"records/{sobject}/{record_id}", values)
        except UsageError as error:
            if "does not exist" not in str(error) and "deleted" not in str(error):
                raise
            kind = {v: k for k, v in OBJECTS.items() if k.endswith("s")}.get(sobject, sobject)
            raise UsageError(
                f"There is no {sobject} {record_id} in the sandbox at {self.url}; "
                f"`zaplite sandbox list {kind}` shows their ids."
            ) from None

    def recycle(self, record_id: str, *, restore: bool = False) -> tuple[str, dict[str, Any]]:
        """Delete a record of any object (to the recycle bin), or restore it; its object and row."""
        record_id = record_id.strip()
        if not is_valid_id(record_id):
            if re.fullmatch(r"[0-9A-Za-z]{18}", record_id):
                raise UsageError(
                    f'"{record_id}" is not a Salesforce record id: its last 3 characters do '
                    "not match the upper and lower case of its first 15 (a letter mistyped?); "
                    "`zaplite sandbox list contacts` shows their ids."
                )
            raise UsageError(
                f'"{record_id}" is not a Salesforce record id (15 or 18 letters and digits, '
                "such as 003RO000000GmbHYAS); `zaplite sandbox list contacts` shows their ids."
            )
        try:
            if restore:
                answer = self.call("POST", f"ids/{record_id}/undelete")
            else:
                answer = self.call("DELETE", f"ids/{record_id}")
        except UsageError as error:
            if "does not exist" in str(error):
                raise UsageError(
                    f"There is no record {record_id} in the sandbox at {self.url}; "
                    "`zaplite sandbox list contacts` (or leads, opportunities) shows their ids."
                ) from None
            if "entity is deleted" in str(error):
                raise UsageError(
                    f"{record_id} is in the recycle bin already; "
                    f"`zaplite sandbox undelete {record_id}` restores it."
                ) from None
            if "not in the recycle bin" in str(error):
                raise UsageError(
                    f"{record_id} is not in the recycle bin: it was never deleted, "
                    "or is restored already."
                ) from None
            raise
        return answer["sobject"], answer["record"]

    def require(self, sobject: str, record_id: str, option: str) -> None:
        """Refuse ``record_id`` (given as ``option``) unless it is a live ``sobject`` of the sandbox."""
        kind = {v: k for k, v in OBJECTS.items() if k.endswith("s")}[sobject]
        found = None
        if is_valid_id(record_id):
            try:
                found = self.call("GET", f"records/{sobject}/{record_id}")
            except UsageError:
                found = None
        if found is None or found.get("IsDeleted"):
            raise UsageError(
                f"{option} {record_id}: there is no {sobject} with that id in the sandbox at "
                f"{self.url}; `zaplite sandbox list {kind}` shows their ids."
            )

    def records(self, sobject: str) -> list[dict[str, Any]]:
        """Every record of ``sobject``, deleted ones included, oldest first."""
        return self.call("GET", f"records/{sobject}")


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or f"HTTP {response.status_code}"
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return "; ".join(str(e.get("message")) for e in body)
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    return json.dumps(body)[:200]


FOLDER_KEY = "zaplite.sandbox_folder"
"""Where ``zaplite sandbox`` leaves its ``--dir`` for its subcommands (in the context's meta)."""


def _client(ctx: click.Context, url: str | None) -> SandboxClient:
    folder = Path(ctx.meta.get(FOLDER_KEY, "zaplite-sandbox"))
    client = SandboxClient(find_sandbox(url, folder))
    ctx.call_on_close(client.close)
    return client


def _show(sobject: str, record: dict[str, Any], verb: str) -> None:
    console.print(f"{verb} {sobject} {record['Id']}:", style="bold", markup=False)
    stamp = "CreatedDate" if verb == "Created" else "LastModifiedDate"
    recycled = ("IsDeleted",) if verb in ("Deleted", "Restored") else ()
    for name in (*SHOWN.get(sobject, ("Name",)), *recycled, stamp):
        value = record.get(name)
        if isinstance(value, bool):
            value = str(value).lower()
        if value not in (None, ""):
            console.print(f"  {name}: {value}", markup=False)


def target_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--salesforce URL`` and ``--json``, shared by the commands that change the sandbox."""
    function = click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")(
        function
    )
    return click.option(
        "--salesforce",
        "url",
        metavar="URL",
        help="The sandbox's Salesforce emulator (default: from ./zaplite.toml, else "
        f"zaplite-sandbox/zaplite.toml, else {DEFAULT_URL}).",
    )(function)


def _choice(value: str | None, allowed: tuple[str, ...] | list[str], what: str) -> str | None:
    """``value`` in its canonical spelling (case ignored), or a clear error listing ``allowed``."""
    if value is None:
        return None
    for option in allowed:
        if option.lower() == value.strip().lower():
            return option
    raise UsageError(f'"{value}" is not a {what}; one of: {", ".join(allowed)}.')


# ---------------------------------------------------------------------- add


@click.group()
def add() -> None:
    """Create a record in the running sandbox's Salesforce, as a rep would."""


@add.command("contact")
@click.option("--last-name", required=True, help="The contact's last name (required).")
@click.option("--email", required=True, help="The contact's email: the CleverTap identity.")
@click.option("--first-name", help="The contact's first name.")
@click.option("--phone", help="With its country code, e.g. +14155550123.")
@click.option(
    "--lead-status",
    default="Prospect",
    show_default=True,
    help="Lead_Status__c: " + ", ".join(CONTACT_LEAD_STATUSES) + ".",
)
@target_option
@click.pass_context
def add_contact(
    ctx: click.Context,
    last_name: str,
    email: str,
    first_name: str | None,
    phone: str | None,
    lead_status: str,
    url: str | None,
    as_json: bool,
) -> None:
    """Create a contact (the new-contact-to-profile zap sends it to CleverTap)."""
    values: dict[str, Any] = {
        "LastName": last_name,
        "Email": email,
        "Lead_Status__c": _choice(lead_status, CONTACT_LEAD_STATUSES, "contact lead status"),
        "LeadSource": "Web",
    }
    if first_name:
        values["FirstName"] = first_name
    if phone:
        values["Phone"] = phone
    record = _client(ctx, url).create("Contact", values)
    echo_json(record) if as_json else _show("Contact", record, "Created")


@add.command("lead")
@click.option("--last-name", required=True, help="The lead's last name (required).")
@click.option("--company", required=True, help="The lead's company (required).")
@click.option("--email", required=True, help="The lead's email: the CleverTap identity.")
@click.option("--first-name", help="The lead's first name.")
@click.option(
    "--status",
    default=LEAD_STATUSES[0],
    show_default=True,
    help="One of: " + ", ".join(LEAD_STATUSES) + ".",
)
@target_option
@click.pass_context
def add_lead(
    ctx: click.Context,
    last_name: str,
    company: str,
    first_name: str | None,
    email: str | None,
    status: str,
    url: str | None,
    as_json: bool,
) -> None:
    """Create a lead (the lead-status-to-profile zap sees it when its Status changes)."""
    values: dict[str, Any] = {
        "LastName": last_name,
        "Company": company,
        "Status": _choice(status, LEAD_STATUSES, "lead status"),
    }
    values["Email"] = email
    if first_name:
        values["FirstName"] = first_name
    record = _client(ctx, url).create("Lead", values)
    echo_json(record) if as_json else _show("Lead", record, "Created")


@add.command("opportunity")
@click.option("--name", required=True, help="The deal's name (required).")
@click.option(
    "--amount", required=True, type=click.FloatRange(min=0), help="The deal's value (required)."
)
@click.option(
    "--stage",
    "stage_name",
    required=True,
    help="One of: " + ", ".join(OPPORTUNITY_STAGES) + " (required).",
)
@click.option("--account-id", help="The account the deal is with (001...).")
@click.option(
    "--contact-id",
    help="The deal's contact (003...): closed-won-to-event sends the event to their profile.",
)
@click.option(
    "--close-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help=f"When it closes (default: today for a closed stage, else {OPEN_DEAL_DAYS} days ahead).",
)
@target_option
@click.pass_context
def add_opportunity(
    ctx: click.Context,
    name: str,
    amount: float,
    stage_name: str,
    account_id: str | None,
    contact_id: str | None,
    close_date: Any,
    url: str | None,
    as_json: bool,
) -> None:
    """Create an opportunity (a deal), to move with `zaplite sandbox stage` or close now."""
    if not name.strip():
        raise UsageError("--name: the opportunity needs a name.")
    stage = _choice(stage_name, list(OPPORTUNITY_STAGES), "stage")
    assert stage is not None
    if close_date is not None:
        closes = close_date.date()
    elif stage.startswith("Closed"):
        closes = date.today()
    else:
        closes = date.today() + timedelta(days=OPEN_DEAL_DAYS)
    client = _client(ctx, url)
    values: dict[str, Any] = {
        "Name": name.strip(),
        "Amount": amount,
        "StageName": stage,
        "CloseDate": closes.isoformat(),
    }
    for sobject, option, record_id in (
        ("Account", "--account-id", account_id),
        ("Contact", "--contact-id", contact_id),
    ):
        if record_id is not None:
            client.require(sobject, record_id.strip(), option)
            values[f"{sobject}Id"] = record_id.strip()
    record = client.create("Opportunity", values)
    echo_json(record) if as_json else _show("Opportunity", record, "Created")


# ---------------------------------------------------------------------- stage


@click.command()
@click.argument("opportunity_id")
@click.argument("stage")
@target_option
@click.pass_context
def stage(
    ctx: click.Context, opportunity_id: str, stage: str, url: str | None, as_json: bool
) -> None:
    """Move an opportunity to STAGE ("Closed Won" closes the deal today).

    `zaplite sandbox list opportunities` shows the ids.
    """
    name = _choice(stage, list(OPPORTUNITY_STAGES), "stage")
    assert name is not None
    values: dict[str, Any] = {"StageName": name}
    if name.startswith("Closed"):
        values["CloseDate"] = date.today().isoformat()
    record = _client(ctx, url).update("Opportunity", opportunity_id, values)
    echo_json(record) if as_json else _show("Opportunity", record, "Updated")


@click.command("lead-status")
@click.argument("lead_id")
@click.argument("status")
@target_option
@click.pass_context
def lead_status(
    ctx: click.Context, lead_id: str, status: str, url: str | None, as_json: bool
) -> None:
    """Move a lead to STATUS, such as "Working - Contacted"."""
    name = _choice(status, LEAD_STATUSES, "lead status")
    record = _client(ctx, url).update("Lead", lead_id, {"Status": name})
    echo_json(record) if as_json else _show("Lead", record, "Updated")


# ---------------------------------------------------------------------- delete


@click.command("delete")
@click.argument("record_id", metavar="ID")
@target_option
@click.pass_context
def delete_record(ctx: click.Context, record_id: str, url: str | None, as_json: bool) -> None:
    """Delete the record ID (a contact, lead, opportunity...) to the recycle bin.

    A deleted_record zap (contact-deleted-to-profile-deletion) finds it at its next poll;
    `zaplite sandbox undelete ID` restores it.
    """
    sobject, record = _client(ctx, url).recycle(record_id)
    echo_json(record) if as_json else _show(sobject, record, "Deleted")


@click.command("undelete")
@click.argument("record_id", metavar="ID")
@target_option
@click.pass_context
def undelete_record(ctx: click.Context, record_id: str, url: str | None, as_json: bool) -> None:
    """Restore the deleted record ID from the recycle bin."""
    sobject, record = _client(ctx, url).recycle(record_id, restore=True)
    echo_json(record) if as_json else _show(sobject, record, "Restored")


# ---------------------------------------------------------------------- list


@click.command("list")
@click.argument("kind", type=click.Choice(sorted(OBJECTS), case_sensitive=False))
@click.option(
    "--limit",
    default=10,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Show at most this many, newest first.",
)
@target_option
@click.pass_context
def list_records(ctx: click.Context, kind: str, limit: int, url: str | None, as_json: bool) -> None:
    """The newest contacts, leads, opportunities or accounts in the sandbox, with their ids."""
    sobject = OBJECTS[kind.lower()]
    rows = [r for r in _client(ctx, url).records(sobject) if not r.get("IsDeleted")]
    rows = sorted(rows, key=lambda r: (r.get("CreatedDate") or "", r["Id"]), reverse=True)[:limit]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        console.print(f"No {sobject} records in the sandbox.", markup=False)
        return
    cells = [_cells(sobject, row) for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    for line in cells:
        text = "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        console.print(text.rstrip(), markup=False)


def _cells(sobject: str, row: dict[str, Any]) -> list[str]:
    """The columns ``list`` shows of a record: its id first, its name last (the longest)."""
    name = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)
    if sobject == "Opportunity":
        amount = row.get("Amount")
        money = f"${amount:,.0f}" if isinstance(amount, int | float) else ""
        return [row["Id"], str(row.get("StageName") or ""), money, str(row.get("Name") or "")]
    if sobject == "Lead":
        return [row["Id"], str(row.get("Status") or ""), str(row.get("Email") or ""), name]
    if sobject == "Account":
        return [row["Id"], str(row.get("Industry") or ""), str(row.get("Name") or "")]
    return [row["Id"], str(row.get("Email") or ""), name]


# ---------------------------------------------------------------------- import


def fake_people(count: int, sobject: str) -> Iterator[dict[str, Any]]:
    """``count`` plausible contacts or leads, each with an email no other import uses."""
    batch = uuid.uuid4().hex[:6]
    for n in range(count):
        first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
        person: dict[str, Any] = {
            "FirstName": first,
            "LastName": last,
            "Email": f"{first.lower()}.{last.lower()}.{batch}{n}@example.com",
        }
        if sobject == "Contact":
            person["Lead_Status__c"] = CONTACT_LEAD_STATUSES[n % 2]
            person["LeadSource"] = "Import"
        else:
            person["Company"] = f"{last} Imports"
        yield person


@click.command("import")
@click.argument("kind", type=click.Choice(["contacts", "leads"], case_sensitive=False))
@click.argument("count", type=click.IntRange(1, 1_000_000))
@click.option(
    "--salesforce",
    "url",
    metavar="URL",
    help=f"The sandbox's Salesforce emulator (default: as for `add`, else {DEFAULT_URL}).",
)
@click.pass_context
def import_records(ctx: click.Context, kind: str, count: int, url: str | None) -> None:
    """Bulk-import COUNT contacts or leads, as a data import does (thousands share a timestamp)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    sobject = OBJECTS[kind.lower()]
    client = _client(ctx, url)
    people = list(fake_people(count, sobject))
    started = time.perf_counter()
    ids: list[str] = []
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(f"Importing {kind}", total=count)
        for start in range(0, count, IMPORT_CHUNK):
            ids += client.create_many(sobject, people[start : start + IMPORT_CHUNK])
            progress.update(task, completed=len(ids))
    seconds = time.perf_counter() - started
    console.print(
        f"Imported {len(ids):,} {kind} into the sandbox in {seconds:.1f} s "
        f"(first {ids[0]}, last {ids[-1]}).",
        markup=False,
    )


SANDBOX_COMMANDS: list[click.Command] = [
    add,
    stage,
    lead_status,
    delete_record,
    undelete_record,
    list_records,
    import_records,
]
"""The subcommands of ``zaplite sandbox`` that change or read its Salesforce."""
