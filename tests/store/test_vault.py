"""The vault's rows: ciphertext stored as given, replaced only at the version read, one claim at a time."""

from __future__ import annotations

import pytest

from zaplite.store import SecretRow, Store, VaultChanged


def test_put_read_and_delete(store: Store) -> None:
    store.put_secrets("sf", {"refresh_token": "c1", "org_id": "c2"})
    assert store.secret_row("sf", "refresh_token") == SecretRow("sf", "refresh_token", "c1", 1)
    store.put_secrets("sf", {"refresh_token": "c3"})
    assert store.secret_row("sf", "refresh_token") == SecretRow("sf", "refresh_token", "c3", 2)
    assert [row.name for row in store.secret_rows("sf")] == ["org_id", "refresh_token"]
    assert store.delete_secrets("sf", ["org_id"]) == 1
    assert store.delete_secrets("sf") == 1
    assert store.secret_rows() == []


def test_replace_is_a_compare_and_swap_on_the_version(store: Store) -> None:
    store.put_secrets("sf", {"refresh_token": "old"})
    assert store.replace_secret("sf", "refresh_token", "new", version=1)
    # A second writer that read version 1 too loses, and the winner's value stays.
    assert not store.replace_secret("sf", "refresh_token", "stale", version=1)
    assert store.secret_row("sf", "refresh_token") == SecretRow("sf", "refresh_token", "new", 2)


def test_one_claim_at_a_time_until_released_or_expired(store: Store) -> None:
    store.put_secrets("sf", {"refresh_token": "t"})
    claimed = store.claim_secret("sf", "refresh_token", "daemon-a", ttl=60)
    assert claimed is not None and claimed.version == 1
    assert store.claim_secret("sf", "refresh_token", "daemon-b", ttl=60) is None
    assert store.claim_secret("sf", "refresh_token", "daemon-a", ttl=60) is not None  # ours
    store.release_secret("sf", "refresh_token", "daemon-b")  # not b's: nothing changes
    assert store.claim_secret("sf", "refresh_token", "daemon-b", ttl=60) is None
    store.release_secret("sf", "refresh_token", "daemon-a")
    assert store.claim_secret("sf", "refresh_token", "daemon-b", ttl=0) is not None
    # b's claim has expired at once (ttl 0): a crashed holder does not block the others.
    assert store.claim_secret("sf", "refresh_token", "daemon-a", ttl=60) is not None
    # Replacing the secret ends the claim.
    assert store.replace_secret("sf", "refresh_token", "t2", version=1)
    assert store.claim_secret("sf", "refresh_token", "daemon-b", ttl=60) is not None
    assert store.claim_secret("sf", "missing", "daemon-a", ttl=60) is None


def test_key_check_written_once_and_reencryption_is_all_or_nothing(store: Store) -> None:
    assert store.vault_check() is None
    assert store.set_vault_check("k1")
    assert not store.set_vault_check("k2")
    assert store.vault_check() == "k1"
    store.put_secrets("sf", {"a": "x", "b": "y"})
    rows = store.secret_rows()
    store.reencrypt_vault(
        "k3", [SecretRow(r.connection, r.name, r.ciphertext + "!", r.version) for r in rows]
    )
    assert store.vault_check() == "k3"
    assert [r.ciphertext for r in store.secret_rows()] == ["x!", "y!"]
    # A secret replaced meanwhile (a daemon rotated it) aborts the whole re-encryption.
    rows = store.secret_rows()
    assert store.replace_secret("sf", "b", "rotated", version=rows[1].version)
    with pytest.raises(VaultChanged):
        store.reencrypt_vault("k4", [SecretRow(r.connection, r.name, "z", r.version) for r in rows])
    assert store.vault_check() == "k3"
    assert [r.ciphertext for r in store.secret_rows()] == ["x!", "rotated"]
