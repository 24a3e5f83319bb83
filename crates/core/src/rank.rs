//! Ranking skills against a message: BM25F over four fields.
//!
//! Each field has a weight and its own length normalisation; weighted term
//! frequencies are summed across fields before BM25's saturation, so a term
//! found in both the name and the body is not counted as two independent
//! matches (the BM25F formulation of Robertson and Zaragoza). Ties are
//! broken by the order documents were given in, so callers that list
//! documents most-specific-volume first get user > team > system among
//! equal scores, and the order is fully deterministic.

use std::collections::HashMap;

use crate::text;

/// The fields of a skill that ranking reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Keywords,
    Description,
    Body,
}

impl Field {
    const ALL: [Field; 4] = [
        Field::Name,
        Field::Keywords,
        Field::Description,
        Field::Body,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// Weights and length normalisation per field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Params {
    /// Term-frequency saturation: higher lets repeated terms count longer.
    pub k1: f64,
    /// Weight of a term occurrence in each field (name, keywords,
    /// description, body).
    pub weights: [f64; 4],
    /// Length normalisation per field: 0 ignores length, 1 is full.
    pub b: [f64; 4],
}

impl Default for Bm25Params {
    /// Names and keywords are short, curated and decisive, so they weigh
    /// most and are barely length-normalised; bodies are long and noisy.
    fn default() -> Self {
        Bm25Params {
            k1: 1.2,
            weights: [3.0, 2.5, 2.0, 1.0],
            b: [0.3, 0.3, 0.5, 0.75],
        }
    }
}

/// One document to rank: the text of each field.
#[derive(Debug, Clone, Copy)]
pub struct RankDoc<'a> {
    pub name: &'a str,
    pub keywords: &'a [String],
    pub description: &'a str,
    pub body: &'a str,
}

/// One document's terms: how often each occurs in each field (name,
/// keywords, description, body), and each field's length in terms.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocTerms {
    pub counts: Vec<(String, [u16; 4])>,
    pub lengths: [u32; 4],
}

impl DocTerms {
    /// Tokenises and stems the fields of `doc`.
    pub fn of(d: RankDoc<'_>) -> DocTerms {
        let keywords = d.keywords.join(" ");
        let fields = [d.name, keywords.as_str(), d.description, d.body];
        let mut lengths = [0u32; 4];
        let mut counts: HashMap<String, [u16; 4]> = HashMap::new();
        for field in Field::ALL {
            let terms = text::terms(fields[field.index()]);
            lengths[field.index()] = u32::try_from(terms.len()).unwrap_or(u32::MAX);
            for term in terms {
                let tf = &mut counts.entry(term).or_default()[field.index()];
                *tf = tf.saturating_add(1);
            }
        }
        let mut counts: Vec<(String, [u16; 4])> = counts.into_iter().collect();
        counts.sort();
        DocTerms { counts, lengths }
    }
}

#[derive(Debug, Clone)]
struct Posting {
    doc: u32,
    tf: [u16; 4],
}

/// An inverted index over a set of documents, built once and queried many
/// times.
#[derive(Debug, Clone)]
pub struct Bm25Index {
    params: Bm25Params,
    postings: HashMap<String, Vec<Posting>>,
    lengths: Vec<[u32; 4]>,
    avg_lengths: [f64; 4],
}

/// A ranked document: its position in the input and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub doc: usize,
    pub score: f64,
}

impl Bm25Index {
    pub fn build<'a>(docs: impl IntoIterator<Item = RankDoc<'a>>) -> Self {
        Self::with_params(docs, Bm25Params::default())
    }

    pub fn with_params<'a>(
        docs: impl IntoIterator<Item = RankDoc<'a>>,
        params: Bm25Params,
    ) -> Self {
        let terms: Vec<DocTerms> = docs.into_iter().map(DocTerms::of).collect();
        Self::from_terms_with_params(&terms, params)
    }

    /// An index of documents tokenised beforehand ([`DocTerms::of`]), e.g.
    /// kept per file so a ranking need not read and stem every body again.
    pub fn from_terms<'a>(docs: impl IntoIterator<Item = &'a DocTerms>) -> Self {
        Self::from_terms_with_params(docs, Bm25Params::default())
    }

    pub fn from_terms_with_params<'a>(
        docs: impl IntoIterator<Item = &'a DocTerms>,
        params: Bm25Params,
    ) -> Self {
        let mut postings: HashMap<String, Vec<Posting>> = HashMap::new();
        let mut lengths = Vec::new();
        for (doc, d) in docs.into_iter().enumerate() {
            let doc = u32::try_from(doc).expect("fewer than 4 billion documents");
            for (term, tf) in &d.counts {
                postings
                    .entry(term.clone())
                    .or_default()
                    .push(Posting { doc, tf: *tf });
            }
            lengths.push(d.lengths);
        }
        let mut avg_lengths = [0.0; 4];
        if !lengths.is_empty() {
            for field in Field::ALL {
                let total: f64 = lengths.iter().map(|l| f64::from(l[field.index()])).sum();
                avg_lengths[field.index()] = total / lengths.len() as f64;
            }
        }
        Bm25Index {
            params,
            postings,
            lengths,
            avg_lengths,
        }
    }

    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// Every document matching at least one term of `query`, best first;
    /// equal scores keep input order.
    pub fn search(&self, query: &str) -> Vec<Hit> {
        let n = self.lengths.len() as f64;
        let mut scores: HashMap<u32, f64> = HashMap::new();
        for term in text::term_set(query) {
            let Some(postings) = self.postings.get(&term) else {
                continue;
            };
            let df = postings.len() as f64;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for posting in postings {
                let weighted = self.weighted_tf(posting);
                let score = idf * weighted / (self.params.k1 + weighted);
                *scores.entry(posting.doc).or_default() += score;
            }
        }
        let mut hits: Vec<Hit> = scores
            .into_iter()
            .map(|(doc, score)| Hit {
                doc: doc as usize,
                score,
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
        hits
    }

    /// The best `k` documents for `query`.
    pub fn top(&self, query: &str, k: usize) -> Vec<Hit> {
        let mut hits = self.search(query);
        hits.truncate(k);
        hits
    }

    fn weighted_tf(&self, posting: &Posting) -> f64 {
        let len = &self.lengths[posting.doc as usize];
        Field::ALL
            .iter()
            .map(|f| {
                let i = f.index();
                let tf = f64::from(posting.tf[i]);
                if tf == 0.0 {
                    return 0.0;
                }
                let avg = self.avg_lengths[i].max(1.0);
                let norm = 1.0 - self.params.b[i] + self.params.b[i] * f64::from(len[i]) / avg;
                self.params.weights[i] * tf / norm
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Doc {
        name: &'static str,
        keywords: Vec<String>,
        description: &'static str,
        body: &'static str,
    }

    fn doc(
        name: &'static str,
        keywords: &[&str],
        description: &'static str,
        body: &'static str,
    ) -> Doc {
        Doc {
            name,
            keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
            description,
            body,
        }
    }

    fn corpus() -> Vec<Doc> {
        vec![
            doc(
                "python-coding",
                &["python", "style", "testing"],
                "Guidance for writing clear, tested Python code.",
                "Use type hints. Prefer the standard library. Write tests with unittest.",
            ),
            doc(
                "quantum-vqe-node",
                &["quantum", "vqe", "chemistry"],
                "Variational quantum eigensolver for the hydrogen molecule.",
                "Estimates the ground-state energy of H2 with a parameterised circuit, in Python.",
            ),
            doc(
                "circuit-rc-node",
                &["spice", "circuit", "filter"],
                "Simulates an RC low-pass filter with ngspice.",
                "Step response of a resistor-capacitor circuit; time constant R times C.",
            ),
            doc(
                "data-plot-node",
                &["plot", "chart", "visualisation"],
                "Draws line plots from arrays of numbers.",
                "Give x and y arrays; the preview renders the plot as SVG.",
            ),
        ]
    }

    fn rank(docs: &[Doc], query: &str) -> Vec<&'static str> {
        let index = Bm25Index::build(docs.iter().map(|d| RankDoc {
            name: d.name,
            keywords: &d.keywords,
            description: d.description,
            body: d.body,
        }));
        index
            .search(query)
            .iter()
            .map(|h| docs[h.doc].name)
            .collect()
    }

    #[test]
    fn ranks_the_obvious_skill_first() {
        let docs = corpus();
        assert_eq!(
            rank(&docs, "simulate an RC filter circuit")[0],
            "circuit-rc-node"
        );
        assert_eq!(
            rank(&docs, "ground state energy of hydrogen")[0],
            "quantum-vqe-node"
        );
        assert_eq!(rank(&docs, "plot my data as a chart")[0], "data-plot-node");
        assert_eq!(
            rank(&docs, "how do I test python code?")[0],
            "python-coding"
        );
    }

    #[test]
    fn order_is_fixed_for_a_fixed_corpus() {
        // `plot` occurs in one skill only, so its match weighs most; the VQE
        // skill matches two distinct terms (python, circuit) in its body,
        // which BM25 ranks above one term repeated across fields.
        let docs = corpus();
        assert_eq!(
            rank(&docs, "python circuit plot"),
            [
                "data-plot-node",
                "quantum-vqe-node",
                "python-coding",
                "circuit-rc-node"
            ]
        );
    }

    #[test]
    fn name_and_keywords_outweigh_body() {
        let docs = vec![
            doc(
                "other",
                &[],
                "",
                "a note that mentions plotting once in passing",
            ),
            doc("plotter", &["plot"], "", ""),
        ];
        assert_eq!(rank(&docs, "plot"), ["plotter", "other"]);
    }

    #[test]
    fn equal_scores_keep_input_order() {
        let docs = [
            doc("same", &["alpha"], "", ""),
            doc("same", &["alpha"], "", ""),
            doc("same", &["alpha"], "", ""),
        ];
        let index = Bm25Index::build(docs.iter().map(|d| RankDoc {
            name: d.name,
            keywords: &d.keywords,
            description: d.description,
            body: d.body,
        }));
        let order: Vec<usize> = index.search("alpha").iter().map(|h| h.doc).collect();
        assert_eq!(order, [0, 1, 2]);
    }

    #[test]
    fn unrelated_queries_match_nothing() {
        let docs = corpus();
        assert!(rank(&docs, "the of and").is_empty());
        assert!(rank(&docs, "zebra").is_empty());
        let index = Bm25Index::build(std::iter::empty());
        assert!(index.search("anything").is_empty());
    }
}
