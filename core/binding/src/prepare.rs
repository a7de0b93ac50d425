//! `prepare_many`: every per-text stage of `Detector.prepare` for several texts in
//! one call with the GIL released, returning each one's `Document` arrays (or the few
//! the service keeps, `lean_parts`) and the alignment's `PreparedDoc`; `find_runs` and
//! `windows` serve the Python modules that keep those names.

use std::sync::Arc;

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use wiretrace_engine::align::Doc;
use wiretrace_engine::matches::Spans;
use wiretrace_engine::prepare::{self as prep, Prepared};
use wiretrace_engine::text::TextConfig;

use crate::align::PreparedDoc;
use crate::guard::{run, text_of, Text};
use crate::index::check_banding;

fn usizes_as_i64(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&x| x as i64).collect()
}

/// The settings of `EngineConfig` that `prepare` reads, with the MinHash
/// permutations and the LSH band shape: checked once, shared by every call.
#[pyclass(frozen, module = "wiretrace._core")]
pub struct PrepareConfig {
    pub(crate) config: Arc<prep::PrepareConfig>,
}

impl PrepareConfig {
    fn checked(config: prep::PrepareConfig) -> PyResult<Self> {
        let (num_perm, bands, rows) = (config.perm_a.len(), config.bands, config.rows);
        if num_perm == 0 || config.perm_b.len() != num_perm {
            return Err(PyValueError::new_err(format!(
                "permutations a and b must be equally long and not empty, got {} and {}",
                num_perm,
                config.perm_b.len()
            )));
        }
        check_banding(bands, rows, num_perm)?;
        Ok(PrepareConfig {
            config: Arc::new(config),
        })
    }
}

#[pymethods]
impl PrepareConfig {
    #[new]
    #[pyo3(signature = (
        *, stem_prefix, min_unit_tokens, max_unit_tokens, min_quote_tokens,
        min_quote_content_terms, perm_a, perm_b, bands, rows
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        stem_prefix: usize,
        min_unit_tokens: usize,
        max_unit_tokens: usize,
        min_quote_tokens: usize,
        min_quote_content_terms: usize,
        perm_a: PyReadonlyArray1<'_, u32>,
        perm_b: PyReadonlyArray1<'_, u32>,
        bands: usize,
        rows: usize,
    ) -> PyResult<Self> {
        Self::checked(prep::PrepareConfig {
            text: TextConfig {
                stem_prefix,
                min_unit_tokens,
                max_unit_tokens,
            },
            min_quote_tokens,
            min_quote_content_terms,
            perm_a: perm_a.as_slice()?.to_vec(),
            perm_b: perm_b.as_slice()?.to_vec(),
            bands,
            rows,
        })
    }
}

/// `(words, starts, ends, sentence_ends, terms, word_ids, unit_bounds, features,
/// feature_bounds, quoted, named, signatures, runs, hidden, indexable, band_keys,
/// quote_signatures, window_hashes, window_rare, window_order, prepared_doc)` of a
/// prepared text: `runs` flat `(start, end, period)` triples, the signatures and band
/// keys two-dimensional; `words` the token strings, or an empty list unless `words`.
fn parts<'py>(
    py: Python<'py>,
    p: Prepared,
    doc: Arc<Doc>,
    spans: Arc<Spans>,
    config: &prep::PrepareConfig,
    words: bool,
) -> PyResult<Bound<'py, PyTuple>> {
    let (num_perm, bands) = (config.perm_a.len(), config.bands);
    let prepared = PreparedDoc::from_doc(doc, spans);
    let s = p.stages;
    let units = s.units.feature_bounds.len().saturating_sub(1);
    let runs: Vec<i64> = p
        .runs
        .iter()
        .flat_map(|r| [r.start as i64, r.end as i64, r.period as i64])
        .collect();
    let quotes = p.quote_signatures.len() / num_perm;
    let n_index = p.indexable.len();
    let token_words = if words {
        PyList::new(py, s.tokens.words.iter())?
    } else {
        PyList::empty(py)
    };
    let items: Vec<Bound<'py, PyAny>> = vec![
        token_words.into_any(),
        PyArray1::from_vec(py, s.tokens.starts).into_any(),
        PyArray1::from_vec(py, s.tokens.ends).into_any(),
        PyList::new(py, &s.tokens.sentence_ends)?.into_any(),
        PyArray1::from_vec(py, s.terms).into_any(),
        PyArray1::from_vec(py, s.word_ids).into_any(),
        PyArray1::from_vec(py, s.units.bounds).into_any(),
        PyArray1::from_vec(py, s.units.features).into_any(),
        PyArray1::from_vec(py, usizes_as_i64(&s.units.feature_bounds)).into_any(),
        PyArray1::from_vec(py, s.quoted).into_any(),
        PyArray1::from_vec(py, s.named).into_any(),
        PyArray1::from_vec(py, p.signatures)
            .reshape([units, num_perm])?
            .into_any(),
        PyArray1::from_vec(py, runs).into_any(),
        PyArray1::from_vec(py, p.hidden).into_any(),
        PyArray1::from_vec(py, usizes_as_i64(&p.indexable)).into_any(),
        PyArray1::from_vec(py, p.band_keys)
            .reshape([n_index, bands])?
            .into_any(),
        PyArray1::from_vec(py, p.quote_signatures)
            .reshape([quotes, num_perm])?
            .into_any(),
        PyArray1::from_vec(py, p.windows.hashes).into_any(),
        PyArray1::from_vec(py, p.windows.rare).into_any(),
        PyArray1::from_vec(py, usizes_as_i64(&p.windows.order)).into_any(),
        Bound::new(py, prepared)?.into_any(),
    ];
    PyTuple::new(py, items)
}

/// The parts of each of `texts` prepared with `config` (the token strings only if
/// `words`), in order: one after another, with one release of the GIL for them all.
/// `lean`: only what the service reads of each (`lean_parts`).
#[pyfunction]
#[pyo3(name = "prepare_many", signature = (texts, config, *, words=true, lean=false))]
pub fn prepare_many<'py>(
    py: Python<'py>,
    texts: Vec<Bound<'py, PyString>>,
    config: &Bound<'py, PrepareConfig>,
    words: bool,
    lean: bool,
) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    let inputs = texts.iter().map(text_of).collect::<PyResult<Vec<_>>>()?;
    let cfg = &config.get().config;
    let made = run(py, "prepare", move || {
        inputs
            .into_iter()
            .map(|input| made(input, cfg))
            .collect::<Vec<_>>()
    })?;
    made.into_iter()
        .map(|(p, doc, spans)| {
            let (doc, spans) = (Arc::new(doc), Arc::new(spans));
            if lean {
                lean_parts(py, p, doc, spans, cfg)
            } else {
                parts(py, p, doc, spans, cfg, words)
            }
        })
        .collect()
}

/// `(starts, ends, unit_bounds, stored_signatures, prepared_doc)`: the tokens' spans,
/// the units' token bounds, the signatures a stored article keeps (the units' rows,
/// then the quotes'), and the alignment's copy.
fn lean_parts<'py>(
    py: Python<'py>,
    p: Prepared,
    doc: Arc<Doc>,
    spans: Arc<Spans>,
    config: &prep::PrepareConfig,
) -> PyResult<Bound<'py, PyTuple>> {
    let num_perm = config.perm_a.len();
    let prepared = PreparedDoc::from_doc(doc, spans);
    let s = p.stages;
    let mut stored = p.signatures;
    stored.extend_from_slice(&p.quote_signatures);
    let rows = stored.len() / num_perm;
    let items: Vec<Bound<'py, PyAny>> = vec![
        PyArray1::from_vec(py, s.tokens.starts).into_any(),
        PyArray1::from_vec(py, s.tokens.ends).into_any(),
        PyArray1::from_vec(py, s.units.bounds).into_any(),
        PyArray1::from_vec(py, stored)
            .reshape([rows, num_perm])?
            .into_any(),
        Bound::new(py, prepared)?.into_any(),
    ];
    PyTuple::new(py, items)
}

type Made = (Prepared, Doc, Spans);

fn made(input: Text<'_>, cfg: &prep::PrepareConfig) -> Made {
    let mut p = prep::prepare(&input.code_points(), cfg);
    let doc = p.doc(cfg.bands);
    let spans = std::mem::take(&mut p.spans);
    (p, doc, spans)
}

/// The runs of unit fingerprints, as `(start, end, period)` triples in order.
#[pyfunction]
pub fn find_runs(
    py: Python<'_>,
    fingerprints: PyReadonlyArray1<'_, i64>,
) -> PyResult<Vec<(usize, usize, usize)>> {
    let fps = fingerprints.as_slice()?.to_vec();
    let runs = run(py, "find_runs", move || prep::find_runs(&fps))?;
    Ok(runs.iter().map(|r| (r.start, r.end, r.period)).collect())
}

/// `(hashes, rare, order)` of the `k`-word windows of `words`.
#[pyfunction]
pub fn windows<'py>(
    py: Python<'py>,
    words: PyReadonlyArray1<'py, i64>,
    k: usize,
) -> PyResult<Bound<'py, PyTuple>> {
    let words = words.as_slice()?.to_vec();
    let w = run(py, "windows", move || prep::windows(&words, k))?;
    PyTuple::new(
        py,
        [
            PyArray1::from_vec(py, w.hashes).into_any(),
            PyArray1::from_vec(py, w.rare).into_any(),
            PyArray1::from_vec(py, usizes_as_i64(&w.order)).into_any(),
        ],
    )
}

/// `(covered, quoted, content)`: of text A's tokens `[a0, a1)`, how many lie in a
/// window of `k` words that B's tokens `[b0, b1)` also have, how many are quoted, and
/// how many carry a content term (the counts behind a match's confidence).
#[pyfunction]
pub fn span_counts(
    py: Python<'_>,
    a: &PreparedDoc,
    b: &PreparedDoc,
    a0: usize,
    a1: usize,
    b0: usize,
    b1: usize,
) -> PyResult<(usize, usize, usize)> {
    let (da, db) = (a.doc(), b.doc());
    let [c, q, t] = run(py, "span_counts", move || {
        prep::span_counts(&da, &db, a0, a1, b0, b1)
    })?;
    Ok((c, q, t))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PrepareConfig>()?;
    m.add_function(wrap_pyfunction!(prepare_many, m)?)?;
    m.add_function(wrap_pyfunction!(find_runs, m)?)?;
    m.add_function(wrap_pyfunction!(windows, m)?)?;
    m.add_function(wrap_pyfunction!(span_counts, m)?)?;
    Ok(())
}
