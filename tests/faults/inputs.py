"""Bad-input helpers: a valid project to break, hypothesis strategies, and the CLI in-process.

:func:`write_project` writes a config and a valid zap for each built-in trigger;
strategies replace one part of them with arbitrary values; ``Cli(root).invoke`` runs a
``zaplite`` command in-process and :func:`assert_clean` checks the promise: exit 0 (still
valid) or one clear error naming the file with exit 2 (1 for failed work where a command
does work), never a traceback.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from click.testing import Result
from hypothesis import strategies as st

from tests.support.config import write_config
from tests.support.zaps import NAME, contact_zap

__all__ = [
    "CONFIG",
    "ZAPS",
    "assert_clean",
    "json_values",
    "write_project",
]

CONFIG: dict[str, dict[str, Any]] = {
    "settings": {"retry_attempts": 2, "retry_initial_wait": 0.01},
    "connections.salesforce": {
        "app": "salesforce",
        "login_url": "http://127.0.0.1:9",
        "auth": "refresh_token",
        "client_id": "cid",
        "client_secret": "csecret",
        "refresh_token": "rtoken",
    },
    "connections.clevertap": {
        "app": "clevertap",
        "account_id": "ACC",
        "passcode": "PASS",
        "endpoint": "http://127.0.0.1:9",
    },
}

_PROFILE_STEP = contact_zap(profile={"Name": NAME})["steps"][0]
_EVENT_STEP = {
    "id": "event",
    "app": "clevertap",
    "action": "upload_event",
    "params": {
        "identity": "deals@example.com",
        "ts": "{{trigger.SystemModstamp}}",
        "event_name": "Deal Closed",
        "event_properties": {"Amount": "{{trigger.Amount}}"},
    },
}

ZAPS: dict[str, dict[str, Any]] = {
    "contacts": {
        "id": "contacts",
        "schedule": {"every": "5m"},
        "trigger": {
            "app": "salesforce",
            "event": "new_contact",
            "params": {"fields": ["FirstName", "LastName", "Email", "CreatedDate"]},
        },
        "steps": [copy.deepcopy(_PROFILE_STEP)],
    },
    "leads": {
        "id": "leads",
        "trigger": {
            "app": "salesforce",
            "event": "new_record",
            "params": {
                "object": "Lead",
                "fields": ["FirstName", "LastName", "Email"],
                "where": {"Status": "Open"},
            },
        },
        "steps": [copy.deepcopy(_PROFILE_STEP)],
    },
    "deals": {
        "id": "deals",
        "schedule": {"cron": "*/5 * * * *"},
        "trigger": {
            "app": "salesforce",
            "event": "updated_record",
            "params": {
                "object": "Opportunity",
                "fields": ["Name", "StageName", "Amount"],
                "watch_fields": ["StageName"],
            },
        },
        "steps": [
            {
                "id": "won",
                "filter": [
                    {"field": "{{trigger.StageName}}", "op": "equals", "value": "Closed Won"}
                ],
            },
            _EVENT_STEP,
        ],
    },
}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
"""Arbitrary JSON values."""


def write_project(
    root: Path,
    *,
    config: dict[str, dict[str, Any]] | None = None,
    zaps: dict[str, Any] | None = None,
) -> Path:
    """A project folder with the config and zaps given (defaults: the valid ones); returns root."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "zaps").mkdir(exist_ok=True)
    for old in (root / "zaps").glob("*.json"):
        old.unlink()
    write_config(root, config if config is not None else CONFIG)
    for name, zap in (zaps if zaps is not None else ZAPS).items():
        text = zap if isinstance(zap, str) else json.dumps(zap)
        (root / "zaps" / f"{name}.json").write_text(text)
    return root


def assert_clean(
    result: Result,
    *,
    names: tuple[str, ...],
    allowed: tuple[int, ...] = (0, 2),
    single: bool = True,
) -> None:
    """Exit 0 or one clear error naming one of ``names``; never a traceback or internal error.

    ``single=False`` allows one error per file that the breakage reaches (each still naming one).
    """
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{output}"
    )
    assert "Traceback" not in output, output
    assert "Internal error" not in output, output
    assert result.exit_code in allowed, (result.exit_code, output)
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.lower().startswith("error")]
        assert errors, result.stderr
        assert len(errors) == 1 or not single, result.stderr
        for line in errors:
            assert any(name in line for name in names), line
            assert "value error," not in line.lower(), line  # pydantic's prefix, not a sentence
            assert ".str:" not in line and ".int:" not in line, line  # a union branch's name
