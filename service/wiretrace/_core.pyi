# Types of the compiled core (core/binding), built into wiretrace._core by maturin.
from collections.abc import Sequence
from typing import Literal, overload

import numpy as np
import numpy.typing as npt

__version__: str

class CoreCancelled(Exception):
    """The CancelToken of a comparison said its caller is gone."""

class CancelToken:
    def __init__(self, seconds: float | None = None) -> None: ...
    def cancel(self) -> None: ...
    def cancelled(self) -> bool: ...
    def __call__(self) -> bool: ...

class PreparedDoc:
    def __init__(
        self,
        *,
        words: bytes,
        terms: bytes,
        bounds: bytes,
        features: bytes,
        feature_starts: bytes,
        hidden: bytes,
        runs: bytes,
        indexable: bytes,
        band_keys: bytes,
        bands: int,
        quoted: bytes,
        named: bytes,
        sentence_ends: bytes,
        window_k: int,
        window_hashes: bytes,
        window_rare: bytes,
        window_order: bytes,
        starts: bytes | None = None,
        ends: bytes | None = None,
        closed: bytes | None = None,
        chars: int | None = None,
    ) -> None: ...
    def __len__(self) -> int: ...
    @property
    def has_spans(self) -> bool: ...
    @property
    def chars(self) -> int | None: ...
    def spans(self) -> tuple[list[int], list[int], list[int]] | None: ...

class AlignConfig:
    def __init__(
        self,
        *,
        seed_threshold: float,
        extend_threshold: float,
        passage_threshold: float,
        min_match_tokens: int,
        min_reworded_tokens: int,
        short_passage_tokens: int,
        short_passage_similarity: float,
        short_passage_overlap: float,
        max_gap_units: int,
        merge_gap_tokens: int,
        miss_penalty: float,
        shared_weight: float,
        edge_cut: float,
        max_seed_pairs: int,
        max_extend_pairs: int,
        max_refine_cells: int,
        max_align_cells: int,
        max_passages: int,
        max_exact_pairs: int,
        min_exact_run_tokens: int,
        min_quote_tokens: int,
        min_split_run_tokens: int,
        min_evidence_dice: float,
        short_text_share: float,
        summary_ratio: float,
        summary_join_ratio: float,
        summary_gap_tokens: int,
        summary_whole_share: float,
        summary_unit_dice: float,
    ) -> None: ...

def compare(
    a: PreparedDoc,
    b: PreparedDoc,
    *,
    same_text: bool,
    config: AlignConfig,
    counters: Sequence[int],
    limited: list[str],
    check: object | None = None,
    token: CancelToken | None = None,
) -> tuple[list[tuple[int, int, int, int, float, int]], list[int], list[str]]: ...
def indel_similarity(a: bytes, b: bytes) -> float: ...
def indel_aligned(a: bytes, b: bytes) -> tuple[bytes, bytes]: ...
def band_join(
    keys_a: bytes, keys_b: bytes, bands: int, *, max_pairs: int | None = None
) -> tuple[list[tuple[int, int]], int, bool]: ...
def shared_runs(
    k: int, a: tuple[bytes, bytes, bytes], b: tuple[bytes, bytes, bytes], *, max_pairs: int
) -> tuple[list[tuple[int, int, int]], int, bool]: ...
def minhash_signatures(
    values: npt.NDArray[np.int64],
    offsets: npt.NDArray[np.int64],
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
) -> npt.NDArray[np.uint32]: ...
def distinct_indexable_rows(sigs: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]: ...
def band_keys(sigs: npt.NDArray[np.uint32], bands: int, rows: int) -> npt.NDArray[np.uint64]: ...
def index_passages(
    sigs: npt.NDArray[np.uint32], bands: int, rows: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]: ...

class PassageIndex:
    def __init__(
        self, *, bands: int, num_perm: int, delta_limit: int, merge_inline: bool = True
    ) -> None: ...
    @property
    def bands(self) -> int: ...
    @property
    def pending(self) -> int: ...
    @property
    def num_perm(self) -> int: ...
    def __len__(self) -> int: ...
    def memory_bytes(self) -> int: ...
    def insert(
        self,
        keys: npt.NDArray[np.int64],
        band_keys: npt.NDArray[np.uint64],
        signatures: npt.NDArray[np.uint32],
    ) -> None: ...
    def insert_articles(
        self,
        article_keys: npt.NDArray[np.int64],
        offsets: npt.NDArray[np.int64],
        signatures: npt.NDArray[np.uint32],
        *,
        rows: int,
        unit_bits: int,
    ) -> int: ...
    def remove(self, keys: npt.NDArray[np.int64], band_keys: npt.NDArray[np.uint64]) -> int: ...
    def compact(self) -> None: ...
    def begin_merge(self) -> bool: ...
    def run_merge(self) -> None: ...
    def finish_merge(self) -> None: ...
    def query(
        self,
        band_keys: npt.NDArray[np.uint64],
        signatures: npt.NDArray[np.uint32] | None = None,
        *,
        max_bucket: int | None = None,
    ) -> tuple[list[dict[int, int]], list[int], list[dict[int, int]] | None]: ...
    def query_ranked(
        self,
        band_keys: list[npt.NDArray[np.uint64]],
        signatures: list[npt.NDArray[np.uint32]],
        *,
        max_bucket: int | None,
        min_jaccard: float,
        exclude_keys: list[int | None],
        unit_bits: int,
    ) -> list[tuple[npt.NDArray[np.int64], list[int]]]: ...

def rank_hits(
    passages: npt.NDArray[np.int64],
    bands: npt.NDArray[np.uint32],
    agree: npt.NDArray[np.uint32],
    *,
    num_perm: int,
    min_jaccard: float,
    exclude_key: int | None,
    unit_bits: int,
) -> npt.NDArray[np.int64]: ...

class EnginePanic(RuntimeError):
    """A bug in the compiled core: an engine function panicked."""

def _panic_for_tests(message: str) -> None: ...

# The text stages (core/binding/src/text.rs).
UNICODE_VERSION: str
NO_TERM: int
STOPWORDS: tuple[str, ...]
MAX_QUOTE_CHARS: int

#: What ``prepare`` returns of a text.
Parts = tuple[
    list[str],  # words (empty unless asked for)
    npt.NDArray[np.int64],  # starts
    npt.NDArray[np.int64],  # ends
    list[int],  # sentence_ends
    npt.NDArray[np.int64],  # terms
    npt.NDArray[np.int64],  # word ids
    npt.NDArray[np.int64],  # unit bounds
    npt.NDArray[np.int64],  # features, all units'
    npt.NDArray[np.int64],  # feature bounds per unit
    npt.NDArray[np.bool_],  # quoted
    npt.NDArray[np.bool_],  # named
    npt.NDArray[np.uint32],  # signatures, (units, num_perm)
    npt.NDArray[np.int64],  # runs, flat (start, end, period) triples
    npt.NDArray[np.bool_],  # hidden units
    npt.NDArray[np.int64],  # indexable rows
    npt.NDArray[np.uint64],  # band keys, (indexable, bands)
    npt.NDArray[np.uint32],  # quote signatures, (segments, num_perm)
    npt.NDArray[np.uint64],  # window hashes
    npt.NDArray[np.bool_],  # window rare
    npt.NDArray[np.int64],  # window order
    PreparedDoc,
]
#: What ``prepare_many(..., lean=True)`` returns of a text.
LeanParts = tuple[
    npt.NDArray[np.int64],  # starts
    npt.NDArray[np.int64],  # ends
    npt.NDArray[np.int64],  # unit bounds
    npt.NDArray[np.uint32],  # stored signatures: the units', then the quotes'
    PreparedDoc,
]

class PrepareConfig:
    def __init__(
        self,
        *,
        stem_prefix: int,
        min_unit_tokens: int,
        max_unit_tokens: int,
        min_quote_tokens: int,
        min_quote_content_terms: int,
        perm_a: npt.NDArray[np.uint32],
        perm_b: npt.NDArray[np.uint32],
        bands: int,
        rows: int,
    ) -> None: ...

@overload
def prepare_many(
    texts: list[str], config: PrepareConfig, *, words: bool = True, lean: Literal[False] = False
) -> list[Parts]: ...
@overload
def prepare_many(
    texts: list[str], config: PrepareConfig, *, words: bool = True, lean: Literal[True]
) -> list[LeanParts]: ...
def detect_many(
    jobs: Sequence[
        tuple[PreparedDoc, list[PreparedDoc | None], Sequence[int], list[str], CancelToken | None]
    ],
    *,
    config: AlignConfig,
    coefficients: tuple[float, ...],
) -> list[
    tuple[
        list[list[tuple[int, int, int, int, float, int, float]]] | None,
        list[int],
        list[str],
        int,
        int,
    ]
]: ...
def detect(
    a: str | PreparedDoc,
    b: str | PreparedDoc | None = None,
    *,
    prepare: PrepareConfig,
    config: AlignConfig,
    coefficients: tuple[float, ...],
    counters: Sequence[int],
    limited: list[str],
    check: object | None = None,
    token: CancelToken | None = None,
    parallel: bool | None = None,
) -> tuple[
    list[tuple[int, int, int, int, float, int, float]],
    list[int],
    list[str],
    int,
    int,
]: ...
def summary_dice(
    a: PreparedDoc, b: PreparedDoc, units: list[int]
) -> tuple[list[float], list[int]]: ...
def find_runs(fingerprints: npt.NDArray[np.int64]) -> list[tuple[int, int, int]]: ...
def windows(
    words: npt.NDArray[np.int64], k: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_], npt.NDArray[np.int64]]: ...
def span_counts(
    a: PreparedDoc, b: PreparedDoc, a0: int, a1: int, b0: int, b1: int
) -> tuple[int, int, int]: ...
def tokenize(
    text: str,
) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.int64], list[int]]: ...
def normalize(
    text: str, *, by_chunk: bool = False
) -> tuple[str, npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]: ...
def to_original(
    norm_starts: npt.NDArray[np.int64],
    orig_starts: npt.NDArray[np.int64],
    one_to_one: npt.NDArray[np.bool_],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def quoted_spans(text: str) -> list[tuple[int, int]]: ...
