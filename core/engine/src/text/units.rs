//! Units: the small pieces (a sentence or two) that are signed and matched.
//!
//! A reused quote inside a longer paragraph must still be found, so units are
//! sentences, never paragraphs. Sentences with too few content terms are joined to the
//! next one; run-on text with no sentence ends is cut into windows.

use super::terms::NO_TERM;

/// Unit `u` spans tokens `bounds[u]..bounds[u+1]`; its distinct content-term ids
/// (sorted) are `features[feature_bounds[u]..feature_bounds[u+1]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    pub bounds: Vec<i64>,
    pub features: Vec<i64>,
    pub feature_bounds: Vec<usize>,
}

impl Units {
    pub fn len(&self) -> usize {
        self.feature_bounds.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The distinct content terms of unit `u`, sorted.
    pub fn features_of(&self, u: usize) -> &[i64] {
        &self.features[self.feature_bounds[u]..self.feature_bounds[u + 1]]
    }
}

/// Python's `round` of a float: halves go to the even neighbour.
fn round_half_even(x: f64) -> usize {
    x.round_ties_even().max(0.0) as usize
}

/// Cut a token stream into units; see the module documentation. `sentence_ends` are
/// exclusive token bounds, increasing (larger than the stream: ignored).
pub fn split_units(
    terms: &[i64],
    sentence_ends: &[i64],
    min_unit_tokens: usize,
    max_unit_tokens: usize,
) -> Units {
    let n = terms.len();
    if n == 0 {
        return Units {
            bounds: vec![0],
            features: Vec::new(),
            feature_bounds: vec![0],
        };
    }
    let max_unit_tokens = max_unit_tokens.max(1);
    let mut content = Vec::with_capacity(n + 1);
    content.push(0usize);
    for &t in terms {
        content.push(content[content.len() - 1] + usize::from(t != NO_TERM));
    }
    let mut cuts: Vec<usize> = vec![0];
    let ends = sentence_ends
        .iter()
        .filter_map(|&e| usize::try_from(e).ok())
        .filter(|&e| e <= n)
        .chain(std::iter::once(n));
    for end in ends {
        let start = cuts[cuts.len() - 1];
        if end <= start {
            continue;
        }
        if content[end] - content[start] < min_unit_tokens && end != n {
            continue; // too short: the unit runs on into the next sentence
        }
        let length = end - start;
        if length > max_unit_tokens {
            let pieces = length.div_ceil(max_unit_tokens);
            let step = length as f64 / pieces as f64;
            cuts.extend((1..pieces).map(|p| start + round_half_even(step * p as f64)));
        }
        cuts.push(end);
    }
    let k = cuts.len();
    if k > 2 && content[cuts[k - 1]] - content[cuts[k - 2]] < min_unit_tokens {
        cuts.remove(k - 2); // a short tail joins the unit before it
    }
    let mut features = Vec::new();
    let mut feature_bounds = vec![0];
    for w in cuts.windows(2) {
        let at = features.len();
        features.extend(terms[w[0]..w[1]].iter().filter(|&&t| t != NO_TERM));
        features[at..].sort_unstable();
        let mut keep = at;
        for i in at..features.len() {
            if keep == at || features[keep - 1] != features[i] {
                features[keep] = features[i];
                keep += 1;
            }
        }
        features.truncate(keep);
        feature_bounds.push(features.len());
    }
    let bounds = cuts.iter().map(|&c| c as i64).collect();
    Units {
        bounds,
        features,
        feature_bounds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_sentences_join_the_next_and_a_short_tail_joins_the_last() {
        // Sentences of 1, 3, 3 and 1 content terms; at least 2 per unit.
        let terms = [5, 1, 2, 3, 4, 4, 6, 7];
        let units = split_units(&terms, &[1, 4, 7], 2, 40);
        assert_eq!(units.bounds, [0, 4, 8]);
        assert_eq!(units.features_of(0), [1, 2, 3, 5]);
        assert_eq!(units.features_of(1), [4, 6, 7]);
    }

    #[test]
    fn run_on_text_is_cut_into_even_windows() {
        let terms: Vec<i64> = (0..10).collect();
        let units = split_units(&terms, &[], 1, 4);
        // 10 tokens in 3 pieces: step 3.33, cuts at round(3.33) and round(6.67).
        assert_eq!(units.bounds, [0, 3, 7, 10]);
        // Python's round: 2.5 -> 2 (5 tokens in 2 pieces).
        assert_eq!(split_units(&terms[..5], &[], 1, 4).bounds, [0, 2, 5]);
    }

    #[test]
    fn function_words_are_no_features_and_empty_text_has_no_units() {
        let units = split_units(&[NO_TERM, 3, NO_TERM, 3], &[], 1, 40);
        assert_eq!(units.features_of(0), [3]);
        let empty = split_units(&[], &[], 1, 40);
        assert_eq!((empty.len(), empty.bounds), (0, vec![0]));
    }
}
