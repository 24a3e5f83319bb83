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

    /// A compact text form for storage: the four field lengths on the
    /// first line, then one line per term, `term n k d b` (terms are runs
    /// of letters and digits, so they never hold a space or a newline).
    /// [`search_encoded`] ranks such texts without decoding them whole.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 + self.counts.len() * 16);
        let [n, k, d, b] = self.lengths;
        out.push_str(&format!("{n} {k} {d} {b}\n"));
        for (term, [n, k, d, b]) in &self.counts {
            out.push_str(&format!("{term} {n} {k} {d} {b}\n"));
        }
        out
    }

    /// The inverse of [`DocTerms::encode`].
    pub fn decode(encoded: &str) -> Result<DocTerms, BadTerms> {
        let mut lines = encoded.lines();
        let lengths = four(lines.next().ok_or(BadTerms)?)?;
        let counts = lines
            .map(|line| {
                let (term, counts) = line.split_once(' ').ok_or(BadTerms)?;
                Ok((term.to_owned(), four(counts)?))
            })
            .collect::<Result<_, BadTerms>>()?;
        Ok(DocTerms { counts, lengths })
    }
}

/// An encoded [`DocTerms`] that does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadTerms;

impl std::fmt::Display for BadTerms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("malformed term counts")
    }
}

impl std::error::Error for BadTerms {}

/// Four space-separated numbers.
fn four<T: std::str::FromStr>(text: &str) -> Result<[T; 4], BadTerms> {
    let mut parts = text
        .split(' ')
        .map(|p| p.parse::<T>().map_err(|_| BadTerms));
    let out = [
        parts.next().ok_or(BadTerms)??,
        parts.next().ok_or(BadTerms)??,
        parts.next().ok_or(BadTerms)??,
        parts.next().ok_or(BadTerms)??,
    ];
    if parts.next().is_some() {
        return Err(BadTerms);
    }
    Ok(out)
}

/// Ranks documents given in [`DocTerms::encode`]'s form against `query`:
/// the same hits, scores and order as [`Bm25Index::from_terms`] followed
/// by [`Bm25Index::search`], but only the query's terms are decoded, so a
/// ranking over many stored documents costs a scan of their text rather
/// than building every posting list. Fails, naming the document, when a
/// document's lengths or one of its lines for a query term do not parse
/// (lines of other terms are only split at their first space).
pub fn search_encoded<'a>(
    docs: impl IntoIterator<Item = &'a str>,
    query: &str,
) -> Result<Vec<Hit>, (usize, BadTerms)> {
    let wanted = text::term_set(query);
    let mut found: Vec<Vec<Posting>> = vec![Vec::new(); wanted.len()];
    let mut lengths = Vec::new();
    for (doc, encoded) in docs.into_iter().enumerate() {
        let doc_id = u32::try_from(doc).expect("fewer than 4 billion documents");
        let (first, rest) = encoded.split_once('\n').unwrap_or((encoded, ""));
        lengths.push(four(first).map_err(|e| (doc, e))?);
        scan_sorted(rest, &wanted, |i, counts| {
            found[i].push(Posting {
                doc: doc_id,
                tf: four(counts)?,
            });
            Ok(())
        })
        .map_err(|e| (doc, e))?;
    }
    let postings = wanted
        .into_iter()
        .zip(found)
        .filter(|(_, postings)| !postings.is_empty())
        .collect();
    Ok(Bm25Index::assemble(postings, lengths, Bm25Params::default()).search(query))
}

/// Walks the `term counts` lines of an encoded document (sorted by term,
/// as [`DocTerms::encode`] writes them) together with the sorted `wanted`
/// terms, calling `hit` with the index of each wanted term found and its
/// counts text. Stops at the first line past the last wanted term; a line
/// without a space or out of order is an error.
fn scan_sorted(
    lines: &str,
    wanted: &[String],
    mut hit: impl FnMut(usize, &str) -> Result<(), BadTerms>,
) -> Result<(), BadTerms> {
    let bytes = lines.as_bytes();
    let mut pos = 0;
    let mut next = 0;
    let mut previous: &[u8] = &[];
    while pos < bytes.len() && next < wanted.len() {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| pos + i);
        let line = &bytes[pos..end];
        let space = line.iter().position(|&b| b == b' ').ok_or(BadTerms)?;
        let term = &line[..space];
        if term <= previous {
            return Err(BadTerms);
        }
        previous = term;
        while next < wanted.len() && wanted[next].as_bytes() < term {
            next += 1;
        }
        if next < wanted.len() && wanted[next].as_bytes() == term {
            // Both ends are on character boundaries: a space and a newline.
            hit(next, &lines[pos + space + 1..end])?;
            next += 1;
        }
        pos = end + 1;
    }
    Ok(())
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
        Self::assemble(postings, lengths, params)
    }

    fn assemble(
        postings: HashMap<String, Vec<Posting>>,
        lengths: Vec<[u32; 4]>,
        params: Bm25Params,
    ) -> Self {
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

    fn terms_of(docs: &[Doc]) -> Vec<DocTerms> {
        docs.iter()
            .map(|d| {
                DocTerms::of(RankDoc {
                    name: d.name,
                    keywords: &d.keywords,
                    description: d.description,
                    body: d.body,
                })
            })
            .collect()
    }

    #[test]
    fn encoded_terms_round_trip() {
        for terms in terms_of(&corpus()) {
            assert!(!terms.counts.is_empty());
            assert_eq!(DocTerms::decode(&terms.encode()), Ok(terms));
        }
        for bad in [
            "",
            "1 2 3",
            "1 2 3 4\nterm 1 2 3",
            "1 2 3 4\nterm",
            "a b c d",
        ] {
            assert_eq!(DocTerms::decode(bad), Err(BadTerms), "{bad:?}");
        }
    }

    #[test]
    fn encoded_search_matches_the_full_index() {
        let terms = terms_of(&corpus());
        let encoded: Vec<String> = terms.iter().map(DocTerms::encode).collect();
        let index = Bm25Index::from_terms(&terms);
        for query in [
            "plot my data as a chart",
            "quantum energy of hydrogen in python",
            "circuit filter time constant",
            "python tests",
            "zebra",
            "",
        ] {
            let expected = index.search(query);
            let got = search_encoded(encoded.iter().map(String::as_str), query).unwrap();
            assert_eq!(got.len(), expected.len(), "{query}");
            for (a, b) in got.iter().zip(&expected) {
                assert_eq!(a.doc, b.doc, "{query}");
                assert_eq!(a.score.to_bits(), b.score.to_bits(), "{query}");
            }
        }
        let broken = [encoded[0].as_str(), "1 2 3 4\nplot x y z w"];
        assert_eq!(search_encoded(broken, "plot").unwrap_err().0, 1);
    }
}
