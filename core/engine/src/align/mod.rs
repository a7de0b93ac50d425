//! The alignment: everything a comparison does once both texts are prepared.
//!
//! ```text
//! band join + unit Dice -> seeds -> extend -> clusters -> refined passages
//!     -> overlaps resolved, merged, through runs -> matches -> exact runs split out
//! ```
//!
//! The Python side prepares each text (`wiretrace.engine.detect.Detector.prepare`) and
//! hands its arrays over once as a `Doc`; `compare` returns the matches as token
//! ranges with their similarity and kind, and Python turns them into character
//! offsets and confidences.

pub mod compare;
pub mod exact;
pub mod indel;
pub mod passages;
pub mod seeds;
pub mod work;

pub use compare::{compare, Found, Kind};
pub use exact::Windows;
pub use work::{Cancel, Counters, Limit, Stopped, Work};

/// The term id of a token that carries no content term (a function word).
pub const NO_TERM: i64 = -1;

/// The settings of `EngineConfig` the alignment reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub seed_threshold: f64,
    pub extend_threshold: f64,
    pub passage_threshold: f64,
    pub min_match_tokens: usize,
    pub min_reworded_tokens: usize,
    pub short_passage_tokens: usize,
    pub short_passage_similarity: f64,
    pub short_passage_overlap: f64,
    pub max_gap_units: usize,
    pub merge_gap_tokens: usize,
    pub miss_penalty: f64,
    pub shared_weight: f64,
    pub edge_cut: f64,
    pub max_seed_pairs: u64,
    pub max_extend_pairs: u64,
    pub max_refine_cells: u64,
    pub max_align_cells: u64,
    pub max_passages: u64,
    pub max_exact_pairs: u64,
    pub min_exact_run_tokens: usize,
    pub min_quote_tokens: usize,
    pub min_split_run_tokens: usize,
    pub min_evidence_dice: f64,
    pub short_text_share: f64,
}

/// A run of repeated units: unit `u` equals unit `u - period` for `u` in
/// `[start + period, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub start: usize,
    pub end: usize,
    pub period: usize,
}

/// One prepared text, as the alignment reads it (see `Document` in Python).
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub words: Vec<i64>,
    pub terms: Vec<i64>,
    /// Unit `u` spans tokens `bounds[u]..bounds[u + 1]`.
    pub bounds: Vec<usize>,
    /// Unit `u`'s distinct content terms, sorted: `features[feature_starts[u]..feature_starts[u + 1]]`.
    pub features: Vec<i64>,
    pub feature_starts: Vec<usize>,
    pub hidden: Vec<bool>,
    pub runs: Vec<Run>,
    /// The units that seed, and their band keys (`bands` per unit, row-major).
    pub indexable: Vec<usize>,
    pub band_keys: Vec<u64>,
    pub bands: usize,
    pub quoted: Vec<bool>,
    pub named: Vec<bool>,
    pub sentence_ends: Vec<usize>,
    pub windows: Windows,
}

impl Doc {
    pub fn units(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }

    pub fn unit_features(&self, u: usize) -> &[i64] {
        &self.features[self.feature_starts[u]..self.feature_starts[u + 1]]
    }

    /// Every index the alignment follows stays inside the arrays: a document that
    /// passes is safe to compare whatever its contents.
    pub fn validate(&self) -> Result<(), String> {
        let n = self.words.len();
        let same_len = [
            ("terms", self.terms.len()),
            ("quoted", self.quoted.len()),
            ("named", self.named.len()),
        ];
        for (name, len) in same_len {
            if len != n {
                return Err(format!("{name} has {len} entries for {n} tokens"));
            }
        }
        if self.bounds.is_empty() || self.bounds[0] != 0 {
            return Err("unit bounds must start at token 0".into());
        }
        if self.bounds.windows(2).any(|w| w[1] < w[0]) || self.bounds[self.bounds.len() - 1] > n {
            return Err(format!("unit bounds must rise and stay within {n} tokens"));
        }
        let units = self.units();
        if self.feature_starts.len() != units + 1
            || self.feature_starts.windows(2).any(|w| w[1] < w[0])
            || self.feature_starts.first() != Some(&0)
            || self.feature_starts[units] != self.features.len()
        {
            return Err(format!(
                "unit features must be {units} rising slices of the feature list"
            ));
        }
        if self.hidden.len() != units {
            return Err(format!(
                "hidden has {} entries for {units} units",
                self.hidden.len()
            ));
        }
        if self.indexable.iter().any(|&u| u >= units) {
            return Err("an indexable unit is out of range".into());
        }
        if self.band_keys.len() != self.indexable.len() * self.bands {
            return Err(format!(
                "{} band keys for {} indexable units of {} bands",
                self.band_keys.len(),
                self.indexable.len(),
                self.bands
            ));
        }
        if self.sentence_ends.windows(2).any(|w| w[1] < w[0]) {
            return Err("sentence ends must not fall".into());
        }
        for r in &self.runs {
            if r.period == 0 || r.start + r.period > r.end || r.end > units {
                return Err(format!("run {r:?} lies outside the {units} units"));
            }
        }
        self.windows.validate(n)
    }
}
