import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OffsetUnit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CODE_POINTS: _ClassVar[OffsetUnit]
    UTF16_CODE_UNITS: _ClassVar[OffsetUnit]
    UTF8_BYTES: _ClassVar[OffsetUnit]

class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KIND_UNSPECIFIED: _ClassVar[Kind]
    VERBATIM: _ClassVar[Kind]
    NEAR_VERBATIM: _ClassVar[Kind]
    REWORDED: _ClassVar[Kind]
    QUOTE: _ClassVar[Kind]

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    NOT_DERIVED: _ClassVar[Verdict]
    PARTIALLY: _ClassVar[Verdict]
    WHOLLY: _ClassVar[Verdict]
CODE_POINTS: OffsetUnit
UTF16_CODE_UNITS: OffsetUnit
UTF8_BYTES: OffsetUnit
KIND_UNSPECIFIED: Kind
VERBATIM: Kind
NEAR_VERBATIM: Kind
REWORDED: Kind
QUOTE: Kind
VERDICT_UNSPECIFIED: Verdict
NOT_DERIVED: Verdict
PARTIALLY: Verdict
WHOLLY: Verdict

class Article(_message.Message):
    __slots__ = ("id", "outlet", "url", "published_at", "language", "text")
    ID_FIELD_NUMBER: _ClassVar[int]
    OUTLET_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    id: str
    outlet: str
    url: str
    published_at: _timestamp_pb2.Timestamp
    language: str
    text: str
    def __init__(self, id: _Optional[str] = ..., outlet: _Optional[str] = ..., url: _Optional[str] = ..., published_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., language: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class DetectOptions(_message.Message):
    __slots__ = ("min_similarity", "min_tokens", "include_outlets", "exclude_outlets", "exclude_same_outlet", "published_after", "published_before", "max_results", "offset_unit", "include_boilerplate")
    MIN_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    MIN_TOKENS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_OUTLETS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_OUTLETS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_SAME_OUTLET_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AFTER_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    MAX_RESULTS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_UNIT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BOILERPLATE_FIELD_NUMBER: _ClassVar[int]
    min_similarity: float
    min_tokens: int
    include_outlets: _containers.RepeatedScalarFieldContainer[str]
    exclude_outlets: _containers.RepeatedScalarFieldContainer[str]
    exclude_same_outlet: bool
    published_after: _timestamp_pb2.Timestamp
    published_before: _timestamp_pb2.Timestamp
    max_results: int
    offset_unit: OffsetUnit
    include_boilerplate: bool
    def __init__(self, min_similarity: _Optional[float] = ..., min_tokens: _Optional[int] = ..., include_outlets: _Optional[_Iterable[str]] = ..., exclude_outlets: _Optional[_Iterable[str]] = ..., exclude_same_outlet: _Optional[bool] = ..., published_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., published_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., max_results: _Optional[int] = ..., offset_unit: _Optional[_Union[OffsetUnit, str]] = ..., include_boilerplate: _Optional[bool] = ...) -> None: ...

class IngestRequest(_message.Message):
    __slots__ = ("article", "options", "replace")
    ARTICLE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    article: Article
    options: DetectOptions
    replace: bool
    def __init__(self, article: _Optional[_Union[Article, _Mapping]] = ..., options: _Optional[_Union[DetectOptions, _Mapping]] = ..., replace: _Optional[bool] = ...) -> None: ...

class Span(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class Reuse(_message.Message):
    __slots__ = ("source_id", "source_outlet", "source_published_at", "span", "source_span", "similarity", "kind", "confidence", "boilerplate")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_OUTLET_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    SPAN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SPAN_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    BOILERPLATE_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    source_outlet: str
    source_published_at: _timestamp_pb2.Timestamp
    span: Span
    source_span: Span
    similarity: float
    kind: Kind
    confidence: float
    boilerplate: bool
    def __init__(self, source_id: _Optional[str] = ..., source_outlet: _Optional[str] = ..., source_published_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., span: _Optional[_Union[Span, _Mapping]] = ..., source_span: _Optional[_Union[Span, _Mapping]] = ..., similarity: _Optional[float] = ..., kind: _Optional[_Union[Kind, str]] = ..., confidence: _Optional[float] = ..., boilerplate: _Optional[bool] = ...) -> None: ...

class SourceVerdict(_message.Message):
    __slots__ = ("source_id", "source_outlet", "derived_share", "verdict")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_OUTLET_FIELD_NUMBER: _ClassVar[int]
    DERIVED_SHARE_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    source_outlet: str
    derived_share: float
    verdict: Verdict
    def __init__(self, source_id: _Optional[str] = ..., source_outlet: _Optional[str] = ..., derived_share: _Optional[float] = ..., verdict: _Optional[_Union[Verdict, str]] = ...) -> None: ...

class ArticleError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class IngestResult(_message.Message):
    __slots__ = ("id", "created", "matches", "reused_fraction", "source_count", "error", "sources", "boilerplate_suppressed")
    ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    REUSED_FRACTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    BOILERPLATE_SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    id: str
    created: bool
    matches: _containers.RepeatedCompositeFieldContainer[Reuse]
    reused_fraction: float
    source_count: int
    error: ArticleError
    sources: _containers.RepeatedCompositeFieldContainer[SourceVerdict]
    boilerplate_suppressed: int
    def __init__(self, id: _Optional[str] = ..., created: _Optional[bool] = ..., matches: _Optional[_Iterable[_Union[Reuse, _Mapping]]] = ..., reused_fraction: _Optional[float] = ..., source_count: _Optional[int] = ..., error: _Optional[_Union[ArticleError, _Mapping]] = ..., sources: _Optional[_Iterable[_Union[SourceVerdict, _Mapping]]] = ..., boilerplate_suppressed: _Optional[int] = ...) -> None: ...

class IngestBatchRequest(_message.Message):
    __slots__ = ("articles",)
    ARTICLES_FIELD_NUMBER: _ClassVar[int]
    articles: _containers.RepeatedCompositeFieldContainer[IngestRequest]
    def __init__(self, articles: _Optional[_Iterable[_Union[IngestRequest, _Mapping]]] = ...) -> None: ...

class IngestBatchResult(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[IngestResult]
    def __init__(self, results: _Optional[_Iterable[_Union[IngestResult, _Mapping]]] = ...) -> None: ...

class QueryRequest(_message.Message):
    __slots__ = ("article", "options")
    ARTICLE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    article: Article
    options: DetectOptions
    def __init__(self, article: _Optional[_Union[Article, _Mapping]] = ..., options: _Optional[_Union[DetectOptions, _Mapping]] = ...) -> None: ...

class QueryResult(_message.Message):
    __slots__ = ("matches", "reused_fraction", "source_count", "sources", "boilerplate_suppressed")
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    REUSED_FRACTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    BOILERPLATE_SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[Reuse]
    reused_fraction: float
    source_count: int
    sources: _containers.RepeatedCompositeFieldContainer[SourceVerdict]
    boilerplate_suppressed: int
    def __init__(self, matches: _Optional[_Iterable[_Union[Reuse, _Mapping]]] = ..., reused_fraction: _Optional[float] = ..., source_count: _Optional[int] = ..., sources: _Optional[_Iterable[_Union[SourceVerdict, _Mapping]]] = ..., boilerplate_suppressed: _Optional[int] = ...) -> None: ...

class CompareRequest(_message.Message):
    __slots__ = ("text_a", "text_b", "offset_unit")
    TEXT_A_FIELD_NUMBER: _ClassVar[int]
    TEXT_B_FIELD_NUMBER: _ClassVar[int]
    OFFSET_UNIT_FIELD_NUMBER: _ClassVar[int]
    text_a: str
    text_b: str
    offset_unit: OffsetUnit
    def __init__(self, text_a: _Optional[str] = ..., text_b: _Optional[str] = ..., offset_unit: _Optional[_Union[OffsetUnit, str]] = ...) -> None: ...

class Match(_message.Message):
    __slots__ = ("a", "b", "similarity", "kind", "confidence")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    a: Span
    b: Span
    similarity: float
    kind: Kind
    confidence: float
    def __init__(self, a: _Optional[_Union[Span, _Mapping]] = ..., b: _Optional[_Union[Span, _Mapping]] = ..., similarity: _Optional[float] = ..., kind: _Optional[_Union[Kind, str]] = ..., confidence: _Optional[float] = ...) -> None: ...

class CompareResult(_message.Message):
    __slots__ = ("matches", "derived_share", "verdict")
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    DERIVED_SHARE_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[Match]
    derived_share: float
    verdict: Verdict
    def __init__(self, matches: _Optional[_Iterable[_Union[Match, _Mapping]]] = ..., derived_share: _Optional[float] = ..., verdict: _Optional[_Union[Verdict, str]] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteResult(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatsResult(_message.Message):
    __slots__ = ("articles", "passages", "index_bytes", "uptime_seconds", "version", "write_transactions", "articles_written")
    ARTICLES_FIELD_NUMBER: _ClassVar[int]
    PASSAGES_FIELD_NUMBER: _ClassVar[int]
    INDEX_BYTES_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    WRITE_TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    ARTICLES_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    articles: int
    passages: int
    index_bytes: int
    uptime_seconds: float
    version: str
    write_transactions: int
    articles_written: int
    def __init__(self, articles: _Optional[int] = ..., passages: _Optional[int] = ..., index_bytes: _Optional[int] = ..., uptime_seconds: _Optional[float] = ..., version: _Optional[str] = ..., write_transactions: _Optional[int] = ..., articles_written: _Optional[int] = ...) -> None: ...
