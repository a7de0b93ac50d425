"""Offsets in the unit a client's language slices strings in."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from wiretrace.domain.offsets import OffsetUnit, converter
from wiretrace_client import Client, pb

from .helpers import Running, _sentence

ENCODING = {OffsetUnit.UTF16_CODE_UNITS: ("utf-16-le", 2), OffsetUnit.UTF8_BYTES: ("utf-8", 1)}


def _slice(text: str, start: int, end: int, unit: OffsetUnit) -> str:
    """``text[start:end]`` where the offsets are in ``unit``, as that language slices."""
    if unit is OffsetUnit.CODE_POINTS:
        return text[start:end]
    codec, width = ENCODING[unit]
    raw = text.encode(codec, "surrogatepass")
    return raw[start * width : end * width].decode(codec, "surrogatepass")


@given(st.text(max_size=60), st.sampled_from(list(OffsetUnit)), st.data())
def test_converted_offsets_slice_the_same_text_as_code_points(
    text: str, unit: OffsetUnit, data: st.DataObject
) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    convert = converter(text, unit)
    assert _slice(text, convert(start), convert(end), unit) == text[start:end]


def test_astral_characters_widen_only_in_their_units() -> None:
    text = "a😀b"
    assert [converter(text, OffsetUnit.UTF16_CODE_UNITS)(i) for i in range(4)] == [0, 1, 3, 4]
    assert [converter(text, OffsetUnit.UTF8_BYTES)(i) for i in range(4)] == [0, 1, 5, 6]


def _mixed_script_pair() -> tuple[str, str, str]:
    """Two articles sharing a paragraph full of emoji, combining marks and RTL text."""
    rng = random.Random(3)
    shared = " ".join(
        f"{_sentence(rng)[:-1]} 😀 café\u0301 שלום 𠜎 ∑ {_sentence(rng)}" for _ in range(3)
    )
    a = f"🚀 {_sentence(rng)} 👩\u200d👩\u200d👧 {_sentence(rng)}\n{shared}\n{_sentence(rng)}"
    b = f"{_sentence(rng)} مرحبا 🎉\n{shared}\n{_sentence(rng)} 😀"
    return a, b, shared


def test_every_rpc_answers_in_the_unit_the_request_asks_for(running: Running) -> None:
    a, b, shared = _mixed_script_pair()
    running.client.ingest("src", a, outlet="one")
    for unit, pb_unit in (
        (OffsetUnit.CODE_POINTS, pb.CODE_POINTS),
        (OffsetUnit.UTF16_CODE_UNITS, pb.UTF16_CODE_UNITS),
        (OffsetUnit.UTF8_BYTES, pb.UTF8_BYTES),
    ):
        with Client(running.address, offset_unit=pb_unit) as client:
            (m,) = client.compare(a, b).matches
            assert _slice(a, m.a.start, m.a.end, unit) == _slice(b, m.b.start, m.b.end, unit)
            assert shared in _slice(a, m.a.start, m.a.end, unit)
            (r,) = [r for r in client.query(b).matches if r.source_id == "src"]
            mine = _slice(b, r.span.start, r.span.end, unit)
            assert mine == _slice(a, r.source_span.start, r.source_span.end, unit)
            assert shared in mine
    # Astral characters precede the shared paragraph, so the units really differ.
    with Client(running.address, offset_unit=pb.UTF16_CODE_UNITS) as client:
        utf16 = client.compare(a, b).matches[0].a.start
    assert utf16 > running.client.compare(a, b).matches[0].a.start
