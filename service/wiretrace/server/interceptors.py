"""Cross-cutting concerns of every call, as gRPC server interceptors: who may call
(``Authenticator``), how many calls run at once (``Admission``), and what operators
see (``Metrics``). Each wraps the method handler gRPC chose, so it sees the request,
the context and the answer without the servicer knowing.

Health checks stay open and unmetered: a load balancer must always get an answer.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import grpc

from wiretrace.errors import InvalidInput

__all__ = [
    "Admission",
    "Authenticator",
    "Behaviour",
    "Decoding",
    "Handler",
    "Interceptor",
    "TokenTable",
    "wrap_behaviour",
]

log = logging.getLogger("wiretrace.server")

HEALTH_PREFIX = "/grpc.health.v1.Health/"
REFLECTION_PREFIX = "/grpc.reflection."
#: Trailing metadata that tells a client how long to wait before retrying (gRPC's own
#: retry policy reads it).
PUSHBACK_KEY = "grpc-retry-pushback-ms"

SCOPES = ("read", "ingest", "admin")
#: The scope each RPC needs; Ingest and IngestStream need ``admin`` too with ``replace``.
_NEEDS = {
    "Query": "read",
    "Compare": "read",
    "Get": "read",
    "Stats": "read",
    "Ingest": "ingest",
    "IngestStream": "ingest",
    "Delete": "admin",
}

Behaviour = Callable[[Any, grpc.ServicerContext], Any]

if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
    Interceptor = grpc.ServerInterceptor[Any, Any]
else:
    Handler = grpc.RpcMethodHandler
    Interceptor = grpc.ServerInterceptor


def wrap_behaviour(
    handler: Handler | None,
    wrap: Callable[[Behaviour, bool, bool], Behaviour],
    decode: Callable[[Callable[[bytes], Any] | None], Callable[[bytes], Any] | None] = (
        lambda d: d
    ),
) -> Handler | None:
    """``handler`` with its behaviour replaced by ``wrap(behaviour, request_streaming,
    response_streaming)`` and its request deserializer by ``decode(deserializer)``."""
    if handler is None:
        return None
    kinds = {
        (False, False): (grpc.unary_unary_rpc_method_handler, handler.unary_unary),
        (False, True): (grpc.unary_stream_rpc_method_handler, handler.unary_stream),
        (True, False): (grpc.stream_unary_rpc_method_handler, handler.stream_unary),
        (True, True): (grpc.stream_stream_rpc_method_handler, handler.stream_stream),
    }
    key = (handler.request_streaming, handler.response_streaming)
    make, behaviour = kinds[key]
    return make(
        wrap(cast(Behaviour, behaviour), *key),
        request_deserializer=decode(handler.request_deserializer),
        response_serializer=handler.response_serializer,
    )


def _method(details: grpc.HandlerCallDetails) -> str:
    return str(details.method)


def _rpc(method: str) -> str:
    return method.rsplit("/", 1)[-1]


# -- decoding -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Undecodable:
    """What a request that does not parse as its message type decodes to."""

    error: str


class Decoding(Interceptor):
    """A request that does not parse (bad wire format, invalid UTF-8 in a string) gets
    INVALID_ARGUMENT with the parser's reason; gRPC's own answer would be INTERNAL."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        rpc = _rpc(_method(details))

        def decode(parse: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
            if parse is None:
                return None

            def safe(raw: bytes) -> Any:
                try:
                    return parse(raw)
                except Exception as err:  # protobuf's DecodeError, and anything else
                    return Undecodable(f"{type(err).__name__}: {err}")

            return safe

        def refuse(context: grpc.ServicerContext, request: Undecodable) -> None:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"the {rpc} request is not a valid message ({request.error})",
            )

        def wrap(behaviour: Behaviour, streaming_in: bool, _streaming_out: bool) -> Behaviour:
            def checked(request: Any, context: grpc.ServicerContext) -> Any:
                if streaming_in:
                    return behaviour(_decoded(request, context, refuse), context)
                if isinstance(request, Undecodable):
                    refuse(context, request)
                return behaviour(request, context)

            return checked

        return wrap_behaviour(continuation(details), wrap, decode)


def _decoded(
    requests: Iterator[Any],
    context: grpc.ServicerContext,
    refuse: Callable[[grpc.ServicerContext, Undecodable], None],
) -> Iterator[Any]:
    for request in requests:
        if isinstance(request, Undecodable):
            refuse(context, request)
        yield request


# -- authentication -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Caller:
    name: str
    scopes: frozenset[str]


class TokenTable:
    """Bearer tokens with their scopes, read from a file and re-read on ``reload``.

    One token a line: ``NAME TOKEN SCOPE[,SCOPE...]``; ``#`` starts a comment. The name
    is what logs show; a token never appears in a log or an error."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tokens: dict[bytes, Caller] = self._read()
        self._lock = threading.Lock()

    def _read(self) -> dict[bytes, Caller]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError as err:
            raise InvalidInput(f"cannot read the token file {self.path}: {err.strerror}") from None
        tokens: dict[bytes, Caller] = {}
        for number, line in enumerate(lines, 1):
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            where = f"{self.path}, line {number}"
            if len(fields) != 3:
                raise InvalidInput(f"{where}: expected NAME TOKEN SCOPES, got {len(fields)} fields")
            name, token, scopes = fields
            wanted = frozenset(scopes.split(","))
            if not wanted <= set(SCOPES):
                raise InvalidInput(
                    f"{where}: unknown scope {sorted(wanted - set(SCOPES))}; use {SCOPES}"
                )
            if len(token) < 16:
                raise InvalidInput(f"{where}: the token of {name!r} is shorter than 16 characters")
            tokens[token.encode()] = Caller(name, wanted)
        if not tokens:
            raise InvalidInput(f"{self.path} holds no token: every call would be refused")
        return tokens

    def reload(self) -> None:
        """Read the file again; on a bad file keep the tokens in force and log why."""
        try:
            fresh = self._read()
        except InvalidInput as err:
            log.error("token file not reloaded", extra={"error": str(err)})
            return
        with self._lock:
            self._tokens = fresh
        log.info("token file reloaded", extra={"tokens": len(fresh)})

    def caller(self, token: bytes) -> Caller | None:
        """The caller holding ``token``; every stored token is compared in constant time."""
        with self._lock:
            tokens = self._tokens
        found = None
        for known, caller in tokens.items():
            if hmac.compare_digest(known, token):
                found = caller
        return found


class Authenticator(Interceptor):
    """``authorization: Bearer TOKEN`` on every call but health checks and reflection:
    no or an unknown token is UNAUTHENTICATED, a missing scope PERMISSION_DENIED."""

    def __init__(self, tokens: TokenTable) -> None:
        self.tokens = tokens

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        method = _method(details)
        handler = continuation(details)
        if method.startswith((HEALTH_PREFIX, REFLECTION_PREFIX)):
            return handler
        metadata = dict(details.invocation_metadata)
        header = str(metadata.get("authorization", ""))
        scheme, _, token = header.partition(" ")
        caller = self.tokens.caller(token.strip().encode()) if scheme == "Bearer" else None
        rpc = _rpc(method)
        need = _NEEDS.get(rpc, "admin")

        def wrap(behaviour: Behaviour, streaming_in: bool, streaming_out: bool) -> Behaviour:
            def guarded(request: Any, context: grpc.ServicerContext) -> Any:
                if caller is None:
                    what = "no bearer token" if not header else "an unknown token"
                    context.abort(
                        grpc.StatusCode.UNAUTHENTICATED,
                        f"{rpc} needs a bearer token (metadata 'authorization: Bearer "
                        f"TOKEN'); the call carried {what}",
                    )
                if need not in caller.scopes:
                    _deny(context, caller, rpc, need)
                if streaming_in:
                    request = _checked_stream(request, context, caller, rpc)
                elif getattr(request, "replace", False) and "admin" not in caller.scopes:
                    _deny(context, caller, rpc, "admin", " with replace")
                return behaviour(request, context)

            return guarded

        return wrap_behaviour(handler, wrap)


def _deny(
    context: grpc.ServicerContext, caller: Caller, rpc: str, scope: str, what: str = ""
) -> None:
    log.info("denied", extra={"rpc": rpc, "caller": caller.name, "scope": scope})
    context.abort(
        grpc.StatusCode.PERMISSION_DENIED,
        f"{rpc}{what} needs the {scope!r} scope, which {caller.name!r} does not hold",
    )


def _checked_stream(
    requests: Iterator[Any], context: grpc.ServicerContext, caller: Caller, rpc: str
) -> Iterator[Any]:
    for request in requests:
        if getattr(request, "replace", False) and "admin" not in caller.scopes:
            _deny(context, caller, rpc, "admin", " with replace")
        yield request


# -- admission ------------------------------------------------------------------------


class Admission(Interceptor):
    """At most ``limit`` calls in flight (a stream counts while it is open); past it a
    call gets RESOURCE_EXHAUSTED at once, with a retry hint in its trailing metadata,
    instead of queueing behind the others. Health checks and Stats are never refused
    (nor counted): with more RPC threads than ``limit``, they always find one."""

    def __init__(self, limit: int, *, pushback_ms: int = 200) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self.limit = limit
        self.pushback_ms = pushback_ms
        self.in_flight = 0
        self.shed = 0
        self._lock = threading.Lock()

    def _enter(self) -> bool:
        with self._lock:
            if self.in_flight >= self.limit:
                self.shed += 1
                return False
            self.in_flight += 1
            return True

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = continuation(details)
        method = _method(details)
        if method.startswith(HEALTH_PREFIX) or _rpc(method) == "Stats":
            return handler

        def wrap(behaviour: Behaviour, _streaming_in: bool, streaming_out: bool) -> Behaviour:
            def admitted(request: Any, context: grpc.ServicerContext) -> Any:
                if not self._enter():
                    context.set_trailing_metadata(((PUSHBACK_KEY, str(self.pushback_ms)),))
                    context.abort(
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        f"the server has {self.limit} calls in flight (--max-in-flight): "
                        f"retry in {self.pushback_ms} ms",
                    )
                try:
                    answer = behaviour(request, context)
                except BaseException:
                    self._leave()
                    raise
                if not streaming_out:
                    self._leave()
                    return answer
                return self._until_done(answer)

            return admitted

        return wrap_behaviour(handler, wrap)

    def _until_done(self, responses: Iterator[Any]) -> Iterator[Any]:
        try:
            yield from responses
        finally:
            self._leave()
