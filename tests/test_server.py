"""The gRPC service, exercised through a real server on port 0 and the example client."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from wiretrace_client import Client, article, articles_from_folder, articles_from_jsonl, pb

from .helpers import MAX_TEXT, Running, _sentence, news


def _code(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    code: grpc.StatusCode = info.value.code()
    return code


# -- every RPC ------------------------------------------------------------------------


def test_ingest_finds_reuse_from_earlier_articles_and_itself(running: Running) -> None:
    c = running.client
    docs = news(3)
    assert c.ingest(docs[0]).created
    assert not c.ingest(docs[1]).matches
    result = c.ingest(docs[2])
    assert result.created
    assert result.source_count == 1
    reuse = [m for m in result.matches if m.source_id == "a0001"]
    assert reuse
    m = reuse[0]
    assert (
        docs[2].text[m.span.start : m.span.end]
        == docs[1].text[m.source_span.start : m.source_span.end]
    )
    assert m.kind == pb.VERBATIM
    assert m.source_outlet == "outlet1"
    assert m.source_published_at.ToDatetime().day == 2
    assert 0 < result.reused_fraction < 0.5


def test_ingest_reports_a_repeat_inside_the_article(running: Running) -> None:
    rng = random.Random(1)
    para = " ".join(_sentence(rng) for _ in range(2))
    text = f"{para}\n{_sentence(rng)}\n{para}"
    result = running.client.ingest("self", text)
    (m,) = result.matches
    assert m.source_id == "self"
    assert m.source_span.end <= m.span.start
    assert result.source_count == 0
    assert result.reused_fraction == 0.0


def test_ingest_stream_many_articles_in_order(running: Running) -> None:
    docs = news(90)
    results = list(running.client.ingest_stream(docs))
    assert [r.id for r in results] == [d.id for d in docs]
    for k, r in enumerate(results):
        if k % 3 == 2:
            assert any(m.source_id == docs[k - 1].id for m in r.matches), k
        else:
            assert not [m for m in r.matches if m.source_id != r.id], k
    assert running.client.stats().articles == 90


def test_ingest_batch_answers_in_order_and_each_article_finds_the_ones_before_it(
    running: Running,
) -> None:
    docs = news(90)
    batches = [docs[at : at + 40] for at in range(0, 90, 40)]
    results = [r for batch in batches for r in running.client.ingest_batch(batch)]
    assert [r.id for r in results] == [d.id for d in docs]
    for k, r in enumerate(results):
        assert r.created, k
        if k % 3 == 2:  # within a batch (k = 2, 5, ...) and across two (k = 41: 40 and 41)
            assert any(m.source_id == docs[k - 1].id for m in r.matches), k
        else:
            assert not [m for m in r.matches if m.source_id != r.id], k
    assert running.client.stats().articles == 90
    again = running.client.ingest_batch(docs[:40])
    assert [r.created for r in again] == [False] * 40  # idempotent, as Ingest


def test_a_batch_of_no_article_or_too_many_is_refused_and_stores_nothing(
    running: Running,
) -> None:
    too_many = [pb.Article(id=f"b{k}", text=f"article {k}") for k in range(1001)]
    with pytest.raises(grpc.RpcError) as info:
        running.client.ingest_batch(too_many)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "1,001" in (info.value.details() or "")
    assert _code(lambda: running.client.ingest_batch([])) == grpc.StatusCode.INVALID_ARGUMENT
    assert running.client.stats().articles == 0
    assert len(running.client.ingest_batch(too_many[:1000])) == 1000


def test_query_detects_without_storing(running: Running) -> None:
    docs = news(3)
    running.client.ingest(docs[1])
    result = running.client.query(docs[2].text)
    assert result.source_count == 1
    assert running.client.stats().articles == 1
    with pytest.raises(grpc.RpcError):
        running.client.get(docs[2].id)


def test_query_options_filter_sources(running: Running) -> None:
    docs = news(3)
    running.client.ingest(docs[1])  # outlet1, published 2024-05-02
    text = docs[2].text
    assert running.client.query(text).source_count == 1
    excluded = pb.DetectOptions(exclude_outlets=["outlet1"])
    assert running.client.query(text, options=excluded).source_count == 0
    same = pb.DetectOptions(exclude_same_outlet=True)
    assert running.client.query(text, outlet="outlet1", options=same).source_count == 0
    assert running.client.query(text, outlet="outlet2", options=same).source_count == 1
    later = pb.DetectOptions(published_after=Timestamp(seconds=1_715_000_000))  # 2024-05-06
    assert running.client.query(text, options=later).source_count == 0
    strict = pb.DetectOptions(min_similarity=1.0, min_tokens=500)
    assert not running.client.query(text, options=strict).matches
    # The text reuses a paragraph of docs[1] and ingests beside it: two sources of
    # matches, capped to one.
    both = text + "\n" + docs[1].text.split("\n")[0]
    assert len(running.client.query(both).matches) > 1
    one = pb.DetectOptions(max_results=1)
    assert len(running.client.query(both, options=one).matches) == 1


def test_compare_aligns_two_texts(running: Running) -> None:
    docs = news(3)
    result = running.client.compare(docs[1].text, docs[2].text)
    assert result.matches
    m = result.matches[0]
    assert docs[1].text[m.a.start : m.a.end] == docs[2].text[m.b.start : m.b.end]


def test_get_and_delete(running: Running) -> None:
    docs = news(3)
    running.client.ingest(docs[1])
    got = running.client.get("a0001")
    assert got.text == docs[1].text
    assert got.outlet == "outlet1"
    assert got.published_at == docs[1].published_at
    running.client.delete("a0001")
    assert _code(lambda: running.client.get("a0001")) == grpc.StatusCode.NOT_FOUND
    assert running.client.query(docs[2].text).source_count == 0
    stats = running.client.stats()
    assert (stats.articles, stats.passages) == (0, 0)


def test_stats(running: Running) -> None:
    for d in news(6):
        running.client.ingest(d)
    s = running.client.stats()
    assert s.articles == 6
    assert s.passages > 6
    assert s.index_bytes > 0
    assert s.uptime_seconds > 0
    assert s.version


def test_reingest_same_text_is_idempotent_and_replace_overwrites(running: Running) -> None:
    docs = news(3)
    c = running.client
    c.ingest(docs[1])
    first = c.ingest(docs[2])
    again = c.ingest(docs[2])
    assert not again.created
    assert [m.span for m in again.matches] == [m.span for m in first.matches]
    changed = article(docs[2].id, docs[0].text)
    assert _code(lambda: c.ingest(changed)) == grpc.StatusCode.ALREADY_EXISTS
    assert c.get(docs[2].id).text == docs[2].text
    assert c.ingest(changed, replace=True).created
    assert c.get(docs[2].id).text == docs[0].text
    assert c.stats().articles == 2


# -- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "code", "words"),
    [
        (pb.IngestRequest(article=pb.Article(id="x", text="  ")), "INVALID_ARGUMENT", "empty"),
        (
            pb.IngestRequest(article=pb.Article(text="some text")),
            "INVALID_ARGUMENT",
            "id is missing",
        ),
        (
            pb.IngestRequest(article=pb.Article(id="x", text="t" * (MAX_TEXT + 1))),
            "RESOURCE_EXHAUSTED",
            "over the limit",
        ),
        (
            pb.IngestRequest(
                article=pb.Article(id="x", text="text", published_at=Timestamp(seconds=1, nanos=-5))
            ),
            "INVALID_ARGUMENT",
            "not a valid timestamp",
        ),
        (
            pb.IngestRequest(
                article=pb.Article(id="x", text="text"),
                options=pb.DetectOptions(min_similarity=1.5),
            ),
            "INVALID_ARGUMENT",
            "min_similarity",
        ),
        (
            pb.IngestRequest(
                article=pb.Article(id="x", text="text"),
                options=pb.DetectOptions(max_results=10**6),
            ),
            "INVALID_ARGUMENT",
            "max_results",
        ),
        (
            pb.IngestRequest(article=pb.Article(id="x", text="text", url="h" * 2049)),
            "INVALID_ARGUMENT",
            "url is 2049 characters, over the limit of 2048",
        ),
        (
            pb.IngestRequest(article=pb.Article(id="x", text="text", outlet="o" * 257)),
            "INVALID_ARGUMENT",
            "outlet is 257 characters",
        ),
        (
            pb.IngestRequest(article=pb.Article(id="x", text="text", language="en" * 18)),
            "INVALID_ARGUMENT",
            "language is 36 characters",
        ),
        (
            pb.IngestRequest(
                article=pb.Article(id="x", text="text"),
                options=pb.DetectOptions(include_outlets=[f"o{k}" for k in range(1001)]),
            ),
            "INVALID_ARGUMENT",
            "include_outlets names 1001 outlets, over the limit of 1000",
        ),
    ],
)
def test_bad_ingest_is_rejected_precisely_and_stores_nothing(
    running: Running, request_: pb.IngestRequest, code: str, words: str
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        running.client.stub.Ingest(request_, timeout=10)
    assert info.value.code().name == code
    assert words in (info.value.details() or "")
    assert running.client.stats().articles == 0


def test_unknown_ids_are_not_found(running: Running) -> None:
    assert _code(lambda: running.client.get("nope")) == grpc.StatusCode.NOT_FOUND
    assert _code(lambda: running.client.delete("nope")) == grpc.StatusCode.NOT_FOUND
    assert _code(lambda: running.client.get("")) == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("call", ["stream", "batch"])
def test_bad_articles_in_a_stream_or_batch_get_their_own_errors_and_the_call_goes_on(
    running: Running, call: str
) -> None:
    docs = news(5)
    other_text = pb.Article(id=docs[0].id, text=docs[1].text)  # same id, another text
    sent = [docs[0], pb.Article(id="empty", text=""), docs[1], other_text, pb.Article(text="x")]
    sent += [docs[2], pb.Article(id="big", text="t" * (MAX_TEXT + 1)), docs[3]]
    send = running.client.ingest_stream if call == "stream" else running.client.ingest_batch
    results = list(send(sent))
    assert [r.id for r in results] == [a.id for a in sent]
    errors = {k: r.error for k, r in enumerate(results) if r.HasField("error")}
    codes = {
        k: grpc.StatusCode(next(c.value for c in grpc.StatusCode if c.value[0] == e.code))
        for k, e in errors.items()
    }
    assert codes == {
        1: grpc.StatusCode.INVALID_ARGUMENT,
        3: grpc.StatusCode.ALREADY_EXISTS,
        4: grpc.StatusCode.INVALID_ARGUMENT,
        6: grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
    assert "empty" in errors[1].message
    assert "different text" in errors[3].message
    assert all(not results[k].matches and not results[k].created for k in errors)
    # The good ones are stored, and detection went on across the bad ones.
    assert [results[k].created for k in (0, 2, 5, 7)] == [True] * 4
    assert running.client.stats().articles == 4
    assert any(m.source_id == docs[1].id for m in results[5].matches)


def test_message_over_the_size_limit_is_resource_exhausted(running: Running) -> None:
    huge = pb.IngestRequest(article=pb.Article(id="x", text="é" * (3 * MAX_TEXT)))
    with pytest.raises(grpc.RpcError) as info:
        running.client.stub.Ingest(huge, timeout=10)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_expired_deadline_is_deadline_exceeded(running: Running) -> None:
    request_ = pb.IngestRequest(article=news(1)[0])
    with pytest.raises(grpc.RpcError) as info:
        running.client.stub.Ingest(request_, timeout=0.000001)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert running.client.stats().articles == 0, "an expired call stores nothing"


# -- health, reflection, restart ------------------------------------------------------


def test_health_and_reflection_answer_a_client(running: Running) -> None:
    channel = running.client.channel
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "wiretrace.v1.Wiretrace"):
        reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    db = ProtoReflectionDescriptorDatabase(channel)
    services = set(db.get_services())
    assert {"wiretrace.v1.Wiretrace", "grpc.health.v1.Health"} <= services
    method = db.FindFileContainingSymbol("wiretrace.v1.Wiretrace")
    assert method.name == "wiretrace/v1/wiretrace.proto"


def test_restart_brings_the_index_back(tmp_path: Path, store_url: str) -> None:
    docs = news(9)
    first = Running(tmp_path / "data", store=store_url)
    for d in docs[:8]:
        first.client.ingest(d)
    before = first.client.stats()
    first.stop()
    second = Running(tmp_path / "data", store=store_url)
    try:
        after = second.client.stats()
        assert (after.articles, after.passages) == (before.articles, before.passages)
        assert second.client.get("a0007").text == docs[7].text
        assert second.client.query(docs[8].text).source_count == 1
    finally:
        second.stop()


def test_client_reads_jsonl_and_folders(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("second", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first", encoding="utf-8")
    assert [a.id for a in articles_from_folder(tmp_path)] == ["a", "b"]
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(
        '{"id": "1", "text": "t", "outlet": "o", "published_at": "2024-01-02T03:04:05+00:00"}\n\n'
        '{"id": "2", "text": "u"}\n',
        encoding="utf-8",
    )
    got = list(articles_from_jsonl(jsonl))
    assert [a.id for a in got] == ["1", "2"]
    assert got[0].published_at.seconds == 1704164645
    jsonl.write_text('{"id": "1", "txt": "typo"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"in\.jsonl:1"):
        list(articles_from_jsonl(jsonl))


def test_client_retries_while_the_server_is_unavailable(tmp_path: Path) -> None:
    import socket
    import threading

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = Client(f"127.0.0.1:{port}", retries=8, backoff=0.05, timeout=5)
    holder: dict[str, Running] = {}

    def start_later() -> None:
        holder["r"] = Running(tmp_path / "data", address=f"127.0.0.1:{port}")

    timer = threading.Timer(0.3, start_later)
    timer.start()
    try:
        assert client.stats().articles == 0
    finally:
        timer.join()
        client.close()
        holder["r"].stop()


def test_example_prints_reuse_side_by_side_with_highlights(running: Running) -> None:
    import io

    from wiretrace_client.example import _sample_articles, report

    out = io.StringIO()
    found = report(running.client, _sample_articles(), color=True, out=out)
    text = out.getvalue()
    assert found >= 4
    assert "from 01-wire (Northwire)" in text
    assert "repeated inside itself" in text
    assert "\x1b[1;33mFlood\x1b[0m" in text  # a shared word, highlighted
    plain = io.StringIO()
    report(running.client, _sample_articles(), color=False, out=plain)
    assert "\x1b[" not in plain.getvalue()


def test_a_whole_article_reprinted_under_another_id_is_found_end_to_end(
    running: Running,
) -> None:
    (doc,) = news(1, seed=30)
    running.client.ingest(doc)
    result = running.client.ingest("reprint", doc.text, outlet="other")
    (m,) = [m for m in result.matches if m.source_id == doc.id]
    assert (m.span.start, m.span.end) == (0, len(doc.text))
    assert (m.source_span.start, m.source_span.end) == (0, len(doc.text))
    assert m.kind == pb.VERBATIM
    assert result.reused_fraction == 1.0


def test_an_ingest_whose_caller_gave_up_before_the_write_stores_nothing(
    running: Running,
) -> None:
    from wiretrace.domain import Article, DetectOptions
    from wiretrace.engine.work import Work
    from wiretrace.errors import Expired

    (doc,) = news(1, seed=40)
    record = Article(doc.id, "", "", None, "", doc.text)
    with pytest.raises(Expired, match="deadline"):
        running.service.ingest(record, DetectOptions(), work=Work(cancelled=lambda: True))
    assert running.client.stats().articles == 0
    assert running.service.ingest(
        record, DetectOptions(), work=Work(cancelled=lambda: False)
    ).created


def test_compare_takes_two_texts_at_the_limit_in_four_byte_characters(
    running: Running,
) -> None:
    # Han extension B: 4 UTF-8 bytes per character, MAX_TEXT characters in each text.
    wide = "".join(chr(0x20000 + (k * 7919) % 5000) for k in range(MAX_TEXT))
    assert len(wide.encode("utf-8")) == 4 * MAX_TEXT
    result = running.client.compare(wide, wide[:-1] + "x")
    assert result.matches
