//! Text normalisation shared by skill ranking and pattern detection:
//! lower-cased word tokens, English stop words removed, Snowball (Porter 2)
//! stems. The same function feeds both, so "plotting a curve" in a chat and
//! "Plot curves" in a skill meet on `plot` and `curv`.

use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

/// Words that carry no topic on their own. Kept short on purpose: words
/// such as "not", "all" or "first" can matter in a task description.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "my",
    "myself",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "please",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// Longest token kept; longer runs are identifiers or noise (hashes, data).
const MAX_TOKEN_LEN: usize = 40;

fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// Whether `word` (lower case) is a stop word.
pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// The raw lower-case words of `text`: runs of letters and digits. Hyphens
/// and underscores split words, so `quantum-vqe-node` gives three.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && w.chars().count() <= MAX_TOKEN_LEN)
        .map(str::to_lowercase)
}

/// The normalised terms of `text`, in order, repeats kept: words without
/// stop words, stemmed. Single characters are dropped except digits.
pub fn terms(text: &str) -> Vec<String> {
    let stemmer = stemmer();
    words(text)
        .filter(|w| !is_stop_word(w))
        .filter(|w| w.chars().count() > 1 || w.chars().all(|c| c.is_ascii_digit()))
        .map(|w| stemmer.stem(&w).into_owned())
        .collect()
}

/// The distinct normalised terms of `text`, sorted.
pub fn term_set(text: &str) -> Vec<String> {
    let mut terms = terms(text);
    terms.sort();
    terms.dedup();
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_word_list_is_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn terms_are_stemmed_without_stop_words() {
        assert_eq!(
            terms("Plotting the curves of a Circuit"),
            ["plot", "curv", "circuit"]
        );
        assert_eq!(terms("quantum-vqe-node"), ["quantum", "vqe", "node"]);
        assert_eq!(terms("x = 3 + y2"), ["3", "y2"]);
    }

    #[test]
    fn term_set_is_sorted_and_distinct() {
        assert_eq!(term_set("plot plots plotting graph"), ["graph", "plot"]);
    }

    #[test]
    fn non_ascii_words_are_kept() {
        assert_eq!(terms("Größe über"), ["größe", "über"]);
    }
}
