//! How long skill files take to parse, render and refuse.
//!
//! Run with `cargo bench -p llmos-core --bench skill_parse`.
//!
//! Baseline (2-core development machine, release profile):
//!
//! | benchmark | time |
//! |---|---|
//! | parse executable python skill | 39 µs |
//! | parse context skill | 11 µs |
//! | parse agent skill | 10 µs |
//! | parse 256 KiB context skill (body not scanned) | 10 µs |
//! | refuse alias bomb (10^12 nodes if expanded) | 3.6 ms |
//! | refuse quadratic alias expansion (~200 KB file) | 9.4 ms |
//! | render executable python skill | 65 µs |
//!
//! Parsing is per request (every `GET /skills/{id}` and every chat turn
//! that ranks a volume), so a typical file should stay well under 100 µs,
//! and the worst inputs — the size limit and alias bombs — must be refused
//! in milliseconds, not seconds.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use llmos_core::skill::{self, MAX_SKILL_FILE_BYTES};

const PYTHON: &str = include_str!("../tests/skill_corpus/statistics-summary.md");
const CONTEXT: &str = include_str!("../tests/skill_corpus/python-coding.md");
const AGENT: &str = include_str!("../tests/skill_corpus/pdf-processing/SKILL.md");

fn parse(c: &mut Criterion) {
    c.bench_function("parse executable python skill", |b| {
        b.iter(|| skill::parse(Some("statistics-summary.md"), black_box(PYTHON)).unwrap())
    });
    c.bench_function("parse context skill", |b| {
        b.iter(|| skill::parse(Some("python-coding.md"), black_box(CONTEXT)).unwrap())
    });
    c.bench_function("parse agent skill", |b| {
        b.iter(|| skill::parse(Some("pdf-processing/SKILL.md"), black_box(AGENT)).unwrap())
    });

    // A body just under the size limit: the Markdown scan dominates.
    let mut big = CONTEXT.to_owned();
    while big.len() + 64 < MAX_SKILL_FILE_BYTES {
        big.push_str("Some prose with `code` and a [link](https://example.org).\n");
    }
    c.bench_function("parse 256 KiB context skill", |b| {
        b.iter(|| skill::parse(Some("python-coding.md"), black_box(&big)).unwrap())
    });
}

fn refuse(c: &mut Criterion) {
    let mut bomb =
        String::from("---\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    bomb.push_str("---\n");
    c.bench_function("refuse alias bomb", |b| {
        b.iter(|| skill::parse(Some("bomb.md"), black_box(&bomb)).unwrap_err())
    });

    let wide = vec!["x"; 20_000].join(",");
    let refs = vec!["*w"; 20_000].join(",");
    let quadratic = format!("---\nw: &w [{wide}]\nb: [{refs}]\n---\n");
    c.bench_function("refuse quadratic alias expansion", |b| {
        b.iter(|| skill::parse(Some("wide.md"), black_box(&quadratic)).unwrap_err())
    });
}

fn render(c: &mut Criterion) {
    let fields = skill::parse(Some("statistics-summary.md"), PYTHON)
        .unwrap()
        .to_fields();
    c.bench_function("render executable python skill", |b| {
        b.iter(|| skill::render(black_box(&fields)).unwrap())
    });
}

criterion_group!(benches, parse, refuse, render);
criterion_main!(benches);
