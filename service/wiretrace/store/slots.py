"""Redis Cluster hash slots, computed in numpy for many keys at once.

A key's slot is CRC16 (XMODEM) of its hash tag (the part between the first ``{`` and
the next ``}``) modulo 16384. The cluster store names its keys with tags it picks
from ``slot_tags()``: one fixed-width tag per slot, so that the store, not chance,
decides which slot holds what (every slot gets its share, and a resharding that moves
slots moves the data evenly).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

__all__ = ["SLOTS", "TAG_WIDTH", "crc16", "slot_tags"]

SLOTS = 16384
TAG_WIDTH = 6  # bytes of a tag: six hex digits


def _table() -> npt.NDArray[np.uint16]:
    out = np.zeros(256, dtype=np.uint16)
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        out[byte] = crc & 0xFFFF
    return out


_CRC_TABLE = _table()


def crc16(keys: npt.NDArray[np.bytes_]) -> npt.NDArray[np.uint16]:
    """CRC16-XMODEM (Redis Cluster's) of each fixed-width byte string in ``keys``
    (numpy pads shorter ones with NULs, which count: give them all the same width)."""
    width = keys.dtype.itemsize
    data = np.frombuffer(keys.tobytes(), dtype=np.uint8).reshape(len(keys), width)
    crc = np.zeros(len(keys), dtype=np.uint16)
    for column in range(width):
        index = ((crc >> 8) ^ data[:, column]).astype(np.uint8)
        crc = (crc << np.uint16(8)) ^ _CRC_TABLE[index]
    return crc


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex(numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.bytes_]:
    """``numbers`` as zero-padded lowercase hex of ``TAG_WIDTH`` digits."""
    shifts = np.arange(4 * (TAG_WIDTH - 1), -1, -4, dtype=np.int64)
    digits = _HEX[(numbers[:, None] >> shifts) & 15]
    return np.ascontiguousarray(digits).view(f"S{TAG_WIDTH}").ravel()


@cache
def slot_tags() -> npt.NDArray[np.bytes_]:
    """For each slot, the first six-hex-digit tag (``000000``, ``000001``, ...) that
    hashes to it. Deterministic, so every replica names keys alike."""
    out = np.zeros(SLOTS, dtype=f"S{TAG_WIDTH}")
    found = np.zeros(SLOTS, dtype=bool)
    start, step = 0, 1 << 16
    while not found.all():
        numbers = np.arange(start, start + step)
        tags = _hex(numbers)
        slots = crc16(tags) % SLOTS
        # The first tag of each slot in this batch, for the slots still missing.
        first = np.unique(slots, return_index=True)
        fresh = ~found[first[0]]
        out[first[0][fresh]] = tags[first[1][fresh]]
        found[first[0][fresh]] = True
        start += step
    return out
