"""The background sweep: every few seconds, check that the store is reachable (and
say so when that changes) and, when it is, remove the articles past retention."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from wiretrace.domain.service import ReuseService
from wiretrace.errors import Unavailable

__all__ = ["Sweeper"]

log = logging.getLogger("wiretrace.domain")


class Sweeper:
    """A daemon thread; ``start`` once, ``stop`` joins it. ``on_health`` is called
    with the store's reachability first, then whenever it changes."""

    def __init__(
        self, service: ReuseService, every_seconds: float, on_health: Callable[[bool], None]
    ) -> None:
        if every_seconds <= 0:
            raise ValueError(f"every_seconds must be > 0, got {every_seconds}")
        self.service = service
        self.every_seconds = every_seconds
        self.on_health = on_health
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweeper", daemon=True)
        self._first = threading.Event()
        self._last: bool | None = None

    def sweep(self) -> None:
        """One round: health, then repair of half-done writes, then retention."""
        ok = self.service.healthy()
        if ok != self._last:
            if self._last is not None:
                log.warning("store reachable" if ok else "store unreachable")
            self.on_health(ok)
            self._last = ok
        if ok:
            with contextlib.suppress(Unavailable):  # reported by the next health check
                self.service.repair()
                self.service.expire()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
            except Exception:  # the sweeper must outlive one bad sweep
                log.exception("sweep failed")
            self._first.set()
            self._stop.wait(self.every_seconds)

    def start(self, *, wait_seconds: float = 10.0) -> None:
        """Start, and return once the first sweep is done (at most ``wait_seconds``):
        health is known and retention applied before the first call is served."""
        self._thread.start()
        self._first.wait(wait_seconds)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
