"""Both emulators started together with seeded data, and a config file that points at them."""

from __future__ import annotations

import errno
import hashlib
import socket
from dataclasses import dataclass, field
from pathlib import Path

from zaplite.sandbox.clevertap import CleverTapEmulator
from zaplite.sandbox.salesforce import SalesforceEmulator
from zaplite.sandbox.server import RunningServer, serve_in_thread

__all__ = [
    "OUTBOUND_FIELDS",
    "OUTBOUND_ZAP",
    "SANDBOX_ACCOUNT_ID",
    "SANDBOX_OUTBOUND_TOKEN",
    "SANDBOX_PASSCODE",
    "Sandbox",
    "config_is_unedited",
    "port_or_free",
]

_FINGERPRINT = "# written by zaplite, unedited if this matches: "
"""The last line of a config the sandbox writes, with a hash of the lines above it."""


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def config_is_unedited(path: Path) -> bool:
    """Whether ``path`` is a config the sandbox wrote and nobody has changed since."""
    if not path.is_file():  # a pipe would wait for a writer, a device never end
        return False
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    body, _, last = text.rstrip("\n").rpartition("\n")
    return last.startswith(_FINGERPRINT) and last[len(_FINGERPRINT) :] == _fingerprint(body + "\n")


SANDBOX_ACCOUNT_ID = "TEST-ZAP-LITE"
SANDBOX_PASSCODE = "SANDBOX-PASSCODE"
SANDBOX_OUTBOUND_TOKEN = "sandbox-outbound-token"
"""The token of the instant example zap's endpoint in a sandbox (a fake secret, like the rest)."""
OUTBOUND_ZAP = "outbound-contact-to-profile"
OUTBOUND_FIELDS = ["Id", "FirstName", "LastName", "Email", "Phone", "CreatedDate", "Lead_Status__c"]


def port_or_free(port: int | None, host: str = "127.0.0.1") -> int | None:
    """``port`` if nothing listens on it, else ``None`` (a free port will be chosen)."""
    if not port:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return None
            raise
    return port


@dataclass
class Sandbox:
    """A running Salesforce emulator (seeded) and CleverTap emulator on loopback."""

    salesforce: SalesforceEmulator
    clevertap: CleverTapEmulator
    salesforce_server: RunningServer
    clevertap_server: RunningServer
    seeded: dict[str, int] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        *,
        salesforce_port: int | None = 8081,
        clevertap_port: int | None = 8082,
        seed: bool = True,
    ) -> Sandbox:
        """Start both emulators (on the given ports when free, else on free ports)."""
        salesforce = SalesforceEmulator()
        seeded = salesforce.seed_demo_data() if seed else {}
        clevertap = CleverTapEmulator(SANDBOX_ACCOUNT_ID, SANDBOX_PASSCODE)
        sf_server = serve_in_thread(salesforce.app, port=port_or_free(salesforce_port))
        try:
            ct_server = serve_in_thread(clevertap.app, port=port_or_free(clevertap_port))
        except BaseException:
            sf_server.stop()
            raise
        return cls(salesforce, clevertap, sf_server, ct_server, seeded)

    def outbound_url(self, listen: str = "127.0.0.1:8642") -> str:
        """The endpoint of the instant example zap on a daemon serving HTTP at ``listen``."""
        return f"http://{listen}/hooks/salesforce/{OUTBOUND_ZAP}?token={SANDBOX_OUTBOUND_TOKEN}"

    def send_outbound_messages(self, url: str) -> None:
        """Make the Salesforce emulator send an outbound message to ``url`` for each new contact."""
        self.salesforce.outbound.register("Contact", OUTBOUND_FIELDS, url, "created")

    def stop(self) -> None:
        """Stop both servers (and the outbound messages' sender)."""
        self.salesforce.outbound.stop()
        self.salesforce_server.stop()
        self.clevertap_server.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def config_text(self, store_url: str = "sqlite:///zaplite.db") -> str:
        """A ``zaplite.toml`` for these emulators (their credentials are the sandbox's own fakes)."""
        creds = self.salesforce.credentials
        return (
            "# zaplite config for the local sandbox, written by `zaplite sandbox` / `zaplite demo`.\n"
            "# These are the emulators' own fake credentials. For real accounts, write secrets as\n"
            '# "${ENV_VAR}" and set the variables; never put them in this file.\n\n'
            f'[store]\nurl = "{store_url}"\n\n'
            "[connections.salesforce]\n"
            'app = "salesforce"\n'
            f'login_url = "{self.salesforce_server.url}"\n'
            'auth = "refresh_token"\n'
            f'client_id = "{creds.client_id}"\n'
            f'client_secret = "{creds.client_secret}"\n'
            f'refresh_token = "{creds.refresh_token}"\n'
            'api_version = "64.0"\n\n'
            "[connections.clevertap]\n"
            'app = "clevertap"\n'
            f'account_id = "{SANDBOX_ACCOUNT_ID}"\n'
            f'passcode = "{SANDBOX_PASSCODE}"\n'
            f'endpoint = "{self.clevertap_server.url}"\n'
        )

    def write_config(self, folder: Path, store_url: str = "sqlite:///zaplite.db") -> Path:
        """Write ``zaplite.toml`` for these emulators into ``folder``; returns its path."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "zaplite.toml"
        text = self.config_text(store_url)
        path.write_text(text + _FINGERPRINT + _fingerprint(text) + "\n", encoding="utf-8")
        return path

    def write_config_unless_edited(
        self, folder: Path, store_url: str = "sqlite:///zaplite.db"
    ) -> tuple[Path, bool]:
        """:meth:`write_config`, unless ``folder`` has a config changed since a sandbox wrote it.

        Returns the config's path and whether it was written (False: kept as it was).
        """
        path = folder / "zaplite.toml"
        if path.exists() and not config_is_unedited(path):
            return path, False
        return self.write_config(folder, store_url), True
