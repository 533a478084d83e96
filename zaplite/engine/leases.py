"""Leases: which process runs a zap, named so that a crashed holder can be told apart.

A holder is ``host:pid:namespace.boot-suffix``: the machine's host name, the process
id, the inode of the process's PID namespace, the kernel's boot id and a random suffix.
The namespace matters because containers may share a host name while each has its own
process ids: a pid that is missing here says nothing about a process in another
container. The boot id matters because machines may share a host name *and* a namespace
inode (the initial PID namespace has the same inode on every Linux kernel, so two VMs
cloned from one image look alike); the boot id is drawn at random at every boot, so it
differs between machines, and between this boot and the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable

from zaplite.engine.outage import StoreOutage
from zaplite.store import Fence, LeaseLost, Store, StoreUnavailable

__all__ = ["LEFT_RUN_MESSAGE", "LeaseKeeper", "crashed_here", "daemon_owner", "owner_for"]

log = logging.getLogger("zaplite.engine")


def _pid_namespace() -> str:
    """This process's PID namespace (the inode of ``/proc/self/ns/pid``), or ``"0"`` if unknown."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "0"


def _boot_id() -> str:
    """This boot of this machine (``/proc/sys/kernel/random/boot_id``, dashes removed), or ``""``."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as file:
            return file.read().strip().replace("-", "")
    except (OSError, UnicodeDecodeError):
        return ""


def _machine() -> str:
    """Where this process runs: its PID namespace and the machine's boot, ``namespace.boot``."""
    return f"{_pid_namespace()}.{_boot_id() or '0'}"


def owner_for(pid: int, suffix: str) -> str:
    """The holder name of process ``pid`` of this host, PID namespace and boot."""
    return f"{socket.gethostname()}:{pid}:{_machine()}-{suffix}"


def daemon_owner() -> str:
    """A name for this process in the store's leases: host, pid, PID namespace, boot, random suffix."""
    return owner_for(os.getpid(), uuid.uuid4().hex[:6])


def crashed_here(holder: str) -> bool:
    """Whether a lease holder ran on this machine, boot and PID namespace, and has exited.

    Only such a process can be checked, and only a missing pid counts: a live process
    (even another user's), a holder of another machine, boot or container, or a name
    without a namespace and boot id (written by an older zaplite) waits for the lease
    to expire. Without a readable boot id or namespace nothing is taken over early.
    """
    host, _, rest = holder.partition(":")
    pid_text, _, tail = rest.partition(":")
    namespace, _, boot = tail.partition("-")[0].partition(".")
    here, here_boot = _pid_namespace(), _boot_id()
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    if here == "0" or not here_boot or namespace != here or boot != here_boot:
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: it exists
        return False
    return False


LEFT_RUN_MESSAGE = (
    "its process ended before the run finished (killed, or the store stopped answering); "
    "the rest is polled next time"
)
"""The message of a run closed as interrupted because its process is gone."""


class _KeptLease:
    """A zap's lease kept between runs, and when the store last confirmed it."""

    __slots__ = ("confirmed",)

    def __init__(self, confirmed: float) -> None:
        self.confirmed = confirmed
        """``time.monotonic()`` just before the statement that took or renewed the lease."""


class LeaseKeeper:
    """The leases of one process (``owner``) in the store: taken, kept, renewed, given up.

    Every run of a zap holds the zap's lease, so daemons sharing a store never run
    one zap at once. Inside :meth:`keeping` (the daemon's way) a lease is also kept
    from one idle run to the next and renewed with all the others in one statement.
    Without an ``owner`` (a lone engine, in tests) there are no leases: every zap is
    taken at once and nothing is written.
    """

    def __init__(
        self,
        store: Store,
        owner: str | None,
        lease_seconds: float = 30.0,
        *,
        outage: StoreOutage | None = None,
    ) -> None:
        self.store = store
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.outage = outage or StoreOutage()
        """Where a renewal that finds the store out of reach says so (once per outage)."""
        self._keeping = False
        self._kept: dict[str, _KeptLease] = {}
        self._let_go_after_run: set[str] = set()
        self._running: set[str] = set()
        self._lost: set[str] = set()
        self._generations: dict[str, int] = {}
        """The generation each zap's lease was last taken at here (the fencing token's number)."""
        self.parking: Callable[[str], float] | None = None
        """Seconds a lease given up after a run stays held first (the daemon: until the zap's next tick)."""

    @property
    def kept(self) -> frozenset[str]:
        """The zaps whose lease is kept between runs."""
        return frozenset(self._kept)

    def holds(self, zap_id: str) -> bool:
        """Whether the zap's lease is kept here and was confirmed recently enough to trust.

        The renewal confirms it every third of ``lease_seconds``; one not confirmed for
        half of it (the store was slow, or failing) is taken again, which is also how
        a lease another daemon took meanwhile is noticed before the run starts.
        """
        if self.owner is None:
            return True
        lease = self._kept.get(zap_id)
        return lease is not None and time.monotonic() - lease.confirmed < self.lease_seconds / 2

    def lost(self, zap_id: str) -> bool:
        """Whether another process took the zap's lease during the current run."""
        return zap_id in self._lost

    def fence(self, zap_id: str) -> Fence | None:
        """The fencing token of the zap's lease as this process took it, or ``None`` without leases.

        A page is recorded only if the lease is still held at this generation (see
        ``Store.commit_page``): a daemon that was stalled past its lease, and another
        took the zap over meanwhile, records nothing when it resumes.
        """
        if self.owner is None:
            return None
        generation = self._generations.get(zap_id)
        return None if generation is None else (self.owner, generation)

    async def check(self, zap_id: str) -> None:
        """Before sending: raise :class:`~zaplite.store.LeaseLost` if the zap's lease is no longer ours.

        A daemon stalled past its lease (``docker pause``, a VM stall, heavy swapping)
        must not send a page another daemon has delivered since, nor retry one.
        """
        fence = self.fence(zap_id)
        if fence is None:
            return
        try:
            await asyncio.to_thread(self.store.check_lease, zap_id, fence)
        except LeaseLost:
            self._lost.add(zap_id)
            raise

    async def take(self, zap_id: str) -> bool:
        """Take the zap's lease; also from a process of this machine that crashed holding it."""
        if self.owner is None:
            return True
        asked = time.monotonic()
        taken = await asyncio.to_thread(
            self.store.acquire_lease, zap_id, self.owner, self.lease_seconds
        )
        if taken is None:
            holder = await asyncio.to_thread(self.store.lease_holder, zap_id)
            if holder is None or not crashed_here(holder):
                return False
            log.warning("zap %s: taking over the lease of %s, which is not running", zap_id, holder)
            asked = time.monotonic()
            taken = await asyncio.to_thread(
                self.store.acquire_lease, zap_id, self.owner, self.lease_seconds, replacing=holder
            )
        if taken is None:
            return False
        self._generations[zap_id] = taken
        if self._keeping:
            self._kept[zap_id] = _KeptLease(asked)
        await self._close_left_runs(zap_id)
        return True

    async def _close_left_runs(self, zap_id: str) -> None:
        """Close as interrupted the zap's runs left ``running`` by a process that is gone.

        Only the lease holder runs a zap, so a run still open when the lease is taken
        was left by a process killed mid-run, or by one whose finish met a store
        outage. It is closed only when its process is known to be gone: this process
        (its earlier run, no run of the zap in flight here) or one of this machine that
        has exited (:func:`crashed_here`). A run of a live process, or of another
        machine, stays its own to finish. Never fails the run about to start.
        """
        try:
            left = await asyncio.to_thread(self.store.open_runs, zap_id)
            gone = [
                run_id
                for run_id, owner in left
                if owner is not None
                and (crashed_here(owner) if owner != self.owner else zap_id not in self._running)
            ]
            if not gone:
                return
            closed = await asyncio.to_thread(self.store.interrupt_runs, gone, LEFT_RUN_MESSAGE)
        except StoreUnavailable:
            return  # the run that follows meets the outage and says so
        except Exception as error:  # the rows stay open; the next taking tries again
            log.warning("zap %s: could not close the runs left open (%s)", zap_id, error)
            return
        if closed:
            log.info(
                "zap %s: %d run(s) left running by a process that is gone: interrupted",
                zap_id,
                closed,
            )

    @contextlib.asynccontextmanager
    async def running(self, zap_id: str) -> AsyncIterator[None]:
        """Around one run that holds the lease: it is renewed while the run lasts.

        Inside :meth:`keeping` the batched renewal does that; otherwise a heartbeat of
        this run's own renews it every third of ``lease_seconds``. Another process
        taking the lease meanwhile makes :meth:`lost` true, so the run stops after its
        page.
        """
        self._lost.discard(zap_id)
        self._running.add(zap_id)
        heartbeat = (
            asyncio.create_task(self._heartbeat(zap_id))
            if self.owner is not None and not self._keeping
            else None
        )
        try:
            yield
        finally:
            self._running.discard(zap_id)
            if heartbeat is not None:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat

    async def after_run(self, zap_id: str, *, idle: bool) -> None:
        """Keep the lease after an idle run of a kept zap; give it up otherwise.

        A lease given up after a run is first held on for :attr:`parking` seconds (if
        set): no other daemon runs the zap again before its next tick.
        """
        if self.owner is None:
            return
        keeps = self._keeping and zap_id in self._kept and zap_id not in self._let_go_after_run
        if idle and keeps:
            return
        hold = 0.0
        if self.parking is not None and zap_id not in self._let_go_after_run:
            hold = self.parking(zap_id)
        if hold <= 0:
            await self.let_go(zap_id)
            return
        self._kept.pop(zap_id, None)
        await asyncio.to_thread(self.store.renew_lease, zap_id, self.owner, hold)

    async def let_go(self, zap_id: str) -> None:
        """Release the zap's lease (if it is still ours) and forget it was kept."""
        if self.owner is None:
            return
        self._kept.pop(zap_id, None)
        self._let_go_after_run.discard(zap_id)
        await asyncio.to_thread(self.store.release_lease, zap_id, self.owner)

    @contextlib.asynccontextmanager
    async def keeping(self) -> AsyncIterator[None]:
        """Inside, a zap's lease is kept from one run to the next: the daemon's way.

        A run then takes the lease only if this process does not hold it yet, and keeps
        it after an idle poll (nothing found, nothing failed); a run that recorded
        something gives it up, so daemons sharing a store share the work when there is
        some. One batched renewal every third of ``lease_seconds`` keeps every held
        lease alive (and stops, after its page, a run whose lease another daemon took).
        On the way out the leases are released; a run still in flight releases its own
        when it ends. Without an owner this does nothing.
        """
        if self.owner is None:
            yield
            return
        self._keeping = True
        renewer = asyncio.create_task(self._renew_kept())
        try:
            yield
        finally:
            self._keeping = False
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            idle = [zap_id for zap_id in self._kept if zap_id not in self._running]
            for zap_id in idle:
                del self._kept[zap_id]
            self._let_go_after_run.clear()
            if idle:
                try:
                    await asyncio.to_thread(self.store.release_leases, self.owner, idle)
                except Exception as error:  # they expire on their own
                    log.warning(
                        "could not release the leases of %d zap(s) (%s); they expire in %g s",
                        len(idle),
                        error,
                        self.lease_seconds,
                    )

    async def release(self, zap_ids: Iterable[str]) -> None:
        """Give up the kept leases of ``zap_ids`` (zaps this process no longer runs).

        A zap with a run in flight gives its lease up when that run ends.
        """
        now: list[str] = []
        for zap_id in zap_ids:
            if zap_id in self._running:
                self._let_go_after_run.add(zap_id)
            elif self._kept.pop(zap_id, None) is not None:
                now.append(zap_id)
        if now and self.owner is not None:
            await asyncio.to_thread(self.store.release_leases, self.owner, now)

    async def _renew_kept(self) -> None:
        """Renew every kept lease in one transaction, every third of ``lease_seconds``."""
        assert self.owner is not None
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            if not self._kept:
                continue
            snapshot = dict(self._kept)
            asked = time.monotonic()
            try:
                still_ours = await asyncio.to_thread(
                    self.store.renew_leases, self.owner, list(snapshot), self.lease_seconds
                )
            except StoreUnavailable as error:  # said once; the next round tries again
                self.outage.failed(error)
                continue
            except Exception as error:  # a store hiccup: the next round tries again
                log.warning("could not renew the leases of %d zap(s) (%s)", len(snapshot), error)
                continue
            self.outage.answered()
            for zap_id, lease in snapshot.items():
                if self._kept.get(zap_id) is not lease:
                    continue  # given up, or taken again, while the renewal ran
                if zap_id in still_ours:
                    lease.confirmed = asked
                    continue
                del self._kept[zap_id]
                self._lost.add(zap_id)
                running = zap_id in self._running
                log.warning(
                    "zap %s: another daemon took the lease%s",
                    zap_id,
                    "; this run stops" if running else "",
                )

    async def _heartbeat(self, zap_id: str) -> None:
        """Renew one run's lease while it goes on, so that it never expires under a long page."""
        assert self.owner is not None
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                kept = await asyncio.to_thread(
                    self.store.renew_lease, zap_id, self.owner, self.lease_seconds
                )
            except StoreUnavailable as error:  # said once; the next beat tries again
                self.outage.failed(error)
                continue
            except Exception as error:  # a store hiccup: the next beat tries again
                log.warning("zap %s: could not renew the lease (%s)", zap_id, error)
                continue
            self.outage.answered()
            if not kept:
                log.warning("zap %s: another daemon took the lease; this run stops", zap_id)
                self._lost.add(zap_id)
                return
