"""Redis commands as raw RESP bytes, thousands of fixed-width ones built in one numpy
pass (the lookups of a query), and their replies read without redis-py's per-reply
overhead."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from redis._parsers.hiredis import NOT_ENOUGH_DATA
from redis.connection import Connection

__all__ = ["FixedCommand", "read_replies"]


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
