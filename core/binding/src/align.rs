//! The alignment's binding: a prepared document built once from `Document`'s arrays,
//! the alignment settings, and one call per comparison, with the GIL released.
//!
//! Arrays arrive as little-endian `bytes` (`ndarray.tobytes()`): int64 for ids and
//! positions, uint64 for hashes and keys, one byte per flag.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::guard::guarded;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use wiretrace_engine::align::{
    self, Cancel, Config, Counters, Doc, Kind, Limit, Run, Stopped, Windows, Work,
};
use wiretrace_engine::matches::{Offset, Spans};
use wiretrace_engine::summary::SummaryConfig;

pyo3::create_exception!(
    _core,
    CoreCancelled,
    pyo3::exceptions::PyException,
    "The CancelToken of a comparison said its caller is gone."
);

fn i64s(name: &str, raw: &[u8]) -> PyResult<Vec<i64>> {
    if raw.len() % 8 != 0 {
        return Err(PyValueError::new_err(format!(
            "{name}: {} bytes is not a whole number of int64",
            raw.len()
        )));
    }
    Ok(raw
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect())
}

fn u64s(name: &str, raw: &[u8]) -> PyResult<Vec<u64>> {
    Ok(i64s(name, raw)?.into_iter().map(|v| v as u64).collect())
}

fn positions(name: &str, raw: &[u8]) -> PyResult<Vec<usize>> {
    i64s(name, raw)?
        .into_iter()
        .map(|v| {
            usize::try_from(v)
                .map_err(|_| PyValueError::new_err(format!("{name}: negative position {v}")))
        })
        .collect()
}

fn offsets(name: &str, raw: &[u8]) -> PyResult<Vec<Offset>> {
    positions(name, raw)?
        .into_iter()
        .map(|v| {
            Offset::try_from(v).map_err(|_| {
                PyValueError::new_err(format!("{name}: offset {v} is past 2^32 code points"))
            })
        })
        .collect()
}

fn flags(raw: &[u8]) -> Vec<bool> {
    raw.iter().map(|&b| b != 0).collect()
}

fn windows_of(k: usize, hashes: &[u8], rare: &[u8], order: &[u8]) -> PyResult<Windows> {
    Ok(Windows {
        k,
        hashes: u64s("window_hashes", hashes)?,
        rare: flags(rare),
        order: positions("window_order", order)?,
    })
}

/// A text prepared for alignment, converted once and shared by every comparison;
/// with its tokens' spans (`detect` needs them), or without (`compare` does not).
#[pyclass(frozen, module = "wiretrace._core")]
pub struct PreparedDoc {
    doc: Arc<Doc>,
    spans: Option<Arc<Spans>>,
}

impl PreparedDoc {
    /// A prepared document the core built itself (`prepare`): already valid.
    pub(crate) fn from_doc(doc: Arc<Doc>, spans: Arc<Spans>) -> Self {
        PreparedDoc {
            doc,
            spans: Some(spans),
        }
    }

    pub(crate) fn doc(&self) -> Arc<Doc> {
        Arc::clone(&self.doc)
    }

    pub(crate) fn token_spans(&self) -> Option<Arc<Spans>> {
        self.spans.clone()
    }
}

#[pymethods]
impl PreparedDoc {
    #[new]
    #[pyo3(signature = (
        *, words, terms, bounds, features, feature_starts, hidden, runs, indexable,
        band_keys, bands, quoted, named, sentence_ends, window_k, window_hashes,
        window_rare, window_order, starts=None, ends=None, closed=None, chars=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        words: &[u8],
        terms: &[u8],
        bounds: &[u8],
        features: &[u8],
        feature_starts: &[u8],
        hidden: &[u8],
        runs: &[u8],
        indexable: &[u8],
        band_keys: &[u8],
        bands: usize,
        quoted: &[u8],
        named: &[u8],
        sentence_ends: &[u8],
        window_k: usize,
        window_hashes: &[u8],
        window_rare: &[u8],
        window_order: &[u8],
        starts: Option<&[u8]>,
        ends: Option<&[u8]>,
        closed: Option<&[u8]>,
        chars: Option<usize>,
    ) -> PyResult<Self> {
        // The bytes are immutable: they are read and checked with the GIL released.
        let (doc, spans) = py.detach(|| -> PyResult<(Doc, Option<Spans>)> {
            let run_fields = positions("runs", runs)?;
            if run_fields.len() % 3 != 0 {
                return Err(PyValueError::new_err(
                    "runs: expected (start, end, period) triples",
                ));
            }
            let doc = Doc {
                words: i64s("words", words)?,
                terms: i64s("terms", terms)?,
                bounds: positions("bounds", bounds)?,
                features: i64s("features", features)?,
                feature_starts: positions("feature_starts", feature_starts)?,
                hidden: flags(hidden),
                runs: run_fields
                    .chunks_exact(3)
                    .map(|r| Run {
                        start: r[0],
                        end: r[1],
                        period: r[2],
                    })
                    .collect(),
                indexable: positions("indexable", indexable)?,
                band_keys: u64s("band_keys", band_keys)?,
                bands,
                quoted: flags(quoted),
                named: flags(named),
                sentence_ends: positions("sentence_ends", sentence_ends)?,
                windows: windows_of(window_k, window_hashes, window_rare, window_order)?,
            };
            doc.validate()
                .map_err(|e| PyValueError::new_err(format!("not a prepared document: {e}")))?;
            let spans = match (starts, ends, closed, chars) {
                (None, None, None, None) => None,
                (Some(starts), Some(ends), Some(closed), Some(chars)) => {
                    let spans = Spans {
                        starts: offsets("starts", starts)?,
                        ends: offsets("ends", ends)?,
                        closed: offsets("closed", closed)?,
                        chars,
                    };
                    spans.validate(doc.words.len()).map_err(|e| {
                        PyValueError::new_err(format!("not a prepared document's spans: {e}"))
                    })?;
                    Some(spans)
                }
                _ => {
                    return Err(PyValueError::new_err(
                        "starts, ends, closed and chars come together, or not at all",
                    ))
                }
            };
            Ok((doc, spans))
        })?;
        Ok(PreparedDoc {
            doc: Arc::new(doc),
            spans: spans.map(Arc::new),
        })
    }

    /// Tokens of the text.
    fn __len__(&self) -> usize {
        self.doc.words.len()
    }

    /// Whether it holds its tokens' spans, which `detect` reads.
    #[getter]
    fn has_spans(&self) -> bool {
        self.spans.is_some()
    }

    /// The length of its text in code points (None without spans).
    #[getter]
    fn chars(&self) -> Option<usize> {
        self.spans.as_ref().map(|s| s.chars)
    }

    /// Its tokens' `(starts, ends, closed)`: code-point offsets, each end also moved
    /// over the closing punctuation after it; None without spans.
    #[allow(clippy::type_complexity)]
    fn spans(&self) -> Option<(Vec<Offset>, Vec<Offset>, Vec<Offset>)> {
        self.spans
            .as_ref()
            .map(|s| (s.starts.clone(), s.ends.clone(), s.closed.clone()))
    }
}

/// The settings of `EngineConfig` the alignment and the summary stage read.
#[pyclass(frozen, module = "wiretrace._core")]
pub struct AlignConfig {
    pub(crate) config: Config,
    pub(crate) summary: SummaryConfig,
}

#[pymethods]
impl AlignConfig {
    #[new]
    #[pyo3(signature = (
        *, seed_threshold, extend_threshold, passage_threshold, min_match_tokens,
        min_reworded_tokens, short_passage_tokens, short_passage_similarity,
        short_passage_overlap, max_gap_units, merge_gap_tokens, miss_penalty,
        shared_weight, edge_cut, max_seed_pairs, max_extend_pairs, max_refine_cells,
        max_align_cells, max_passages, max_exact_pairs, min_exact_run_tokens,
        min_quote_tokens, min_split_run_tokens, min_evidence_dice, short_text_share,
        summary_ratio, summary_join_ratio, summary_gap_tokens, summary_whole_share,
        summary_unit_dice
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        seed_threshold: f64,
        extend_threshold: f64,
        passage_threshold: f64,
        min_match_tokens: usize,
        min_reworded_tokens: usize,
        short_passage_tokens: usize,
        short_passage_similarity: f64,
        short_passage_overlap: f64,
        max_gap_units: usize,
        merge_gap_tokens: usize,
        miss_penalty: f64,
        shared_weight: f64,
        edge_cut: f64,
        max_seed_pairs: u64,
        max_extend_pairs: u64,
        max_refine_cells: u64,
        max_align_cells: u64,
        max_passages: u64,
        max_exact_pairs: u64,
        min_exact_run_tokens: usize,
        min_quote_tokens: usize,
        min_split_run_tokens: usize,
        min_evidence_dice: f64,
        short_text_share: f64,
        summary_ratio: f64,
        summary_join_ratio: f64,
        summary_gap_tokens: usize,
        summary_whole_share: f64,
        summary_unit_dice: f64,
    ) -> Self {
        AlignConfig {
            summary: SummaryConfig {
                ratio: summary_ratio,
                join_ratio: summary_join_ratio,
                gap_tokens: summary_gap_tokens,
                whole_share: summary_whole_share,
                unit_dice: summary_unit_dice,
            },
            config: Config {
                seed_threshold,
                extend_threshold,
                passage_threshold,
                min_match_tokens,
                min_reworded_tokens,
                short_passage_tokens,
                short_passage_similarity,
                short_passage_overlap,
                max_gap_units,
                merge_gap_tokens,
                miss_penalty,
                shared_weight,
                edge_cut,
                max_seed_pairs,
                max_extend_pairs,
                max_refine_cells,
                max_align_cells,
                max_passages,
                max_exact_pairs,
                min_exact_run_tokens,
                min_quote_tokens,
                min_split_run_tokens,
                min_evidence_dice,
                short_text_share,
            },
        }
    }
}

/// Whether a call's caller still waits, readable by the core without the GIL: a flag
/// that gRPC sets when it is done with the call, and the call's deadline. Called, it
/// says whether the call is cancelled (so it serves as `Work.cancelled`).
#[pyclass(frozen, module = "wiretrace._core")]
pub struct CancelToken {
    gone: AtomicBool,
    deadline: Option<Instant>,
}

impl CancelToken {
    fn is_cancelled(&self) -> bool {
        self.gone.load(Ordering::Relaxed) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

#[pymethods]
impl CancelToken {
    /// `seconds`: the time the caller still waits (None: no deadline).
    #[new]
    #[pyo3(signature = (seconds=None))]
    fn new(seconds: Option<f64>) -> Self {
        let now = Instant::now();
        let deadline = seconds.map(|s| {
            if s.is_nan() || s <= 0.0 {
                now
            } else {
                // A deadline beyond any call (or infinite) is none at all.
                Duration::try_from_secs_f64(s)
                    .ok()
                    .and_then(|d| now.checked_add(d))
                    .unwrap_or(now + Duration::from_secs(86_400 * 365))
            }
        });
        CancelToken {
            gone: AtomicBool::new(false),
            deadline,
        }
    }

    /// The caller is gone: every comparison that reads this token stops.
    fn cancel(&self) {
        self.gone.store(true, Ordering::Relaxed);
    }

    fn cancelled(&self) -> bool {
        self.is_cancelled()
    }

    fn __call__(&self) -> bool {
        self.is_cancelled()
    }
}

/// The caller's cancellation read from a `CancelToken`, without the GIL.
struct TokenCheck(Py<CancelToken>);

impl Cancel for TokenCheck {
    fn check(&mut self) -> Result<(), Stopped> {
        if self.0.get().is_cancelled() {
            Err(Stopped)
        } else {
            Ok(())
        }
    }
}

/// The caller's cancellation: `Work.check`, asked with the GIL taken back for the
/// moment of the call; the exception it raises (`Expired`) is kept and re-raised.
struct PyCheck {
    check: Py<PyAny>,
    raised: Option<PyErr>,
}

impl Cancel for PyCheck {
    fn check(&mut self) -> Result<(), Stopped> {
        Python::attach(|py| match self.check.call0(py) {
            Ok(_) => Ok(()),
            Err(err) => {
                self.raised = Some(err);
                Err(Stopped)
            }
        })
    }
}

pub(crate) const COUNTERS: usize = 9;

fn counters_of(v: [u64; COUNTERS]) -> Counters {
    Counters {
        seed_pairs: v[0],
        extend_pairs: v[1],
        clusters: v[2],
        largest_cluster: v[3],
        align_cells: v[4],
        similarity_cells: v[5],
        passages: v[6],
        overlap_checks: v[7],
        exact_pairs: v[8],
    }
}

pub(crate) fn counters_out(c: &Counters) -> [u64; COUNTERS] {
    [
        c.seed_pairs,
        c.extend_pairs,
        c.clusters,
        c.largest_cluster,
        c.align_cells,
        c.similarity_cells,
        c.passages,
        c.overlap_checks,
        c.exact_pairs,
    ]
}

pub(crate) fn kind_code(kind: Kind) -> u8 {
    match kind {
        Kind::Verbatim => 0,
        Kind::NearVerbatim => 1,
        Kind::Reworded => 2,
        Kind::Quote => 3,
    }
}

/// What a bounded join returns: its results, the pairs proposed, whether all were.
type Joined<T> = (Vec<T>, u64, bool);
type Found = (usize, usize, usize, usize, f64, u8);
type Outcome = (Vec<Found>, [u64; COUNTERS], Vec<&'static str>);

/// The caller's cancellation for one call into the core: its `CancelToken`, read
/// without the GIL, or else a Python callable (`Work.check`), or nothing.
pub(crate) struct Asked {
    native: Option<TokenCheck>,
    python: Option<PyCheck>,
}

impl Asked {
    pub(crate) fn new(check: Option<Py<PyAny>>, token: Option<Py<CancelToken>>) -> Self {
        Asked {
            native: token.map(TokenCheck),
            python: check.map(|check| PyCheck {
                check,
                raised: None,
            }),
        }
    }

    /// The request's `Work` so far (`counters`, `limited`), asking this cancellation.
    pub(crate) fn work(&mut self, counters: [u64; COUNTERS], limited: &[String]) -> Work<'_> {
        let asked: Option<&mut dyn Cancel> = match (self.native.as_mut(), self.python.as_mut()) {
            (Some(t), _) => Some(t),
            (None, Some(c)) => Some(c),
            (None, None) => None,
        };
        let mut work = Work::new(counters_of(counters), asked);
        for name in limited {
            if let Some(limit) = Limit::from_name(name) {
                work.limit(limit);
            }
        }
        work
    }

    /// The exception for a call that stopped: `CoreCancelled` for a token, or what
    /// the Python callable raised (`Expired`).
    pub(crate) fn stopped(self) -> PyErr {
        if self.native.is_some() {
            return CoreCancelled::new_err("the call was cancelled or its deadline passed");
        }
        self.python
            .and_then(|c| c.raised)
            .unwrap_or_else(|| PyRuntimeError::new_err("the comparison stopped without a reason"))
    }
}

/// An error unless two documents were prepared with one band shape.
pub(crate) fn same_bands(a: &Doc, b: &Doc) -> PyResult<()> {
    if a.bands != b.bands && !a.band_keys.is_empty() && !b.band_keys.is_empty() {
        return Err(PyValueError::new_err(format!(
            "the documents were prepared with {} and {} LSH bands: prepare both with one config",
            a.bands, b.bands
        )));
    }
    Ok(())
}

/// Align two prepared texts (the same object and `same_text` for a text's repeats).
/// `counters` and `limited` are the request's `Work` so far; `check` is its
/// cancellation (None: never cancelled). Returns the matches as token ranges
/// `(a0, a1, b0, b1, similarity, kind)` (kind: 0 verbatim, 1 near-verbatim,
/// 2 reworded, 3 quote), the counters and the bounds reached.
#[pyfunction]
#[pyo3(signature = (a, b, *, same_text, config, counters, limited, check=None, token=None))]
#[allow(clippy::too_many_arguments)]
pub fn compare(
    py: Python<'_>,
    a: &Bound<'_, PreparedDoc>,
    b: &Bound<'_, PreparedDoc>,
    same_text: bool,
    config: &Bound<'_, AlignConfig>,
    counters: [u64; COUNTERS],
    limited: Vec<String>,
    check: Option<Py<PyAny>>,
    token: Option<Py<CancelToken>>,
) -> PyResult<Outcome> {
    let (da, db) = (Arc::clone(&a.get().doc), Arc::clone(&b.get().doc));
    same_bands(&da, &db)?;
    let cfg = config.get().config.clone();
    let mut asked = Asked::new(check, token);
    let outcome = py.detach(|| {
        guarded("compare", || {
            let mut work = asked.work(counters, &limited);
            let found = align::compare(&da, &db, same_text, &cfg, &mut work);
            (found, counters_out(&work.counters), work.limited())
        })
    })?;
    let (found, counters, limited) = outcome;
    match found {
        Ok(found) => Ok((
            found
                .iter()
                .map(|m| (m.a0, m.a1, m.b0, m.b1, m.similarity, kind_code(m.kind)))
                .collect(),
            counters,
            limited,
        )),
        Err(Stopped) => Err(asked.stopped()),
    }
}

/// `rapidfuzz.distance.Indel.normalized_similarity` of two id sequences (int64 bytes).
#[pyfunction]
pub fn indel_similarity(py: Python<'_>, a: &[u8], b: &[u8]) -> PyResult<f64> {
    let (a, b) = (i64s("a", a)?, i64s("b", b)?);
    py.detach(|| {
        guarded("indel_similarity", || {
            align::indel::normalized_similarity(&a, &b)
        })
    })
}

/// The tokens of `a` and of `b` that rapidfuzz's Indel alignment pairs (`equal`
/// opcodes), as two bytes of flags.
#[pyfunction]
pub fn indel_aligned<'py>(py: Python<'py>, a: &[u8], b: &[u8]) -> PyResult<Bound<'py, PyTuple>> {
    let (a, b) = (i64s("a", a)?, i64s("b", b)?);
    let (ha, hb) = py.detach(|| guarded("indel_aligned", || align::indel::aligned(&a, &b)))?;
    let as_bytes = |h: Vec<bool>| h.into_iter().map(u8::from).collect::<Vec<u8>>();
    PyTuple::new(
        py,
        [
            pyo3::types::PyBytes::new(py, &as_bytes(ha)),
            pyo3::types::PyBytes::new(py, &as_bytes(hb)),
        ],
    )
}

/// Distinct row pairs whose band keys (uint64 bytes, `bands` per row) agree on at
/// least one band, in order; the collisions proposed; whether all were (at most
/// `max_pairs`, the rarest keys first).
#[pyfunction]
#[pyo3(signature = (keys_a, keys_b, bands, *, max_pairs=None))]
pub fn band_join(
    py: Python<'_>,
    keys_a: &[u8],
    keys_b: &[u8],
    bands: usize,
    max_pairs: Option<u64>,
) -> PyResult<Joined<(usize, usize)>> {
    let (ka, kb) = (u64s("keys_a", keys_a)?, u64s("keys_b", keys_b)?);
    if bands == 0 || ka.len() % bands != 0 || kb.len() % bands != 0 {
        return Err(PyValueError::new_err(format!(
            "band keys must come in rows of {bands} bands"
        )));
    }
    py.detach(|| {
        guarded("band_join", || {
            align::seeds::band_join(&ka, &kb, bands, max_pairs)
        })
    })
}

/// The maximal runs of `k` words or more that two texts' windows share, as
/// `(a0, b0, length)` in order of `a`; the window pairs proposed; whether all were.
#[pyfunction]
#[pyo3(signature = (k, a, b, *, max_pairs))]
pub fn shared_runs(
    py: Python<'_>,
    k: usize,
    a: (Vec<u8>, Vec<u8>, Vec<u8>),
    b: (Vec<u8>, Vec<u8>, Vec<u8>),
    max_pairs: u64,
) -> PyResult<Joined<(usize, usize, usize)>> {
    let wa = windows_of(k, &a.0, &a.1, &a.2)?;
    let wb = windows_of(k, &b.0, &b.1, &b.2)?;
    for w in [&wa, &wb] {
        w.validate(w.hashes.len() + k.max(1) - 1)
            .map_err(|e| PyValueError::new_err(format!("not a text's windows: {e}")))?;
    }
    py.detach(|| {
        guarded("shared_runs", || {
            let (runs, proposed, complete) = align::exact::shared_runs(&wa, &wb, max_pairs);
            let runs = runs.iter().map(|r| (r.a0, r.b0, r.length)).collect();
            (runs, proposed, complete)
        })
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PreparedDoc>()?;
    m.add_class::<AlignConfig>()?;
    m.add_class::<CancelToken>()?;
    m.add("CoreCancelled", m.py().get_type::<CoreCancelled>())?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(indel_similarity, m)?)?;
    m.add_function(wrap_pyfunction!(indel_aligned, m)?)?;
    m.add_function(wrap_pyfunction!(band_join, m)?)?;
    m.add_function(wrap_pyfunction!(shared_runs, m)?)?;
    Ok(())
}
