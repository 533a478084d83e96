"""Lease holder names, and when a holder counts as crashed (and its lease may be taken at once)."""

from __future__ import annotations

import os
import socket

from tests.support.processes import dead_pid
from zaplite.engine.leases import crashed_here, daemon_owner, owner_for


def test_a_daemon_is_named_by_host_pid_and_pid_namespace() -> None:
    host, pid, rest = daemon_owner().split(":")
    assert host == socket.gethostname() and int(pid) == os.getpid()
    namespace, suffix = rest.split("-")
    assert namespace == str(os.stat("/proc/self/ns/pid").st_ino)
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
