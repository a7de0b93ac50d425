//! `detect`: a whole comparison in one call with the GIL released: the texts not yet
//! prepared are prepared (two on two threads), then aligned, the matches of two texts
//! go through the summary stage (`wiretrace_engine::summary`), and they come back in
//! character offsets with their confidences (`wiretrace_engine::matches`).

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use wiretrace_engine::align::{self, Doc, Stopped};
use wiretrace_engine::matches::{self, Spans, FEATURES};
use wiretrace_engine::prepare::{self as prep, Prepared};
use wiretrace_engine::summary;

use crate::align::{counters_out, kind_code, same_bands, AlignConfig, Asked, PreparedDoc};
use crate::align::{CancelToken, COUNTERS};
use crate::guard::{guarded, text_of, EnginePanic, Text};
use crate::prepare::PrepareConfig;

/// One side of a comparison: a text to prepare, or a prepared one.
enum Side<'a> {
    Text(Text<'a>),
    Ready(Arc<Doc>, Arc<Spans>),
}

impl<'a> Side<'a> {
    fn of(value: &'a Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        if let Ok(text) = value.cast::<PyString>() {
            return Ok(Side::Text(text_of(text)?));
        }
        let Ok(doc) = value.cast::<PreparedDoc>() else {
            return Err(PyValueError::new_err(format!(
                "{name} must be a str or a PreparedDoc, not {}",
                value.get_type().name()?
            )));
        };
        let doc = doc.get();
        let spans = doc.token_spans().ok_or_else(|| {
            PyValueError::new_err(format!(
                "{name} is a PreparedDoc without its tokens' spans: build it with starts, ends \
                 and closed"
            ))
        })?;
        Ok(Side::Ready(doc.doc(), spans))
    }
}

/// A side after preparation: its document and spans.
type Made = (Arc<Doc>, Arc<Spans>);

fn made(p: Prepared, bands: usize) -> Made {
    let (doc, spans) = p.into_doc(bands);
    (Arc::new(doc), Arc::new(spans))
}

fn ready(side: Side<'_>, config: &prep::PrepareConfig) -> Made {
    match side {
        Side::Ready(doc, spans) => (doc, spans),
        Side::Text(text) => made(prep::prepare(&text.code_points(), config), config.bands),
    }
}

type Scored = (usize, usize, usize, usize, f64, u8, f64);

/// Compare `a` with `b` (`b` None: `a`'s repeats), each a `str` or a `PreparedDoc`
/// holding its spans. `counters` and `limited` are the request's `Work` so far;
/// `check` or `token` its cancellation. Two texts are prepared on two threads when
/// `parallel` (None: when the machine has a core to spare, `prepare::spare_core`).
/// The matches of two texts go through the summary stage (`summary::summarise`, with
/// `config`'s summary settings), and a match it joins is scored anew.
/// Returns `(matches, counters, limited, units, collapsed)`: the matches as
/// `(a_start, a_end, b_start, b_end, similarity, kind, confidence)` in code points (kinds as `compare`'s); the
/// counters and bounds reached; the units of the texts compared and how many of them
/// runs hide (one side only for repeats).
#[pyfunction]
#[pyo3(signature = (
    a, b=None, *, prepare, config, coefficients, counters, limited, check=None, token=None,
    parallel=None
))]
#[allow(clippy::too_many_arguments)]
pub fn detect<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: Option<&Bound<'py, PyAny>>,
    prepare: &Bound<'py, PrepareConfig>,
    config: &Bound<'py, AlignConfig>,
    coefficients: [f64; FEATURES + 1],
    counters: [u64; COUNTERS],
    limited: Vec<String>,
    check: Option<Py<PyAny>>,
    token: Option<Py<CancelToken>>,
    parallel: Option<bool>,
) -> PyResult<Bound<'py, PyTuple>> {
    let side_a = Side::of(a, "a")?;
    let side_b = b.map(|b| Side::of(b, "b")).transpose()?;
    let pcfg = &prepare.get().config;
    let cfg = &config.get().config;
    let summ = &config.get().summary;
    let mut asked = Asked::new(check, token);
    let outcome = py.detach(|| {
        guarded("detect", || {
            let (ma, mb) = match (side_a, side_b) {
                (Side::Text(ta), Some(Side::Text(tb))) => {
                    let (pa, pb) = prep::prepare_pair(
                        &ta.code_points(),
                        tb.code_points(),
                        pcfg,
                        parallel.unwrap_or_else(prep::spare_core),
                    );
                    (made(pa, pcfg.bands), Some(made(pb, pcfg.bands)))
                }
                (sa, sb) => (ready(sa, pcfg), sb.map(|s| ready(s, pcfg))),
            };
            let (da, sa) = (&ma.0, &ma.1);
            let (db, sb) = mb.as_ref().map_or((da, sa), |m| (&m.0, &m.1));
            if let Err(e) = same_bands(da, db) {
                return (ma, mb, Err(Some(e)), [0; COUNTERS], Vec::new());
            }
            let mut work = asked.work(counters, &limited);
            let found = align::compare(da, db, mb.is_none(), cfg, &mut work)
                .map_err(|Stopped| None)
                .and_then(|found| {
                    matches::scored(da, sa, db, sb, &found, &coefficients).ok_or_else(|| {
                        Some(EnginePanic::new_err(
                            "wiretrace core bug in detect: a match leaves its texts' tokens",
                        ))
                    })
                })
                .and_then(|scored| {
                    // The summary stage starts only from the alignment's matches, and
                    // is not for a text's repeats; the match it joins is scored anew.
                    if mb.is_none() || scored.is_empty() {
                        return Ok(scored);
                    }
                    let spans: Vec<matches::Span> = scored.iter().map(|m| m.span).collect();
                    let joined = summary::summarise(
                        da,
                        sa,
                        db,
                        sb,
                        &spans,
                        summ,
                        cfg.max_extend_pairs,
                        &mut work,
                    )
                    .map_err(|Stopped| None)?;
                    Ok(match joined {
                        None => scored,
                        Some(span) => {
                            let x = matches::features(da, sa, db, sb, &span);
                            let confidence = matches::confidence(&x, &coefficients);
                            vec![matches::Scored { span, confidence }]
                        }
                    })
                });
            let (counted, reached) = (counters_out(&work.counters), work.limited());
            (ma, mb, found, counted, reached)
        })
    })?;
    let (ma, mb, found, counted, reached) = outcome;
    let scored = match found {
        Ok(scored) => scored,
        Err(Some(err)) => return Err(err),
        Err(None) => return Err(asked.stopped()),
    };
    let mut units = ma.0.units();
    let mut collapsed = ma.0.hidden.iter().filter(|&&h| h).count();
    if let Some(m) = &mb {
        units += m.0.units();
        collapsed += m.0.hidden.iter().filter(|&&h| h).count();
    }
    let matches: Vec<Scored> = scored
        .iter()
        .map(|m| {
            let s = &m.span;
            let kind = kind_code(s.kind);
            (
                s.a_start,
                s.a_end,
                s.b_start,
                s.b_end,
                s.similarity,
                kind,
                m.confidence,
            )
        })
        .collect();
    let items: Vec<Bound<'py, PyAny>> = vec![
        matches.into_pyobject(py)?.into_any(),
        counted.into_pyobject(py)?.into_any(),
        reached.into_pyobject(py)?.into_any(),
        units.into_pyobject(py)?.into_any(),
        collapsed.into_pyobject(py)?.into_any(),
    ];
    PyTuple::new(py, items)
}

/// The summary stage's Dice of article units `units` of `a` with every unit of `b`, on
/// their content terms that do not name (`wiretrace_engine::summary::unit_dice`): two
/// row-major lists, the Dice and the terms shared, `len(units)` rows of `b`'s units.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn summary_dice(
    py: Python<'_>,
    a: &Bound<'_, PreparedDoc>,
    b: &Bound<'_, PreparedDoc>,
    units: Vec<usize>,
) -> PyResult<(Vec<f64>, Vec<u32>)> {
    let (da, db) = (a.get().doc(), b.get().doc());
    if let Some(u) = units.iter().find(|&&u| u >= da.units()) {
        return Err(PyValueError::new_err(format!(
            "unit {u} is not one of a's {} units",
            da.units()
        )));
    }
    let (rows, columns) = (units.len() as u64, db.units() as u64);
    if rows.saturating_mul(columns) > 1 << 26 {
        return Err(PyValueError::new_err(format!(
            "{rows} x {columns} unit pairs is too many to list"
        )));
    }
    py.detach(|| guarded("summary_dice", || summary::unit_dice(&da, &db, &units)))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(detect, m)?)?;
    m.add_function(wrap_pyfunction!(summary_dice, m)?)?;
    Ok(())
}
