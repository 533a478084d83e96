"""Lease holder names, and when a holder counts as crashed (and its lease may be taken at once)."""

from __future__ import annotations

import os
import socket

import pytest

from tests.support.processes import dead_pid
from zaplite.engine import leases as leases_module
from zaplite.engine.leases import crashed_here, daemon_owner, owner_for


def test_a_daemon_is_named_by_host_pid_pid_namespace_and_boot() -> None:
    host, pid, rest = daemon_owner().split(":")
    assert host == socket.gethostname() and int(pid) == os.getpid()
    machine, suffix = rest.split("-")
    namespace, boot = machine.split(".")
    assert namespace == str(os.stat("/proc/self/ns/pid").st_ino)
    with open("/proc/sys/kernel/random/boot_id") as file:
        assert boot == file.read().strip().replace("-", "")
    assert len(suffix) == 6 and daemon_owner() != daemon_owner()


def test_only_an_exited_process_of_this_host_and_namespace_has_crashed() -> None:
    dead = dead_pid()
    assert crashed_here(owner_for(dead, "x"))
    assert not crashed_here(owner_for(os.getppid(), "x")), "alive"
    assert not crashed_here(owner_for(os.getpid(), "x")), "this process"
    assert not crashed_here("another-host-" + owner_for(dead, "x"))


def test_a_holder_in_another_container_with_the_same_host_name_is_never_taken_over() -> None:
    # Another PID namespace: a pid missing here may be alive there.
    dead = dead_pid()
    assert not crashed_here(f"{socket.gethostname()}:{dead}:1-other")
    assert not crashed_here(f"{socket.gethostname()}:{dead}:abcdef"), "an older zaplite's name"


def test_a_holder_on_a_cloned_machine_with_the_same_host_name_is_never_taken_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two VMs cloned from one image share the host name, and the initial PID namespace
    # has the same inode on every Linux machine: only the boot id tells them apart.
    dead = dead_pid()
    elsewhere = owner_for(dead, "x")
    assert crashed_here(elsewhere)
    monkeypatch.setattr(leases_module, "_boot_id", lambda: "0123456789abcdef0123456789abcdef")
    assert not crashed_here(elsewhere), "a holder of another machine (another boot id)"
    assert crashed_here(owner_for(dead, "x")), "the same machine after the patch"


def test_without_a_boot_id_no_holder_counts_as_crashed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(leases_module, "_boot_id", lambda: "")
    assert not crashed_here(owner_for(dead_pid(), "x"))
