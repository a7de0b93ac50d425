"""Idle and lifetime limits of streams.

A stream holds one of the server's RPC threads while it is open, even while its client
sends nothing. A watchdog thread cancels a stream that has waited longer than
``idle_seconds`` for its next message, or that has been open longer than
``max_seconds``, so that forgotten streams give their threads back. (Admission keeps
streams and other calls from taking the last threads: see ``--max-in-flight``.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc

__all__ = ["StreamWatch", "Watched"]

log = logging.getLogger("wiretrace.server")


class Watched:
    """One open stream: when it opened, and when it last heard from its client."""

    def __init__(self, context: grpc.ServicerContext, now: float) -> None:
        self.context = context
        self.opened = now
        self.heard = now
        self.waiting = True  # waiting for the client (not computing an answer)

    def heard_from_client(self) -> None:
        self.heard = time.monotonic()
        self.waiting = False

    def answered(self) -> None:
        self.heard = time.monotonic()
        self.waiting = True


class StreamWatch:
    def __init__(self, idle_seconds: float, max_seconds: float, *, tick: float = 0.25) -> None:
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self.tick = min(tick, idle_seconds / 4) if idle_seconds else tick
        self._streams: set[Watched] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.cancelled = 0

    @contextmanager
    def watch(self, context: grpc.ServicerContext) -> Iterator[Watched]:
        watched = Watched(context, time.monotonic())
        with self._lock:
            self._streams.add(watched)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="streams", daemon=True)
                self._thread.start()
        try:
            yield watched
        finally:
            with self._lock:
                self._streams.discard(watched)

    def _run(self) -> None:
        while True:
            time.sleep(self.tick)
            now = time.monotonic()
            with self._lock:
                streams = list(self._streams)
            for s in streams:
                idle = s.waiting and self.idle_seconds and now - s.heard > self.idle_seconds
                old = self.max_seconds and now - s.opened > self.max_seconds
                if idle or old:
                    why = "idle" if idle else "open"
                    limit = self.idle_seconds if idle else self.max_seconds
                    log.info("stream cancelled", extra={"reason": why, "limit_seconds": limit})
                    with self._lock:
                        self._streams.discard(s)
                        self.cancelled += 1
                    s.context.cancel()  # type: ignore[no-untyped-call]
