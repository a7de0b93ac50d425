//! `wiretrace._core`: the engine's PyO3 binding. Each function converts its arguments,
//! runs the engine with the GIL released, and converts the result back.

use pyo3::prelude::*;

mod align;
mod index;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", wiretrace_engine::VERSION)?;
    align::register(m)?;
    index::register(m)?;
    Ok(())
}
