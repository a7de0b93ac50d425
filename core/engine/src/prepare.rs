//! The per-text stages after the text stages: unit signatures, runs of repeated units
//! and the copies they hide, the seeding rows and their band keys, the quoted
//! segments' signatures, and the windows of the exact-run join. `prepare` runs them
//! all after `text::prepare`, so that `Detector.prepare` is one call into the core
//! that also yields the alignment's `Doc`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::align::{Doc, Run, Windows, NO_TERM};
use crate::matches::{offset, Spans};
use crate::minhash;
use crate::numbering::SecretState;
use crate::text::{self, TextConfig, TextStages};

/// A run needs this many copies (`engine/runs.py`).
pub const MIN_RUN_COPIES: usize = 3;
/// Periods tried, the commonest distances between equal units first.
const MAX_PERIODS: usize = 8;
/// Windows with more copies than this in a text are not joined (`engine/exact.py`).
pub const MAX_WINDOW_COPIES: usize = 8;
/// The signature slot of an empty set.
pub const EMPTY: u32 = u32::MAX;

/// Two texts with at least this many code points together are prepared on two threads
/// (`prepare_pair`): below it, handing a text over costs more than it saves.
pub const PARALLEL_CHARS: usize = 2_000;

const MIX: u64 = 0x9E37_79B9_7F4A_7C15;
const SALT: u64 = 0xD6E8_FEB8_6659_FD93;

/// The settings of `EngineConfig` that `prepare` reads, with the MinHash
/// permutations and the LSH band shape.
#[derive(Debug, Clone)]
pub struct PrepareConfig {
    pub text: TextConfig,
    pub min_quote_tokens: usize,
    pub min_quote_content_terms: usize,
    pub perm_a: Vec<u32>,
    pub perm_b: Vec<u32>,
    pub bands: usize,
    pub rows: usize,
}

/// Everything `Detector.prepare` keeps of one text.
pub struct Prepared {
    pub stages: TextStages,
    /// One row of `num_perm` slots per unit.
    pub signatures: Vec<u32>,
    pub runs: Vec<Run>,
    pub hidden: Vec<bool>,
    pub indexable: Vec<usize>,
    /// `bands` keys per indexable row.
    pub band_keys: Vec<u64>,
    /// One row per quoted segment with enough content terms.
    pub quote_signatures: Vec<u32>,
    pub windows: Windows,
    /// Where each token lies in the text, with its end moved over closing punctuation.
    pub spans: Spans,
}

/// The runs of a sequence of unit fingerprints (equal units, equal fingerprints),
/// disjoint and in order: the longest first among overlapping ones. Work: `O(n)` per
/// period tried; the periods are the `MAX_PERIODS` commonest distances between equal
/// units (ties: the distance seen first).
pub fn find_runs(fingerprints: &[i64]) -> Vec<Run> {
    let n = fingerprints.len();
    let mut last: HashMap<i64, usize, SecretState> = HashMap::default();
    // (distance, count), in order of first appearance.
    let mut distances: Vec<(usize, usize)> = Vec::new();
    let mut slot: HashMap<usize, usize, SecretState> = HashMap::default();
    for (u, &fp) in fingerprints.iter().enumerate() {
        if let Some(&prev) = last.get(&fp) {
            let d = u - prev;
            match slot.get(&d) {
                Some(&k) => distances[k].1 += 1,
                None => {
                    slot.insert(d, distances.len());
                    distances.push((d, 1));
                }
            }
        }
        last.insert(fp, u);
    }
    // A stable sort by count, descending: ties keep their first appearance.
    distances.sort_by_key(|&(_, count)| std::cmp::Reverse(count));
    let mut found: Vec<Run> = Vec::new();
    for &(period, count) in distances.iter().take(MAX_PERIODS) {
        if count < (MIN_RUN_COPIES - 1) * period || period >= n {
            continue;
        }
        let m = n - period;
        let mut s = 0;
        while s < m {
            if fingerprints[s + period] != fingerprints[s] {
                s += 1;
                continue;
            }
            let mut e = s;
            while e < m && fingerprints[e + period] == fingerprints[e] {
                e += 1;
            }
            // Units u in [s + period, e + period) equal units u - period.
            if e - s >= (MIN_RUN_COPIES - 1) * period {
                found.push(Run {
                    start: s,
                    end: e + period,
                    period,
                });
            }
            s = e;
        }
    }
    found.sort_by_key(|r| (std::cmp::Reverse(r.end - r.start), r.period, r.start));
    let mut kept: Vec<Run> = Vec::new();
    for r in found {
        if kept.iter().all(|k| r.end <= k.start || k.end <= r.start) {
            kept.push(r);
        }
    }
    kept.sort_by_key(|r| r.start);
    kept
}

/// One fingerprint per unit: units with equal word sequences, equal fingerprints (a
/// dense id per distinct sequence, in order of first appearance: exact, no hash).
pub fn unit_fingerprints(words: &[i64], bounds: &[usize]) -> Vec<i64> {
    let mut ids: HashMap<&[i64], i64, SecretState> = HashMap::default();
    bounds
        .windows(2)
        .map(|b| {
            let next = ids.len() as i64;
            *ids.entry(&words[b[0]..b[1]]).or_insert(next)
        })
        .collect()
}

/// The units after the first copy of each run: what seeding skips.
pub fn hidden_units(runs: &[Run], n: usize) -> Vec<bool> {
    let mut hidden = vec![false; n];
    for r in runs {
        for h in &mut hidden[(r.start + r.period).min(n)..r.end.min(n)] {
            *h = true;
        }
    }
    hidden
}

/// The windows of `k` consecutive word ids: their 64-bit hashes (`engine/exact.py`'s
/// mix, bit for bit), which are rare enough to join, and their stable sort order.
pub fn windows(words: &[i64], k: usize) -> Windows {
    let n = (words.len() + 1).saturating_sub(k);
    let hashes: Vec<u64> = (0..n)
        .map(|i| {
            words[i..i + k]
                .iter()
                .fold(SALT, |h, &w| h.wrapping_mul(MIX) ^ (h >> 31) ^ (w as u64))
        })
        .collect();
    let keyed = sorted_with_index(&hashes);
    let mut rare = vec![false; n];
    let mut s = 0;
    while s < n {
        let mut e = s + 1;
        while e < n && keyed[e].0 == keyed[s].0 {
            e += 1;
        }
        for &(_, i) in &keyed[s..e] {
            rare[i] = e - s <= MAX_WINDOW_COPIES;
        }
        s = e;
    }
    let order = keyed.into_iter().map(|(_, i)| i).collect();
    Windows {
        k,
        hashes,
        rare,
        order,
    }
}

/// `(hash, index)` of every hash, sorted: the stable order of the hashes. The hashes
/// are spread into about one bucket per hash by their top bits (in index order), and
/// each bucket of two or more is sorted: `O(n)` for hashes that look random, never
/// worse than `O(n log n)`.
pub fn sorted_with_index(hashes: &[u64]) -> Vec<(u64, usize)> {
    let n = hashes.len();
    let bits = (usize::BITS - n.leading_zeros()).clamp(1, 16);
    let shift = 64 - bits;
    let mut ends = vec![0usize; 1 << bits];
    for &h in hashes {
        ends[(h >> shift) as usize] += 1;
    }
    let mut at = 0;
    for e in &mut ends {
        at += *e;
        *e = at - *e; // the bucket's start, for now
    }
    let mut out = vec![(0u64, 0usize); n];
    for (i, &h) in hashes.iter().enumerate() {
        let b = (h >> shift) as usize;
        out[ends[b]] = (h, i);
        ends[b] += 1;
    }
    let mut start = 0;
    for &end in &ends {
        if end - start > 1 {
            out[start..end].sort_unstable();
        }
        start = end;
    }
    out
}

/// The maximal ranges of `true` in `mask` at least `least` long.
fn stretches(mask: &[bool], least: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut s = 0;
    while s < mask.len() {
        if !mask[s] {
            s += 1;
            continue;
        }
        let mut e = s;
        while e < mask.len() && mask[e] {
            e += 1;
        }
        if e - s >= least {
            out.push((s, e));
        }
        s = e;
    }
    out
}

/// The content terms of each quoted stretch of at least `min_tokens` tokens, sorted
/// and distinct, keeping those with at least `min_terms`: as a flat array and its
/// offsets.
pub fn quote_segments(
    terms: &[i64],
    quoted: &[bool],
    min_tokens: usize,
    min_terms: usize,
) -> (Vec<i64>, Vec<usize>) {
    let mut values = Vec::new();
    let mut offsets = vec![0];
    for (s, e) in stretches(quoted, min_tokens) {
        let mut seg: Vec<i64> = terms[s..e]
            .iter()
            .copied()
            .filter(|&t| t != NO_TERM)
            .collect();
        seg.sort_unstable();
        seg.dedup();
        if seg.len() >= min_terms {
            values.extend_from_slice(&seg);
            offsets.push(values.len());
        }
    }
    (values, offsets)
}

/// Every per-text stage of `Detector.prepare`.
pub fn prepare(chars: &[char], config: &PrepareConfig) -> Prepared {
    let stages = text::prepare(chars, &config.text);
    let num_perm = config.perm_a.len();
    let units = &stages.units;
    let signatures = minhash::signatures(
        &units.features,
        &units.feature_bounds,
        &config.perm_a,
        &config.perm_b,
    );
    let bounds: Vec<usize> = units.bounds.iter().map(|&b| b as usize).collect();
    let runs = find_runs(&unit_fingerprints(&stages.word_ids, &bounds));
    let hidden = hidden_units(&runs, units.len());
    let indexable: Vec<usize> = (0..units.len())
        .filter(|&u| {
            !hidden[u]
                && signatures[u * num_perm..(u + 1) * num_perm]
                    .iter()
                    .any(|&s| s != EMPTY)
        })
        .collect();
    let rows: Vec<u32> = indexable
        .iter()
        .flat_map(|&u| signatures[u * num_perm..(u + 1) * num_perm].iter().copied())
        .collect();
    let band_keys = minhash::band_keys(&rows, num_perm, config.bands, config.rows);
    let (values, offsets) = quote_segments(
        &stages.terms,
        &stages.quoted,
        config.min_quote_tokens,
        config.min_quote_content_terms,
    );
    let quote_signatures = minhash::signatures(&values, &offsets, &config.perm_a, &config.perm_b);
    let windows = windows(&stages.word_ids, config.min_quote_tokens);
    let positions = |v: &[i64]| v.iter().map(|&x| offset(x.max(0) as usize)).collect();
    let spans = Spans::new(
        chars,
        positions(&stages.tokens.starts),
        positions(&stages.tokens.ends),
    );
    Prepared {
        stages,
        signatures,
        runs,
        hidden,
        indexable,
        band_keys,
        quote_signatures,
        windows,
        spans,
    }
}

/// `prepare` of two texts: the same results as two calls, in the same order. With
/// `parallel`, when they are long enough together (`PARALLEL_CHARS`), the second is
/// offered to a helper thread while this one prepares the first; if the helper has not
/// taken it by then (busy with another caller's, or not scheduled in time), this thread
/// prepares it too. `spare_core` says when `parallel` pays.
pub fn prepare_pair(
    a: &[char],
    b: Vec<char>,
    config: &Arc<PrepareConfig>,
    parallel: bool,
) -> (Prepared, Prepared) {
    if !parallel || a.len() + b.len() < PARALLEL_CHARS {
        return (prepare(a, config), prepare(&b, config));
    }
    let job = Arc::new(Job {
        offered: Instant::now(),
        chars: b,
        config: Arc::clone(config),
        state: Mutex::new(State::Offered),
        done: Condvar::new(),
    });
    let offered = helper().is_some_and(|tx| tx.send(Arc::clone(&job)).is_ok());
    let first = prepare(a, config);
    if !offered || job.take() {
        let second = prepare(&job.chars, config);
        return (first, second);
    }
    let second = job.wait();
    (
        first,
        second.unwrap_or_else(|payload| std::panic::resume_unwind(payload)),
    )
}

/// Whether this machine has a core to spare for `prepare_pair`'s helper: fewer threads
/// are runnable right now than it has cores, this one included (the fourth field of
/// Linux's `/proc/loadavg`, read at most every 10 ms). On a busy machine the helper and
/// its caller wait for each other's turn on a core: a compare of two 5,000-character
/// texts took 1.2–1.5 ms with the helper against 0.8–1.1 ms without, at load 6 on two
/// cores. The 1-minute load average, used before, lags: one client calling an idle
/// server keeps it near 1 on two cores, so the helper went on and off from one run to
/// the next. Where the count cannot be read, the answer is yes.
pub fn spare_core() -> bool {
    static CHECKED: AtomicU64 = AtomicU64::new(0);
    static SPARE: AtomicBool = AtomicBool::new(true);
    static START: OnceLock<Instant> = OnceLock::new();
    let now = START.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1;
    let last = CHECKED.load(Ordering::Relaxed);
    if last == 0 || now.saturating_sub(last) >= 10 {
        CHECKED.store(now, Ordering::Relaxed);
        let cores = crate::cores();
        let running = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| runnable(&s));
        SPARE.store(
            cores > 1 && running.is_none_or(|r| r < cores),
            Ordering::Relaxed,
        );
    }
    SPARE.load(Ordering::Relaxed)
}

/// The threads runnable now, from the text of `/proc/loadavg` (`0.52 0.58 0.59 2/431
/// 12345`: the fourth field's numerator).
fn runnable(loadavg: &str) -> Option<usize> {
    loadavg
        .split_whitespace()
        .nth(3)?
        .split('/')
        .next()?
        .parse()
        .ok()
}

type Panic = Box<dyn std::any::Any + Send>;

enum State {
    Offered,
    Taken,
    Done(Box<Result<Prepared, Panic>>),
    Collected,
}

/// A helper that starts on a job later than this after it was offered leaves it to
/// its caller, who would otherwise wait for it: it did not find a core free.
const HELPER_LATE: Duration = Duration::from_micros(50);

/// A second text offered to the helper thread.
struct Job {
    offered: Instant,
    chars: Vec<char>,
    config: Arc<PrepareConfig>,
    state: Mutex<State>,
    done: Condvar,
}

impl Job {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a plain enum, valid whatever a panicking holder left.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take the job if nobody has: true when the caller must run it.
    fn take(&self) -> bool {
        let mut state = self.lock();
        if matches!(*state, State::Offered) {
            *state = State::Taken;
            return true;
        }
        false
    }

    /// Wait for the helper's result.
    fn wait(&self) -> Result<Prepared, Panic> {
        let mut state = self.lock();
        loop {
            if let State::Done(_) = *state {
                if let State::Done(result) = std::mem::replace(&mut *state, State::Collected) {
                    return *result;
                }
            }
            state = self.done.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The helper's side: run the job unless its caller took it back, or it comes to
    /// it late (`HELPER_LATE`).
    fn run(&self) {
        if self.offered.elapsed() > HELPER_LATE || !self.take() {
            return;
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            prepare(&self.chars, &self.config)
        }));
        *self.lock() = State::Done(Box::new(result));
        self.done.notify_one();
    }
}

/// The helper thread's queue, started on first use; None if no thread could start.
fn helper() -> Option<&'static Sender<Arc<Job>>> {
    static HELPER: OnceLock<Option<Sender<Arc<Job>>>> = OnceLock::new();
    HELPER
        .get_or_init(|| {
            let (tx, rx) = channel::<Arc<Job>>();
            std::thread::Builder::new()
                .name("wiretrace-prepare".into())
                .spawn(move || {
                    for job in rx {
                        job.run();
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

impl Prepared {
    /// The alignment's document and the tokens' spans, moved out of this text's
    /// results (`doc` without the copies, for a text prepared only to be compared).
    pub fn into_doc(self, bands: usize) -> (Doc, Spans) {
        let s = self.stages;
        let doc = Doc {
            words: s.word_ids,
            terms: s.terms,
            bounds: s.units.bounds.iter().map(|&b| b as usize).collect(),
            features: s.units.features,
            feature_starts: s.units.feature_bounds,
            hidden: self.hidden,
            runs: self.runs,
            indexable: self.indexable,
            band_keys: self.band_keys,
            bands,
            quoted: s.quoted,
            named: s.named,
            sentence_ends: s.tokens.sentence_ends.iter().map(|&e| e as usize).collect(),
            windows: self.windows,
        };
        (doc, self.spans)
    }

    /// The alignment's copy of this text.
    pub fn doc(&self, bands: usize) -> Doc {
        let s = &self.stages;
        Doc {
            words: s.word_ids.clone(),
            terms: s.terms.clone(),
            bounds: s.units.bounds.iter().map(|&b| b as usize).collect(),
            features: s.units.features.clone(),
            feature_starts: s.units.feature_bounds.clone(),
            hidden: self.hidden.clone(),
            runs: self.runs.clone(),
            indexable: self.indexable.clone(),
            band_keys: self.band_keys.clone(),
            bands,
            quoted: s.quoted.clone(),
            named: s.named.clone(),
            sentence_ends: s.tokens.sentence_ends.iter().map(|&e| e as usize).collect(),
            windows: self.windows.clone(),
        }
    }
}

/// What a match's confidence reads of its token ranges, `a`'s tokens `[a0, a1)` and
/// `b`'s `[b0, b1)` (`engine/confidence.py`'s `features`): how many of `a`'s tokens
/// lie in a window of `k` words that `b`'s range also has, how many are quoted, and
/// how many carry a content term. Ranges are clamped to the documents.
pub fn span_counts(a: &Doc, b: &Doc, a0: usize, a1: usize, b0: usize, b1: usize) -> [usize; 3] {
    let a1 = a1.min(a.words.len());
    let b1 = b1.min(b.words.len());
    let a0 = a0.min(a1);
    let b0 = b0.min(b1);
    let k = a.windows.k;
    let mut covered = 0;
    if k > 0 && a1 - a0 >= k && b1 - b0 >= k {
        let theirs: std::collections::HashSet<u64> =
            b.windows.hashes[b0..b1 - k + 1].iter().copied().collect();
        let mut marked = vec![false; a1 - a0];
        for (i, h) in a.windows.hashes[a0..a1 - k + 1].iter().enumerate() {
            if theirs.contains(h) {
                for m in &mut marked[i..i + k] {
                    *m = true;
                }
            }
        }
        covered = marked.iter().filter(|&&m| m).count();
    }
    let quoted = a.quoted[a0..a1].iter().filter(|&&q| q).count();
    let content = a.terms[a0..a1].iter().filter(|&&t| t != NO_TERM).count();
    [covered, quoted, content]
}

/// A small configuration for the core's tests: 16 permutations in 4 bands of 4.
#[cfg(test)]
pub(crate) fn test_config() -> PrepareConfig {
    PrepareConfig {
        text: TextConfig {
            stem_prefix: 6,
            min_unit_tokens: 8,
            max_unit_tokens: 40,
        },
        min_quote_tokens: 5,
        min_quote_content_terms: 2,
        perm_a: (1..=16u32)
            .map(|k| k.wrapping_mul(2_654_435_761) | 1)
            .collect(),
        perm_b: (1..=16).map(|k| k * 40_503).collect(),
        bands: 4,
        rows: 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runnable_reads_the_fourth_field_of_loadavg() {
        assert_eq!(runnable("0.52 0.58 0.59 2/431 12345\n"), Some(2));
        assert_eq!(runnable("6.10 5.00 4.00 17/900 1"), Some(17));
        assert_eq!(runnable("0.52 0.58 0.59"), None);
        assert_eq!(runnable("0.52 0.58 0.59 x/431 1"), None);
    }

    #[test]
    fn a_pair_prepared_on_two_threads_equals_two_prepares() {
        let sentence = "The minister said: “We will rebuild every school.” Leeds agreed. ";
        let a: Vec<char> = sentence.repeat(30).chars().collect();
        let b: Vec<char> = sentence.repeat(12).chars().rev().collect();
        assert!(a.len() + b.len() >= PARALLEL_CHARS);
        let cfg = Arc::new(test_config());
        // Long pairs, many times (the helper takes some, the caller takes others back),
        // and a short one (no helper); and the answer of `spare_core` holds.
        assert_eq!(spare_core(), spare_core());
        let mut pairs = vec![(a.clone(), b.clone()); 20];
        pairs.push((a[..50].to_vec(), b[..50].to_vec()));
        for (x, y) in &pairs {
            let (pa, pb) = prepare_pair(x, y.clone(), &cfg, true);
            for (got, text) in [(pa, x), (pb, y)] {
                let one = prepare(text, &cfg);
                assert_eq!(got.doc(cfg.bands), one.doc(cfg.bands));
                assert_eq!(
                    prepare(text, &cfg).into_doc(cfg.bands),
                    (one.doc(cfg.bands), one.spans.clone())
                );
                assert_eq!(got.spans, one.spans);
                assert_eq!(got.signatures, one.signatures);
                assert_eq!(got.stages.tokens.starts, one.stages.tokens.starts);
            }
        }
    }

    #[test]
    fn runs_need_three_copies_of_a_period() {
        let fps = [9, 1, 1, 1, 1, 2, 3, 4, 2, 3, 4, 2, 3, 4, 2, 3];
        let runs = find_runs(&fps);
        assert_eq!(
            runs,
            vec![
                Run {
                    start: 1,
                    end: 5,
                    period: 1
                },
                Run {
                    start: 5,
                    end: 16,
                    period: 3
                }
            ]
        );
        assert!(find_runs(&[1, 2, 1, 2, 1]).is_empty());
        assert!(find_runs(&[4, 4, 8]).is_empty());
    }

    #[test]
    fn windows_count_copies_and_sort_stably() {
        let words: Vec<i64> = [1, 2].repeat(12);
        let w = windows(&words, 2);
        assert_eq!(w.hashes.len(), 23);
        assert!(w.rare.iter().all(|&r| !r)); // 12 and 11 copies
        assert!(w
            .order
            .windows(2)
            .all(|p| { (w.hashes[p[0]], p[0]) < (w.hashes[p[1]], p[1]) }));
        assert!(windows(&[1, 2], 3).hashes.is_empty());
    }

    #[test]
    fn hashes_sort_with_their_index() {
        let mut x = 7u64;
        let mut hashes: Vec<u64> = (0..3_000)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                x
            })
            .collect();
        for k in 0..500 {
            hashes[k * 3] = hashes[k]; // equal hashes
            hashes[k * 5 + 1] = k as u64; // one bucket
        }
        for len in [0, 1, 2, 17, 3_000] {
            let mut want: Vec<(u64, usize)> = hashes[..len].iter().copied().zip(0..).collect();
            want.sort();
            assert_eq!(sorted_with_index(&hashes[..len]), want);
        }
    }

    #[test]
    fn quote_segments_keep_enough_content_terms() {
        let terms = [5, NO_TERM, 3, 5, 7, NO_TERM, 2];
        let quoted = [true, true, true, true, false, true, true];
        let (values, offsets) = quote_segments(&terms, &quoted, 2, 2);
        assert_eq!(values, vec![3, 5]);
        assert_eq!(offsets, vec![0, 2]);
    }
}
