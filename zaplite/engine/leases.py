"""Naming a daemon in the store's leases, and telling whether a named holder has crashed.

A holder is ``host:pid:namespace-suffix``: the machine's host name, the process id,
the inode of the process's PID namespace and a random suffix. The namespace matters
because containers may share a host name while each has its own process ids: a pid
that is missing here says nothing about a process in another container.
"""

from __future__ import annotations

import os
import socket
import uuid

__all__ = ["crashed_here", "daemon_owner", "owner_for"]


def _pid_namespace() -> str:
    """This process's PID namespace (the inode of ``/proc/self/ns/pid``), or ``"0"`` if unknown."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "0"


def owner_for(pid: int, suffix: str) -> str:
    """The holder name of process ``pid`` of this host and PID namespace."""
    return f"{socket.gethostname()}:{pid}:{_pid_namespace()}-{suffix}"


def daemon_owner() -> str:
    """A name for this process in the store's leases: host, pid, PID namespace, random suffix."""
    return owner_for(os.getpid(), uuid.uuid4().hex[:6])


def crashed_here(holder: str) -> bool:
    """Whether a lease holder ran on this machine, in this PID namespace, and has exited.

    Only such a process can be checked, and only a missing pid counts: a live process
    (even another user's), a holder of another machine or container, or a name without
    a namespace (written by an older zaplite) waits for the lease to expire.
    """
    host, _, rest = holder.partition(":")
    pid_text, _, tail = rest.partition(":")
    namespace = tail.partition("-")[0]
    here = _pid_namespace()
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    if here == "0" or namespace != here:
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: it exists
        return False
    return False
