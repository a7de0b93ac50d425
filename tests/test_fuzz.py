"""Hostile requests over every RPC: no answer is INTERNAL or UNKNOWN, none hangs, and
the store holds exactly what was acknowledged."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiretrace_bench.fuzz import FAILURES
from wiretrace_bench.hostile import hostile, send

from .helpers import MAX_TEXT, Running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = Running(tmp_path_factory.mktemp("fuzz") / "data")
    yield running
    running.stop()


@settings(max_examples=150)
@given(st.integers(0, 2**32 - 1))
def test_no_hostile_request_gets_internal_or_unknown_or_hangs(server: Running, seed: int) -> None:
    request = hostile(random.Random(seed), limit=MAX_TEXT)
    code, stored = send(server.client.channel, request, timeout=60)
    assert code.name not in FAILURES, (request.rpc, request.raw, request.messages)
    for article_id, text in stored:  # acknowledged means stored, with the text that was sent
        assert server.client.get(article_id).text == text


def test_undecodable_requests_are_invalid_arguments(tmp_path: Path) -> None:
    running = Running(tmp_path / "data")
    try:
        channel = running.client.channel
        bad_utf8 = b"\x0a\x03\xff\xfe\xfd"  # field 1, a string, holding no UTF-8
        for rpc in ("Get", "Compare", "Delete"):
            call = channel.unary_unary(f"/wiretrace.v1.Wiretrace/{rpc}", None, None)
            with pytest.raises(grpc.RpcError) as info:
                call(bad_utf8, timeout=10)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert f"the {rpc} request is not a valid message" in (info.value.details() or "")
        stream = channel.stream_stream("/wiretrace.v1.Wiretrace/IngestStream", None, None)
        with pytest.raises(grpc.RpcError) as info:
            list(stream(iter([b"\x0a\xff\xff\xff\xff\x0f"]), timeout=10))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        running.stop()
