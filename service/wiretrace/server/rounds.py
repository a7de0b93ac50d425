"""The ingest threads: each takes its share of the work waiting, all at once, and runs
it as one round.

An article's detection is a few calls into the compiled core and a few SQLite reads,
each of which releases the GIL; with one article a turn, every release was a chance
for another thread to take the GIL, and on a machine where waking a thread costs tens
of microseconds the handovers, not the work, set the pace. A round of the articles
waiting (up to ``--ingest-round``) makes those calls once for them all
(``ReuseService.ingest_round``).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Rounds"]

log = logging.getLogger("wiretrace.server")

T = TypeVar("T")


class Rounds(Generic[T]):
    """``threads`` threads that run ``run`` over the items submitted, each taking the
    items waiting when it is free, shared with the other threads then free, and no
    more than ``most`` (the first come first). ``run`` should settle each of its items
    itself; what it raises is logged."""

    def __init__(
        self, run: Callable[[list[T]], None], threads: int, *, most: int, name: str
    ) -> None:
        if threads < 1 or most < 1:
            raise ValueError(f"threads and most must be >= 1, got {threads} and {most}")
        self._run = run
        self._most = most
        self._waiting: deque[T] = deque()
        self._changed = threading.Condition()
        self._idle = 0
        self._closed = False
        # Started by the first item, as a thread pool starts its threads.
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}_{i}", daemon=True)
            for i in range(threads)
        ]
        self._started = False

    def submit(self, item: T) -> None:
        """Queue ``item`` for the next round; RuntimeError once shut down."""
        with self._changed:
            if self._closed:
                raise RuntimeError("the ingest threads are shut down")
            self._waiting.append(item)
            if self._idle:
                self._changed.notify()
            elif not self._started:
                self._started = True
                for thread in self._threads:
                    thread.start()

    def shutdown(self, *, wait: bool = False) -> None:
        """Stop taking items: the rounds running finish (``wait``: before this
        returns), the items waiting are dropped, and ``submit`` raises from now on."""
        with self._changed:
            self._closed = True
            self._waiting.clear()
            self._changed.notify_all()
            started = self._started
        if wait and started:
            for thread in self._threads:
                thread.join()

    def _take(self) -> list[T] | None:
        """The next round: this thread's share of the items waiting (None: shut down)."""
        with self._changed:
            self._idle += 1
            try:
                while not self._waiting and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return None
                # ceil: nothing left behind, but no more than ``most``
                share = min(-(-len(self._waiting) // self._idle), self._most)
                items = [self._waiting.popleft() for _ in range(share)]
                if self._waiting:  # the share of another thread that waits
                    self._changed.notify()
                return items
            finally:
                self._idle -= 1

    def _loop(self) -> None:
        while (items := self._take()) is not None:
            try:
                self._run(items)
            except Exception:  # a bug: the other rounds go on
                log.exception("an ingest round failed", extra={"items": len(items)})
