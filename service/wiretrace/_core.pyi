# Types of the compiled core (core/binding), built into wiretrace._core by maturin.
import numpy as np
import numpy.typing as npt

__version__: str

def minhash_signatures(
    values: npt.NDArray[np.int64],
    offsets: npt.NDArray[np.int64],
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
) -> npt.NDArray[np.uint32]: ...
def band_keys(sigs: npt.NDArray[np.uint32], bands: int, rows: int) -> npt.NDArray[np.uint64]: ...

class PassageIndex:
    def __init__(self, *, bands: int, num_perm: int, delta_limit: int) -> None: ...
    @property
    def bands(self) -> int: ...
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
    def remove(self, keys: npt.NDArray[np.int64], band_keys: npt.NDArray[np.uint64]) -> int: ...
    def compact(self) -> None: ...
    def query(
        self,
        band_keys: npt.NDArray[np.uint64],
        signatures: npt.NDArray[np.uint32] | None = None,
        *,
        max_bucket: int | None = None,
    ) -> tuple[list[dict[int, int]], list[int], list[dict[int, int]] | None]: ...
