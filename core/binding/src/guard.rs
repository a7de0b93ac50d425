//! Every entry point runs the engine through [`run`]: with the GIL released, and with
//! a panic caught and turned into [`EnginePanic`], so that no Rust panic crosses into
//! Python as pyo3's `PanicException` (a `BaseException` that `except Exception` misses).

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::create_exception;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

create_exception!(
    wiretrace._core,
    EnginePanic,
    PyRuntimeError,
    "A bug in wiretrace's compiled core: an engine function panicked. The call failed; \
     the process can go on. The message names the function and the panic."
);

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// Run `f`, turning a panic into `EnginePanic` naming `what` (for code that already
/// runs with the GIL released).
pub fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        EnginePanic::new_err(format!(
            "wiretrace core bug in {what}: {} (this is not your input's fault; please report it)",
            panic_message(payload.as_ref())
        ))
    })
}

/// Run `f` with the GIL released; a panic becomes `EnginePanic` naming `what`.
pub fn run<T, F>(py: Python<'_>, what: &str, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    py.detach(|| guarded(what, f))
}

/// The text of a Python `str`, borrowed when it is valid UTF-8 (the usual case: the
/// code points are then collected with the GIL released, by [`Text::code_points`]).
pub enum Text<'a> {
    Utf8(&'a str),
    CodePoints(Vec<char>),
}

impl Text<'_> {
    pub fn code_points(self) -> Vec<char> {
        match self {
            // ASCII (the common case) widens byte by byte, in vector code.
            Text::Utf8(s) if s.is_ascii() => s.bytes().map(char::from).collect(),
            Text::Utf8(s) => s.chars().collect(),
            Text::CodePoints(chars) => chars,
        }
    }
}

/// Borrow the text of `text`. A lone surrogate (a `str` can hold one, UTF-8 cannot)
/// becomes U+FFFD: both are one code point that is no letter, digit, space, mark or
/// quotation mark, so tokens and offsets are the same.
pub fn text_of<'a>(text: &'a Bound<'_, PyString>) -> PyResult<Text<'a>> {
    if let Ok(s) = text.to_str() {
        return Ok(Text::Utf8(s));
    }
    let raw = text.call_method1("encode", ("utf-32-le", "surrogatepass"))?;
    let bytes: &[u8] = raw.extract()?;
    Ok(Text::CodePoints(
        bytes
            .chunks_exact(4)
            .map(|b| {
                let cp = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER)
            })
            .collect(),
    ))
}

/// Panics inside the guard, so that a test can prove a panic arrives as `EnginePanic`.
#[pyfunction]
pub fn _panic_for_tests(py: Python<'_>, message: String) -> PyResult<()> {
    run(py, "_panic_for_tests", move || -> () {
        panic!("{message}")
    })
}
