//! The embedded store's in-memory passage index: banded LSH over 64-bit band keys, and
//! a compact sketch per passage for the candidate check.
//!
//! Layout, per passage (a *slot*): its key (`i64`) and a sketch, the low 16 bits of
//! each of its `num_perm` signature slots. Per band: the band keys, put through a
//! bijective mix (so that even packed, skewed MinHash values spread evenly) and sorted
//! (`u64`), beside the slot holding each (`u32`): 12 bytes per band per passage. A
//! directory of the mixed keys' top bits, one `u32` per 8 to 16 entries, narrows a
//! search to one or two cache lines (a plain binary search over millions of keys
//! costs ~20 cache misses, and a lookup makes one per band per passage). New passages go to a delta (a hash map per band from band key to a chain of
//! slots) that is merged into the arrays once it holds `delta_limit` passages, or a
//! sixteenth of the index when that is more (so merges cost O(1) amortised per
//! passage). Removed passages are tombstoned (their key set to `DEAD`) and dropped, and
//! the slots renumbered, at the next merge.
//!
//! Answers are exactly `MinHashLSH`'s over the band keys: a passage is found when one
//! of its band keys equals the query's. The sketch only estimates the Jaccard
//! similarity of two passages (the share of signature slots that agree); two 16-bit
//! fragments agree by chance with probability 2**-16, so the estimate is the full
//! signatures' up to about one slot in 65,536.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

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

type KeyMap = HashMap<u64, (u32, u32), BuildHasherDefault<KeyHasher>>;

/// What went wrong with a call's arguments; the binding turns it into `ValueError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexError(pub String);

impl std::fmt::Display for IndexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for IndexError {}

/// MurmurHash3's 64-bit finaliser: a bijection, so equal mixed keys mean equal keys.
#[inline]
fn mix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    k ^= k >> 33;
    k = k.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    k ^ (k >> 33)
}

#[derive(Default)]
struct Band {
    /// Mixed band keys, sorted.
    keys: Vec<u64>,
    slots: Vec<u32>,
    /// `dir[t]` is the first entry whose mixed key's top `bits` bits are `>= t`.
    dir: Vec<u32>,
    bits: u32,
    /// Band key -> (most recent slot, passages in the chain), for the delta's slots.
    delta: KeyMap,
    /// The next slot of each delta slot's chain (indexed by `slot - delta_base`).
    next: Vec<u32>,
    /// Mixed keys of big batches' passages, slot after slot from `bulk_first`,
    /// unsorted until the next merge: a bulk load sorts once at the end instead of
    /// merging batch after batch.
    bulk: Vec<u64>,
}

impl Band {
    /// The sorted arrays' run of band key `key`.
    fn run(&self, key: u64) -> std::ops::Range<usize> {
        if self.keys.is_empty() {
            return 0..0;
        }
        let m = mix(key);
        let t = self.top(m);
        let (start, end) = (self.dir[t] as usize, self.dir[t + 1] as usize);
        let within = &self.keys[start..end];
        let lo = within.partition_point(|&k| k < m);
        let hi = lo + within[lo..].partition_point(|&k| k <= m);
        start + lo..start + hi
    }

    fn top(&self, mixed: u64) -> usize {
        if self.bits == 0 {
            0
        } else {
            (mixed >> (64 - self.bits)) as usize
        }
    }

    /// Fold this band's delta, bulk (from slot `bulk_first` on) and `batch`'s keys
    /// for band `b` into the sorted arrays, dropping and renumbering slots by `remap`.
    #[allow(clippy::too_many_arguments)]
    fn merge(
        &mut self,
        b: usize,
        bands: usize,
        delta_base: usize,
        bulk_first: usize,
        batch: Option<(usize, &[u64])>,
        remap: Option<&[u32]>,
    ) {
        let renumber = |slot: u32| remap.map_or(slot, |m| m[slot as usize]);
        let mut add: Vec<(u64, u32)> =
            Vec::with_capacity(self.next.len() + batch.map_or(0, |(_, keys)| keys.len() / bands));
        for (&key, &(head, _)) in &self.delta {
            let mut slot = head;
            while slot != END {
                add.push((mix(key), renumber(slot)));
                slot = self.next[slot as usize - delta_base];
            }
        }
        if let Some((first, keys)) = batch {
            add.extend(
                keys.chunks_exact(bands)
                    .enumerate()
                    .map(|(i, row)| (mix(row[b]), renumber((first + i) as u32))),
            );
        }
        add.retain(|e| e.1 != END);
        let bulk = std::mem::take(&mut self.bulk);
        let bulk_entries = bulk
            .iter()
            .enumerate()
            .map(|(i, &k)| (k, renumber((bulk_first + i) as u32)))
            .filter(|e| e.1 != END);
        let (add_keys, add_slots) = sort_mixed(bulk_entries, add);
        if self.keys.is_empty() {
            // A bulk load: the sorted entries are the arrays.
            self.keys = add_keys;
            self.slots = add_slots;
            self.index();
            self.delta = KeyMap::default();
            self.next = Vec::new();
            return;
        }
        let add: Vec<(u64, u32)> = add_keys.into_iter().zip(add_slots).collect();
        let size = self.keys.len() + add.len();
        let mut keys = Vec::with_capacity(size);
        let mut slots = Vec::with_capacity(size);
        let mut j = 0;
        for (&k, &s) in self.keys.iter().zip(&self.slots) {
            let s = renumber(s);
            if s == END {
                continue;
            }
            while j < add.len() && add[j].0 < k {
                keys.push(add[j].0);
                slots.push(add[j].1);
                j += 1;
            }
            keys.push(k);
            slots.push(s);
        }
        for &(k, s) in &add[j..] {
            keys.push(k);
            slots.push(s);
        }
        keys.shrink_to_fit();
        slots.shrink_to_fit();
        self.keys = keys;
        self.slots = slots;
        self.index();
        self.delta = KeyMap::default();
        self.next = Vec::new();
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
}

/// The entries of `bulk` and `add` sorted by mixed key, as parallel arrays. The keys
/// are uniform, so one counting pass on their top bits leaves buckets of a few
/// entries, each sorted on its own: linear, and writing straight into the arrays (a
/// comparison sort of a bulk load's millions of entries per band, through a vector of
/// pairs, was most of a restart's time and twice its memory).
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
    let top = |k: u64| (k >> (64 - bits)) as usize;
    let mut starts = vec![0usize; (1 << bits) + 1];
    for (k, _) in bulk.clone().chain(add.iter().copied()) {
        starts[top(k) + 1] += 1;
    }
    for t in 1..starts.len() {
        starts[t] += starts[t - 1];
    }
    let mut keys = vec![0u64; n];
    let mut slots = vec![0u32; n];
    let mut at = starts.clone();
    for (k, s) in bulk.chain(add) {
        let t = top(k);
        keys[at[t]] = k;
        slots[at[t]] = s;
        at[t] += 1;
    }
    for w in starts.windows(2) {
        // Insertion sort: a bucket holds about four entries.
        for i in w[0] + 1..w[1] {
            let (k, s) = (keys[i], slots[i]);
            let mut j = i;
            while j > w[0] && (keys[j - 1], slots[j - 1]) > (k, s) {
                keys[j] = keys[j - 1];
                slots[j] = slots[j - 1];
                j -= 1;
            }
            keys[j] = k;
            slots[j] = s;
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
    /// Whether `insert` merges the delta itself once it is full; a store that merges
    /// on a thread of its own (`compact`) turns this off.
    merge_inline: bool,
    /// Passage key per slot (`DEAD` once removed).
    keys: Vec<i64>,
    /// `num_perm` low halves of signature slots per slot.
    sketches: Vec<u16>,
    band: Vec<Band>,
    /// Slots from here on are in the delta, not in the sorted arrays.
    delta_base: usize,
    /// The slot of the first bulk-loaded passage waiting for a merge.
    bulk_first: usize,
    dead: usize,
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
            sketches: Vec::new(),
            band: (0..bands).map(|_| Band::default()).collect(),
            delta_base: 0,
            bulk_first: 0,
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
        let mut total = self.keys.capacity() * 8 + self.sketches.capacity() * 2;
        for b in &self.band {
            total += b.keys.capacity() * 8 + b.slots.capacity() * 4 + b.next.capacity() * 4;
            total += b.dir.capacity() * 4 + b.bulk.capacity() * 8;
            total += b.delta.capacity() * (std::mem::size_of::<(u64, (u32, u32))>() + 1);
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
            // Grow by a sixteenth, not by doubling: the sketches are most of the memory.
            let more = keys.len() + (first / 16).max(1024);
            self.keys.reserve_exact(more);
            self.sketches.reserve_exact(more * self.num_perm);
        }
        self.keys.extend_from_slice(keys);
        self.sketches.extend(sigs.iter().map(|&v| v as u16));
        let pending = self.keys.len() - self.delta_base;
        if keys.len() >= self.delta_limit {
            // A bulk load: held unsorted, sorted once by the next merge.
            if !self.needs_merge() {
                self.bulk_first = first;
            }
            let bands = self.bands;
            for (b, band) in self.band.iter_mut().enumerate() {
                band.bulk
                    .extend(band_keys.chunks_exact(bands).map(|row| mix(row[b])));
            }
        } else if self.needs_merge()
            || (self.merge_inline && pending >= self.delta_limit.max(self.len() / 16))
        {
            self.merge(Some((first, band_keys)));
        } else {
            for (b, band) in self.band.iter_mut().enumerate() {
                for (i, row) in band_keys.chunks_exact(self.bands).enumerate() {
                    let slot = (first + i) as u32;
                    let entry = band.delta.entry(row[b]).or_insert((END, 0));
                    band.next.push(entry.0);
                    *entry = (slot, entry.1 + 1);
                }
            }
        }
        Ok(())
    }

    /// The slot of passage `key`, found through its first band key.
    fn find(&self, key: i64, band_key: u64) -> Option<usize> {
        let band = &self.band[0];
        let run = band.run(band_key);
        if let Some(&slot) = band.slots[run]
            .iter()
            .find(|&&s| self.keys[s as usize] == key)
        {
            return Some(slot as usize);
        }
        let mut slot = band.delta.get(&band_key).map_or(END, |e| e.0);
        while slot != END {
            if self.keys[slot as usize] == key {
                return Some(slot as usize);
            }
            slot = band.next[slot as usize - self.delta_base];
        }
        None
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
        if self.needs_merge() {
            self.merge(None);
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

    /// Leave merging to `compact` (true: `insert` merges a full delta itself).
    pub fn set_merge_inline(&mut self, inline: bool) {
        self.merge_inline = inline;
    }

    /// Passages inserted since the last merge, waiting in the delta or a bulk load.
    pub fn pending(&self) -> usize {
        self.keys.len() - self.delta_base
    }

    /// Whether bulk-loaded passages wait for a merge: `query` needs it done first.
    pub fn needs_merge(&self) -> bool {
        !self.band[0].bulk.is_empty()
    }

    /// Merge now (after a bulk load, or to free removed passages).
    pub fn compact(&mut self) {
        if self.keys.len() > self.delta_base || self.dead > 0 {
            self.merge(None);
        }
    }

    /// Fold the delta (and `batch`: its first slot and band keys, not in the delta)
    /// into the sorted arrays, dropping removed passages and renumbering the slots.
    fn merge(&mut self, batch: Option<(usize, &[u64])>) {
        let remap: Option<Vec<u32>> = (self.dead > 0).then(|| {
            let mut next = 0u32;
            self.keys
                .iter()
                .map(|&k| {
                    if k == DEAD {
                        END
                    } else {
                        next += 1;
                        next - 1
                    }
                })
                .collect()
        });
        let bands = self.bands;
        let (delta_base, bulk_first) = (self.delta_base, self.bulk_first);
        let remap = remap.as_deref();
        // Bands merge independently: spread them over the cores (a bulk load at start
        // is the one long merge).
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(bands);
        let per = bands.div_ceil(threads);
        std::thread::scope(|scope| {
            for (c, chunk) in self.band.chunks_mut(per).enumerate() {
                scope.spawn(move || {
                    for (i, band) in chunk.iter_mut().enumerate() {
                        band.merge(c * per + i, bands, delta_base, bulk_first, batch, remap);
                    }
                });
            }
        });
        if remap.is_some() {
            let num_perm = self.num_perm;
            let mut w = 0;
            for r in 0..self.keys.len() {
                if self.keys[r] != DEAD {
                    self.keys[w] = self.keys[r];
                    self.sketches
                        .copy_within(r * num_perm..(r + 1) * num_perm, w * num_perm);
                    w += 1;
                }
            }
            self.keys.truncate(w);
            self.sketches.truncate(w * num_perm);
            self.dead = 0;
        }
        self.keys.shrink_to_fit();
        self.sketches.shrink_to_fit();
        self.delta_base = self.keys.len();
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
        let mut counts: HashMap<u32, u32, BuildHasherDefault<KeyHasher>> = HashMap::default();
        let mut out = Vec::with_capacity(n);
        for (i, row) in band_keys.chunks_exact(self.bands).enumerate() {
            counts.clear();
            let mut found = Found::default();
            for (band, &key) in self.band.iter().zip(row) {
                let run = band.run(key);
                let chain = band.delta.get(&key).copied().unwrap_or((END, 0));
                let size = run.len() + chain.1 as usize;
                if size == 0 {
                    continue;
                }
                if max_bucket.is_some_and(|cap| size > cap) {
                    found.capped += 1;
                    continue;
                }
                for &slot in &band.slots[run] {
                    *counts.entry(slot).or_insert(0) += 1;
                }
                let mut slot = chain.0;
                while slot != END {
                    *counts.entry(slot).or_insert(0) += 1;
                    slot = band.next[slot as usize - self.delta_base];
                }
            }
            let mut hits: Vec<(u32, u32)> = counts
                .iter()
                .filter(|(&s, _)| self.dead == 0 || self.keys[s as usize] != DEAD)
                .map(|(&s, &c)| (s, c))
                .collect();
            hits.sort_unstable();
            let mine = sigs.map(|s| &s[i * self.num_perm..(i + 1) * self.num_perm]);
            for (slot, bands) in hits {
                let slot = slot as usize;
                found.passages.push(self.keys[slot]);
                found.bands.push(bands);
                found
                    .agree
                    .push(mine.map_or(0, |m| self.agreement(slot, m)));
            }
            out.push(found);
        }
        Ok(out)
    }

    /// Signature slots of `sig` whose low 16 bits equal the sketch of `slot`.
    fn agreement(&self, slot: usize, sig: &[u32]) -> u32 {
        let sketch = &self.sketches[slot * self.num_perm..(slot + 1) * self.num_perm];
        sketch
            .iter()
            .zip(sig)
            .filter(|&(&a, &b)| a == b as u16)
            .count() as u32
    }
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
                let got = &index.query(query, None, None).unwrap()[0];
                let pairs: Vec<(i64, u32)> = got
                    .passages
                    .iter()
                    .copied()
                    .zip(got.bands.iter().copied())
                    .collect();
                let mut pairs = pairs;
                pairs.sort_unstable();
                assert_eq!(pairs, brute(&stored, query));
            }
        }
        index.compact();
        assert_eq!(index.len(), stored.len());
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
        let mut x = 7u64;
        let entries: Vec<(u64, u32)> = (0..5000u32)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (mix(x % 700), i) // repeated keys too
            })
            .collect();
        let mut expected = entries.clone();
        expected.sort_unstable();
        let (bulk, add) = entries.split_at(3000);
        let (keys, slots) = sort_mixed(bulk.iter().copied(), add.to_vec());
        let got: Vec<(u64, u32)> = keys.into_iter().zip(slots).collect();
        assert_eq!(got, expected);
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
