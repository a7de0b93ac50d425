# Types of the compiled core (core/binding), built into wiretrace._core by maturin.
import numpy as np
import numpy.typing as npt

__version__: str

class EnginePanic(RuntimeError):
    """A bug in the compiled core: an engine function panicked."""

def _panic_for_tests(message: str) -> None: ...

# The text stages (core/binding/src/text.rs).
UNICODE_VERSION: str
NO_TERM: int
STOPWORDS: tuple[str, ...]
MAX_QUOTE_CHARS: int

def text_stages(
    text: str, *, stem_prefix: int, min_unit_tokens: int, max_unit_tokens: int
) -> tuple[
    list[str],  # words
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
]: ...
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
def named(
    text: str,
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    sentence_ends: list[int],
) -> npt.NDArray[np.bool_]: ...
