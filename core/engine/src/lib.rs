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

/// The cores this process may run on, asked once: `available_parallelism` reads the
/// cgroup's quota files on every call (an open, reads and a `statx`), which cost ~5 %
/// of an ingest's detection when it was asked once an article.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_set() {
        assert!(!super::VERSION.is_empty());
    }

    #[test]
    fn cores_are_asked_once_and_at_least_one() {
        let first = super::cores();
        assert!(first >= 1);
        assert_eq!(super::cores(), first);
    }
}
