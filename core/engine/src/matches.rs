//! The tail of a comparison after the alignment: a match's token ranges become
//! character spans, with the closing-punctuation rule of `engine/detect.py`'s `_close`
//! (what Python's `detect._match` did, kept as `_reference_match` in
//! `tests/test_compare_core.py`), and each match gets its confidence
//! (`engine/confidence.py`'s `features` and the logistic over them), so that a
//! comparison of two prepared texts is one call.
//!
//! Both are bit-identical to the Python formulas, which the tests keep as oracles: the
//! features are the same integer counts divided in `f64`, `log1p` and `exp` are the C
//! library's (as Python's `math` and numpy's float64 loops call them here), and the
//! weighted sum adds the terms one after another from the first, as numpy's dot
//! product of seven terms does.

use crate::align::{Doc, Found, Kind};
use crate::prepare::span_counts;

/// The characters that close a sentence or a quote (`detect._CLOSING`): a span's end
/// moves over them.
pub const CLOSING: [char; 14] = [
    '.', '!', '?', '…', '"', '\'', ')', ']', '»', '”', '’', '。', '！', '？',
];

/// The number of features of a match (`confidence.FEATURES`).
pub const FEATURES: usize = 7;
/// The logistic's input is clipped to `[-LIMIT, LIMIT]` (`confidence._logistic`).
const LIMIT: f64 = 30.0;

/// A code-point offset as `Spans` keep it: four bytes, since texts stay far below
/// 2^32 code points (`max_text_chars`); a prepared source is cached with its spans.
pub type Offset = u32;

/// `x` as an `Offset`, the largest one for an offset past it.
pub fn offset(x: usize) -> Offset {
    Offset::try_from(x).unwrap_or(Offset::MAX)
}

/// Where the tokens of one text lie in it, in code points: token `t` is
/// `[starts[t], ends[t])`, and `closed[t]` is `ends[t]` moved over the closing
/// punctuation that follows it; `chars` is the text's length (the summary stage
/// reports a summary against the whole source).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spans {
    pub starts: Vec<Offset>,
    pub ends: Vec<Offset>,
    pub closed: Vec<Offset>,
    pub chars: usize,
}

impl Spans {
    /// The spans of tokens `starts`/`ends` in `text` (code points). Work: one pass
    /// over the text's closing marks after token ends (see `closed_ends`).
    pub fn new(text: &[char], starts: Vec<Offset>, ends: Vec<Offset>) -> Spans {
        let closed = closed_ends(text, &ends);
        Spans {
            starts,
            ends,
            closed,
            chars: text.len(),
        }
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Every index `span` follows stays inside the arrays, and the offsets rise (what
    /// the binary searches of `token_range` need).
    pub fn validate(&self, tokens: usize) -> Result<(), String> {
        if self.starts.len() != tokens || self.ends.len() != tokens || self.closed.len() != tokens {
            return Err(format!(
                "{} starts, {} ends and {} closed ends for {tokens} tokens",
                self.starts.len(),
                self.ends.len(),
                self.closed.len()
            ));
        }
        let rising = |v: &[Offset]| v.windows(2).all(|w| w[0] <= w[1]);
        if !rising(&self.starts) || !rising(&self.ends) {
            return Err("token starts and ends must not fall".into());
        }
        if (0..tokens).any(|t| self.starts[t] > self.ends[t] || self.ends[t] > self.closed[t]) {
            return Err("every token needs start <= end <= closed end".into());
        }
        if self.closed.iter().any(|&c| c as usize > self.chars) {
            return Err(format!(
                "a token ends past the text's {} code points",
                self.chars
            ));
        }
        Ok(())
    }

    /// The tokens inside the code-point range `[start, end)` (`confidence._tokens`):
    /// from the first that starts at or after `start` to the last that ends at or
    /// before `end` (numpy's `searchsorted`, left then right).
    pub fn token_range(&self, start: usize, end: usize) -> (usize, usize) {
        let t0 = self.starts.partition_point(|&s| (s as usize) < start);
        let t1 = self.ends.partition_point(|&e| e as usize <= end);
        (t0, t1.max(t0))
    }
}

/// Whether `c` closes a sentence or a quote (`CLOSING`).
fn closing(c: char) -> bool {
    matches!(
        c,
        '.' | '!' | '?' | '…' | '"' | '\'' | ')' | ']' | '»' | '”' | '’' | '。' | '！' | '？'
    )
}

/// Each end in `ends` moved over the closing characters that follow it in `text`
/// (`detect._close`). Work: each character is looked at once when the ends rise (as
/// a text's tokens' do): an end inside the run the previous end moved over shares
/// its result.
pub fn closed_ends(text: &[char], ends: &[Offset]) -> Vec<Offset> {
    let (mut last, mut last_closed) = (usize::MAX, usize::MAX);
    ends.iter()
        .map(|&e| {
            let e = e as usize;
            if !(last <= e && e <= last_closed) {
                let mut end = e;
                while end < text.len() && closing(text[end]) {
                    end += 1;
                }
                (last, last_closed) = (e, end);
            }
            offset(last_closed.max(e))
        })
        .collect()
}

/// A match in character offsets: `a`'s `[a_start, a_end)`, `b`'s `[b_start, b_end)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub a_start: usize,
    pub a_end: usize,
    pub b_start: usize,
    pub b_end: usize,
    pub similarity: f64,
    pub kind: Kind,
}

/// The last token of a range that ends before token `t1` (Python's `ends[t1 - 1]`,
/// which for `t1 == 0` reads the last token).
fn last(t1: usize, n: usize) -> usize {
    t1.checked_sub(1).unwrap_or(n.saturating_sub(1))
}

/// The match of token ranges `m` in character offsets (`_reference_match`): from its
/// first token's start to its last token's end, moved over closing punctuation
/// unless it is a quote. `None` when a range leaves its text's tokens.
pub fn span(m: &Found, a: &Spans, b: &Spans) -> Option<Span> {
    let (la, lb) = (last(m.a1, a.len()), last(m.b1, b.len()));
    if m.a0 >= a.len() || m.b0 >= b.len() || la >= a.len() || lb >= b.len() {
        return None;
    }
    let (a_end, b_end) = if m.kind == Kind::Quote {
        (a.ends[la], b.ends[lb])
    } else {
        (a.closed[la], b.closed[lb])
    };
    Some(Span {
        a_start: a.starts[m.a0] as usize,
        a_end: a_end as usize,
        b_start: b.starts[m.b0] as usize,
        b_end: b_end as usize,
        similarity: m.similarity,
        kind: m.kind,
    })
}

/// The features of match `m` (`confidence.features`, in `FEATURES` order), `a` and
/// `b` the prepared texts it joins, with their token spans.
pub fn features(a: &Doc, sa: &Spans, b: &Doc, sb: &Spans, m: &Span) -> [f64; FEATURES] {
    let (a0, a1) = sa.token_range(m.a_start, m.a_end);
    let (b0, b1) = sb.token_range(m.b_start, m.b_end);
    let [covered, quoted, content] = span_counts(a, b, a0, a1, b0, b1);
    let span = a1 - a0;
    let share = |count: usize| {
        if span > 0 {
            count as f64 / span as f64
        } else {
            0.0
        }
    };
    let flag = |yes: bool| if yes { 1.0 } else { 0.0 };
    [
        m.similarity,
        ((a1 - a0).min(b1 - b0) as f64).ln_1p(),
        share(covered),
        share(quoted),
        share(content),
        flag(m.kind == Kind::Quote),
        flag(m.kind == Kind::Reworded),
    ]
}

/// The probability that a match with features `x` is real reuse
/// (`confidence.confidence`): `coefficients` holds the intercept, then one weight per
/// feature.
pub fn confidence(x: &[f64; FEATURES], coefficients: &[f64; FEATURES + 1]) -> f64 {
    let mut dot = 0.0;
    for (v, w) in x.iter().zip(&coefficients[1..]) {
        dot += v * w;
    }
    let z = (coefficients[0] + dot).clamp(-LIMIT, LIMIT);
    1.0 / (1.0 + (-z).exp())
}

/// A match with its spans and confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub span: Span,
    pub confidence: f64,
}

/// The matches `found` of `a` and `b` in character offsets, each with its confidence.
/// `None` when a match leaves its texts' tokens (documents that do not belong
/// together).
pub fn scored(
    a: &Doc,
    sa: &Spans,
    b: &Doc,
    sb: &Spans,
    found: &[Found],
    coefficients: &[f64; FEATURES + 1],
) -> Option<Vec<Scored>> {
    found
        .iter()
        .map(|m| {
            let s = span(m, sa, sb)?;
            Some(Scored {
                span: s,
                confidence: confidence(&features(a, sa, b, sb, &s), coefficients),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    /// `detect._close`, word for word.
    fn slow_close(text: &[char], mut end: usize) -> usize {
        while end < text.len() && CLOSING.contains(&text[end]) {
            end += 1;
        }
        end
    }

    fn slow(text: &[char], end: Offset) -> Offset {
        offset(slow_close(text, end as usize))
    }

    #[test]
    fn closed_ends_move_over_closing_punctuation() {
        let text = chars("He said “no.”) Then: yes!? ok");
        let ends: Vec<Offset> = vec![2, 7, 11, 19, 25, 29];
        let closed = closed_ends(&text, &ends);
        let slow: Vec<Offset> = ends.iter().map(|&e| slow(&text, e)).collect();
        assert_eq!(closed, slow);
        assert_eq!(closed[2], 14); // over ".”)" but not the space
    }

    #[test]
    fn closed_ends_agree_with_the_slow_rule_on_every_end() {
        let text = chars("a.b..c!?)d” e'」。x…y");
        let ends: Vec<Offset> = (0..=text.len()).map(offset).collect();
        let expected: Vec<Offset> = ends.iter().map(|&e| slow(&text, e)).collect();
        assert_eq!(closed_ends(&text, &ends), expected);
        let shuffled: Vec<Offset> = ends.iter().rev().copied().collect();
        let expected: Vec<Offset> = shuffled.iter().map(|&e| slow(&text, e)).collect();
        assert_eq!(closed_ends(&text, &shuffled), expected);
    }

    #[test]
    fn closing_is_the_closing_set() {
        for c in CLOSING {
            assert!(closing(c), "{c:?}");
        }
        let others = (0..0x3100u32).filter_map(char::from_u32);
        for c in others.filter(|c| !CLOSING.contains(c)) {
            assert!(!closing(c), "{c:?}");
        }
    }

    #[test]
    fn token_range_is_numpys_searchsorted() {
        let s = Spans {
            starts: vec![0, 4, 9],
            ends: vec![3, 8, 12],
            closed: vec![3, 8, 13],
            chars: 13,
        };
        assert_eq!(s.token_range(0, 12), (0, 3));
        assert_eq!(s.token_range(1, 8), (1, 2));
        assert_eq!(s.token_range(4, 7), (1, 1)); // no whole token: empty, not negative
        assert_eq!(s.token_range(13, 20), (3, 3));
    }

    #[test]
    fn quotes_keep_their_end_and_other_matches_close() {
        let text = chars("x said “a b.” y");
        let s = Spans::new(&text, vec![0, 2, 8, 10], vec![1, 6, 9, 11]);
        let mut m = Found {
            a0: 2,
            a1: 4,
            b0: 2,
            b1: 4,
            similarity: 1.0,
            kind: Kind::Quote,
        };
        let q = span(&m, &s, &s).expect("inside");
        assert_eq!((q.a_start, q.a_end), (8, 11));
        m.kind = Kind::Verbatim;
        let v = span(&m, &s, &s).expect("inside");
        assert_eq!((v.a_start, v.a_end), (8, 13));
        m.a1 = 9;
        assert!(span(&m, &s, &s).is_none());
    }

    #[test]
    fn confidence_is_the_logistic_of_the_weighted_sum() {
        let w = [-1.0, 2.0, 0.5, 0.0, 0.0, 0.0, 1.0, -1.0];
        let x = [1.0, 0.0, 2.0, 0.0, 0.0, 1.0, 0.0];
        let z: f64 = -1.0 + (2.0 + 1.0);
        assert_eq!(confidence(&x, &w), 1.0 / (1.0 + (-z).exp()));
        let far = [100.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(confidence(&far, &w), 1.0 / (1.0 + (-30.0f64).exp()));
    }
}
