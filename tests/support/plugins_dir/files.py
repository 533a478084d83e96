"""A plugins-dir plugin for the CLI tests: records from a JSON file, deliveries to another.

Files make the service visible across processes, so the installed ``zaplite``
command can be driven in a subprocess.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel, ConfigDict, SecretStr

from zaplite import App, Page, PermanentError, hookimpl


class FilesConnection(BaseModel):
    """Where the records are read and the deliveries written."""

    model_config = ConfigDict(extra="forbid")
    source: Path
    sink: Path
    api_key: SecretStr


app = App(
    "files",
    label="Files",
    connection=FilesConnection,
    connect=lambda settings: settings,
    test=lambda settings: f"can read {settings.source.name}",
)


class NoParams(BaseModel):
    """No params."""

    model_config = ConfigDict(extra="forbid")


@app.trigger(
    "new_line",
    params=NoParams,
    dedup_key="id",
    sample={"id": 0, "email": "sample@example.com", "score": 1},
    output_fields=["id", "email", "score"],
    recent=lambda ctx: json.loads(ctx.connection.source.read_text())[-ctx.limit :][::-1],
)
def new_line(ctx):
    """Records of the source file after the cursor."""
    records = json.loads(ctx.connection.source.read_text())
    position = 0 if ctx.cursor is None else ctx.cursor
    if ctx.cursor is None and ctx.start == "now":
        yield Page(records=[], cursor=len(records))
        return
    for index in range(position, len(records), 2):
        yield Page(records=records[index : index + 2], cursor=min(index + 2, len(records)))


class WriteParams(BaseModel):
    """What to write."""

    model_config = ConfigDict(extra="forbid")
    email: str
    score: int | None = None


@app.action("write", params=WriteParams, sample_output={"written": True})
def write(ctx, params: WriteParams) -> dict[str, Any]:
    """Append one delivery to the sink file."""
    if "@" not in params.email:
        raise PermanentError(f"the sink refused {params.email!r}: not an email address")
    sink: Path = ctx.connection.sink
    lines = json.loads(sink.read_text()) if sink.exists() else []
    lines.append(params.model_dump())
    sink.write_text(json.dumps(lines))
    return {"written": True, "count": len(lines)}


@hookimpl
def register_apps(register):
    """Register the files app."""
    register(app)


@hookimpl
def register_commands(cli):
    """Add ``zaplite files-info``."""

    @cli.command("files-info")
    def files_info() -> None:
        """Say hello from a plugin command."""
        click.echo("files plugin command works")
