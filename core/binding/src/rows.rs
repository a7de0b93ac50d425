//! `index_passages`: the passages an article is indexed under, from its signature
//! rows, in one call with the GIL released (`distinct_indexable_rows`, then
//! `band_keys` of those rows, as the store's rebuild computes them:
//! `passage_index::article_passages`), for `wiretrace.engine.index.index_passages`.

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use wiretrace_engine::passage_index::article_passages;

use crate::guard::run;
use crate::index::check_banding;

/// `(rows, band_keys)`: the rows of `sigs` that are not an empty set's signature, the
/// first of each distinct one, and their band keys under `bands` bands of `rows` rows,
/// shape `(len(rows), bands)`.
#[pyfunction]
fn index_passages<'py>(
    py: Python<'py>,
    sigs: PyReadonlyArray2<'py, u32>,
    bands: usize,
    rows: usize,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (n, num_perm) = (sigs.shape()[0], sigs.shape()[1]);
    check_banding(bands, rows, num_perm)?; // also refuses signatures of no slot
    let sigs = sigs.as_slice()?;
    // One article, keyed 0 with no unit bits: its passage keys are its units.
    let found = run(py, "index_passages", || {
        article_passages(&[0], &[0, n], sigs, num_perm, bands, rows, 0)
    })?;
    let units = found.keys.len();
    Ok((
        PyArray1::from_vec(py, found.keys).into_any(),
        PyArray1::from_vec(py, found.band_keys)
            .reshape([units, bands])?
            .into_any(),
    ))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(index_passages, m)?)?;
    Ok(())
}
