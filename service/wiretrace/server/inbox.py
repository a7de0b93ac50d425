"""Calls from other threads to the event loop, many to one wake-up.

A group commit settles many articles at once, each with a call that must run on the
loop. ``loop.call_soon_threadsafe`` wakes the loop once a call (a byte through its
self-pipe, read back on the loop); an ``Inbox`` wakes it once for every call queued
since the loop last drained it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("wiretrace.server")


class Inbox:
    """Runs ``put``'s calls on ``loop``, in the order they were put.

    ``dropped`` is called, on the putting thread, once a call that cannot run because
    the loop has closed."""

    def __init__(self, loop: asyncio.AbstractEventLoop, dropped: Callable[[], None]) -> None:
        self.loop = loop
        self._dropped = dropped
        self._lock = threading.Lock()
        self._calls: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

    def put(self, fn: Callable[..., None], *args: Any) -> None:
        """``fn(*args)`` on the loop, soon; from any thread."""
        with self._lock:
            self._calls.append((fn, args))
            wake = len(self._calls) == 1  # an earlier put has woken the loop already
        if not wake:
            return
        try:
            self.loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop has closed: nobody waits for these calls
            with self._lock:
                lost, self._calls = self._calls, []
            for _ in lost:
                self._dropped()

    def _drain(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, []
        for fn, args in calls:
            try:
                fn(*args)
            except Exception:  # a bug, which must not lose the calls behind it
                log.exception("a call from a worker thread failed on the event loop")
