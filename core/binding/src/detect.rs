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
        let (doc, spans) = ready_doc(doc, name)?;
        Ok(Side::Ready(doc, spans))
    }
}

/// A prepared document's core copy and its tokens' spans, or the error that it was
/// built without them.
fn ready_doc(doc: &Bound<'_, PreparedDoc>, name: &str) -> PyResult<Made> {
    let doc = doc.get();
    let spans = doc.token_spans().ok_or_else(|| {
        PyValueError::new_err(format!(
            "{name} is a PreparedDoc without its tokens' spans: build it with starts, ends \
             and closed"
        ))
    })?;
    Ok((doc.doc(), spans))
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
            let pair = Pair {
                a: (da, sa),
                b: (db, sb),
                repeats: mb.is_none(),
            };
            let found = pair.scored(cfg, summ, &coefficients, &mut work);
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
    let (mut units, mut collapsed) = sized(&ma.0);
    if let Some(m) = &mb {
        let (u, c) = sized(&m.0);
        units += u;
        collapsed += c;
    }
    let items: Vec<Bound<'py, PyAny>> = vec![
        listed(&scored).into_pyobject(py)?.into_any(),
        counted.into_pyobject(py)?.into_any(),
        reached.into_pyobject(py)?.into_any(),
        units.into_pyobject(py)?.into_any(),
        collapsed.into_pyobject(py)?.into_any(),
    ];
    PyTuple::new(py, items)
}

/// One comparison of two prepared texts: `a` with `b`, or `a`'s repeats.
struct Pair<'d> {
    a: (&'d Arc<Doc>, &'d Arc<Spans>),
    b: (&'d Arc<Doc>, &'d Arc<Spans>),
    repeats: bool,
}

/// A comparison's matches, or why it has none: `None` when its work was stopped
/// (its caller gone), or the error of a bug.
type Found = Result<Vec<matches::Scored>, Option<PyErr>>;

impl Pair<'_> {
    /// The alignment's matches, scored, through the summary stage for two texts (the
    /// match it joins is scored anew).
    fn scored(
        &self,
        cfg: &align::Config,
        summ: &summary::SummaryConfig,
        coefficients: &[f64; FEATURES + 1],
        work: &mut align::Work<'_>,
    ) -> Found {
        let ((da, sa), (db, sb)) = (self.a, self.b);
        let found = align::compare(da, db, self.repeats, cfg, work).map_err(|Stopped| None)?;
        let scored = matches::scored(da, sa, db, sb, &found, coefficients).ok_or_else(|| {
            Some(EnginePanic::new_err(
                "wiretrace core bug in detect: a match leaves its texts' tokens",
            ))
        })?;
        // The summary stage starts only from the alignment's matches, and is not for a
        // text's repeats.
        if self.repeats || scored.is_empty() {
            return Ok(scored);
        }
        let spans: Vec<matches::Span> = scored.iter().map(|m| m.span).collect();
        let joined = summary::summarise(da, sa, db, sb, &spans, summ, cfg.max_extend_pairs, work)
            .map_err(|Stopped| None)?;
        Ok(match joined {
            None => scored,
            Some(span) => {
                let x = matches::features(da, sa, db, sb, &span);
                let confidence = matches::confidence(&x, coefficients);
                vec![matches::Scored { span, confidence }]
            }
        })
    }
}

/// A document's units, and how many of them runs hide.
fn sized(doc: &Doc) -> (usize, usize) {
    (doc.units(), doc.hidden.iter().filter(|&&h| h).count())
}

/// Matches as `(a_start, a_end, b_start, b_end, similarity, kind, confidence)`.
fn listed(scored: &[matches::Scored]) -> Vec<Scored> {
    scored
        .iter()
        .map(|m| {
            let s = &m.span;
            (
                s.a_start,
                s.a_end,
                s.b_start,
                s.b_end,
                s.similarity,
                kind_code(s.kind),
                m.confidence,
            )
        })
        .collect()
}

/// One article's comparisons for `detect_many`: its document, its sources (None: its
/// own repeats), and its request's `Work` so far and cancellation.
type Job<'py> = (
    Bound<'py, PreparedDoc>,
    Vec<Option<Bound<'py, PreparedDoc>>>,
    [u64; COUNTERS],
    Vec<String>,
    Option<Py<CancelToken>>,
);

/// `detect` of several articles with prepared documents, in one call with the GIL
/// released: each job's comparisons one after another, counted in its own `Work`
/// (and stopped by its own cancellation). For each job, in order: `(found, counters,
/// limited, units, collapsed)`, `found` a list of matches per source (as `detect`'s),
/// or None when the job's work was stopped.
#[pyfunction]
#[pyo3(signature = (jobs, *, config, coefficients))]
pub fn detect_many<'py>(
    py: Python<'py>,
    jobs: Vec<Job<'py>>,
    config: &Bound<'py, AlignConfig>,
    coefficients: [f64; FEATURES + 1],
) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    let cfg = &config.get().config;
    let summ = &config.get().summary;
    let mut prepared = Vec::with_capacity(jobs.len());
    for (a, sources, counters, limited, token) in jobs {
        let a = ready_doc(&a, "a")?;
        let mut bs = Vec::with_capacity(sources.len());
        for b in &sources {
            let b = b.as_ref().map(|b| ready_doc(b, "b")).transpose()?;
            if let Some(b) = &b {
                same_bands(&a.0, &b.0)?;
            }
            bs.push(b);
        }
        prepared.push((a, bs, counters, limited, Asked::new(None, token)));
    }
    let outcomes = py.detach(|| {
        guarded("detect_many", || {
            prepared
                .iter_mut()
                .map(|(a, bs, counters, limited, asked)| {
                    let mut work = asked.work(*counters, limited);
                    let mut found = Vec::with_capacity(bs.len());
                    for b in bs.iter() {
                        let pair = Pair {
                            a: (&a.0, &a.1),
                            b: b.as_ref().map_or((&a.0, &a.1), |b| (&b.0, &b.1)),
                            repeats: b.is_none(),
                        };
                        match pair.scored(cfg, summ, &coefficients, &mut work) {
                            Ok(scored) => found.push(scored),
                            Err(stopped) => {
                                let counted = counters_out(&work.counters);
                                return (Err(stopped), counted, work.limited());
                            }
                        }
                    }
                    (Ok(found), counters_out(&work.counters), work.limited())
                })
                .collect::<Vec<_>>()
        })
    })?;
    let mut out = Vec::with_capacity(outcomes.len());
    for ((a, bs, ..), (found, counted, reached)) in prepared.iter().zip(outcomes) {
        // As `detect` counts each comparison: both texts' units, one for repeats.
        let (mut units, mut collapsed) = (0, 0);
        let (ua, ca) = sized(&a.0);
        for b in bs.iter() {
            let (ub, cb) = b.as_ref().map_or((0, 0), |b| sized(&b.0));
            units += ua + ub;
            collapsed += ca + cb;
        }
        let found = match found {
            Ok(found) => Some(found.iter().map(|s| listed(s)).collect::<Vec<_>>()),
            Err(None) => None,
            Err(Some(err)) => return Err(err),
        };
        let items: Vec<Bound<'py, PyAny>> = vec![
            found.into_pyobject(py)?.into_any(),
            counted.into_pyobject(py)?.into_any(),
            reached.into_pyobject(py)?.into_any(),
            units.into_pyobject(py)?.into_any(),
            collapsed.into_pyobject(py)?.into_any(),
        ];
        out.push(PyTuple::new(py, items)?);
    }
    Ok(out)
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
    m.add_function(wrap_pyfunction!(detect_many, m)?)?;
    m.add_function(wrap_pyfunction!(summary_dice, m)?)?;
    Ok(())
}
