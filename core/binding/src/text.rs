//! The text stages (`wiretrace_engine::text`): normalisation, tokens, content terms,
//! units, quotes and named tokens, for the Python modules that keep those names
//! (`Detector.prepare` gets them, and the rest of its stages, from `prepare.rs`).

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use wiretrace_engine::text::normalize as norm;
use wiretrace_engine::text::tokenize as tok;
use wiretrace_engine::text::{self, quotes, terms};

use crate::guard::{run, text_of};

type I64Array<'py> = Bound<'py, PyArray1<i64>>;
type BoolArray<'py> = Bound<'py, PyArray1<bool>>;

fn tokens_tuple<'py>(py: Python<'py>, t: tok::Tokens) -> PyResult<Bound<'py, PyTuple>> {
    let words = PyList::new(py, t.words.iter())?;
    let sentence_ends = PyList::new(py, &t.sentence_ends)?;
    let starts = PyArray1::from_vec(py, t.starts);
    let ends = PyArray1::from_vec(py, t.ends);
    PyTuple::new(
        py,
        [
            words.into_any(),
            starts.into_any(),
            ends.into_any(),
            sentence_ends.into_any(),
        ],
    )
}

/// `(words, starts, ends, sentence_ends)` of `text`.
#[pyfunction]
pub fn tokenize<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyTuple>> {
    let input = text_of(text)?;
    let tokens = run(py, "tokenize", move || tok::tokenize(&input.code_points()))?;
    tokens_tuple(py, tokens)
}

/// `(text, norm_starts, orig_starts, one_to_one)` of `text` normalised; `by_chunk`
/// forces the general path (the fast path's reference in the tests).
#[pyfunction]
#[pyo3(signature = (text, *, by_chunk = false))]
pub fn normalize<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyString>,
    by_chunk: bool,
) -> PyResult<(String, I64Array<'py>, I64Array<'py>, BoolArray<'py>)> {
    let input = text_of(text)?;
    let n = run(py, "normalize", move || {
        let chars = input.code_points();
        if by_chunk {
            norm::normalize_by_chunk(&chars)
        } else {
            norm::normalize(&chars)
        }
    })?;
    Ok((
        n.text.iter().collect(),
        PyArray1::from_vec(py, n.norm_starts),
        PyArray1::from_vec(py, n.orig_starts),
        PyArray1::from_vec(py, n.one_to_one),
    ))
}

/// Half-open original ranges of the half-open normalised ranges `starts`/`ends`,
/// through the segments of a `normalize` result.
#[pyfunction]
pub fn to_original<'py>(
    py: Python<'py>,
    norm_starts: PyReadonlyArray1<'py, i64>,
    orig_starts: PyReadonlyArray1<'py, i64>,
    one_to_one: PyReadonlyArray1<'py, bool>,
    starts: PyReadonlyArray1<'py, i64>,
    ends: PyReadonlyArray1<'py, i64>,
) -> PyResult<(I64Array<'py>, I64Array<'py>)> {
    let segments = norm::Normalized {
        text: Vec::new(),
        norm_starts: norm_starts.as_slice()?.to_vec(),
        orig_starts: orig_starts.as_slice()?.to_vec(),
        one_to_one: one_to_one.as_slice()?.to_vec(),
    };
    let n = segments.norm_starts.len();
    if n == 0 || segments.orig_starts.len() != n || segments.one_to_one.len() != n {
        return Err(PyValueError::new_err(
            "norm_starts, orig_starts and one_to_one must be equally long and not empty",
        ));
    }
    let (starts, ends) = (starts.as_slice()?.to_vec(), ends.as_slice()?.to_vec());
    if starts.len() != ends.len() {
        return Err(PyValueError::new_err(format!(
            "starts and ends must be equally long, got {} and {}",
            starts.len(),
            ends.len()
        )));
    }
    let (s, e): (Vec<i64>, Vec<i64>) = run(py, "to_original", move || {
        starts
            .iter()
            .zip(&ends)
            .map(|(&s, &e)| segments.to_original(s, e))
            .unzip()
    })?;
    Ok((PyArray1::from_vec(py, s), PyArray1::from_vec(py, e)))
}

/// Half-open code-point ranges of `text` inside quotation marks.
#[pyfunction]
pub fn quoted_spans(py: Python<'_>, text: &Bound<'_, PyString>) -> PyResult<Vec<(usize, usize)>> {
    let input = text_of(text)?;
    run(py, "quoted_spans", move || {
        quotes::quoted_spans(&input.code_points())
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("UNICODE_VERSION", text::UNICODE_VERSION)?;
    m.add("NO_TERM", terms::NO_TERM)?;
    m.add("STOPWORDS", PyTuple::new(m.py(), terms::STOPWORDS)?)?;
    m.add("MAX_QUOTE_CHARS", quotes::MAX_QUOTE_CHARS)?;
    m.add_function(wrap_pyfunction!(tokenize, m)?)?;
    m.add_function(wrap_pyfunction!(normalize, m)?)?;
    m.add_function(wrap_pyfunction!(to_original, m)?)?;
    m.add_function(wrap_pyfunction!(quoted_spans, m)?)?;
    Ok(())
}
