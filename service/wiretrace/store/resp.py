"""Redis commands as raw RESP bytes: one at a time, or thousands of fixed-width ones
built in one numpy pass (the band records of a write, the lookups of a query)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["FixedCommand", "pack_command"]


def _bytes(value: bytes | str | int) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, int):
        return b"%d" % value
    return value.encode("utf-8", "surrogatepass")


def pack_command(*args: bytes | str | int) -> bytes:
    """One command in RESP."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in map(_bytes, args):
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


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
