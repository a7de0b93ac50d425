//! `wiretrace._core`: the engine's PyO3 binding. Each function converts its arguments,
//! runs the engine with the GIL released, and converts the result back.

use pyo3::prelude::*;

mod index;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", wiretrace_engine::VERSION)?;
    index::register(m)?;
    Ok(())
}
