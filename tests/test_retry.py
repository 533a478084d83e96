"""RetryPolicy.call: a first attempt without tenacity, and the same retries after a fault."""

from __future__ import annotations

import asyncio

import pytest

from zaplite.errors import PermanentError, RetryableError
from zaplite.retry import RetryPolicy


def _flaky(faults: list[BaseException], calls: list[int]):  # type: ignore[no-untyped-def]
    async def function() -> str:
        calls.append(len(calls) + 1)
        if faults:
            raise faults.pop(0)
        return "done"

    return function


def test_success_at_once_is_one_call() -> None:
    calls: list[int] = []
    assert asyncio.run(RetryPolicy(attempts=3).call(_flaky([], calls))) == "done"
    assert calls == [1]


def test_transient_faults_are_retried_with_the_same_notes_and_count() -> None:
    calls: list[int] = []
    notes: list[tuple[str, int]] = []
    faults: list[BaseException] = [RetryableError("one"), RetryableError("two")]
    policy = RetryPolicy(attempts=3, initial_wait=0.001, max_wait=0.01)
    result = asyncio.run(policy.call(_flaky(faults, calls), lambda e, n: notes.append((str(e), n))))
    assert result == "done"
    assert calls == [1, 2, 3], "the first fault counts as the first of the attempts"
    assert notes == [("one", 1), ("two", 2)]


def test_attempts_run_out_and_the_last_fault_is_raised() -> None:
    calls: list[int] = []
    faults: list[BaseException] = [RetryableError(f"fault {n}") for n in range(5)]
    policy = RetryPolicy(attempts=3, initial_wait=0.001, max_wait=0.01)
    with pytest.raises(RetryableError, match="fault 2"):
        asyncio.run(policy.call(_flaky(faults, calls)))
    assert calls == [1, 2, 3]


@pytest.mark.parametrize("attempts", [1, 3])
def test_a_permanent_fault_or_a_single_attempt_is_not_retried(attempts: int) -> None:
    calls: list[int] = []
    with pytest.raises(PermanentError):
        asyncio.run(RetryPolicy(attempts=attempts).call(_flaky([PermanentError("no")], calls)))
    calls.clear()
    with pytest.raises(RetryableError):
        asyncio.run(RetryPolicy(attempts=1).call(_flaky([RetryableError("x")], calls)))
    assert calls == [1]


def test_stopping_ends_the_backoff_after_a_first_fault() -> None:
    async def scenario() -> list[int]:
        calls: list[int] = []
        stopping = asyncio.Event()
        policy = RetryPolicy(attempts=5, initial_wait=30.0, max_wait=60.0).stoppable(stopping)
        task = asyncio.create_task(policy.call(_flaky([RetryableError("down")] * 5, calls)))
        await asyncio.sleep(0.05)
        stopping.set()
        with pytest.raises(RetryableError, match="down"):
            await asyncio.wait_for(task, 5)
        return calls

    assert asyncio.run(scenario()) == [1], "no second attempt once stopping"


def test_attempts_count_failures_in_a_row_and_progress_starts_the_count_again() -> None:
    """A long poll gets past faults one by one; only attempts failures with no progress give up."""
    policy = RetryPolicy(attempts=3, initial_wait=0.0, max_wait=0.0)
    done = {"pages": 0}
    script = iter(["fail", "fail", "page", "fail", "fail", "page", "fail", "fail", "ok"])

    async def work() -> str:
        while True:
            step = next(script)
            if step == "fail":
                raise RetryableError("503")
            if step == "ok":
                return "ok"
            done["pages"] += 1

    assert asyncio.run(policy.call(work, progress=lambda: done["pages"])) == "ok"
    stuck = RetryPolicy(attempts=3, initial_wait=0.0, max_wait=0.0)
    calls = {"n": 0}

    async def never() -> str:
        calls["n"] += 1
        raise RetryableError("503")

    with pytest.raises(RetryableError):
        asyncio.run(stuck.call(never, progress=lambda: 0))
    assert calls["n"] == 3
