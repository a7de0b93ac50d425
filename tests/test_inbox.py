"""The event loop's inbox: calls from worker threads, run on the loop in order."""

from __future__ import annotations

import asyncio
import threading

from wiretrace.server.inbox import Inbox


def test_calls_from_threads_run_on_the_loop_in_order_one_wake_up_for_all_queued() -> None:
    async def scenario() -> tuple[list[tuple[int, int]], set[int], int]:
        loop = asyncio.get_running_loop()
        inbox = Inbox(loop, dropped=lambda: None)
        seen: list[tuple[int, int]] = []
        threads_seen: set[int] = set()
        done = asyncio.Event()
        wakes = 0
        drain = inbox._drain

        def counted() -> None:
            nonlocal wakes
            wakes += 1
            drain()

        inbox._drain = counted  # type: ignore[method-assign]

        def record(worker: int, k: int) -> None:
            seen.append((worker, k))
            threads_seen.add(threading.get_ident())
            if len(seen) == 4 * 500:
                done.set()

        def put_many(worker: int) -> None:
            for k in range(500):
                inbox.put(record, worker, k)

        workers = [threading.Thread(target=put_many, args=(w,)) for w in range(4)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()  # blocking the loop: every call is queued before it drains any
        await asyncio.wait_for(done.wait(), 10)
        return seen, threads_seen, wakes

    seen, threads_seen, wakes = asyncio.run(scenario())
    assert len(seen) == 2000
    for worker in range(4):  # each thread's calls in the order it put them
        assert [k for w, k in seen if w == worker] == list(range(500))
    assert len(threads_seen) == 1  # all on the loop's thread
    assert wakes == 1


def test_a_call_that_fails_does_not_lose_the_calls_behind_it() -> None:
    async def scenario() -> list[int]:
        inbox = Inbox(asyncio.get_running_loop(), dropped=lambda: None)
        ran: list[int] = []

        def fail() -> None:
            raise RuntimeError("a bug")

        def worker() -> None:
            inbox.put(ran.append, 1)
            inbox.put(fail)
            inbox.put(ran.append, 2)

        await asyncio.to_thread(worker)
        for _ in range(100):
            if len(ran) == 2:
                break
            await asyncio.sleep(0.01)
        return ran

    assert asyncio.run(scenario()) == [1, 2]


def test_calls_put_after_the_loop_closed_are_dropped_and_counted() -> None:
    loop = asyncio.new_event_loop()
    dropped: list[None] = []
    inbox = Inbox(loop, dropped=lambda: dropped.append(None))
    loop.close()
    ran: list[int] = []
    inbox.put(ran.append, 1)
    inbox.put(ran.append, 2)  # the first was dropped whole, so this one wakes again
    assert ran == []
    assert len(dropped) == 2
