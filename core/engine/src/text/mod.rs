//! The per-character and per-token text stages, in pipeline order:
//!
//! ```text
//! text --normalize--> Normalized --tokenize--> Tokens --terms--> term ids
//!      --units--> Units;  text --quotes--> quoted tokens;  text --named--> named tokens
//! ```
//!
//! Each stage is a module of its own and runs in time linear in the text (the quotes
//! stage `O(n log n)`). Offsets are half-open ranges of code points of the original
//! text. The character data are Python 3.11's (see `unicode`), so that tokens and term
//! ids are the ones the Python engine produced.

pub mod named;
pub mod normalize;
pub mod quotes;
#[rustfmt::skip]
mod tables;
pub mod terms;
pub mod tokenize;
pub mod unicode;
pub mod units;

pub use tables::UNICODE_VERSION;

/// The settings of the text stages (`EngineConfig` on the Python side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextConfig {
    pub stem_prefix: usize,
    pub min_unit_tokens: usize,
    pub max_unit_tokens: usize,
}

/// Every result of the text stages of one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextStages {
    pub tokens: tokenize::Tokens,
    pub terms: Vec<i64>,
    pub word_ids: Vec<i64>,
    pub units: units::Units,
    pub quoted: Vec<bool>,
    pub named: Vec<bool>,
}

/// Run the text stages on `text` (code points).
pub fn prepare(text: &[char], config: &TextConfig) -> TextStages {
    let tokens = tokenize::tokenize(text);
    let (terms, word_ids) = terms::token_ids(tokens.words.iter(), config.stem_prefix);
    let units = units::split_units(
        &terms,
        &tokens.sentence_ends,
        config.min_unit_tokens,
        config.max_unit_tokens,
    );
    let spans = quotes::quoted_spans(text);
    let quoted = quotes::quoted_tokens(&spans, &tokens.starts, &tokens.ends);
    let named = named::named(text, &tokens.starts, &tokens.ends, &tokens.sentence_ends);
    TextStages {
        tokens,
        terms,
        word_ids,
        units,
        quoted,
        named,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_runs_every_stage() {
        let text: Vec<char> =
            "The minister said: “We will rebuild every school.” Leeds agreed in 2024."
                .chars()
                .collect();
        let config = TextConfig {
            stem_prefix: 5,
            min_unit_tokens: 2,
            max_unit_tokens: 40,
        };
        let out = prepare(&text, &config);
        let n = out.tokens.len();
        assert_eq!(
            (
                out.terms.len(),
                out.word_ids.len(),
                out.quoted.len(),
                out.named.len()
            ),
            (n, n, n, n)
        );
        assert_eq!(out.units.bounds.first(), Some(&0));
        assert_eq!(out.units.bounds.last(), Some(&(n as i64)));
        let quoted: Vec<&str> = (0..n)
            .filter(|&k| out.quoted[k])
            .map(|k| &out.tokens.words[k])
            .collect();
        assert_eq!(quoted, ["we", "will", "rebuild", "every", "school"]);
        let named: Vec<&str> = (0..n)
            .filter(|&k| out.named[k])
            .map(|k| &out.tokens.words[k])
            .collect();
        // "We" is capitalised inside its sentence; "Leeds" opens one.
        assert_eq!(named, ["we", "2024"]);
    }
}
