//! `index_passages`: the passages an article is indexed under, from its signature
//! rows, in one call with the GIL released (`distinct_indexable_rows`, then
//! `band_keys` of those rows), for `wiretrace.engine.index.index_passages`.

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use wiretrace_engine::minhash;

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
    let num_perm = sigs.shape()[1];
    if num_perm == 0 {
        return Err(PyValueError::new_err(
            "signatures must have at least one slot",
        ));
    }
    check_banding(bands, rows, num_perm)?;
    let sigs = sigs.as_slice()?;
    let (units, keys) = run(py, "index_passages", || {
        let units = minhash::distinct_indexable_rows(sigs, num_perm);
        let mut chosen = Vec::with_capacity(units.len() * num_perm);
        for &u in &units {
            let start = u as usize * num_perm;
            chosen.extend_from_slice(&sigs[start..start + num_perm]);
        }
        let keys = minhash::band_keys(&chosen, num_perm, bands, rows);
        (units, keys)
    })?;
    let n = units.len();
    Ok((
        PyArray1::from_vec(py, units).into_any(),
        PyArray1::from_vec(py, keys).reshape([n, bands])?.into_any(),
    ))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(index_passages, m)?)?;
    Ok(())
}
