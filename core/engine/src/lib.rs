//! wiretrace's engine core. Every function here is plain Rust over slices and
//! vectors: the PyO3 layer (`wiretrace-binding`) converts, releases the GIL and calls in.

pub mod align;
pub mod matches;
pub mod minhash;
pub mod numbering;
pub mod passage_index;
pub mod prepare;
pub mod summary;
pub mod text;

/// The version of the engine, so that Python can tell which core it loaded.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_set() {
        assert!(!super::VERSION.is_empty());
    }
}
