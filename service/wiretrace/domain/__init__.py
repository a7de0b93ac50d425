"""The domain: what the service does, with no transport and no host configuration.

    records     articles, options and results, with their limits
    offsets     offsets in code points, UTF-16 code units or UTF-8 bytes
    candidates  which stored articles to align with a new one
    cache       prepared sources kept in memory
    service     the operations (ingest, query, compare, get, delete, expire, stats)
    sweeper     the background thread for store health and retention

It uses the engine and the stores; the gRPC adapter and the CLI use it.
"""

from wiretrace.domain.candidates import index_spec
from wiretrace.domain.offsets import OffsetUnit
from wiretrace.domain.records import (
    MAX_ID_CHARS,
    MAX_OPTION_LIMIT,
    Article,
    Comparison,
    Detection,
    DetectOptions,
    IngestOutcome,
    Reuse,
    SourceVerdict,
    Stats,
    text_sha256,
)
from wiretrace.domain.service import Ingest, ReuseService, ServiceSettings
from wiretrace.domain.sweeper import Sweeper

__all__ = [
    "MAX_ID_CHARS",
    "MAX_OPTION_LIMIT",
    "Article",
    "Comparison",
    "DetectOptions",
    "Detection",
    "Ingest",
    "IngestOutcome",
    "OffsetUnit",
    "Reuse",
    "ReuseService",
    "ServiceSettings",
    "SourceVerdict",
    "Stats",
    "Sweeper",
    "index_spec",
    "text_sha256",
]
