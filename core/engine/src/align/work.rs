//! What one comparison costs, the bounds it reached, and its cancellation.
//!
//! The counters mirror `wiretrace.engine.work.Work`: the binding passes the values a
//! request has accumulated so far in, and reads them back out, so that a bound that
//! holds per request (`max_align_cells`, `max_passages`) holds across the
//! comparisons of one request as it did in Python.

use std::time::{Duration, Instant};

/// How often, at most, the caller's cancellation is asked (it may take the GIL).
pub const CHECK_EVERY: Duration = Duration::from_millis(5);

/// The caller gave up: the comparison stops at once, nothing is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// Asked between bounded chunks of work whether the caller still waits.
pub trait Cancel {
    fn check(&mut self) -> Result<(), Stopped>;
}

/// A bound of `Config` that was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    SeedPairs,
    ExtendPairs,
    RefineCells,
    AlignCells,
    Passages,
    ExactPairs,
}

impl Limit {
    pub const ALL: [Limit; 6] = [
        Limit::SeedPairs,
        Limit::ExtendPairs,
        Limit::RefineCells,
        Limit::AlignCells,
        Limit::Passages,
        Limit::ExactPairs,
    ];

    /// The name of the setting, as `Work.limited` holds it.
    pub fn name(self) -> &'static str {
        match self {
            Limit::SeedPairs => "max_seed_pairs",
            Limit::ExtendPairs => "max_extend_pairs",
            Limit::RefineCells => "max_refine_cells",
            Limit::AlignCells => "max_align_cells",
            Limit::Passages => "max_passages",
            Limit::ExactPairs => "max_exact_pairs",
        }
    }

    pub fn from_name(name: &str) -> Option<Limit> {
        Limit::ALL.into_iter().find(|l| l.name() == name)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The counters of `Work` that the alignment adds to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub seed_pairs: u64,
    pub extend_pairs: u64,
    pub clusters: u64,
    pub largest_cluster: u64,
    pub align_cells: u64,
    pub similarity_cells: u64,
    pub passages: u64,
    pub overlap_checks: u64,
    pub exact_pairs: u64,
}

/// The counters, the bounds reached, and the cancellation of one request.
pub struct Work<'c> {
    pub counters: Counters,
    limited: u8,
    cancel: Option<&'c mut dyn Cancel>,
    next_check: Option<Instant>,
}

impl<'c> Work<'c> {
    pub fn new(counters: Counters, cancel: Option<&'c mut dyn Cancel>) -> Self {
        Work {
            counters,
            limited: 0,
            cancel,
            next_check: None,
        }
    }

    /// Ask the cancellation, at most every `CHECK_EVERY`: cheap enough to call often.
    pub fn check(&mut self) -> Result<(), Stopped> {
        let Some(cancel) = self.cancel.as_mut() else {
            return Ok(());
        };
        let now = Instant::now();
        if let Some(next) = self.next_check {
            if now < next {
                return Ok(());
            }
        }
        self.next_check = Some(now + CHECK_EVERY);
        cancel.check()
    }

    pub fn limit(&mut self, limit: Limit) {
        self.limited |= limit.bit();
    }

    pub fn is_limited(&self, limit: Limit) -> bool {
        self.limited & limit.bit() != 0
    }

    /// The bounds reached, by setting name.
    pub fn limited(&self) -> Vec<&'static str> {
        Limit::ALL
            .into_iter()
            .filter(|l| self.is_limited(*l))
            .map(Limit::name)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count(u32);

    impl Cancel for Count {
        fn check(&mut self) -> Result<(), Stopped> {
            self.0 += 1;
            Err(Stopped)
        }
    }

    #[test]
    fn the_first_check_asks_and_the_next_ones_wait() {
        let mut count = Count(0);
        {
            let mut work = Work::new(Counters::default(), Some(&mut count));
            assert_eq!(work.check(), Err(Stopped));
            assert_eq!(work.check(), Ok(())); // within CHECK_EVERY of the first
        }
        assert_eq!(count.0, 1);
    }

    #[test]
    fn limits_keep_their_setting_names() {
        let mut work = Work::new(Counters::default(), None);
        work.limit(Limit::Passages);
        work.limit(Limit::SeedPairs);
        assert_eq!(work.limited(), vec!["max_seed_pairs", "max_passages"]);
        assert_eq!(Limit::from_name("max_exact_pairs"), Some(Limit::ExactPairs));
    }
}
