"""TLS, mutual TLS, bearer tokens with scopes, reflection off, load shedding and the
metrics scrape, each against a real server; certificates are made here."""

from __future__ import annotations

import datetime as dt
import ipaddress
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from wiretrace.errors import InvalidInput
from wiretrace.server.config import ServerConfig
from wiretrace.server.interceptors import TokenTable
from wiretrace_bench.launchers import start_server_process
from wiretrace_client import Client, pb

from .helpers import Running, news

READER = "reader-token-0123456789"
WRITER = "writer-token-0123456789"
ADMIN = "admin-token-012345678901"


def _code(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()  # type: ignore[operator]
    code: grpc.StatusCode = info.value.code()
    return code


# -- certificates ---------------------------------------------------------------------


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _issue(
    subject: str,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    signer_cert, signer_key = issuer if issuer else (None, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(signer_cert.subject if signer_cert else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signer_key, hashes.SHA256()), key


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1, and a client certificate, as PEM."""
    root = tmp_path_factory.mktemp("pki")
    ca = _issue("wiretrace test CA", None, ca=True)
    _write(root / "ca", *ca)
    _write(root / "server", *_issue("127.0.0.1", ca))
    _write(root / "client", *_issue("a pipeline", ca))
    stranger_ca = _issue("someone else's CA", None, ca=True)
    _write(root / "stranger", *_issue("a stranger", stranger_ca))
    return root


def _read(pki: Path, name: str) -> bytes:
    return (pki / name).read_bytes()


def test_tls_serves_only_clients_that_trust_it(tmp_path: Path, pki: Path) -> None:
    running = Running(
        tmp_path / "data",
        tls_cert=str(pki / "server.crt"),
        tls_key=str(pki / "server.key"),
        client={"root_certificates": _read(pki, "ca.crt")},
    )
    try:
        assert running.client.ingest(news(1)[0]).created
        with Client(running.address, retries=0, timeout=5) as plaintext:
            assert _code(plaintext.stats) == grpc.StatusCode.UNAVAILABLE
    finally:
        running.stop()


def test_mutual_tls_refuses_a_client_without_a_certificate_from_its_ca(
    tmp_path: Path, pki: Path
) -> None:
    running = Running(
        tmp_path / "data",
        tls_cert=str(pki / "server.crt"),
        tls_key=str(pki / "server.key"),
        tls_client_ca=str(pki / "ca.crt"),
        client={
            "root_certificates": _read(pki, "ca.crt"),
            "private_key": _read(pki, "client.key"),
            "certificate_chain": _read(pki, "client.crt"),
        },
    )
    try:
        assert running.client.stats().articles == 0
        for chain in (None, "stranger"):
            extra = (
                {
                    "private_key": _read(pki, f"{chain}.key"),
                    "certificate_chain": _read(pki, f"{chain}.crt"),
                }
                if chain
                else {}
            )
            with Client(
                running.address,
                root_certificates=_read(pki, "ca.crt"),
                retries=0,
                timeout=5,
                **extra,  # type: ignore[arg-type]
            ) as client:
                assert _code(client.stats) == grpc.StatusCode.UNAVAILABLE
    finally:
        running.stop()


# -- tokens ---------------------------------------------------------------------------


def _tokens(tmp_path: Path) -> Path:
    path = tmp_path / "tokens"
    path.write_text(
        "# name token scopes\n"
        f"dashboard {READER} read\n"
        f"pipeline {WRITER} read,ingest  # the ingest pipeline\n"
        f"ops {ADMIN} read,ingest,admin\n"
    )
    return path


def test_each_scope_opens_its_rpcs_and_nothing_else(tmp_path: Path) -> None:
    running = Running(tmp_path / "data", auth_tokens=str(_tokens(tmp_path)))
    docs = news(3)
    try:
        anonymous = Client(running.address, retries=0)
        unknown = Client(running.address, retries=0, token="not-a-token-at-all-0000")
        reader = Client(running.address, retries=0, token=READER)
        writer = Client(running.address, retries=0, token=WRITER)
        admin = Client(running.address, retries=0, token=ADMIN)
        for client in (anonymous, unknown):
            assert _code(client.stats) == grpc.StatusCode.UNAUTHENTICATED
            assert _code(lambda c=client: c.ingest(docs[0])) == grpc.StatusCode.UNAUTHENTICATED
        assert reader.stats().articles == 0
        assert _code(lambda: reader.ingest(docs[0])) == grpc.StatusCode.PERMISSION_DENIED
        assert writer.ingest(docs[0]).created
        assert [r.id for r in writer.ingest_stream(docs[1:])] == ["a0001", "a0002"]
        assert reader.get("a0001").text == docs[1].text
        assert reader.compare(docs[1].text, docs[2].text).matches
        assert {m.source_id for m in reader.query(docs[2].text).matches} >= {"a0001"}
        replace = pb.Article(id="a0000", text=docs[1].text)
        assert (
            _code(lambda: writer.ingest(replace, replace=True)) == grpc.StatusCode.PERMISSION_DENIED
        )
        stream = writer.ingest_stream([replace], replace=True)
        assert _code(lambda: list(stream)) == grpc.StatusCode.PERMISSION_DENIED
        batch = [docs[2], replace]
        assert (
            _code(lambda: writer.ingest_batch(batch, replace=True))
            == grpc.StatusCode.PERMISSION_DENIED
        )
        assert [r.created for r in writer.ingest_batch(batch[:1])] == [False]
        assert _code(lambda: reader.ingest_batch(batch[:1])) == grpc.StatusCode.PERMISSION_DENIED
        assert _code(lambda: writer.delete("a0001")) == grpc.StatusCode.PERMISSION_DENIED
        assert admin.ingest(replace, replace=True).created
        admin.delete("a0001")
        assert admin.stats().articles == 2
        # Health stays open to anyone.
        probe = health_pb2_grpc.HealthStub(anonymous.channel)
        answer = probe.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
        for c in (anonymous, unknown, reader, writer, admin):
            c.close()
    finally:
        running.stop()


def test_a_bad_token_file_is_refused_at_start_and_kept_out_on_reload(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    for bad, words in (
        ("ops short read\n", "shorter than 16"),
        (f"ops {ADMIN} read,root\n", "unknown scope"),
        (f"ops {ADMIN}\n", "expected NAME TOKEN SCOPES"),
        ("# nothing\n", "holds no token"),
    ):
        path.write_text(bad)
        with pytest.raises(InvalidInput, match=words):
            TokenTable(path)
    table = TokenTable(_tokens(tmp_path))
    path = tmp_path / "tokens"
    path.write_text("garbage\n")
    table.reload()  # refused: the tokens in force stay
    assert table.caller(READER.encode()) is not None
    path.write_text(f"newcomer {'n' * 20} read\n")
    table.reload()
    assert table.caller(READER.encode()) is None
    assert table.caller(b"n" * 20) is not None


def test_sighup_reloads_the_tokens_of_a_running_server(tmp_path: Path) -> None:
    tokens = _tokens(tmp_path)
    log = tmp_path / "serve.log"
    proc = start_server_process(
        tmp_path / "data", tmp_path / "port", log_file=log, extra=["--auth-tokens", str(tokens)]
    )
    try:
        address = f"127.0.0.1:{(tmp_path / 'port').read_text()}"
        with Client(address, retries=0, token=READER) as reader:
            assert reader.stats().articles == 0
            tokens.write_text(f"replacement {'r' * 24} read\n")
            proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and "token file reloaded" not in log.read_text():
                time.sleep(0.05)
            assert _code(reader.stats) == grpc.StatusCode.UNAUTHENTICATED
        with Client(address, retries=0, token="r" * 24) as fresh:
            assert fresh.stats().articles == 0
        text = log.read_text()
        assert READER not in text  # tokens never logged
        assert "r" * 24 not in text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_settings_refuse_half_a_tls_setup(tmp_path: Path, pki: Path) -> None:
    with pytest.raises(InvalidInput, match="go together"):
        ServerConfig(tls_cert=str(pki / "server.crt"))
    with pytest.raises(InvalidInput, match="needs tls_cert"):
        ServerConfig(tls_client_ca=str(pki / "ca.crt"))
    with pytest.raises(InvalidInput, match="no such file"):
        ServerConfig(auth_tokens=str(tmp_path / "missing"))


# -- reflection, shedding, metrics ----------------------------------------------------


def test_reflection_can_be_turned_off(tmp_path: Path) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    running = Running(tmp_path / "data", no_reflection=True)
    try:
        stub = reflection_pb2_grpc.ServerReflectionStub(running.client.channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        answers = stub.ServerReflectionInfo(iter([request]), timeout=5)
        assert _code(lambda: list(answers)) == grpc.StatusCode.UNIMPLEMENTED
    finally:
        running.stop()


def test_calls_past_max_in_flight_are_shed_at_once_and_the_client_retries(
    tmp_path: Path,
) -> None:
    running = Running(tmp_path / "data", max_in_flight=2, workers=8)
    docs = news(2)
    try:
        running.client.ingest(docs[0])
        # Two open streams hold both places; they are released when their inputs end.
        release = threading.Event()

        def held() -> Iterator[pb.Article]:
            yield docs[1]
            release.wait(10)

        streams = [running.client.ingest_stream(held(), timeout=20) for _ in range(2)]
        firsts = [next(s) for s in streams]  # each stream is admitted and answered once
        assert all(not f.HasField("error") for f in firsts)
        with Client(running.address, retries=0) as impatient:
            with pytest.raises(grpc.RpcError) as info:
                impatient.get("a0000")
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "--max-in-flight" in (info.value.details() or "")
            metadata: Any = info.value.trailing_metadata() or ()
            trailing = dict(metadata)
            assert trailing["grpc-retry-pushback-ms"] == "200"
        # A patient client retries with backoff and gets through once a place frees.
        with Client(running.address, retries=6, backoff=0.05) as patient:
            threading.Timer(0.3, release.set).start()
            assert patient.get("a0000").text == docs[0].text
        for s in streams:
            list(s)
        assert running.guards.admission.shed >= 2
    finally:
        release.set()
        running.stop()


def test_metrics_are_scraped_over_http_after_real_calls(tmp_path: Path) -> None:
    running = Running(tmp_path / "data", metrics_address="127.0.0.1:0")
    try:
        docs = news(5)
        for d in docs[:3]:
            running.client.ingest(d)
        running.client.ingest_batch(docs[3:])
        with pytest.raises(grpc.RpcError):
            running.client.get("missing")
        url = f"http://127.0.0.1:{running.metrics_port}/metrics"
        # A call is counted once the server is done with it, which can be just after
        # its caller has the answer: scrape until the last call is in.
        deadline = time.monotonic() + 10
        while True:
            with urllib.request.urlopen(url, timeout=10) as answer:
                lines = {
                    line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                    for line in answer.read().decode().splitlines()
                    if line and not line.startswith("#")
                }
            if 'wiretrace_calls_total{code="NOT_FOUND",rpc="Get"}' in lines:
                break
            assert time.monotonic() < deadline, "the Get call was never counted"
            time.sleep(0.05)
    finally:
        running.stop()
    assert lines['wiretrace_calls_total{code="OK",rpc="Ingest"}'] == 3
    assert lines['wiretrace_calls_total{code="NOT_FOUND",rpc="Get"}'] == 1
    assert lines['wiretrace_calls_total{code="OK",rpc="IngestBatch"}'] == 1
    assert lines["wiretrace_articles_ingested_total"] == 5
    assert lines['wiretrace_matches_total{kind="verbatim"}'] >= 1  # docs[2] reuses docs[1]
    assert lines['wiretrace_call_seconds_count{rpc="Ingest"}'] == 3
    assert lines["wiretrace_store_articles"] == 5
    assert lines["wiretrace_index_passages"] > 0
    assert lines["wiretrace_calls_in_flight"] == 0
    assert lines["wiretrace_calls_shed"] == 0


def test_idle_streams_hold_no_thread_and_are_cancelled_when_idle_too_long(
    tmp_path: Path,
) -> None:
    # Two worker threads, eight idle streams: health, Stats and a Query still answer at
    # once, as a waiting stream holds no thread; past the idle limit the server ends
    # every stream.
    running = Running(tmp_path / "data", workers=2, max_in_flight=9, stream_idle_seconds=4)
    quiet = threading.Event()
    try:

        def silent() -> Iterator[pb.Article]:
            quiet.wait(30)
            return
            yield  # a generator that sends nothing until released

        streams = [running.client.ingest_stream(silent(), timeout=30) for _ in range(8)]
        ended: list[tuple[grpc.StatusCode | None, str]] = []
        readers = [threading.Thread(target=lambda s=s: ended.append(_end_of(s))) for s in streams]
        for t in readers:
            t.start()
        deadline = time.monotonic() + 3
        while running.guards.admission.in_flight < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert running.guards.admission.in_flight == 8  # every stream is open and admitted
        t0 = time.monotonic()
        probe = health_pb2_grpc.HealthStub(running.client.channel)
        assert probe.Check(health_pb2.HealthCheckRequest(), timeout=5).status == 1
        assert running.client.stats().articles == 0
        assert running.client.query("some text here and there").source_count == 0  # the 9th
        # No waiting for a thread to free up: the streams only end 4 s after they opened.
        assert time.monotonic() - t0 < 3
        for t in readers:
            t.join(10)
        assert [code for code, _ in ended] == [grpc.StatusCode.CANCELLED] * 8
        assert all("--stream-idle-seconds" in details for _, details in ended)
        deadline = time.monotonic() + 3  # the server closes its side just after
        while running.guards.admission.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        assert running.guards.admission.in_flight == 0
    finally:
        quiet.set()
        running.stop()


@pytest.mark.parametrize("window", [1, 3])
def test_a_stream_open_past_its_limit_is_cancelled_after_the_articles_it_answered(
    tmp_path: Path, window: int
) -> None:
    # Articles keep coming, slowly, for longer than --stream-max-seconds: the articles
    # sent before the limit are answered, in order, then the server ends the stream.
    running = Running(tmp_path / "data", stream_max_seconds=1.5, stream_window=window)
    docs = news(12, seed=41)
    try:

        def slow() -> Iterator[pb.Article]:
            for d in docs:
                yield pb.Article(id=d.id, text=d.text)
                time.sleep(0.3)

        answers: list[str] = []
        stream = running.client.ingest_stream(slow(), timeout=30)
        t0 = time.monotonic()
        with pytest.raises(grpc.RpcError) as info:
            answers.extend(answer.id for answer in stream)
        assert info.value.code() == grpc.StatusCode.CANCELLED
        assert "--stream-max-seconds" in (info.value.details() or "")
        assert 1.4 < time.monotonic() - t0 < 10
        assert 1 <= len(answers) < len(docs)
        assert answers == [d.id for d in docs[: len(answers)]]
        assert running.client.stats().articles == len(answers)
    finally:
        running.stop()


def _end_of(stream: Iterator[pb.IngestResult]) -> tuple[grpc.StatusCode | None, str]:
    try:
        list(stream)
    except grpc.RpcError as err:
        code: grpc.StatusCode = err.code()
        return code, err.details() or ""
    return None, ""
