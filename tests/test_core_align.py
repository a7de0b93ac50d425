"""The compiled alignment (``wiretrace._core``) against its oracles and its guards:
Indel similarity and alignment equal to rapidfuzz's, prepared documents checked at
the binding, a Rust panic turned into ``EngineFault`` and, over gRPC, INTERNAL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Indel

from wiretrace import Detector, _core
from wiretrace.engine import align
from wiretrace.engine.config import EngineConfig
from wiretrace.engine.work import Work
from wiretrace.errors import EngineFault, Expired
from wiretrace_bench.shapes import shape_text
from wiretrace_client import Client

from .helpers import Running

ids = st.lists(st.integers(min_value=-1, max_value=6), max_size=300)
wide = st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=80)


def _bytes(xs: list[int]) -> bytes:
    return np.asarray(xs, dtype="<i8").tobytes()


def _rapidfuzz_aligned(a: list[int], b: list[int]) -> tuple[list[bool], list[bool]]:
    """The tokens rapidfuzz's Indel opcodes call ``equal``: the oracle."""
    hit_a, hit_b = [False] * len(a), [False] * len(b)
    for op in Indel.opcodes(a, b):
        if op.tag == "equal":
            hit_a[op.src_start : op.src_end] = [True] * (op.src_end - op.src_start)
            hit_b[op.dest_start : op.dest_end] = [True] * (op.dest_end - op.dest_start)
    return hit_a, hit_b


@settings(max_examples=400, deadline=None)
@given(ids, ids)
def test_indel_similarity_equals_rapidfuzz(a: list[int], b: list[int]) -> None:
    assert _core.indel_similarity(_bytes(a), _bytes(b)) == Indel.normalized_similarity(a, b)


@settings(max_examples=400, deadline=None)
@given(ids, ids)
def test_indel_alignment_equals_rapidfuzz_opcodes(a: list[int], b: list[int]) -> None:
    got_a, got_b = _core.indel_aligned(_bytes(a), _bytes(b))
    want_a, want_b = _rapidfuzz_aligned(a, b)
    assert [bool(x) for x in got_a] == want_a
    assert [bool(x) for x in got_b] == want_b


@settings(max_examples=100, deadline=None)
@given(wide, wide)
def test_indel_takes_any_64_bit_id(a: list[int], b: list[int]) -> None:
    b = b + a[: len(a) // 2]  # something in common
    assert _core.indel_similarity(_bytes(a), _bytes(b)) == Indel.normalized_similarity(a, b)


def test_long_sequences_cross_many_blocks() -> None:
    rng = np.random.default_rng(5)
    for n in (63, 64, 65, 640, 1500):
        a = rng.integers(0, 40, n).tolist()
        b = [x for x in a if rng.random() > 0.2] + rng.integers(0, 40, n // 5).tolist()
        assert _core.indel_similarity(_bytes(a), _bytes(b)) == Indel.normalized_similarity(a, b)
        got_a, got_b = _core.indel_aligned(_bytes(a), _bytes(b))
        assert ([bool(x) for x in got_a], [bool(x) for x in got_b]) == _rapidfuzz_aligned(a, b)


def test_a_document_is_converted_once(detector: Detector) -> None:
    doc = detector.prepare("Officials closed the northern border crossing on Tuesday. " * 3)
    assert doc.aligned() is doc.aligned()
    assert len(doc.aligned()) == len(doc.words)


def test_an_inconsistent_document_is_refused_at_the_binding(detector: Detector) -> None:
    doc = detector.prepare("Officials closed the northern border crossing on Tuesday.")
    good = align.prepared_doc(doc)
    assert len(good) == len(doc.words)
    with pytest.raises(ValueError, match="not a prepared document: terms has"):
        _core.PreparedDoc(
            words=_bytes(doc.words.tolist()),
            terms=_bytes(doc.terms.tolist()[:-1]),  # one token short
            bounds=_bytes(doc.units.bounds.tolist()),
            features=b"",
            feature_starts=_bytes([0] * (len(doc.units) + 1)),
            hidden=b"\0" * len(doc.units),
            runs=b"",
            indexable=b"",
            band_keys=b"",
            bands=0,
            quoted=b"\0" * len(doc.words),
            named=b"\0" * len(doc.words),
            sentence_ends=b"",
            window_k=5,
            window_hashes=b"",
            window_rare=b"",
            window_order=b"",
        )


def test_a_panic_in_the_core_becomes_engine_fault() -> None:
    with pytest.raises(_core.EnginePanic, match="core bug in _panic_for_tests: boom"):
        _core._panic_for_tests("boom")
    with pytest.raises(EngineFault, match="core bug in _panic_for_tests: boom"):
        align.core_call(_core._panic_for_tests, "boom")


@pytest.fixture
def sqlite_running(tmp_path: Path) -> Iterator[Running]:
    r = Running(tmp_path / "data")
    yield r
    r.stop()


def test_a_panic_in_the_core_is_internal_over_grpc(
    sqlite_running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = sqlite_running

    def panicking(*_args: object, **_kwargs: object) -> object:
        return align.core_call(_core._panic_for_tests, "an index out of range")

    monkeypatch.setattr(r.service, "compare", panicking)  # a bug in the core, not a mock
    with Client(r.address, retries=0) as client, pytest.raises(grpc.RpcError) as caught:
        client.compare("One text of words.", "Another text of words.")
    err = caught.value
    assert err.code() == grpc.StatusCode.INTERNAL
    details = err.details() or ""
    assert "core bug in _panic_for_tests" in details
    assert "an index out of range" in details


def test_the_core_asks_the_cancellation_and_raises_what_it_raised(detector: Detector) -> None:
    doc = detector.prepare(shape_text("salad", 60_000))
    other = detector.prepare(shape_text("salad", 60_000))
    with pytest.raises(Expired):
        detector.compare(doc, other, work=Work(cancelled=lambda: True))


def test_the_core_runs_without_the_gil(detector: Detector) -> None:
    """While one thread aligns a large pair, another runs Python code."""
    text = shape_text("salad", 200_000)
    a, b = detector.prepare(text), detector.prepare(text)
    a.aligned(), b.aligned()
    ticks = 0
    done = threading.Event()

    def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        before = ticks
        found, *_ = _core.compare(
            a.aligned(),
            b.aligned(),
            same_text=False,
            config=align.align_config(detector.config),
            counters=[0] * len(align.COUNTERS),
            limited=[],
        )
        during = ticks - before
    finally:
        done.set()
        ticker.join()
    assert found
    assert during > 1000  # the other thread ran all along


def test_a_cancellation_from_another_thread_stops_the_core_within_a_second(
    detector: Detector,
) -> None:
    """What the server does when a call's deadline passes: the flag is set on the event
    loop's thread while a worker is inside the core, and the worker is free again."""
    text = shape_text("salad", 200_000)
    a, b = detector.prepare(text), detector.prepare(text)
    a.aligned(), b.aligned()
    gone = threading.Event()
    asked = threading.Semaphore(0)
    outcome: list[BaseException | None] = []
    stopped_at = 0.0

    def cancelled() -> bool:
        asked.release()
        return gone.is_set()

    def worker() -> None:
        nonlocal stopped_at
        try:
            detector.compare(a, b, work=Work(cancelled=cancelled))
            outcome.append(None)
        except BaseException as err:  # what the call ends with, kept for the assertion
            outcome.append(err)
        stopped_at = time.monotonic()

    thread = threading.Thread(target=worker)
    thread.start()
    for _ in range(3):  # twice in Python before the core, then from inside it
        assert asked.acquire(timeout=10)
    gone.set()
    set_at = time.monotonic()
    thread.join(timeout=10)
    assert not thread.is_alive()
    (err,) = outcome
    assert isinstance(err, Expired)
    assert stopped_at - set_at < 1.0


def test_a_cancel_token_is_read_by_the_core_without_the_gil() -> None:
    """The server's way: gRPC's done-callback sets the token from another thread, and
    the core, which never takes the GIL back to ask, stops within a second. The bounds
    are raised so that the comparison would take seconds (the defaults stop it in a
    fraction of one, before the token could be set)."""
    cfg = EngineConfig()
    detector = Detector(
        replace(
            cfg,
            max_refine_cells=cfg.max_refine_cells * 50,
            max_seed_pairs=cfg.max_seed_pairs * 1000,
            max_extend_pairs=cfg.max_extend_pairs * 1000,
            max_passages=100_000,
        )
    )
    text = shape_text("salad", 200_000)
    a, b = detector.prepare(text), detector.prepare(text)
    a.aligned(), b.aligned()
    token = _core.CancelToken(None)
    assert not token()
    assert not token.cancelled()
    outcome: list[BaseException | None] = []
    stopped_at = 0.0
    started = threading.Event()

    def worker() -> None:
        nonlocal stopped_at
        started.set()
        try:
            detector.compare(a, b, work=Work(cancelled=token))
            outcome.append(None)
        except BaseException as err:  # what the call ends with, kept for the assertion
            outcome.append(err)
        stopped_at = time.monotonic()

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait(10)
    time.sleep(0.1)  # into the core (the whole comparison takes seconds)
    token.cancel()
    set_at = time.monotonic()
    thread.join(timeout=10)
    assert not thread.is_alive()
    (err,) = outcome
    assert isinstance(err, Expired)
    assert "cancelled or its deadline passed" in str(err)
    assert stopped_at - set_at < 1.0


def test_a_cancel_token_expires_at_its_deadline(detector: Detector) -> None:
    assert _core.CancelToken(0.0).cancelled()
    assert _core.CancelToken(-1.0).cancelled()
    assert not _core.CancelToken(float("inf")).cancelled()
    assert not _core.CancelToken(3600.0).cancelled()
    token = _core.CancelToken(0.05)
    time.sleep(0.06)
    assert token()
    doc = detector.prepare("Officials closed the northern border crossing on Tuesday. " * 40)
    with pytest.raises(Expired):
        detector.compare(doc, detector.prepare(doc.text), work=Work(cancelled=token))
