"""Offsets in the unit a client slices strings in.

Every span is computed in code points of the text as sent (Python ``str`` indices).
JavaScript, Java and C# index strings in UTF-16 code units, Go and Rust in UTF-8 bytes:
an astral character (an emoji, a rare Han character) is one code point, two UTF-16
units and four bytes, so code-point offsets drift in those languages. ``converter``
maps code-point offsets to the unit a request asks for, as Google's Natural Language
API does with its ``EncodingType``.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import numpy as np

__all__ = ["OffsetUnit", "converter"]


class OffsetUnit(Enum):
    CODE_POINTS = "code_points"
    UTF16_CODE_UNITS = "utf16_code_units"
    UTF8_BYTES = "utf8_bytes"


def _identity(offset: int) -> int:
    return offset


def converter(text: str, unit: OffsetUnit) -> Callable[[int], int]:
    """A function from a code-point offset ``0 <= i <= len(text)`` of ``text`` to the
    same position in ``unit``. A lone surrogate (which a client may send) counts as one
    UTF-16 unit and as the three bytes Python's ``surrogatepass`` writes for it."""
    if unit is OffsetUnit.CODE_POINTS or text.isascii():
        return _identity
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if unit is OffsetUnit.UTF16_CODE_UNITS:
        widths = np.where(points > 0xFFFF, 2, 1)
    else:
        widths = np.select([points < 0x80, points < 0x800, points < 0x10000], [1, 2, 3], default=4)
    ends = np.concatenate(([0], np.cumsum(widths, dtype=np.int64)))

    def convert(offset: int) -> int:
        return int(ends[offset])

    return convert
