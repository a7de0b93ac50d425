//! Signatures, band keys and the passage index, for `wiretrace.engine.signature`,
//! `wiretrace.engine.index` and `wiretrace.store.band_index`.
//!
//! Arrays cross as numpy arrays of the exact dtype (the Python side converts); every
//! call checks shapes, then runs with the GIL released and any panic caught, so a bug
//! in the engine is a `RuntimeError` naming the call, never a crashed process.

use std::sync::{Mutex, RwLock};

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use wiretrace_engine::minhash;

use crate::guard::guarded;
use wiretrace_engine::passage_index::{
    article_passages, rank_hits as rank_flat_hits, Found, IndexError, MergeJob, Merged,
    PassageIndex, Rank,
};

fn invalid(err: IndexError) -> PyErr {
    PyValueError::new_err(err.0)
}

/// MinHash signatures of many sets, shape `(len(offsets) - 1, len(a))`; set `i` is
/// `values[offsets[i]:offsets[i + 1]]`.
#[pyfunction]
fn minhash_signatures<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'py, i64>,
    offsets: PyReadonlyArray1<'py, i64>,
    a: PyReadonlyArray1<'py, u32>,
    b: PyReadonlyArray1<'py, u32>,
) -> PyResult<Bound<'py, PyAny>> {
    let (values, offsets, a, b) = (
        values.as_slice()?,
        offsets.as_slice()?,
        a.as_slice()?,
        b.as_slice()?,
    );
    if a.len() != b.len() || a.is_empty() {
        return Err(PyValueError::new_err(format!(
            "permutations a and b must be equally long and not empty, got {} and {}",
            a.len(),
            b.len()
        )));
    }
    if offsets.first().is_some_and(|&o| o != 0)
        || offsets.windows(2).any(|w| w[0] > w[1])
        || offsets.last().is_some_and(|&o| o as usize != values.len())
    {
        return Err(PyValueError::new_err(
            "offsets must rise from 0 to len(values): one [start, end) range per set",
        ));
    }
    let offsets: Vec<usize> = offsets.iter().map(|&o| o as usize).collect();
    let sets = offsets.len().saturating_sub(1);
    let sigs = py.detach(|| {
        guarded("minhash_signatures", || {
            minhash::signatures(values, &offsets, a, b)
        })
    })?;
    Ok(PyArray1::from_vec(py, sigs)
        .reshape([sets, a.len()])?
        .into_any())
}

/// `bands` bands of `rows` rows each must fit in a signature of `num_perm` slots.
pub(crate) fn check_banding(bands: usize, rows: usize, num_perm: usize) -> PyResult<()> {
    if bands < 1 || rows < 1 || bands * rows > num_perm {
        return Err(PyValueError::new_err(format!(
            "bands ({bands}) * rows ({rows}) must be >= 1 and fit in the {num_perm} slots of a signature"
        )));
    }
    Ok(())
}

/// Band keys of signature rows, shape `(n, bands)`.
#[pyfunction]
fn band_keys<'py>(
    py: Python<'py>,
    sigs: PyReadonlyArray2<'py, u32>,
    bands: usize,
    rows: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let (n, num_perm) = (sigs.shape()[0], sigs.shape()[1]);
    check_banding(bands, rows, num_perm)?;
    let sigs = sigs.as_slice()?;
    let keys = py.detach(|| {
        guarded("band_keys", || {
            minhash::band_keys(sigs, num_perm, bands, rows)
        })
    })?;
    Ok(PyArray1::from_vec(py, keys).reshape([n, bands])?.into_any())
}

/// Rows of `sigs` that are not empty sets' signatures, the first of each distinct one.
#[pyfunction]
fn distinct_indexable_rows<'py>(
    py: Python<'py>,
    sigs: PyReadonlyArray2<'py, u32>,
) -> PyResult<Bound<'py, PyAny>> {
    let num_perm = sigs.shape()[1];
    if num_perm == 0 {
        return Err(PyValueError::new_err(
            "signatures must have at least one slot",
        ));
    }
    let sigs = sigs.as_slice()?;
    let rows = py.detach(|| {
        guarded("distinct_indexable_rows", || {
            minhash::distinct_indexable_rows(sigs, num_perm)
        })
    })?;
    Ok(PyArray1::from_vec(py, rows).into_any())
}

/// Where a merge stands (`begin_merge`, `run_merge`, `finish_merge`).
enum Phase {
    Idle,
    Begun(MergeJob),
    Running,
    Built(Merged),
}

/// The embedded store's passage index (see `wiretrace_engine::passage_index`). Readers
/// run concurrently; a writer excludes them for the length of its call. A merge
/// holds the write lock only to freeze the delta and to swap the merged arrays in: it
/// builds them with no lock held, while lookups, inserts and removals go on.
#[pyclass(frozen, name = "PassageIndex", module = "wiretrace._core")]
struct PyPassageIndex {
    inner: RwLock<PassageIndex>,
    phase: Mutex<Phase>,
    /// Held by `compact` from start to end: one merge at a time.
    serial: Mutex<()>,
    /// Fixed at construction, read without the lock.
    bands: usize,
    num_perm: usize,
}

impl PyPassageIndex {
    fn read<T>(
        &self,
        py: Python<'_>,
        what: &str,
        f: impl FnOnce(&PassageIndex) -> T + Send,
    ) -> PyResult<T>
    where
        T: Send,
    {
        py.detach(|| {
            let index = self.inner.read().map_err(|_| poisoned())?;
            guarded(what, || f(&index))
        })
    }

    fn write<T>(
        &self,
        py: Python<'_>,
        what: &str,
        f: impl FnOnce(&mut PassageIndex) -> T + Send,
    ) -> PyResult<T>
    where
        T: Send,
    {
        // The lock is taken inside the guard: a panic while changing the index unwinds
        // through the lock and poisons it, so that no later call sees half a change.
        py.detach(|| {
            guarded(what, || {
                let mut index = self.inner.write().map_err(|_| poisoned())?;
                Ok(f(&mut index))
            })?
        })
    }
}

/// `(found, capped, agree)` of `PassageIndex.query`.
type QueryResult<'py> = (Bound<'py, PyList>, Vec<u32>, Option<Bound<'py, PyList>>);

impl PyPassageIndex {
    /// Rows of band keys must be `bands` wide and signatures `num_perm` wide.
    fn check_width(
        &self,
        band_keys: &PyReadonlyArray2<'_, u64>,
        sigs: Option<&PyReadonlyArray2<'_, u32>>,
    ) -> PyResult<()> {
        let (bands, num_perm) = (self.bands, self.num_perm);
        if band_keys.shape()[1] != bands {
            return Err(PyValueError::new_err(format!(
                "band keys must have shape (n, {bands}), got {:?}",
                band_keys.shape()
            )));
        }
        if let Some(s) = sigs {
            if s.shape()[1] != num_perm || s.shape()[0] != band_keys.shape()[0] {
                return Err(PyValueError::new_err(format!(
                    "signatures must have shape ({}, {num_perm}), got {:?}",
                    band_keys.shape()[0],
                    s.shape()
                )));
            }
        }
        Ok(())
    }
}

impl PyPassageIndex {
    fn phase(&self) -> PyResult<std::sync::MutexGuard<'_, Phase>> {
        self.phase.lock().map_err(|_| poisoned())
    }

    fn begin(&self) -> PyResult<bool> {
        let mut phase = self.phase()?;
        if !matches!(*phase, Phase::Idle) {
            return Err(PyRuntimeError::new_err(
                "a merge of the passage index is under way",
            ));
        }
        let job = guarded("PassageIndex.begin_merge", || {
            let mut index = self.inner.write().map_err(|_| poisoned())?;
            Ok::<_, PyErr>(index.begin_merge())
        })??;
        Ok(match job {
            Some(job) => {
                *phase = Phase::Begun(job);
                true
            }
            None => false,
        })
    }

    fn run(&self) -> PyResult<()> {
        let job = {
            let mut phase = self.phase()?;
            match std::mem::replace(&mut *phase, Phase::Running) {
                Phase::Begun(job) => job,
                other => {
                    *phase = other;
                    return Err(PyRuntimeError::new_err("run_merge without begin_merge"));
                }
            }
        };
        match guarded("PassageIndex.run_merge", || job.run()) {
            Ok(merged) => {
                *self.phase()? = Phase::Built(merged);
                Ok(())
            }
            Err(err) => {
                // The frozen delta stays searchable; the next merge begins it again.
                *self.phase()? = Phase::Idle;
                Err(err)
            }
        }
    }

    fn finish(&self) -> PyResult<()> {
        let mut phase = self.phase()?;
        let merged = match std::mem::replace(&mut *phase, Phase::Idle) {
            Phase::Built(merged) => merged,
            other => {
                *phase = other;
                return Err(PyRuntimeError::new_err("finish_merge without run_merge"));
            }
        };
        guarded("PassageIndex.finish_merge", || {
            let mut index = self.inner.write().map_err(|_| poisoned())?;
            index.finish_merge(merged);
            Ok(())
        })?
    }
}

fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the system; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn poisoned() -> PyErr {
    PyRuntimeError::new_err(
        "the passage index is unusable: an earlier call failed while changing it",
    )
}

#[pymethods]
impl PyPassageIndex {
    #[new]
    #[pyo3(signature = (*, bands, num_perm, delta_limit, merge_inline=true))]
    fn new(
        bands: usize,
        num_perm: usize,
        delta_limit: usize,
        merge_inline: bool,
    ) -> PyResult<Self> {
        let mut index = PassageIndex::new(bands, num_perm, delta_limit).map_err(invalid)?;
        index.set_merge_inline(merge_inline);
        Ok(Self {
            inner: RwLock::new(index),
            phase: Mutex::new(Phase::Idle),
            serial: Mutex::new(()),
            bands,
            num_perm,
        })
    }

    #[getter]
    fn bands(&self) -> usize {
        self.bands
    }

    #[getter]
    fn num_perm(&self) -> usize {
        self.num_perm
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.read(py, "PassageIndex.__len__", |i| i.len())
    }

    #[getter]
    fn pending(&self, py: Python<'_>) -> PyResult<usize> {
        self.read(py, "PassageIndex.pending", |i| i.pending())
    }

    fn memory_bytes(&self, py: Python<'_>) -> PyResult<usize> {
        self.read(py, "PassageIndex.memory_bytes", |i| i.memory_bytes())
    }

    fn insert(
        &self,
        py: Python<'_>,
        keys: PyReadonlyArray1<'_, i64>,
        band_keys: PyReadonlyArray2<'_, u64>,
        signatures: PyReadonlyArray2<'_, u32>,
    ) -> PyResult<()> {
        let (keys, band_keys, sigs) = (
            keys.as_slice()?,
            band_keys.as_slice()?,
            signatures.as_slice()?,
        );
        self.write(py, "PassageIndex.insert", |i| {
            i.insert(keys, band_keys, sigs)
        })?
        .map_err(invalid)
    }

    /// Index stored articles `article_keys` from their signature rows: article `i`'s
    /// are `signatures[offsets[i]:offsets[i + 1]]`. Each article's passages are its
    /// rows that are not an empty set's, the first of each distinct one, keyed
    /// `article_key << unit_bits | row`, under band keys of `rows` rows. Returns the
    /// passages indexed.
    #[pyo3(signature = (article_keys, offsets, signatures, *, rows, unit_bits))]
    fn insert_articles(
        &self,
        py: Python<'_>,
        article_keys: PyReadonlyArray1<'_, i64>,
        offsets: PyReadonlyArray1<'_, i64>,
        signatures: PyReadonlyArray2<'_, u32>,
        rows: usize,
        unit_bits: u32,
    ) -> PyResult<usize> {
        let (bands, num_perm) = (self.bands, self.num_perm);
        if signatures.shape()[1] != num_perm {
            return Err(PyValueError::new_err(format!(
                "signatures must have shape (n, {num_perm}), got {:?}",
                signatures.shape()
            )));
        }
        if rows < 1 || bands * rows > num_perm || unit_bits >= 63 {
            return Err(PyValueError::new_err(format!(
                "bands ({bands}) * rows ({rows}) must fit in {num_perm} slots, and unit_bits \
                 ({unit_bits}) below 63"
            )));
        }
        let (keys, offsets, sigs) = (
            article_keys.as_slice()?,
            offsets.as_slice()?,
            signatures.as_slice()?,
        );
        let n_rows = signatures.shape()[0];
        if offsets.len() != keys.len() + 1
            || offsets.first() != Some(&0)
            || offsets.windows(2).any(|w| w[0] > w[1])
            || offsets.last().is_some_and(|&o| o as usize != n_rows)
        {
            return Err(PyValueError::new_err(
                "offsets must rise from 0 to len(signatures), one more than article_keys",
            ));
        }
        let offsets: Vec<usize> = offsets.iter().map(|&o| o as usize).collect();
        let found = py.detach(|| {
            guarded("PassageIndex.insert_articles", || {
                article_passages(keys, &offsets, sigs, num_perm, bands, rows, unit_bits)
            })
        })?;
        let count = found.keys.len();
        self.write(py, "PassageIndex.insert_articles", |i| {
            i.insert(&found.keys, &found.band_keys, &found.sigs)
        })?
        .map_err(invalid)?;
        Ok(count)
    }

    fn remove(
        &self,
        py: Python<'_>,
        keys: PyReadonlyArray1<'_, i64>,
        band_keys: PyReadonlyArray2<'_, u64>,
    ) -> PyResult<usize> {
        self.check_width(&band_keys, None)?;
        let (keys, band_keys) = (keys.as_slice()?, band_keys.as_slice()?);
        self.write(py, "PassageIndex.remove", |i| i.remove(keys, band_keys))?
            .map_err(invalid)
    }

    /// Merge now, in the three steps below; then hand the memory the merge freed back
    /// to the system (glibc keeps freed blocks of every thread's arena otherwise:
    /// after a restart's bulk load, ~100 B a passage of resident memory the index no
    /// longer uses). The write lock is held only while the delta is frozen and while
    /// the merged arrays are swapped in.
    fn compact(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| -> PyResult<()> {
            let _serial = self.serial.lock().map_err(|_| poisoned())?;
            if self.begin()? {
                self.run()?;
                self.finish()?;
            }
            release_free_memory();
            Ok(())
        })
    }

    /// A merge's first step: freeze the delta (the write lock, briefly). False when
    /// there is nothing to merge. Raises when a merge is under way.
    fn begin_merge(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| self.begin())
    }

    /// The second step: build the merged arrays, holding no lock of the index.
    fn run_merge(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.run())
    }

    /// The last step: swap the merged arrays in (the write lock, briefly).
    fn finish_merge(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.finish())
    }

    /// `(found, capped, agree)`: per row, passage key -> bands shared; buckets over
    /// the cap; passage key -> sketch slots agreeing with the row's signature (None
    /// without signatures).
    #[pyo3(signature = (band_keys, signatures=None, *, max_bucket=None))]
    fn query<'py>(
        &self,
        py: Python<'py>,
        band_keys: PyReadonlyArray2<'py, u64>,
        signatures: Option<PyReadonlyArray2<'py, u32>>,
        max_bucket: Option<usize>,
    ) -> PyResult<QueryResult<'py>> {
        self.check_width(&band_keys, signatures.as_ref())?;
        let keys = band_keys.as_slice()?;
        let sigs = match &signatures {
            Some(s) => Some(s.as_slice()?),
            None => None,
        };
        if self.read(py, "PassageIndex.query", |i| i.needs_merge())? {
            self.compact(py)?;
        }
        let results: Vec<Found> = self
            .read(py, "PassageIndex.query", |i| {
                i.query(keys, sigs, max_bucket)
            })?
            .map_err(invalid)?;
        let found = PyList::empty(py);
        let agree = PyList::empty(py);
        let mut capped = Vec::with_capacity(results.len());
        for r in &results {
            let f = PyDict::new(py);
            let a = PyDict::new(py);
            for ((&p, &n), &g) in r.passages.iter().zip(&r.bands).zip(&r.agree) {
                f.set_item(p, n)?;
                a.set_item(p, g)?;
            }
            found.append(f)?;
            agree.append(a)?;
            capped.push(r.capped);
        }
        Ok((found, capped, sigs.is_some().then_some(agree)))
    }

    /// `query` with the rows' signatures, ranked in the core, for several articles
    /// (`band_keys[i]`, `signatures[i]`, `exclude_keys[i]`): each one's `(articles,
    /// capped)`, the candidate articles strongest first (`rank_hits`) and per row the
    /// buckets over the cap. One read of the index and one release of the GIL for
    /// them all.
    #[pyo3(signature = (band_keys, signatures, *, max_bucket, min_jaccard, exclude_keys, unit_bits))]
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn query_ranked<'py>(
        &self,
        py: Python<'py>,
        band_keys: Vec<PyReadonlyArray2<'py, u64>>,
        signatures: Vec<PyReadonlyArray2<'py, u32>>,
        max_bucket: Option<usize>,
        min_jaccard: f64,
        exclude_keys: Vec<Option<i64>>,
        unit_bits: u32,
    ) -> PyResult<Vec<(Bound<'py, PyArray1<i64>>, Vec<u32>)>> {
        if signatures.len() != band_keys.len() || exclude_keys.len() != band_keys.len() {
            return Err(PyValueError::new_err(format!(
                "{} articles' band keys, {} signatures and {} excluded keys: give one each",
                band_keys.len(),
                signatures.len(),
                exclude_keys.len()
            )));
        }
        let mut queries = Vec::with_capacity(band_keys.len());
        for ((keys, sigs), exclude) in band_keys.iter().zip(&signatures).zip(exclude_keys) {
            self.check_width(keys, Some(sigs))?;
            let rank = Rank {
                min_jaccard,
                exclude,
                unit_bits,
            };
            queries.push((keys.as_slice()?, sigs.as_slice()?, rank));
        }
        let all = |i: &PassageIndex| {
            queries
                .iter()
                .map(|(keys, sigs, rank)| i.query_ranked(keys, sigs, max_bucket, rank))
                .collect::<Result<Vec<_>, _>>()
        };
        let ranked = match self.read(py, "PassageIndex.query_ranked", |i| {
            (!i.needs_merge()).then(|| all(i))
        })? {
            Some(r) => r,
            None => {
                self.compact(py)?;
                self.read(py, "PassageIndex.query_ranked", all)?
            }
        }
        .map_err(invalid)?;
        Ok(ranked
            .into_iter()
            .map(|r| (PyArray1::from_vec(py, r.articles), r.capped))
            .collect())
    }
}

/// The ranking of `PassageIndex.query_ranked` over flat hits (`passages`, `bands`,
/// `agree`) of signatures `num_perm` wide: the candidate articles, strongest first.
#[pyfunction]
#[pyo3(signature = (passages, bands, agree, *, num_perm, min_jaccard, exclude_key, unit_bits))]
#[allow(clippy::too_many_arguments)]
fn rank_hits<'py>(
    py: Python<'py>,
    passages: PyReadonlyArray1<'py, i64>,
    bands: PyReadonlyArray1<'py, u32>,
    agree: PyReadonlyArray1<'py, u32>,
    num_perm: usize,
    min_jaccard: f64,
    exclude_key: Option<i64>,
    unit_bits: u32,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let (passages, bands, agree) = (passages.as_slice()?, bands.as_slice()?, agree.as_slice()?);
    let rank = Rank {
        min_jaccard,
        exclude: exclude_key,
        unit_bits,
    };
    let ranked = py
        .detach(|| {
            guarded("rank_hits", || {
                rank_flat_hits(passages, bands, agree, num_perm, &rank)
            })
        })?
        .map_err(invalid)?;
    Ok(PyArray1::from_vec(py, ranked))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(minhash_signatures, m)?)?;
    m.add_function(wrap_pyfunction!(band_keys, m)?)?;
    m.add_function(wrap_pyfunction!(distinct_indexable_rows, m)?)?;
    m.add_function(wrap_pyfunction!(rank_hits, m)?)?;
    m.add_class::<PyPassageIndex>()?;
    Ok(())
}
