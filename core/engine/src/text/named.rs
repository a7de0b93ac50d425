//! Tokens that name rather than say: capitalised inside a sentence, or holding a digit
//! (names, places, dates, numbers). Two reports of one event share them.

use super::unicode::{is_decimal, is_upper};

/// Per token (`starts`/`ends`, code points of `text`): its first character is upper
/// case and it is not the first token of its sentence, or it holds a decimal digit.
pub fn named(text: &[char], starts: &[i64], ends: &[i64], sentence_ends: &[i64]) -> Vec<bool> {
    let n = starts.len();
    let mut first = vec![false; n];
    if n > 0 {
        first[0] = true;
    }
    for &e in sentence_ends {
        if let Some(f) = usize::try_from(e).ok().and_then(|e| first.get_mut(e)) {
            *f = true;
        }
    }
    let at = |p: i64| usize::try_from(p).unwrap_or(0).min(text.len());
    // Each token's own characters are looked at (a character lies in two tokens at
    // most: bigrams overlap by one).
    (0..n)
        .map(|k| {
            let (s, e) = (at(starts[k]), at(ends[k]));
            let upper = text.get(s).is_some_and(|&c| is_upper(c));
            (upper && !first[k]) || text[s..e.max(s)].iter().any(|&c| is_decimal(c))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokenize::tokenize;

    #[test]
    fn names_inside_sentences_and_numbers() {
        let text: Vec<char> = "Okafor said on 12th. Leeds won ٣ games in Leeds."
            .chars()
            .collect();
        let t = tokenize(&text);
        let got = named(&text, &t.starts, &t.ends, &t.sentence_ends);
        // okafor(first) said on 12th | leeds(first) won ٣ games in leeds
        assert_eq!(
            got,
            [false, false, false, true, false, false, true, false, false, true]
        );
    }
}
