//! `wiretrace._core`: the engine's PyO3 binding. Each function converts its arguments,
//! runs the engine with the GIL released (`guard::run`, which also turns a panic into
//! `EnginePanic`), and converts the result back.

use pyo3::prelude::*;

mod align;
mod detect;
mod guard;
mod index;
mod prepare;
mod rows;
mod text;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", wiretrace_engine::VERSION)?;
    align::register(m)?;
    index::register(m)?;
    m.add("EnginePanic", m.py().get_type::<guard::EnginePanic>())?;
    m.add_function(wrap_pyfunction!(guard::_panic_for_tests, m)?)?;
    text::register(m)?;
    prepare::register(m)?;
    detect::register(m)?;
    rows::register(m)?;
    Ok(())
}
