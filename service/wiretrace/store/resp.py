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


def read_replies(conn: Connection, count: int) -> list[Any]:
    """The next ``count`` replies on ``conn``, taken straight from its hiredis reader:
    redis-py's per-reply wrapper costs more than Redis takes to answer a lookup. An
    error reply raises, as with ``read_response``."""
    parser = conn._parser
    gets = parser._reader.gets
    out: list[Any] = []
    while len(out) < count:
        reply = gets()
        if reply is NOT_ENOUGH_DATA:
            parser.read_from_socket()
        elif isinstance(reply, Exception):
            raise reply
        else:
            out.append(reply)
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

    def pack(self, **columns: npt.ArrayLike) -> bytes:
        size = len(np.asarray(next(iter(columns.values()))))
        out = np.empty(size, dtype=self.dtype)
        for name, constant in self._constants.items():
            out[name] = constant
        for name, column in columns.items():
            out[name] = column
        return out.tobytes()
