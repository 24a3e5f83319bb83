//! Ranking skills against a chat message (BM25F over name, keywords,
//! description and body), at the size of a large installation.
//!
//! Run with `cargo bench -p llmos-core --bench rank`. Results are in
//! BENCHMARKS.md ("Chat").
//!
//! - `query 10k skills`: one query against an index of 10,000 skills
//!   built beforehand (the target: under 10 ms per query);
//! - `build 10k skills`: tokenising and stemming the four fields of 10,000
//!   skills into the index;
//! - `build + query 1k skills`: ranking a view of 1,000 skills from their
//!   text, with nothing kept between queries;
//! - `encoded query 10k skills` / `1k skills`: what a chat turn pays: the
//!   skills' terms kept in [`DocTerms::encode`]'s form (as the chat
//!   component stores them per file), scanned for the query's terms.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use llmos_core::rank::{Bm25Index, DocTerms, RankDoc, search_encoded};

const WORDS: &[&str] = &[
    "plot",
    "data",
    "series",
    "histogram",
    "quantum",
    "energy",
    "circuit",
    "voltage",
    "filter",
    "matrix",
    "solve",
    "equation",
    "optimise",
    "gradient",
    "text",
    "statistics",
    "summary",
    "json",
    "transform",
    "render",
    "cube",
    "mesh",
    "signal",
    "fourier",
    "spectrum",
    "regression",
    "cluster",
    "graph",
    "network",
    "python",
    "javascript",
    "simulation",
    "molecule",
    "orbital",
    "resistor",
    "capacitor",
    "waveform",
    "table",
    "csv",
    "parse",
    "chart",
    "colour",
    "palette",
    "sort",
    "search",
    "index",
    "model",
    "train",
    "sample",
    "random",
];

struct Doc {
    name: String,
    keywords: Vec<String>,
    description: String,
    body: String,
}

/// `n` skills with deterministic pseudo-random words.
fn corpus(n: usize) -> Vec<Doc> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        WORDS[(state % WORDS.len() as u64) as usize]
    };
    (0..n)
        .map(|i| {
            let name = format!("{} {} {i}", next(), next());
            let keywords = (0..3).map(|_| next().to_owned()).collect();
            let description = (0..12).map(|_| next()).collect::<Vec<_>>().join(" ");
            let body = (0..150).map(|_| next()).collect::<Vec<_>>().join(" ");
            Doc {
                name,
                keywords,
                description,
                body,
            }
        })
        .collect()
}

fn docs(corpus: &[Doc]) -> impl Iterator<Item = RankDoc<'_>> {
    corpus.iter().map(|d| RankDoc {
        name: &d.name,
        keywords: &d.keywords,
        description: &d.description,
        body: &d.body,
    })
}

const QUERY: &str = "How do I plot a histogram of the voltage waveform from my circuit simulation?";

fn rank(c: &mut Criterion) {
    let large = corpus(10_000);
    let index = Bm25Index::build(docs(&large));
    c.bench_function("query 10k skills", |b| {
        b.iter(|| index.top(black_box(QUERY), 5))
    });
    let encoded: Vec<String> = docs(&large).map(|d| DocTerms::of(d).encode()).collect();
    c.bench_function("encoded query 10k skills", |b| {
        b.iter(|| search_encoded(encoded.iter().map(String::as_str), black_box(QUERY)).unwrap())
    });
    c.bench_function("encoded query 1k skills", |b| {
        b.iter(|| {
            search_encoded(encoded[..1000].iter().map(String::as_str), black_box(QUERY)).unwrap()
        })
    });
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    group.bench_function("build 10k skills", |b| {
        b.iter(|| Bm25Index::build(docs(black_box(&large))))
    });
    let view = corpus(1_000);
    group.bench_function("build + query 1k skills", |b| {
        b.iter(|| Bm25Index::build(docs(black_box(&view))).top(QUERY, 5))
    });
    group.finish();
}

criterion_group!(benches, rank);
criterion_main!(benches);
