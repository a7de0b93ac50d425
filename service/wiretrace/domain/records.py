"""What the service takes and gives: articles, detection options and results, with the
limits every caller is held to. Plain values; the transports translate to and from them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from wiretrace.domain.offsets import OffsetUnit
from wiretrace.engine.confidence import Verdict
from wiretrace.engine.detect import Kind, Match
from wiretrace.errors import InvalidInput

__all__ = [
    "MAX_ID_CHARS",
    "MAX_LANGUAGE_CHARS",
    "MAX_OPTION_LIMIT",
    "MAX_OUTLET_CHARS",
    "MAX_OUTLET_LIST",
    "MAX_URL_CHARS",
    "Article",
    "Comparison",
    "DetectOptions",
    "Detection",
    "IngestOutcome",
    "Reuse",
    "SourceVerdict",
    "Stats",
    "text_sha256",
]

#: Longest article id, in code points.
MAX_ID_CHARS = 256
#: Longest ``url`` (the practical limit of browsers and crawlers), ``outlet`` and
#: ``language`` (a BCP 47 tag), in code points.
MAX_URL_CHARS = 2048
MAX_OUTLET_CHARS = 256
MAX_LANGUAGE_CHARS = 35
#: Most outlets an ``include_outlets`` or ``exclude_outlets`` list may name.
MAX_OUTLET_LIST = 1000
#: Largest value of a per-request count (``min_tokens``, ``max_results``).
MAX_OPTION_LIMIT = 10_000


def text_sha256(text: str) -> str:
    """The hash that tells whether a stored article has the same text. Lone surrogates
    (which a client may send) are hashed as they are, not refused."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Article:
    """An article as a client sends it. ``published_at_ns`` is nanoseconds since the
    epoch, or None when unknown."""

    id: str
    outlet: str
    url: str
    published_at_ns: int | None
    language: str
    text: str

    def check_limits(self) -> None:
        """Refuse metadata over its size limit (the text's limit is the server's)."""
        for name, limit in (
            ("url", MAX_URL_CHARS),
            ("outlet", MAX_OUTLET_CHARS),
            ("language", MAX_LANGUAGE_CHARS),
        ):
            value = getattr(self, name)
            if len(value) > limit:
                raise InvalidInput(f"{name} is {len(value)} characters, over the limit of {limit}")


@dataclass(frozen=True, slots=True)
class DetectOptions:
    """What a caller wants reported; every default reports everything found."""

    min_similarity: float = 0.0
    min_tokens: int = 0
    include_outlets: frozenset[str] = frozenset()
    exclude_outlets: frozenset[str] = frozenset()
    exclude_same_outlet: bool = False
    published_after_ns: int | None = None
    published_before_ns: int | None = None
    max_results: int = 0
    offset_unit: OffsetUnit = OffsetUnit.CODE_POINTS
    #: Report matches on boilerplate too (marked), instead of counting them only.
    include_boilerplate: bool = False

    def __post_init__(self) -> None:
        for name in ("include_outlets", "exclude_outlets"):
            count = len(getattr(self, name))
            if count > MAX_OUTLET_LIST:
                raise InvalidInput(
                    f"{name} names {count} outlets, over the limit of {MAX_OUTLET_LIST}"
                )
        if not 0.0 <= self.min_similarity <= 1.0:
            raise InvalidInput(f"min_similarity must be in [0, 1], got {self.min_similarity}")
        if not 0 <= self.min_tokens <= MAX_OPTION_LIMIT:
            raise InvalidInput(
                f"min_tokens must be in [0, {MAX_OPTION_LIMIT}], got {self.min_tokens}"
            )
        if not 0 <= self.max_results <= MAX_OPTION_LIMIT:
            raise InvalidInput(
                f"max_results must be in [0, {MAX_OPTION_LIMIT}] (0: server default), "
                f"got {self.max_results}"
            )
        if (
            self.published_after_ns is not None
            and self.published_before_ns is not None
            and self.published_after_ns >= self.published_before_ns
        ):
            raise InvalidInput("published_after must be earlier than published_before")

    def allows(self, outlet: str, published_at_ns: int | None, article_outlet: str) -> bool:
        """Whether a source of ``outlet`` published at ``published_at_ns`` may be
        reported for an article of ``article_outlet``."""
        if self.include_outlets and outlet not in self.include_outlets:
            return False
        if outlet in self.exclude_outlets:
            return False
        if self.exclude_same_outlet and article_outlet and outlet == article_outlet:
            return False
        when = published_at_ns
        if self.published_after_ns is not None and (when is None or when < self.published_after_ns):
            return False
        return not (
            self.published_before_ns is not None
            and (when is None or when >= self.published_before_ns)
        )


@dataclass(frozen=True, slots=True)
class Reuse:
    """A passage of the article, ``[start, end)``, reused from ``[source_start,
    source_end)`` of the source (code points of each text as sent)."""

    source_id: str
    source_outlet: str
    source_published_at_ns: int | None
    start: int
    end: int
    source_start: int
    source_end: int
    similarity: float
    kind: Kind
    confidence: float = 0.0
    #: The passage is found in more stored articles than the boilerplate cap.
    boilerplate: bool = False


@dataclass(frozen=True, slots=True)
class SourceVerdict:
    """How much of an article derives from one source: the share of its characters
    inside that source's matches, weighted by their confidence, and the verdict."""

    source_id: str
    source_outlet: str
    derived_share: float
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Comparison:
    """What two texts share (the engine's matches) and how much of the first derives
    from the second (0 for a text compared with itself: its repeats)."""

    matches: list[Match]
    derived_share: float
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Detection:
    """What one article reuses: the matches (strongest first), the share of its text
    reused from other articles, from how many, and the verdict on each of them (the
    most derived first)."""

    matches: list[Reuse]
    reused_fraction: float
    source_count: int
    sources: list[SourceVerdict] = field(default_factory=list)
    #: Matches left out as boilerplate (``DetectOptions.include_boilerplate``).
    boilerplate_suppressed: int = 0


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    id: str
    created: bool
    detection: Detection


@dataclass(frozen=True, slots=True)
class Stats:
    articles: int
    passages: int
    index_bytes: int
    uptime_seconds: float
    version: str
    #: Transactions that stored articles, and the articles they stored, since the
    #: store opened (0 and 0 where the store does not count them).
    write_transactions: int = 0
    articles_written: int = 0
