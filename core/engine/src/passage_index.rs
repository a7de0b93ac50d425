//! The embedded store's in-memory passage index: banded LSH over 64-bit band keys, and
//! a compact sketch per passage for the candidate check.
//!
//! Layout, per passage (a *slot*): its key (`i64`) and a sketch, the low 16 bits of
//! each of its `num_perm` signature slots. Per band: the band keys, put through a
//! bijective mix (so that even packed, skewed MinHash values spread evenly) and sorted
//! (`u64`), beside the slot holding each (`u32`): 12 bytes per band per passage. A
//! directory of the mixed keys' top bits, one `u32` per 8 to 16 entries, narrows a
//! search to one or two cache lines (a plain binary search over millions of keys
//! costs ~20 cache misses, and a lookup makes one per band per passage). New passages
//! go to a delta (an open-addressing table per band from band key to a chain of
//! slots) that is merged once it holds `delta_limit` passages, or a sixteenth of the
//! index when that is more (so merges cost O(1) amortised per passage).
//!
//! The sorted arrays come in two tiers of the same layout: the main tier, and a
//! middle tier of the passages merged since the main tier was last rewritten. A merge
//! folds the delta into the middle tier while that stays within an eighth of the main
//! tier, and both into the main tier past it: a merge of 50,000 passages into 1.1M
//! rewrites at most ~140k entries a band instead of 1.1M, and the main tier is
//! rewritten once every two or three such deltas. Removed passages are tombstoned
//! (their key set to `DEAD`) and dropped, and the slots renumbered, when the main tier
//! is next rewritten.
//!
//! A query's cost is cache misses (a few per band per row, then the passage key and
//! the sketch of each hit), so it looks up all its rows and bands in stages, each
//! stage asking for the cache lines the next one reads (`prefetch`): the misses of a
//! call overlap instead of queueing one after the other (about twice as fast over a
//! million passages, with the same answers).
//!
//! A merge runs in two phases, so that an owner holding the index behind a lock keeps
//! answering while it runs (`begin_merge`, `MergeJob::run`, `finish_merge`):
//! `begin_merge` *freezes* the delta (it stays searchable, beside a fresh delta that
//! takes new passages) and hands out shared references to the sorted arrays and the
//! frozen delta; `MergeJob::run` builds the merged arrays from them alone, without the
//! index (the owner's lock is not held); `finish_merge` swaps them in and renumbers the
//! slot keys, a copy of 8 bytes per passage. Slot numbers stay those of the old arrays
//! until the swap, so passages removed while the job runs are tombstoned in `keys`
//! and stay so after it (dropped by the next merge): never lost, never brought back.
//!
//! Answers are exactly `MinHashLSH`'s over the band keys: a passage is found when one
//! of its band keys equals the query's. The sketch only estimates the Jaccard
//! similarity of two passages (the share of signature slots that agree); two 16-bit
//! fragments agree by chance with probability 2**-16, so the estimate is the full
//! signatures' up to about one slot in 65,536.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

// A bijection: equal mixed band keys mean equal keys.
use crate::numbering::fmix64;

/// The key of a removed passage's slot until the next merge drops it.
pub const DEAD: i64 = i64::MIN;
/// The end of a chain of delta slots.
const END: u32 = u32::MAX;
/// Default passages held in the delta before a merge.
pub const DEFAULT_DELTA_LIMIT: usize = 50_000;

/// Band keys are already well mixed (packed MinHash values or a multiplicative mix):
/// one multiply spreads them over the table without a general-purpose hash.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    }
    fn write_u64(&mut self, k: u64) {
        self.0 = (k ^ (k >> 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Ask for the cache line holding `*p` ahead of its use: a hint, with no effect on
/// any result. A lookup in the index misses the cache two or three times (directory,
/// keys, slots, then each hit's key and sketch); issuing a stage's loads for all of a
/// call's rows and bands before using any lets those misses overlap instead of
/// queueing one behind the other.
#[inline(always)]
fn prefetch<T>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing into the program and cannot fault, whatever
    // the address; this one is a valid reference anyway. `sse` is part of x86_64.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (p as *const T).cast(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// A delta's chains by band key: open addressing with linear probing, at most half
/// full (a lookup that finds nothing, the common case, reads 2.5 entries on average;
/// 8.5 at 3/4 full). Unlike with a `HashMap`, where a key's entry sits is known before
/// it is read, so that `prefetch` can ask for it early.
#[derive(Default)]
struct Chains {
    /// (band key, most recent relative slot, passages in the chain); an entry whose
    /// chain is empty is free.
    entries: Vec<(u64, u32, u32)>,
    used: usize,
    /// `64 - log2(entries.len())`.
    shift: u32,
}

impl Chains {
    /// Band keys are already well mixed: one multiply, and its top bits.
    #[inline]
    fn home(&self, key: u64) -> usize {
        ((key ^ (key >> 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The chain of `key`: (first relative slot, length).
    #[inline]
    fn get(&self, key: u64) -> (u32, u32) {
        if self.entries.is_empty() {
            return (END, 0);
        }
        let mask = self.entries.len() - 1;
        let mut i = self.home(key);
        loop {
            let e = &self.entries[i];
            if e.2 == 0 {
                return (END, 0);
            }
            if e.0 == key {
                return (e.1, e.2);
            }
            i = (i + 1) & mask;
        }
    }

    #[inline]
    fn prefetch(&self, key: u64) {
        if !self.entries.is_empty() {
            prefetch(&self.entries[self.home(key)]);
        }
    }

    /// Room for `more` new keys without growing on the way.
    fn reserve(&mut self, more: usize) {
        let want = self.used + more;
        if want * 2 <= self.entries.len() {
            return;
        }
        let mut size = self.entries.len().max(16);
        while want * 2 > size {
            size *= 2;
        }
        let old = std::mem::replace(&mut self.entries, vec![(0, END, 0); size]);
        self.shift = 64 - size.trailing_zeros();
        self.used = 0;
        for e in old.into_iter().filter(|e| e.2 != 0) {
            *self.slot(e.0) = e;
        }
    }

    /// The entry of `key`, a free one taken for it when it has none (after `reserve`).
    fn slot(&mut self, key: u64) -> &mut (u64, u32, u32) {
        let mask = self.entries.len() - 1;
        let mut i = self.home(key);
        while self.entries[i].2 != 0 && self.entries[i].0 != key {
            i = (i + 1) & mask;
        }
        let e = &mut self.entries[i];
        if e.2 == 0 {
            *e = (key, END, 0);
            self.used += 1;
        }
        e
    }

    /// (band key, first relative slot) of every chain, in no particular order.
    fn iter(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.entries.iter().filter(|e| e.2 != 0).map(|e| (e.0, e.1))
    }

    fn bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<(u64, u32, u32)>()
    }
}

/// What went wrong with a call's arguments; the binding turns it into `ValueError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexError(pub String);

impl std::fmt::Display for IndexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for IndexError {}

/// One band's merged passages: mixed band keys, sorted, beside their slots.
#[derive(Default)]
struct Sorted {
    keys: Vec<u64>,
    slots: Vec<u32>,
    /// `dir[t]` is the first entry whose mixed key's top `bits` bits are `>= t`.
    dir: Vec<u32>,
    bits: u32,
    /// The middle tier's: bit `t` set when a mixed key's top `filter_bits` bits are
    /// `t` (4 to 8 bits an entry; empty: no filter). A lookup of a key the tier does
    /// not hold, the common case, stops at this one bit, which stays in the cache,
    /// instead of missing it twice (directory, keys); without it every lookup cost
    /// twice as much with a middle tier as without.
    filter: Vec<u64>,
    filter_bits: u32,
}

impl Sorted {
    fn new(keys: Vec<u64>, slots: Vec<u32>) -> Self {
        let mut s = Self {
            keys,
            slots,
            ..Self::default()
        };
        s.index();
        s
    }

    /// `new`, with the filter of a middle tier.
    fn filtered(keys: Vec<u64>, slots: Vec<u32>) -> Self {
        let mut s = Self::new(keys, slots);
        if s.keys.is_empty() {
            return s;
        }
        s.filter_bits = (s.keys.len() * 4).next_power_of_two().ilog2().max(6);
        s.filter = vec![0u64; (1usize << s.filter_bits) / 64];
        for i in 0..s.keys.len() {
            let (word, bit) = s.filter_bit(s.keys[i]);
            s.filter[word] |= bit;
        }
        s
    }

    /// The filter's word for mixed key `mixed`, and its bit there.
    #[inline]
    fn filter_bit(&self, mixed: u64) -> (usize, u64) {
        let t = (mixed >> (64 - self.filter_bits)) as usize;
        (t / 64, 1 << (t % 64))
    }

    /// Whether the middle tier may hold mixed key `mixed` (false: it surely does not);
    /// only a middle tier with passages, which has a filter, is asked.
    #[inline]
    fn may_hold(&self, mixed: u64) -> bool {
        let (word, bit) = self.filter_bit(mixed);
        self.filter[word] & bit != 0
    }

    #[inline]
    fn prefetch_filter(&self, mixed: u64) {
        prefetch(&self.filter[self.filter_bit(mixed).0]);
    }

    /// The run of band key `key`.
    fn run(&self, key: u64) -> std::ops::Range<usize> {
        let m = fmix64(key);
        self.run_within(self.bucket(m), m)
    }

    /// The run of mixed key `mixed` inside its directory bucket `(start, end)`.
    #[inline]
    fn run_within(&self, (start, end): (usize, usize), mixed: u64) -> std::ops::Range<usize> {
        let within = &self.keys[start..end];
        let lo = within.partition_point(|&k| k < mixed);
        let hi = lo + within[lo..].partition_point(|&k| k <= mixed);
        start + lo..start + hi
    }

    /// The directory bucket of mixed key `mixed`, its keys asked for (`prefetch`).
    #[inline]
    fn bucket_fetched(&self, mixed: u64) -> (usize, usize) {
        let (start, end) = self.bucket(mixed);
        if start < end {
            prefetch(&self.keys[start]);
            prefetch(&self.keys[(start + end) / 2]);
            prefetch(&self.keys[end - 1]);
        }
        (start, end)
    }

    /// The directory bucket of mixed key `mixed`: the entries that may hold it.
    #[inline]
    fn bucket(&self, mixed: u64) -> (usize, usize) {
        if self.keys.is_empty() {
            return (0, 0);
        }
        let t = self.top(mixed);
        (self.dir[t] as usize, self.dir[t + 1] as usize)
    }

    #[inline]
    fn prefetch_bucket(&self, mixed: u64) {
        if !self.keys.is_empty() {
            prefetch(&self.dir[self.top(mixed)]);
        }
    }

    fn top(&self, mixed: u64) -> usize {
        if self.bits == 0 {
            0
        } else {
            (mixed >> (64 - self.bits)) as usize
        }
    }

    /// Rebuild the directory: 2**bits buckets of 8 to 16 entries on average.
    fn index(&mut self) {
        let n = self.keys.len();
        self.bits = if n < 16 { 0 } else { (n / 8).ilog2().min(30) };
        let mut dir = Vec::with_capacity((1usize << self.bits) + 1);
        let mut at = 0;
        for t in 0..(1usize << self.bits) {
            while at < n && self.top(self.keys[at]) < t {
                at += 1;
            }
            dir.push(at as u32);
        }
        dir.push(n as u32);
        self.dir = dir;
    }

    fn bytes(&self) -> usize {
        self.keys.capacity() * 8
            + self.slots.capacity() * 4
            + (self.dir.capacity() + self.filter.capacity() * 2) * 4
    }
}

/// Passages not yet merged, one band of them. Slots are relative to the delta's first
/// slot, so that a merge renumbering the slots before it leaves them as they are.
#[derive(Default)]
struct Delta {
    /// Band key -> (most recent slot, passages in the chain).
    map: Chains,
    /// The next slot of each chained slot's chain; the first `next.len()` slots are
    /// chained.
    next: Vec<u32>,
    /// Mixed keys of big batches' passages, slot after slot from `next.len()`,
    /// unsorted until the next merge: a bulk load sorts once at the end instead of
    /// merging batch after batch. Once a delta holds a bulk batch, what follows goes
    /// here too (the slots stay consecutive).
    bulk: Vec<u64>,
}

impl Delta {
    fn len(&self) -> usize {
        self.next.len() + self.bulk.len()
    }

    /// The chain of `key`: (first relative slot, length).
    fn chain(&self, key: u64) -> (u32, u32) {
        self.map.get(key)
    }

    fn bytes(&self) -> usize {
        self.next.capacity() * 4 + self.bulk.capacity() * 8 + self.map.bytes()
    }
}

#[derive(Default)]
struct Band {
    /// The main tier: slots `[0, main_end)`.
    sorted: Arc<Sorted>,
    /// The middle tier: slots `[main_end, mid_end)`, merged deltas not yet folded
    /// into the main tier.
    mid: Arc<Sorted>,
    /// The delta a running merge folds in: searched until the merge is swapped in.
    frozen: Option<Arc<Delta>>,
    delta: Delta,
}

/// The entries of delta `delta` (its first slot `base`) as (mixed key, slot), slots
/// renumbered by `remap` (dropped ones left out), sorted.
fn delta_entries(delta: &Delta, base: usize, remap: Option<&[u32]>) -> (Vec<u64>, Vec<u32>) {
    let renumber = |slot: u32| remap.map_or(slot, |m| m[slot as usize]);
    let mut add: Vec<(u64, u32)> = Vec::with_capacity(delta.next.len());
    for (key, head) in delta.map.iter() {
        let mut rel = head;
        while rel != END {
            add.push((fmix64(key), renumber((base + rel as usize) as u32)));
            rel = delta.next[rel as usize];
        }
    }
    add.retain(|e| e.1 != END);
    let bulk_first = base + delta.next.len();
    let bulk_entries = delta
        .bulk
        .iter()
        .enumerate()
        .map(|(i, &k)| (k, renumber((bulk_first + i) as u32)))
        .filter(|e| e.1 != END);
    sort_mixed(bulk_entries, add)
}

/// The entries of `sorted` and the sorted entries `add_keys`/`add_slots` together, in
/// (key, slot) order: `sorted`'s slots renumbered by `remap` (dropped ones left out),
/// `add`'s renumbered already and after every slot of `sorted`.
fn fold(
    sorted: &Sorted,
    add_keys: Vec<u64>,
    add_slots: Vec<u32>,
    remap: Option<&[u32]>,
) -> (Vec<u64>, Vec<u32>) {
    if sorted.keys.is_empty() {
        // A bulk load, or a first merge into an empty tier: the added entries are it.
        return (add_keys, add_slots);
    }
    let size = sorted.keys.len() + add_keys.len();
    let mut keys = Vec::with_capacity(size);
    let mut slots = Vec::with_capacity(size);
    let Some(remap) = remap else {
        // Nothing dropped: the sorted entries between two added ones (a few dozen,
        // the tier being many times the delta) are found by a galloping search and
        // copied whole; an added key goes after the sorted entries equal to it.
        let mut from = 0;
        for (&k, &s) in add_keys.iter().zip(&add_slots) {
            let to = from + after(&sorted.keys[from..], k);
            keys.extend_from_slice(&sorted.keys[from..to]);
            slots.extend_from_slice(&sorted.slots[from..to]);
            keys.push(k);
            slots.push(s);
            from = to;
        }
        keys.extend_from_slice(&sorted.keys[from..]);
        slots.extend_from_slice(&sorted.slots[from..]);
        return (keys, slots);
    };
    let mut j = 0;
    for (&k, &s) in sorted.keys.iter().zip(&sorted.slots) {
        let s = remap[s as usize];
        if s == END {
            continue;
        }
        while j < add_keys.len() && add_keys[j] < k {
            keys.push(add_keys[j]);
            slots.push(add_slots[j]);
            j += 1;
        }
        keys.push(k);
        slots.push(s);
    }
    keys.extend_from_slice(&add_keys[j..]);
    slots.extend_from_slice(&add_slots[j..]);
    keys.shrink_to_fit();
    slots.shrink_to_fit();
    (keys, slots)
}

/// One band's merge: the frozen delta `delta` (its first slot `base`) folded into the
/// middle tier `mid` (`minor`), or the middle tier and the delta folded into the main
/// arrays `main`, dropping and renumbering slots by `remap`.
fn merge_band(
    main: &Sorted,
    mid: &Sorted,
    delta: &Delta,
    base: usize,
    remap: Option<&[u32]>,
    minor: bool,
) -> Sorted {
    let (keys, slots) = delta_entries(delta, base, remap);
    let (keys, slots) = fold(mid, keys, slots, remap);
    if minor {
        return Sorted::filtered(keys, slots);
    }
    let (keys, slots) = fold(main, keys, slots, remap);
    Sorted::new(keys, slots)
}

/// Append `more` to the sketches `run`, which the index alone holds once a merge's
/// job is gone: grown in place (a large block grows by remapping its pages, not by
/// copying them), or taken whole when `run` is empty.
fn append(run: &mut Arc<Vec<u16>>, more: Arc<Vec<u16>>) {
    if more.is_empty() {
        return;
    }
    if run.is_empty() {
        *run = more;
    } else {
        let grown = Arc::make_mut(run);
        grown.reserve_exact(more.len());
        grown.extend_from_slice(&more);
    }
    Arc::make_mut(run).shrink_to_fit();
}

/// How many of the sorted `keys` are at most `key`: a galloping search from the start,
/// for a key expected near it.
fn after(keys: &[u64], key: u64) -> usize {
    let mut hi = 1;
    while hi < keys.len() && keys[hi - 1] <= key {
        hi *= 2;
    }
    let hi = hi.min(keys.len());
    let lo = hi / 2;
    lo + keys[lo..hi].partition_point(|&k| k <= key)
}

/// The entries of `bulk` and `add` sorted by mixed key, as parallel arrays. The keys
/// are uniform, so distributing them by their top bits leaves buckets of a few
/// entries, each sorted on its own: linear (a comparison sort of a bulk load's
/// millions of entries per band, through a vector of pairs, was most of a restart's
/// time and twice its memory). Two passes: by the top 10 bits into a scratch copy
/// (1,024 write streams), then each of those runs, small enough to stay in cache, by
/// the next bits into the arrays; one pass into 2**19 buckets missed the cache at
/// almost every write.
fn sort_mixed(
    bulk: impl Iterator<Item = (u64, u32)> + Clone,
    add: Vec<(u64, u32)>,
) -> (Vec<u64>, Vec<u32>) {
    let n = bulk.clone().count() + add.len();
    if n < 1024 {
        let mut all: Vec<(u64, u32)> = bulk.chain(add).collect();
        all.sort_unstable();
        return all.into_iter().unzip();
    }
    let bits = (n / 4).ilog2().min(24);
    let high = bits.min(10);
    let low = bits - high;
    let top = |k: u64| (k >> (64 - high)) as usize;
    let mut starts = vec![0usize; (1 << high) + 1];
    for (k, _) in bulk.clone().chain(add.iter().copied()) {
        starts[top(k) + 1] += 1;
    }
    for t in 1..starts.len() {
        starts[t] += starts[t - 1];
    }
    let mut scratch_keys = vec![0u64; n];
    let mut scratch_slots = vec![0u32; n];
    let mut at = starts.clone();
    for (k, s) in bulk.chain(add) {
        let t = top(k);
        scratch_keys[at[t]] = k;
        scratch_slots[at[t]] = s;
        at[t] += 1;
    }
    drop(at);
    let mut keys = vec![0u64; n];
    let mut slots = vec![0u32; n];
    let next = |k: u64| {
        if low == 0 {
            0
        } else {
            ((k << high) >> (64 - low)) as usize
        }
    };
    let mut sub = vec![0usize; (1 << low) + 1];
    for w in starts.windows(2) {
        let (from, to) = (w[0], w[1]);
        sub.fill(0);
        for &k in &scratch_keys[from..to] {
            sub[next(k) + 1] += 1;
        }
        sub[0] = from;
        for t in 1..sub.len() {
            sub[t] += sub[t - 1];
        }
        let bounds = sub.clone();
        for i in from..to {
            let (k, s) = (scratch_keys[i], scratch_slots[i]);
            let t = next(k);
            keys[sub[t]] = k;
            slots[sub[t]] = s;
            sub[t] += 1;
        }
        for b in bounds.windows(2) {
            // Insertion sort: a bucket holds about four entries.
            for i in b[0] + 1..b[1] {
                let (k, s) = (keys[i], slots[i]);
                let mut j = i;
                while j > b[0] && (keys[j - 1], slots[j - 1]) > (k, s) {
                    keys[j] = keys[j - 1];
                    slots[j] = slots[j - 1];
                    j -= 1;
                }
                keys[j] = k;
                slots[j] = s;
            }
        }
    }
    (keys, slots)
}

/// One row's answer: per passage found, the bands shared and the sketch slots that
/// agree with the query's signature (0 when no signature was given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub passages: Vec<i64>,
    pub bands: Vec<u32>,
    pub agree: Vec<u32>,
    /// Band keys of this row whose bucket was over the cap and left out.
    pub capped: u32,
}

pub struct PassageIndex {
    bands: usize,
    num_perm: usize,
    delta_limit: usize,
    /// Whether `insert` merges the delta itself once it is full; an owner that merges
    /// on a thread of its own (`begin_merge`) turns this off.
    merge_inline: bool,
    /// Passage key per slot (`DEAD` once removed).
    keys: Vec<i64>,
    /// `num_perm` low halves of signature slots per slot, in four runs: the main
    /// tier's slots `[0, main_end)`, the middle tier's `[main_end, mid_end)`, the
    /// frozen delta's `[mid_end, frozen_end)` and the delta's from `frozen_end` on.
    sk_main: Arc<Vec<u16>>,
    sk_mid: Arc<Vec<u16>>,
    sk_frozen: Option<Arc<Vec<u16>>>,
    sk_delta: Vec<u16>,
    band: Vec<Band>,
    /// Slots before this one are in the main tier's arrays.
    main_end: usize,
    /// Slots from `main_end` to here are in the middle tier's arrays.
    mid_end: usize,
    /// Slots from here on are in the delta; between `mid_end` and here, in the
    /// frozen delta of a running merge.
    frozen_end: usize,
    dead: usize,
}

/// What a merge needs, shared with the index it came from, which goes on answering
/// and taking passages while `run` builds the merged arrays.
pub struct MergeJob {
    /// Per band: the main tier, the middle tier, the frozen delta.
    parts: Vec<(Arc<Sorted>, Arc<Sorted>, Arc<Delta>)>,
    /// The sketches of the slots before `frozen_end`, in three runs (`PassageIndex`'s),
    /// when removed slots are dropped.
    sketches: Option<[Arc<Vec<u16>>; 3]>,
    /// The frozen delta goes to the middle tier only (no slot is dropped).
    minor: bool,
    num_perm: usize,
    main_end: usize,
    mid_end: usize,
    frozen_end: usize,
    /// New slot per slot before `frozen_end` (`END`: dropped), when any was removed.
    remap: Option<Vec<u32>>,
    dropped: usize,
}

/// The merged arrays of a `MergeJob`, for `finish_merge`.
pub struct Merged {
    sorted: Vec<Sorted>,
    minor: bool,
    /// The sketches of the merged slots, when removed ones were dropped.
    sketches: Option<Vec<u16>>,
    frozen_end: usize,
    remap: Option<Vec<u32>>,
    dropped: usize,
}

impl MergeJob {
    /// Build the merged arrays; bands merge independently, spread over the cores.
    pub fn run(self) -> Merged {
        let remap = self.remap.as_deref();
        let (base, minor) = (self.mid_end, self.minor);
        let threads = crate::cores().min(self.parts.len());
        let per = self.parts.len().div_ceil(threads);
        let mut sorted: Vec<Sorted> = Vec::with_capacity(self.parts.len());
        std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .parts
                .chunks(per)
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|(main, mid, d)| merge_band(main, mid, d, base, remap, minor))
                            .collect::<Vec<Sorted>>()
                    })
                })
                .collect();
            for h in handles {
                match h.join() {
                    Ok(part) => sorted.extend(part),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        });
        let sketches = remap
            .zip(self.sketches.as_ref())
            .map(|(m, [main, mid, frozen])| {
                let np = self.num_perm;
                let live = self.frozen_end - self.dropped;
                let mut out = Vec::with_capacity(live * np);
                for (slot, &to) in m.iter().enumerate() {
                    if to == END {
                        continue;
                    }
                    let (run, at) = if slot < self.main_end {
                        (main, slot)
                    } else if slot < self.mid_end {
                        (mid, slot - self.main_end)
                    } else {
                        (frozen, slot - self.mid_end)
                    };
                    out.extend_from_slice(&run[at * np..(at + 1) * np]);
                }
                out
            });
        drop(self.parts);
        drop(self.sketches);
        Merged {
            sorted,
            minor,
            sketches,
            frozen_end: self.frozen_end,
            remap: self.remap,
            dropped: self.dropped,
        }
    }
}

impl PassageIndex {
    pub fn new(bands: usize, num_perm: usize, delta_limit: usize) -> Result<Self, IndexError> {
        if bands < 1 {
            return Err(IndexError(format!("bands must be >= 1, got {bands}")));
        }
        if num_perm < bands {
            return Err(IndexError(format!(
                "num_perm must be >= bands ({bands}), got {num_perm}"
            )));
        }
        Ok(Self {
            bands,
            num_perm,
            delta_limit: delta_limit.max(1),
            merge_inline: true,
            keys: Vec::new(),
            sk_main: Arc::new(Vec::new()),
            sk_mid: Arc::new(Vec::new()),
            sk_frozen: None,
            sk_delta: Vec::new(),
            band: (0..bands).map(|_| Band::default()).collect(),
            main_end: 0,
            mid_end: 0,
            frozen_end: 0,
            dead: 0,
        })
    }

    pub fn bands(&self) -> usize {
        self.bands
    }

    pub fn num_perm(&self) -> usize {
        self.num_perm
    }

    /// Passages indexed and not removed.
    pub fn len(&self) -> usize {
        self.keys.len() - self.dead
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the structure (capacities, not lengths; the hash maps counted at
    /// their entries' size plus a control byte, over hashbrown's 7/8 load).
    pub fn memory_bytes(&self) -> usize {
        let mut total = self.keys.capacity() * 8
            + (self.sk_main.capacity()
                + self.sk_mid.capacity()
                + self.sk_frozen.as_ref().map_or(0, |s| s.capacity())
                + self.sk_delta.capacity())
                * 2;
        for b in &self.band {
            total += b.sorted.bytes()
                + b.mid.bytes()
                + b.delta.bytes()
                + b.frozen.as_ref().map_or(0, |d| d.bytes());
        }
        total
    }

    fn check_rows(&self, n: usize, band_keys: &[u64], sigs: &[u32]) -> Result<(), IndexError> {
        if band_keys.len() != n * self.bands {
            return Err(IndexError(format!(
                "band keys must have shape ({n}, {}), got {} values",
                self.bands,
                band_keys.len()
            )));
        }
        if sigs.len() != n * self.num_perm {
            return Err(IndexError(format!(
                "signatures must have shape ({n}, {}), got {} values",
                self.num_perm,
                sigs.len()
            )));
        }
        Ok(())
    }

    /// Index passages `keys` by their band keys (`keys.len() * bands`, row after row),
    /// keeping a sketch of their signatures (`keys.len() * num_perm`).
    pub fn insert(
        &mut self,
        keys: &[i64],
        band_keys: &[u64],
        sigs: &[u32],
    ) -> Result<(), IndexError> {
        self.check_rows(keys.len(), band_keys, sigs)?;
        if keys.contains(&DEAD) {
            return Err(IndexError(format!("passage key {DEAD} is reserved")));
        }
        if self.keys.len() + keys.len() > END as usize {
            return Err(IndexError(format!(
                "the index holds at most {} passages between merges",
                END
            )));
        }
        let first = self.keys.len();
        if self.keys.capacity() < first + keys.len() {
            // Grow by a sixteenth, not by doubling.
            self.keys.reserve_exact(keys.len() + (first / 16).max(1024));
        }
        let delta_len = first - self.frozen_end;
        if self.sk_delta.capacity() < (delta_len + keys.len()) * self.num_perm {
            let more = keys.len() + (delta_len / 16).max(1024);
            self.sk_delta.reserve_exact(more * self.num_perm);
        }
        self.keys.extend_from_slice(keys);
        self.sk_delta.extend(sigs.iter().map(|&v| v as u16));
        let bands = self.bands;
        if keys.len() >= self.delta_limit || self.needs_merge() {
            // A bulk load: held unsorted, sorted once by the next merge. One pass over
            // the rows (a pass per band read every row's cache lines once per band).
            let n = keys.len();
            for band in &mut self.band {
                band.delta.bulk.reserve(n);
            }
            for row in band_keys.chunks_exact(bands) {
                for (band, &key) in self.band.iter_mut().zip(row) {
                    band.delta.bulk.push(fmix64(key));
                }
            }
            return Ok(());
        }
        for band in &mut self.band {
            band.delta.map.reserve(keys.len());
            band.delta.next.reserve(keys.len());
        }
        // Every entry asked for first, then updated: their cache misses overlap.
        for row in band_keys.chunks_exact(bands) {
            for (band, &key) in self.band.iter().zip(row) {
                band.delta.map.prefetch(key);
            }
        }
        for (b, band) in self.band.iter_mut().enumerate() {
            let delta = &mut band.delta;
            for (i, row) in band_keys.chunks_exact(bands).enumerate() {
                let rel = (delta_len + i) as u32;
                let entry = delta.map.slot(row[b]);
                delta.next.push(entry.1);
                (entry.1, entry.2) = (rel, entry.2 + 1);
            }
        }
        if self.merge_inline
            && !self.merging()
            && self.pending() >= self.delta_limit.max(self.len() / 16)
        {
            self.merge_now(false);
        }
        Ok(())
    }

    /// Whether slot `slot` holds passage `key`, or a bulk-loaded slot of `delta`
    /// (first slot `base`) does.
    fn find_in(&self, delta: &Delta, base: usize, key: i64, band_key: u64) -> Option<usize> {
        let mut rel = delta.chain(band_key).0;
        while rel != END {
            let slot = base + rel as usize;
            if self.keys[slot] == key {
                return Some(slot);
            }
            rel = delta.next[rel as usize];
        }
        let bulk = base + delta.next.len()..base + delta.len();
        bulk.clone()
            .zip(&self.keys[bulk])
            .find(|&(_, &k)| k == key)
            .map(|(s, _)| s)
    }

    /// The slot of passage `key`, found through its first band key.
    fn find(&self, key: i64, band_key: u64) -> Option<usize> {
        let band = &self.band[0];
        for tier in [&band.sorted, &band.mid] {
            let run = tier.run(band_key);
            if let Some(&slot) = tier.slots[run]
                .iter()
                .find(|&&s| self.keys[s as usize] == key)
            {
                return Some(slot as usize);
            }
        }
        if let Some(frozen) = &band.frozen {
            if let Some(slot) = self.find_in(frozen, self.mid_end, key, band_key) {
                return Some(slot);
            }
        }
        self.find_in(&band.delta, self.frozen_end, key, band_key)
    }

    /// Forget passages `keys`, indexed earlier under these band keys; keys not in the
    /// index are ignored. Returns how many were removed.
    pub fn remove(&mut self, keys: &[i64], band_keys: &[u64]) -> Result<usize, IndexError> {
        if band_keys.len() != keys.len() * self.bands {
            return Err(IndexError(format!(
                "band keys must have shape ({}, {}), got {} values",
                keys.len(),
                self.bands,
                band_keys.len()
            )));
        }
        let mut removed = 0;
        for (&key, row) in keys.iter().zip(band_keys.chunks_exact(self.bands)) {
            if key == DEAD {
                continue;
            }
            if let Some(slot) = self.find(key, row[0]) {
                self.keys[slot] = DEAD;
                self.dead += 1;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Leave merging to the owner (true: `insert` merges a full delta itself).
    pub fn set_merge_inline(&mut self, inline: bool) {
        self.merge_inline = inline;
    }

    /// Passages inserted since the last merge began, waiting in the delta.
    pub fn pending(&self) -> usize {
        self.keys.len() - self.frozen_end
    }

    /// Whether bulk-loaded passages wait for a merge: `query` needs it done first.
    pub fn needs_merge(&self) -> bool {
        let band = &self.band[0];
        !band.delta.bulk.is_empty() || band.frozen.as_ref().is_some_and(|d| !d.bulk.is_empty())
    }

    /// Whether a merge has begun and is not finished.
    pub fn merging(&self) -> bool {
        self.band[0].frozen.is_some()
    }

    /// Merge everything into the main tier now, in one step, dropping removed
    /// passages (after a bulk load, or to free them).
    pub fn compact(&mut self) {
        self.merge_now(true);
    }

    /// Merge now, in one step: into the main tier when `full`, else where
    /// `begin_merge` would.
    fn merge_now(&mut self, full: bool) {
        if let Some(job) = self.begin(full) {
            let merged = job.run();
            self.finish_merge(merged);
        }
    }

    /// Freeze the delta and hand out what a merge needs, or None when there is
    /// nothing to merge. A merge begun earlier and never finished (its job failed) is
    /// handed out again, as it was.
    pub fn begin_merge(&mut self) -> Option<MergeJob> {
        self.begin(false)
    }

    /// `begin_merge`, into the main tier when `full`.
    fn begin(&mut self, full: bool) -> Option<MergeJob> {
        if !self.merging() {
            let merged_end = if full { self.main_end } else { self.mid_end };
            if self.keys.len() == merged_end && self.dead == 0 {
                return None;
            }
            for band in &mut self.band {
                band.frozen = Some(Arc::new(std::mem::take(&mut band.delta)));
            }
            self.sk_frozen = Some(Arc::new(std::mem::take(&mut self.sk_delta)));
            self.frozen_end = self.keys.len();
        }
        let frozen_end = self.frozen_end;
        // The frozen delta goes to the middle tier while that stays within an eighth
        // of the main tier (or holds this delta alone), and so do the removed
        // passages: a merge then rewrites the middle tier alone, and the main tier
        // once for every several deltas (removed passages stay tombstoned until
        // then). A bulk load, an empty main tier or a merge with nothing new folds
        // everything into the main tier.
        let tier = (self.main_end / 8).max(frozen_end - self.mid_end);
        let minor = !full
            && self.main_end > 0
            && frozen_end > self.mid_end
            && !self.needs_merge()
            && frozen_end - self.main_end <= tier
            && self.dead <= tier;
        let mut dropped = 0;
        let remap: Option<Vec<u32>> =
            (!minor && self.keys[..frozen_end].contains(&DEAD)).then(|| {
                let mut next = 0u32;
                self.keys[..frozen_end]
                    .iter()
                    .map(|&k| {
                        if k == DEAD {
                            dropped += 1;
                            END
                        } else {
                            next += 1;
                            next - 1
                        }
                    })
                    .collect()
            });
        let sketches = remap.as_ref().map(|_| {
            [
                self.sk_main.clone(),
                self.sk_mid.clone(),
                self.sk_frozen.clone().unwrap_or_default(),
            ]
        });
        Some(MergeJob {
            parts: self
                .band
                .iter()
                .map(|b| {
                    let frozen = b.frozen.clone().unwrap_or_default();
                    (b.sorted.clone(), b.mid.clone(), frozen)
                })
                .collect(),
            sketches,
            minor,
            num_perm: self.num_perm,
            main_end: self.main_end,
            mid_end: self.mid_end,
            frozen_end,
            remap,
            dropped,
        })
    }

    /// Swap in the arrays `merged` built: the frozen delta is now in them. Passages
    /// removed since the merge began stay tombstoned, under their new slots.
    pub fn finish_merge(&mut self, merged: Merged) {
        assert!(
            self.merging() && merged.frozen_end == self.frozen_end,
            "finish_merge without the merge it finishes"
        );
        for (band, sorted) in self.band.iter_mut().zip(merged.sorted) {
            if merged.minor {
                band.mid = Arc::new(sorted);
            } else {
                band.sorted = Arc::new(sorted);
                band.mid = Arc::default();
            }
            band.frozen = None;
        }
        let frozen = self.sk_frozen.take().unwrap_or_default();
        if merged.minor {
            append(&mut self.sk_mid, frozen);
            self.mid_end = merged.frozen_end;
            self.frozen_end = self.mid_end;
            return;
        }
        let mid = std::mem::take(&mut self.sk_mid);
        match merged.sketches {
            Some(sketches) => self.sk_main = Arc::new(sketches),
            None => {
                append(&mut self.sk_main, mid);
                append(&mut self.sk_main, frozen);
            }
        }
        if let Some(remap) = merged.remap {
            let mut w = 0;
            for (r, &to) in remap.iter().enumerate() {
                if to != END {
                    self.keys[w] = self.keys[r];
                    w += 1;
                }
            }
            self.keys.copy_within(merged.frozen_end.., w);
            self.keys.truncate(self.keys.len() - merged.dropped);
            self.dead -= merged.dropped;
        }
        self.keys.shrink_to_fit();
        self.main_end = merged.frozen_end - merged.dropped;
        self.mid_end = self.main_end;
        self.frozen_end = self.main_end;
    }

    /// The sketch of slot `slot`.
    fn sketch(&self, slot: usize) -> &[u16] {
        let np = self.num_perm;
        let (run, at): (&[u16], usize) = if slot < self.main_end {
            (&self.sk_main, slot)
        } else if slot < self.mid_end {
            (&self.sk_mid, slot - self.main_end)
        } else if slot < self.frozen_end {
            (
                self.sk_frozen.as_deref().map_or(&[], |s| s),
                slot - self.mid_end,
            )
        } else {
            (&self.sk_delta, slot - self.frozen_end)
        };
        &run[at * np..(at + 1) * np]
    }

    /// The number of rows of `band_keys`, after checking the shapes of a query.
    fn check_query(&self, band_keys: &[u64], sigs: Option<&[u32]>) -> Result<usize, IndexError> {
        let n = band_keys.len() / self.bands;
        if band_keys.len() != n * self.bands {
            return Err(IndexError(format!(
                "band keys must have rows of {} values, got {} values",
                self.bands,
                band_keys.len()
            )));
        }
        if let Some(s) = sigs {
            self.check_rows(n, band_keys, s)?;
        }
        if self.needs_merge() {
            return Err(IndexError(
                "bulk-loaded passages wait for a merge: call compact() first".to_owned(),
            ));
        }
        Ok(n)
    }

    /// Every row's hits, by row then slot, removed passages included (the caller
    /// reads each hit's key anyway); the buckets over `max_bucket` counted per row in
    /// `capped`. The lookups of all rows and bands go in stages, each asking for what
    /// the next one reads (`prefetch`): the directory bucket (and the delta chains),
    /// then the bucket's keys, then the run's slots. Hits are counted by sorting.
    fn hits(&self, band_keys: &[u64], max_bucket: Option<usize>, capped: &mut [u32]) -> Vec<Hit> {
        let bands = self.bands;
        let mixed: Vec<u64> = band_keys.iter().map(|&k| fmix64(k)).collect();
        let tiered = self.mid_end > self.main_end;
        for (j, &m) in mixed.iter().enumerate() {
            let band = &self.band[j % bands];
            band.sorted.prefetch_bucket(m);
            if tiered {
                band.mid.prefetch_filter(m);
            }
            band.delta.map.prefetch(band_keys[j]);
            if let Some(d) = &band.frozen {
                d.map.prefetch(band_keys[j]);
            }
        }
        let buckets: Vec<(usize, usize)> = mixed
            .iter()
            .enumerate()
            .map(|(j, &m)| self.band[j % bands].sorted.bucket_fetched(m))
            .collect();
        // The middle tier's buckets, of the keys its filter lets through.
        let mid_buckets: Vec<(usize, usize)> = if tiered {
            mixed
                .iter()
                .enumerate()
                .map(|(j, &m)| {
                    let mid = &self.band[j % bands].mid;
                    if mid.may_hold(m) {
                        mid.bucket_fetched(m)
                    } else {
                        (0, 0)
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        // (lookup, run in the main tier's slots, in the middle tier's, fresh chain
        // head, frozen chain head).
        type Taken = (
            usize,
            std::ops::Range<usize>,
            std::ops::Range<usize>,
            u32,
            u32,
        );
        let mut taken: Vec<Taken> = Vec::new();
        let mut total = 0;
        for (j, (&m, &main)) in mixed.iter().zip(&buckets).enumerate() {
            let band = &self.band[j % bands];
            let main = band.sorted.run_within(main, m);
            let mid = if tiered {
                band.mid.run_within(mid_buckets[j], m)
            } else {
                0..0
            };
            let fresh = band.delta.chain(band_keys[j]);
            let frozen = band
                .frozen
                .as_ref()
                .map_or((END, 0), |d| d.chain(band_keys[j]));
            let size = main.len() + mid.len() + fresh.1 as usize + frozen.1 as usize;
            if size == 0 {
                continue;
            }
            if max_bucket.is_some_and(|cap| size > cap) {
                capped[j / bands] += 1;
                continue;
            }
            if !main.is_empty() {
                prefetch(&band.sorted.slots[main.start]);
                prefetch(&band.sorted.slots[main.end - 1]);
            }
            if !mid.is_empty() {
                prefetch(&band.mid.slots[mid.start]);
            }
            total += size;
            taken.push((j, main, mid, fresh.0, frozen.0));
        }
        // (row, slot), one per band shared.
        let mut found: Vec<u64> = Vec::with_capacity(total);
        for (j, main, mid, fresh, frozen) in taken {
            let band = &self.band[j % bands];
            let row = ((j / bands) as u64) << 32;
            found.extend(band.sorted.slots[main].iter().map(|&s| row | u64::from(s)));
            found.extend(band.mid.slots[mid].iter().map(|&s| row | u64::from(s)));
            let mut chain = |delta: &Delta, base: usize, head: u32| {
                let mut rel = head;
                while rel != END {
                    found.push(row | (base + rel as usize) as u64);
                    rel = delta.next[rel as usize];
                }
            };
            if let Some(d) = &band.frozen {
                chain(d, self.mid_end, frozen);
            }
            chain(&band.delta, self.frozen_end, fresh);
        }
        found.sort_unstable();
        let mut hits: Vec<Hit> = Vec::with_capacity(found.len());
        for f in found {
            let (row, slot) = ((f >> 32) as u32, f as u32);
            match hits.last_mut() {
                Some(last) if last.row == row && last.slot == slot => last.bands += 1,
                _ => hits.push(Hit {
                    row,
                    slot,
                    bands: 1,
                }),
            }
        }
        hits
    }

    /// For each row of band keys, the passages sharing at least one band with it, how
    /// many bands, and (when `sigs` holds the rows' signatures) how many signature
    /// slots agree by the sketch. A bucket of more than `max_bucket` passages
    /// (boilerplate) is left out without being read, and counted in `capped`.
    pub fn query(
        &self,
        band_keys: &[u64],
        sigs: Option<&[u32]>,
        max_bucket: Option<usize>,
    ) -> Result<Vec<Found>, IndexError> {
        let n = self.check_query(band_keys, sigs)?;
        let mut capped = vec![0u32; n];
        let hits = self.hits(band_keys, max_bucket, &mut capped);
        let low: Option<Vec<u16>> = sigs.map(|s| s.iter().map(|&v| v as u16).collect());
        for h in &hits {
            prefetch(&self.keys[h.slot as usize]);
            if low.is_some() {
                self.prefetch_sketch(h.slot as usize);
            }
        }
        let mut out: Vec<Found> = capped
            .into_iter()
            .map(|capped| Found {
                capped,
                ..Found::default()
            })
            .collect();
        let np = self.num_perm;
        for h in hits {
            let (row, slot) = (h.row as usize, h.slot as usize);
            let key = self.keys[slot];
            if key == DEAD {
                continue;
            }
            let found = &mut out[row];
            found.passages.push(key);
            found.bands.push(h.bands);
            found.agree.push(
                low.as_ref()
                    .map_or(0, |l| self.agreement(slot, &l[row * np..(row + 1) * np])),
            );
        }
        Ok(out)
    }

    /// `query` with the rows' signatures, ranked as candidate articles (`rank_hits`
    /// over every row's hits, in `query`'s order): the articles to align with the
    /// query's, strongest first, and per row the buckets left out over `max_bucket`.
    ///
    /// The ranking needs each hit's bands but only whether one of an article's hits
    /// looks alike, so sketches are compared article by article, its hits sharing the
    /// most bands first, up to the first that looks alike: the same answer as
    /// comparing them all, for fewer sketches read.
    pub fn query_ranked(
        &self,
        band_keys: &[u64],
        sigs: &[u32],
        max_bucket: Option<usize>,
        rank: &Rank,
    ) -> Result<Ranked, IndexError> {
        rank.check()?;
        let n = self.check_query(band_keys, Some(sigs))?;
        let mut capped = vec![0u32; n];
        let hits = self.hits(band_keys, max_bucket, &mut capped);
        for h in &hits {
            prefetch(&self.keys[h.slot as usize]);
        }
        // (article, bands, hit) of the articles not excluded, each article's together,
        // by most bands first.
        let mut by_article: Vec<(i64, u32, u32)> = Vec::with_capacity(hits.len());
        for (i, h) in hits.iter().enumerate() {
            let key = self.keys[h.slot as usize];
            if key == DEAD {
                continue;
            }
            let article = key >> rank.unit_bits;
            if rank.exclude != Some(article) {
                by_article.push((article, h.bands, i as u32));
            }
        }
        by_article.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        let groups: Vec<std::ops::Range<usize>> = by_article
            .chunk_by(|a, b| a.0 == b.0)
            .scan(0, |at, g| {
                *at += g.len();
                Some(*at - g.len()..*at)
            })
            .collect();
        let low: Vec<u16> = sigs.iter().map(|&v| v as u16).collect();
        let np = self.num_perm;
        // numpy compares the slot count, as a float, with `min_jaccard * width`.
        let min_agree = rank.min_jaccard * np as f64;
        let hit = |k: usize| hits[by_article[k].2 as usize];
        let alike = |k: usize| {
            let h = hit(k);
            let row = h.row as usize;
            let agree = self.agreement(h.slot as usize, &low[row * np..(row + 1) * np]);
            f64::from(agree) >= min_agree
        };
        for g in &groups {
            self.prefetch_sketch(hit(g.start).slot as usize);
        }
        let (mut strong, mut open) = (Vec::new(), Vec::new());
        for g in groups {
            if alike(g.start) {
                strong.push(g);
            } else if g.len() > 1 {
                open.push(g);
            }
        }
        for g in &open {
            for k in g.start + 1..g.end {
                self.prefetch_sketch(hit(k).slot as usize);
            }
        }
        strong.extend(open.into_iter().filter(|g| (g.start + 1..g.end).any(alike)));
        let mut strong: Vec<(i64, u32, u64)> = strong
            .into_iter()
            .map(|g| {
                let (article, best, _) = by_article[g.start];
                let total = by_article[g].iter().map(|e| u64::from(e.1)).sum();
                (article, best, total)
            })
            .collect();
        strong.sort_unstable_by(Rank::order);
        Ok(Ranked {
            articles: strong.into_iter().map(|(k, _, _)| k).collect(),
            capped,
        })
    }

    /// Ask for the cache lines of the sketch of `slot`.
    fn prefetch_sketch(&self, slot: usize) {
        let sketch = self.sketch(slot);
        for part in sketch.chunks(32) {
            prefetch(&part[0]);
        }
        if let Some(last) = sketch.last() {
            prefetch(last);
        }
    }

    /// Signature slots whose low 16 bits (`low`) equal the sketch of `slot`.
    fn agreement(&self, slot: usize, low: &[u16]) -> u32 {
        agreement(self.sketch(slot), low)
    }
}

/// Places where `a` and `b` (equally long) agree, counted 16 lanes at a time into
/// `u16` lanes (blocks of 1,024 places, 64 per lane, can't overflow them), so that it
/// compiles to vector compares and adds.
fn agreement(a: &[u16], b: &[u16]) -> u32 {
    let mut total = 0;
    for (a, b) in a.chunks(1024).zip(b.chunks(1024)) {
        let (a16, b16) = (a.chunks_exact(16), b.chunks_exact(16));
        total += a16
            .remainder()
            .iter()
            .zip(b16.remainder())
            .filter(|&(x, y)| x == y)
            .count() as u32;
        let mut lanes = [0u16; 16];
        for (x, y) in a16.zip(b16) {
            for i in 0..16 {
                lanes[i] += u16::from(x[i] == y[i]);
            }
        }
        total += lanes.iter().map(|&n| u32::from(n)).sum::<u32>();
    }
    total
}

/// A passage sharing `bands` bands with query row `row`: `PassageIndex::hits`.
#[derive(Debug, Clone, Copy)]
struct Hit {
    row: u32,
    slot: u32,
    bands: u32,
}

/// The passages of many stored articles, as a store indexes them: per article, its
/// signature rows that are not an empty set's and the first of each distinct one
/// (`minhash::distinct_indexable_rows`), keyed `article_key << unit_bits | row`, with
/// their band keys and signature rows.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ArticlePassages {
    pub keys: Vec<i64>,
    pub band_keys: Vec<u64>,
    pub sigs: Vec<u32>,
}

/// `ArticlePassages` of articles `article_keys`, whose signature rows (`num_perm`
/// wide) are `sigs[offsets[i] * num_perm..offsets[i + 1] * num_perm]`; the articles
/// are shared among the cores. The caller checks that `offsets` rises from 0 to the
/// number of rows, one more value than `article_keys`.
pub fn article_passages(
    article_keys: &[i64],
    offsets: &[usize],
    sigs: &[u32],
    num_perm: usize,
    bands: usize,
    rows: usize,
    unit_bits: u32,
) -> ArticlePassages {
    let one = |range: std::ops::Range<usize>| {
        let mut out = ArticlePassages::default();
        for a in range {
            let rows_of = &sigs[offsets[a] * num_perm..offsets[a + 1] * num_perm];
            for unit in crate::minhash::distinct_indexable_rows(rows_of, num_perm) {
                out.keys.push((article_keys[a] << unit_bits) | unit);
                let u = unit as usize;
                out.sigs
                    .extend_from_slice(&rows_of[u * num_perm..(u + 1) * num_perm]);
            }
        }
        out.band_keys = crate::minhash::band_keys(&out.sigs, num_perm, bands, rows);
        out
    };
    let n = article_keys.len();
    let threads = crate::cores();
    if threads < 2 || n < 1024 {
        return one(0..n);
    }
    let per = n.div_ceil(threads);
    let parts: Vec<ArticlePassages> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(per)
            .map(|start| scope.spawn(move || one(start..(start + per).min(n))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut out = ArticlePassages::default();
    for p in parts {
        out.keys.extend(p.keys);
        out.band_keys.extend(p.band_keys);
        out.sigs.extend(p.sigs);
    }
    out
}

/// How hits become ranked candidate articles (`wiretrace.domain.candidates`): a hit is
/// passage `key`, of article `key >> unit_bits`, sharing `bands` bands with a query
/// passage whose signature agrees with its sketch on `agree` slots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rank {
    /// A pair of passages looks alike when `agree >= min_jaccard * num_perm`.
    pub min_jaccard: f64,
    /// An article whose hits are all left out (the query's own, when stored).
    pub exclude: Option<i64>,
    pub unit_bits: u32,
}

/// Candidate articles, strongest first, and per query row its buckets over the cap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ranked {
    pub articles: Vec<i64>,
    pub capped: Vec<u32>,
}

impl Rank {
    fn check(&self) -> Result<(), IndexError> {
        if self.unit_bits > 62 {
            return Err(IndexError(format!(
                "unit_bits must be at most 62, got {}",
                self.unit_bits
            )));
        }
        Ok(())
    }

    /// The articles with at least one pair that looks alike, ordered by the most bands
    /// one of their hits shares (descending), then the bands all their hits share
    /// (descending), then the article key (ascending); excluded articles' hits count
    /// for nothing. Exactly numpy's `rank_candidates` over sketched hits.
    fn rank(&self, num_perm: usize, hits: impl Iterator<Item = (i64, u32, u32)>) -> Vec<i64> {
        // numpy compares the slot count, as a float, with `min_jaccard * width`.
        let min_agree = self.min_jaccard * num_perm as f64;
        // Per article: whether a pair looks alike, the most bands of a pair, the sum.
        let mut per: HashMap<i64, (bool, u32, u64), BuildHasherDefault<KeyHasher>> =
            HashMap::default();
        for (passage, bands, agree) in hits {
            let article = passage >> self.unit_bits;
            if self.exclude == Some(article) {
                continue;
            }
            let e = per.entry(article).or_insert((false, 0, 0));
            e.0 |= f64::from(agree) >= min_agree;
            e.1 = e.1.max(bands);
            e.2 += u64::from(bands);
        }
        let mut strong: Vec<(i64, u32, u64)> = per
            .into_iter()
            .filter(|(_, e)| e.0)
            .map(|(k, e)| (k, e.1, e.2))
            .collect();
        strong.sort_unstable_by(Self::order);
        strong.into_iter().map(|(k, _, _)| k).collect()
    }

    /// The order of ranked (article, best, total): best and total descending, then
    /// the article key ascending.
    fn order(a: &(i64, u32, u64), b: &(i64, u32, u64)) -> std::cmp::Ordering {
        b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0))
    }
}

/// `Rank` over flat hits (`passages`, `bands`, `agree`, equally long) of signatures
/// `num_perm` wide: the ranking `PassageIndex::query_ranked` applies, on its own.
pub fn rank_hits(
    passages: &[i64],
    bands: &[u32],
    agree: &[u32],
    num_perm: usize,
    rank: &Rank,
) -> Result<Vec<i64>, IndexError> {
    rank.check()?;
    if bands.len() != passages.len() || agree.len() != passages.len() {
        return Err(IndexError(format!(
            "hits must be equally long, got {} passages, {} bands and {} agree",
            passages.len(),
            bands.len(),
            agree.len()
        )));
    }
    let hits = passages
        .iter()
        .zip(bands)
        .zip(agree)
        .map(|((&p, &b), &a)| (p, b, a));
    Ok(rank.rank(num_perm, hits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minhash::band_keys;

    /// A slow, obviously-correct reference: every passage compared with every query.
    fn brute(stored: &[(i64, Vec<u64>)], query: &[u64]) -> Vec<(i64, u32)> {
        let mut out: Vec<(i64, u32)> = stored
            .iter()
            .map(|(k, bk)| {
                (
                    *k,
                    bk.iter().zip(query).filter(|(a, b)| a == b).count() as u32,
                )
            })
            .filter(|&(_, n)| n > 0)
            .collect();
        out.sort_unstable();
        out
    }

    fn pseudo_random_sigs(n: usize, num_perm: usize, seed: u64) -> Vec<u32> {
        let mut x = seed.wrapping_mul(2) + 1;
        (0..n * num_perm)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 5) as u32 // few values: bands collide often
            })
            .collect()
    }

    #[test]
    fn merges_without_removals_keep_every_entry_in_key_then_slot_order() {
        // Signature values from a tiny alphabet: band keys repeat a lot, so the
        // delta's keys land inside runs of equal merged keys, at both ends and alone.
        let (bands, rows, num_perm) = (4, 2, 8);
        let sigs: Vec<u32> = pseudo_random_sigs(700, num_perm, 5)
            .iter()
            .map(|v| v % 3)
            .collect();
        let bk = band_keys(&sigs, num_perm, bands, rows);
        let mut index = PassageIndex::new(bands, num_perm, 100).unwrap();
        index.set_merge_inline(false);
        let mut stored: Vec<(i64, Vec<u64>)> = Vec::new();
        // (first, count, whether the merge goes to the middle tier): into an empty
        // index, into an empty middle tier, past an eighth of the main tier, a bulk
        // batch, within an eighth twice, then a bulk batch again.
        let batches = [
            (0, 1, false),
            (1, 99, true),
            (100, 3, false),
            (103, 400, false),
            (503, 30, true),
            (533, 30, true),
            (563, 137, false),
        ];
        for (start, size, minor) in batches {
            let keys: Vec<i64> = (start as i64..(start + size) as i64).collect();
            let at = start * bands..(start + size) * bands;
            index
                .insert(
                    &keys,
                    &bk[at],
                    &sigs[start * num_perm..(start + size) * num_perm],
                )
                .unwrap();
            for (i, &k) in keys.iter().enumerate() {
                stored.push((k, bk[(start + i) * bands..(start + i + 1) * bands].to_vec()));
            }
            index.merge_now(false);
            assert_eq!(index.pending(), 0);
            assert_eq!(index.mid_end > index.main_end, minor, "batch at {start}");
            for band in &index.band {
                let (main, mid) = (&band.sorted, &band.mid);
                assert_eq!(main.keys.len(), index.main_end);
                assert_eq!(mid.keys.len(), index.mid_end - index.main_end);
                assert!(main.slots.iter().all(|&s| (s as usize) < index.main_end));
                assert!(mid.slots.iter().all(|&s| (s as usize) >= index.main_end));
                for tier in [main, mid] {
                    let entries: Vec<(u64, u32)> = tier
                        .keys
                        .iter()
                        .copied()
                        .zip(tier.slots.iter().copied())
                        .collect();
                    assert!(entries.windows(2).all(|w| w[0] < w[1]));
                }
            }
            assert_eq!(index.mid_end, stored.len());
            for q in (0..stored.len()).step_by(7) {
                let query = &bk[q * bands..(q + 1) * bands];
                assert_eq!(pairs(&index, query), brute(&stored, query));
            }
            for q in (0..stored.len()).step_by(23) {
                let row = &bk[q * bands..(q + 1) * bands];
                let sig = &sigs[q * num_perm..(q + 1) * num_perm];
                let low: Vec<u16> = sig.iter().map(|&v| v as u16).collect();
                assert_eq!(index.sketch(q), &low[..], "the sketch of slot {q}");
                assert_eq!(index.find(q as i64, row[0]), Some(q));
            }
        }
    }

    #[test]
    fn after_counts_the_keys_at_most_the_one_asked() {
        let keys = [1u64, 3, 3, 3, 5, 8, 8, 13, 21, 34, 55];
        for key in 0..60 {
            let want = keys.iter().filter(|&&k| k <= key).count();
            assert_eq!(after(&keys, key), want, "key {key}");
        }
        assert_eq!(after(&[], 7), 0);
    }

    #[test]
    fn agrees_with_brute_force_through_inserts_removals_and_merges() {
        let (bands, rows, num_perm) = (4, 2, 8);
        let sigs = pseudo_random_sigs(300, num_perm, 3);
        let bk = band_keys(&sigs, num_perm, bands, rows);
        let mut index = PassageIndex::new(bands, num_perm, 40).unwrap();
        let mut stored: Vec<(i64, Vec<u64>)> = Vec::new();
        for start in (0..300).step_by(25) {
            let keys: Vec<i64> = (start as i64..start as i64 + 25).collect();
            index
                .insert(
                    &keys,
                    &bk[start * bands..(start + 25) * bands],
                    &sigs[start * num_perm..(start + 25) * num_perm],
                )
                .unwrap();
            for (i, &k) in keys.iter().enumerate() {
                stored.push((k, bk[(start + i) * bands..(start + i + 1) * bands].to_vec()));
            }
            // Remove every third passage of the previous batch.
            if start >= 25 {
                let gone: Vec<usize> = (start - 25..start).step_by(3).collect();
                let keys: Vec<i64> = gone.iter().map(|&i| i as i64).collect();
                let rows_bk: Vec<u64> = gone
                    .iter()
                    .flat_map(|&i| bk[i * bands..(i + 1) * bands].to_vec())
                    .collect();
                assert_eq!(index.remove(&keys, &rows_bk).unwrap(), keys.len());
                stored.retain(|(k, _)| !keys.contains(k));
            }
            assert_eq!(index.len(), stored.len());
            for q in 0..20 {
                let query = &bk[q * bands..(q + 1) * bands];
                assert_eq!(pairs(&index, query), brute(&stored, query));
            }
        }
        index.compact();
        assert_eq!(index.len(), stored.len());
    }

    /// The index's answers as (passage, bands) pairs, sorted, for `brute`.
    fn pairs(index: &PassageIndex, query: &[u64]) -> Vec<(i64, u32)> {
        let got = &index.query(query, None, None).unwrap()[0];
        let mut pairs: Vec<(i64, u32)> = got
            .passages
            .iter()
            .copied()
            .zip(got.bands.iter().copied())
            .collect();
        pairs.sort_unstable();
        pairs
    }

    #[test]
    fn writes_and_reads_between_the_phases_of_a_merge_agree_with_brute_force() {
        let (bands, rows, num_perm) = (4, 2, 8);
        let n = 400;
        let sigs = pseudo_random_sigs(n, num_perm, 11);
        let bk = band_keys(&sigs, num_perm, bands, rows);
        let row = |i: usize| bk[i * bands..(i + 1) * bands].to_vec();
        let mut index = PassageIndex::new(bands, num_perm, 1_000_000).unwrap();
        index.set_merge_inline(false);
        let mut stored: Vec<(i64, Vec<u64>)> = Vec::new();
        let insert = |index: &mut PassageIndex, stored: &mut Vec<(i64, Vec<u64>)>, i: usize| {
            index
                .insert(
                    &[i as i64],
                    &row(i),
                    &sigs[i * num_perm..(i + 1) * num_perm],
                )
                .unwrap();
            stored.push((i as i64, row(i)));
        };
        let remove = |index: &mut PassageIndex, stored: &mut Vec<(i64, Vec<u64>)>, i: usize| {
            let was = stored.iter().any(|(k, _)| *k == i as i64);
            assert_eq!(
                index.remove(&[i as i64], &row(i)).unwrap(),
                usize::from(was)
            );
            stored.retain(|(k, _)| *k != i as i64);
        };
        let check = |index: &PassageIndex, stored: &[(i64, Vec<u64>)]| {
            assert_eq!(index.len(), stored.len());
            for q in (0..n).step_by(7) {
                assert_eq!(pairs(index, &row(q)), brute(stored, &row(q)));
            }
            // Every passage's slot, in whichever tier, holds its sketch.
            for (k, r) in stored {
                let slot = index.find(*k, r[0]).expect("a stored passage is found");
                let i = *k as usize;
                let low: Vec<u16> = sigs[i * num_perm..(i + 1) * num_perm]
                    .iter()
                    .map(|&v| v as u16)
                    .collect();
                assert_eq!(index.sketch(slot), &low[..]);
            }
        };
        let mut next = 0;
        let mut minor = Vec::new();
        for round in 0..6 {
            for _ in 0..50 {
                insert(&mut index, &mut stored, next);
                next += 1;
            }
            // Some merged, some frozen, some in the delta: removed before the merge.
            for i in (round * 13..next).step_by(9) {
                remove(&mut index, &mut stored, i);
            }
            let job = index.begin_merge().expect("something to merge");
            minor.push(job.minor); // a minor merge keeps the removed passages tombstoned
            assert!(index.merging());
            check(&index, &stored);
            // While the job runs: new passages, removals of merged, frozen and new
            // ones, and removals of passages already gone.
            for _ in 0..15 {
                insert(&mut index, &mut stored, next);
                next += 1;
            }
            for i in (round * 5..next).step_by(4) {
                remove(&mut index, &mut stored, i);
            }
            check(&index, &stored);
            let merged = job.run();
            check(&index, &stored);
            index.finish_merge(merged);
            assert!(!index.merging());
            check(&index, &stored);
            // A removed passage reinserted under the same key is found again.
            let back = round * 5;
            insert(&mut index, &mut stored, back);
            check(&index, &stored);
        }
        assert!(minor.contains(&true) && minor.contains(&false), "{minor:?}");
        index.compact();
        check(&index, &stored);
        assert_eq!(index.dead, 0);
    }

    #[test]
    fn a_merge_that_never_finished_is_handed_out_again() {
        let (bands, rows, num_perm) = (4, 2, 8);
        let sigs = pseudo_random_sigs(60, num_perm, 13);
        let bk = band_keys(&sigs, num_perm, bands, rows);
        let mut index = PassageIndex::new(bands, num_perm, 1000).unwrap();
        index.set_merge_inline(false);
        let keys: Vec<i64> = (0..60).collect();
        index
            .insert(&keys[..30], &bk[..30 * bands], &sigs[..30 * num_perm])
            .unwrap();
        drop(index.begin_merge()); // the job failed
        index
            .insert(&keys[30..], &bk[30 * bands..], &sigs[30 * num_perm..])
            .unwrap();
        let job = index.begin_merge().unwrap();
        index.finish_merge(job.run());
        assert_eq!(index.pending(), 30);
        index.compact();
        assert_eq!(index.pending(), 0);
        let stored: Vec<(i64, Vec<u64>)> = (0..60)
            .map(|i| (i as i64, bk[i * bands..(i + 1) * bands].to_vec()))
            .collect();
        for q in 0..60 {
            assert_eq!(
                pairs(&index, &bk[q * bands..(q + 1) * bands]),
                brute(&stored, &bk[q * bands..(q + 1) * bands])
            );
        }
    }

    #[test]
    fn article_passages_are_each_articles_distinct_indexable_rows() {
        let (bands, rows, num_perm) = (4, 2, 8);
        let mut sigs = pseudo_random_sigs(3000, num_perm, 17);
        sigs.copy_within(0..8, 8); // article 0 repeats its row
        sigs[16..24].fill(crate::minhash::EMPTY); // article 1 has an empty set's
        let offsets: Vec<usize> = (0..=1500).map(|i| i * 2).collect();
        let keys: Vec<i64> = (0..1500).map(|i| 3 * i + 1).collect();
        let got = article_passages(&keys, &offsets, &sigs, num_perm, bands, rows, 20);
        let mut expected = ArticlePassages::default();
        for (a, &key) in keys.iter().enumerate() {
            let part = &sigs[offsets[a] * num_perm..offsets[a + 1] * num_perm];
            for unit in crate::minhash::distinct_indexable_rows(part, num_perm) {
                let u = unit as usize;
                let row = &part[u * num_perm..(u + 1) * num_perm];
                expected.keys.push((key << 20) | unit);
                expected.sigs.extend_from_slice(row);
                expected
                    .band_keys
                    .extend(band_keys(row, num_perm, bands, rows));
            }
        }
        assert_eq!(got, expected);
        assert_eq!(got.keys.len(), 3000 - 2);
    }

    #[test]
    fn the_cap_leaves_out_big_buckets_and_the_sketch_counts_agreement() {
        let num_perm = 4;
        let sig = [7u32, 8, 9, 10];
        let other = [7u32, 8, 0x1_0009, 11]; // same band 0; slot 2 agrees in its low 16 bits
        let mut index = PassageIndex::new(2, num_perm, 1000).unwrap();
        let bk = band_keys(&sig, num_perm, 2, 2);
        let bk_other = band_keys(&other, num_perm, 2, 2);
        index
            .insert(
                &[1, 2, 3],
                &[bk.clone(), bk.clone(), bk.clone()].concat(),
                &[sig; 3].concat(),
            )
            .unwrap();
        index.insert(&[4], &bk_other, &other).unwrap();
        let found = &index.query(&bk, Some(&sig), None).unwrap()[0];
        assert_eq!(found.passages, vec![1, 2, 3, 4]);
        assert_eq!(found.bands, vec![2, 2, 2, 1]);
        assert_eq!(found.agree, vec![4, 4, 4, 3]);
        let capped = &index.query(&bk, None, Some(3)).unwrap()[0];
        assert_eq!(capped.capped, 1); // band 0 holds 4 passages; band 1 holds 3
        assert_eq!(capped.passages, vec![1, 2, 3]);
        index.compact();
        assert_eq!(&index.query(&bk, Some(&sig), None).unwrap()[0], found);
    }

    #[test]
    fn ranking_orders_by_best_then_total_then_key_and_drops_weak_and_excluded() {
        let rank = |exclude| Rank {
            min_jaccard: 0.5,
            exclude,
            unit_bits: 4,
        };
        // (passage, bands, agree) of articles 1..=5; 8 slots, so 4 agreeing is alike.
        let hits: [(i64, u32, u32); 8] = [
            (0x10, 3, 4), // article 1: best 3, total 4
            (0x11, 1, 0),
            (0x20, 3, 1), // article 2: best 3, total 5, alike through its second hit
            (0x21, 2, 8),
            (0x30, 5, 3), // article 3: never alike
            (0x40, 3, 4), // article 4: best 3, total 4, like article 1
            (0x41, 1, 2),
            (0x50, 1, 8), // article 5: best 1
        ];
        let (p, b, a): (Vec<i64>, Vec<u32>, Vec<u32>) = (
            hits.iter().map(|h| h.0).collect(),
            hits.iter().map(|h| h.1).collect(),
            hits.iter().map(|h| h.2).collect(),
        );
        let got = rank_hits(&p, &b, &a, 8, &rank(None)).unwrap();
        assert_eq!(got, vec![2, 1, 4, 5]);
        let got = rank_hits(&p, &b, &a, 8, &rank(Some(2))).unwrap();
        assert_eq!(got, vec![1, 4, 5]);
        assert!(rank_hits(&[], &[], &[], 8, &rank(None)).unwrap().is_empty());
        assert!(rank_hits(&p, &b[1..], &a, 8, &rank(None)).is_err());
        let mut bad = rank(None);
        bad.unit_bits = 63;
        assert!(rank_hits(&p, &b, &a, 8, &bad).is_err());
    }

    #[test]
    fn query_ranked_ranks_the_query_hits() {
        let (bands, rows, num_perm) = (4, 2, 8);
        let sigs = pseudo_random_sigs(300, num_perm, 9);
        let mut stored = sigs.clone();
        stored.extend_from_slice(&sigs[..100 * num_perm]); // articles 3.. repeat 0..
        let bk = band_keys(&stored, num_perm, bands, rows);
        let keys: Vec<i64> = (0..400).map(|i| ((i / 10) << 20) | (i % 10)).collect();
        let mut index = PassageIndex::new(bands, num_perm, 50).unwrap();
        index.insert(&keys, &bk, &stored).unwrap();
        index.compact();
        let query = &stored[..20 * num_perm];
        let qk = &bk[..20 * bands];
        for exclude in [None, Some(0)] {
            for cap in [None, Some(1)] {
                let rank = Rank {
                    min_jaccard: 0.5,
                    exclude,
                    unit_bits: 20,
                };
                let found = index.query(qk, Some(query), cap).unwrap();
                let (mut p, mut b, mut a) = (vec![], vec![], vec![]);
                for f in &found {
                    p.extend_from_slice(&f.passages);
                    b.extend_from_slice(&f.bands);
                    a.extend_from_slice(&f.agree);
                }
                let got = index.query_ranked(qk, query, cap, &rank).unwrap();
                assert_eq!(
                    got.articles,
                    rank_hits(&p, &b, &a, num_perm, &rank).unwrap()
                );
                let capped: Vec<u32> = found.iter().map(|f| f.capped).collect();
                assert_eq!(got.capped, capped);
                // Articles 30 and 31 are copies of the query's 0 and 1 (its rows).
                if cap.is_none() {
                    for copy in [1, 30, 31] {
                        assert!(got.articles.contains(&copy));
                    }
                    assert_eq!(got.articles.contains(&0), exclude.is_none());
                }
            }
        }
    }

    #[test]
    fn a_bulk_load_answers_as_batch_inserts_once_merged() {
        let (bands, rows, num_perm) = (4, 2, 8);
        let sigs = pseudo_random_sigs(200, num_perm, 5);
        let bk = band_keys(&sigs, num_perm, bands, rows);
        let keys: Vec<i64> = (0..200).collect();
        let part = |r: std::ops::Range<usize>| {
            (
                &keys[r.clone()],
                &bk[r.start * bands..r.end * bands],
                &sigs[r.start * num_perm..r.end * num_perm],
            )
        };
        let mut small = PassageIndex::new(bands, num_perm, 1000).unwrap();
        for start in (0..200).step_by(10) {
            let (k, b, s) = part(start..start + 10);
            small.insert(k, b, s).unwrap();
        }
        let mut bulk = PassageIndex::new(bands, num_perm, 50).unwrap();
        let (k, b, s) = part(0..5);
        bulk.insert(k, b, s).unwrap(); // into the delta
        for start in (5..200).step_by(65) {
            let (k, b, s) = part(start..start + 65);
            bulk.insert(k, b, s).unwrap(); // held for one merge
        }
        assert!(bulk.needs_merge());
        assert!(bulk.query(&bk[..bands], None, None).is_err());
        bulk.compact();
        assert!(!bulk.needs_merge());
        assert_eq!(bulk.len(), 200);
        let (q, s) = (&bk[..40 * bands], &sigs[..40 * num_perm]);
        assert_eq!(
            bulk.query(q, Some(s), None).unwrap(),
            small.query(q, Some(s), None).unwrap()
        );
    }

    #[test]
    fn sort_mixed_sorts_as_a_comparison_sort_does() {
        // One pass (under 8,192 entries) and two; few distinct keys and many.
        for (n, distinct) in [(5000u32, 700u64), (60_000, 5000), (60_000, u64::MAX)] {
            let mut x = 7u64;
            let entries: Vec<(u64, u32)> = (0..n)
                .map(|i| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (fmix64(x % distinct), i) // repeated keys too
                })
                .collect();
            let mut expected = entries.clone();
            expected.sort_unstable();
            let (bulk, add) = entries.split_at(n as usize * 3 / 5);
            let (keys, slots) = sort_mixed(bulk.iter().copied(), add.to_vec());
            let got: Vec<(u64, u32)> = keys.into_iter().zip(slots).collect();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn chains_answer_as_a_hash_map_through_growth_and_collisions() {
        let mut chains = Chains::default();
        let mut reference: HashMap<u64, (u32, u32)> = HashMap::new();
        assert_eq!(chains.get(7), (END, 0));
        chains.prefetch(7); // nothing to ask for yet
        let mut x = 1u64;
        for round in 0..40u32 {
            chains.reserve(100);
            for i in 0..100u32 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                // Few distinct keys, and keys that share their home (their top bits
                // agree after the mix): long chains and long probe runs.
                let key = match i % 3 {
                    0 => x % 500,
                    1 => (x % 64) << 40,
                    _ => x,
                };
                let e = chains.slot(key);
                let rel = round * 100 + i;
                (e.1, e.2) = (rel, e.2 + 1);
                let r = reference.entry(key).or_insert((END, 0));
                *r = (rel, r.1 + 1);
            }
            assert!(chains.used * 2 <= chains.entries.len());
            assert_eq!(chains.used, reference.len());
        }
        for (&key, &chain) in &reference {
            assert_eq!(chains.get(key), chain);
        }
        for key in [1u64 << 63, 12345, u64::MAX, 0] {
            assert_eq!(
                chains.get(key),
                reference.get(&key).copied().unwrap_or((END, 0))
            );
        }
        let mut listed: Vec<(u64, u32)> = chains.iter().collect();
        listed.sort_unstable();
        let mut expected: Vec<(u64, u32)> = reference.iter().map(|(&k, v)| (k, v.0)).collect();
        expected.sort_unstable();
        assert_eq!(listed, expected);
    }

    #[test]
    fn agreement_counts_equal_places_as_a_plain_comparison_does() {
        let mut x = 3u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 3) as u16
        };
        for len in [0, 1, 15, 16, 17, 64, 100, 1024, 1025, 3000] {
            let a: Vec<u16> = (0..len).map(|_| next()).collect();
            let b: Vec<u16> = (0..len).map(|_| next()).collect();
            let plain = a.iter().zip(&b).filter(|(p, q)| p == q).count() as u32;
            assert_eq!(agreement(&a, &b), plain);
            assert_eq!(agreement(&a, &a), len as u32);
        }
    }

    #[test]
    fn query_ranked_ranks_as_rank_hits_through_writes_merges_and_thresholds() {
        // Articles of several passages, each a copy of a query row with some slots
        // changed: hits of one article differ in bands and in agreement, so that the
        // first hit compared is often not the one that looks alike.
        let (bands, rows, num_perm, unit_bits) = (8, 2, 16, 4);
        let mut x = 5u64;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        let query_rows = 12;
        let query: Vec<u32> = (0..query_rows * num_perm)
            .map(|_| next(1000) as u32)
            .collect();
        let qk = band_keys(&query, num_perm, bands, rows);
        let mut index = PassageIndex::new(bands, num_perm, 1_000_000).unwrap();
        index.set_merge_inline(false);
        let mut next_article = 0i64;
        let mut add = |index: &mut PassageIndex, next: &mut dyn FnMut(u64) -> u64| {
            let mut keys = vec![];
            let mut sigs = vec![];
            for _ in 0..30 {
                let units = 1 + next(6) as usize;
                for unit in 0..units {
                    let row = next(query_rows as u64) as usize;
                    let mut sig = query[row * num_perm..(row + 1) * num_perm].to_vec();
                    for _ in 0..next(num_perm as u64 + 1) {
                        let at = next(num_perm as u64) as usize;
                        sig[at] = 1000 + next(70_000) as u32; // low 16 bits may agree
                    }
                    keys.push((next_article << unit_bits) | unit as i64);
                    sigs.extend(sig);
                }
                next_article += 1;
            }
            let bk = band_keys(&sigs, num_perm, bands, rows);
            index.insert(&keys, &bk, &sigs).unwrap();
            (keys, bk)
        };
        let check = |index: &PassageIndex| {
            for min_jaccard in [0.0, 0.3, 0.5, 0.75, 1.0] {
                for exclude in [None, Some(3), Some(40)] {
                    for cap in [None, Some(4)] {
                        let rank = Rank {
                            min_jaccard,
                            exclude,
                            unit_bits,
                        };
                        let found = index.query(&qk, Some(&query), cap).unwrap();
                        let (mut p, mut b, mut a) = (vec![], vec![], vec![]);
                        for f in &found {
                            p.extend_from_slice(&f.passages);
                            b.extend_from_slice(&f.bands);
                            a.extend_from_slice(&f.agree);
                        }
                        let got = index.query_ranked(&qk, &query, cap, &rank).unwrap();
                        let expected = rank_hits(&p, &b, &a, num_perm, &rank).unwrap();
                        assert_eq!(got.articles, expected);
                        let capped: Vec<u32> = found.iter().map(|f| f.capped).collect();
                        assert_eq!(got.capped, capped);
                    }
                }
            }
        };
        // Merged, then frozen by a running merge, then in the delta; some removed.
        let (k0, b0) = add(&mut index, &mut next);
        index.compact();
        let (k1, b1) = add(&mut index, &mut next);
        let job = index.begin_merge().unwrap();
        add(&mut index, &mut next);
        let gone: Vec<usize> = (0..k0.len()).step_by(5).collect();
        let keys: Vec<i64> = gone.iter().map(|&i| k0[i]).collect();
        let gone_bk: Vec<u64> = gone
            .iter()
            .flat_map(|&i| b0[i * bands..(i + 1) * bands].to_vec())
            .collect();
        assert_eq!(index.remove(&keys, &gone_bk).unwrap(), keys.len());
        assert_eq!(index.remove(&k1[..3], &b1[..3 * bands]).unwrap(), 3);
        check(&index);
        index.finish_merge(job.run());
        check(&index);
        index.compact();
        check(&index);
    }

    #[test]
    fn bad_shapes_are_errors_not_panics() {
        let mut index = PassageIndex::new(2, 4, 10).unwrap();
        assert!(index.insert(&[1], &[1], &[1, 2, 3, 4]).is_err());
        assert!(index.insert(&[1], &[1, 2], &[1]).is_err());
        assert!(index.insert(&[DEAD], &[1, 2], &[1, 2, 3, 4]).is_err());
        assert!(index.remove(&[1], &[1]).is_err());
        assert!(index.query(&[1, 2, 3], None, None).is_err());
        assert!(PassageIndex::new(0, 4, 10).is_err());
    }
}
