"""Redis commands as raw RESP bytes, thousands of fixed-width ones built in one numpy
pass (the lookups of a query), and their replies read without redis-py's per-reply
overhead."""

from __future__ import annotations

import selectors
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import redis.exceptions as rx
from redis._parsers.hiredis import NOT_ENOUGH_DATA
from redis.connection import Connection

__all__ = ["FixedCommand", "read_replies", "read_replies_from"]


def read_replies(conn: Connection, count: int, *, errors: bool = False) -> list[Any]:
    """The next ``count`` replies on ``conn``, taken straight from its hiredis reader:
    redis-py's per-reply wrapper costs more than Redis takes to answer a lookup. An
    error reply raises, as with ``read_response``, after all ``count`` are read; with
    ``errors`` it takes its place in the list instead (an exception instance)."""
    parser = conn._parser
    gets = parser._reader.gets
    out: list[Any] = []
    while len(out) < count:
        reply = gets()
        if reply is NOT_ENOUGH_DATA:
            parser.read_from_socket()
        else:
            out.append(reply)
    if not errors:
        for reply in out:
            if isinstance(reply, Exception):
                raise reply
    return out


def read_replies_from(
    conns: Mapping[str, Connection], counts: Mapping[str, int], *, timeout: float | None
) -> dict[str, list[Any] | Exception]:
    """The next ``counts[name]`` replies on each of ``conns``, read from whichever
    connection has data first (the client decodes one server's replies while the
    others still work), error replies in place as exception instances. A connection
    that fails, or sends nothing for ``timeout`` seconds while replies are due, gets
    the exception instead of its list."""
    out: dict[str, list[Any] | Exception] = {}
    got: dict[str, list[Any]] = {name: [] for name in conns}

    def drain(name: str) -> bool:
        """Take the complete replies already read; True once all are in."""
        replies, gets = got[name], conns[name]._parser._reader.gets
        while len(replies) < counts[name]:
            reply = gets()
            if reply is NOT_ENOUGH_DATA:
                return False
            replies.append(reply)
        out[name] = replies
        return True

    with selectors.DefaultSelector() as waiting:
        for name, conn in conns.items():
            if not drain(name):
                waiting.register(conn._sock, selectors.EVENT_READ, name)  # type: ignore[arg-type]
        while waiting.get_map():
            ready = waiting.select(timeout)
            if not ready:
                for key in list(waiting.get_map().values()):
                    out[key.data] = rx.TimeoutError("Timeout reading from socket")
                    waiting.unregister(key.fileobj)
                break
            for key, _ in ready:
                try:
                    conns[key.data]._parser.read_from_socket()  # one recv: it is readable
                except (rx.ConnectionError, rx.TimeoutError, OSError) as err:
                    out[key.data] = err
                    waiting.unregister(key.fileobj)
                    continue
                if drain(key.data):
                    waiting.unregister(key.fileobj)
    return out


class FixedCommand:
    """A fixed-width RESP command: constant parts, and named columns that numpy fills
    for many commands at once. Parts are bytes (constant) or ``(name, dtype)``."""

    def __init__(self, *parts: bytes | tuple[str, str]) -> None:
        fields: list[tuple[str, str]] = []
        self._constants: dict[str, bytes] = {}
        for i, part in enumerate(parts):
            if isinstance(part, bytes):
                fields.append((f"_{i}", f"S{len(part)}"))
                self._constants[f"_{i}"] = part
            else:
                fields.append(part)
        self.dtype = np.dtype(fields)

    @property
    def width(self) -> int:
        """Bytes per command."""
        return self.dtype.itemsize

    def array(self, **columns: npt.ArrayLike) -> npt.NDArray[np.void]:
        """The commands as a structured array, one row (``width`` bytes) each."""
        size = len(np.asarray(next(iter(columns.values()))))
        out = np.empty(size, dtype=self.dtype)
        for name, constant in self._constants.items():
            out[name] = constant
        for name, column in columns.items():
            out[name] = column
        return out

    def pack(self, **columns: npt.ArrayLike) -> bytes:
        return self.array(**columns).tobytes()
