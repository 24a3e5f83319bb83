//! Streaming pattern detection over one user's traces.
//!
//! [`PatternDetector::push`] takes one trace at a time (in time order, as
//! the trace index scans them) and keeps only per-cluster aggregates:
//! counts, first and last time, at most `max_source_traces` trace ids, a
//! few sample tasks and capped word and skill counts. Memory is bounded by
//! the number of clusters (itself capped), never by the number of traces.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::EvolveConfig;
use super::fingerprint::fingerprint;
use crate::text;
use crate::trace::TraceKind;

/// Sample tasks kept per cluster (for the draft's "when to use").
const MAX_SAMPLES: usize = 5;
/// Distinct words and skills counted per cluster.
const MAX_COUNTED: usize = 256;
/// Keywords a pattern reports.
const MAX_KEYWORDS: usize = 8;
/// Prefix of the skill features of a chat signature.
const SKILL_FEATURE: &str = "skill:";

/// What the detector needs to know of one trace (the indexed fields).
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    pub trace_id: &'a str,
    pub kind: TraceKind,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    pub success: bool,
    pub task: &'a str,
    pub skills_used: &'a [String],
    pub sequence: &'a [String],
}

/// A pattern drafted by an earlier pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnownPattern {
    pub fingerprint: String,
    pub kind: TraceKind,
    /// The signature its cluster was founded on.
    pub features: Vec<String>,
    /// The evolved skill written for it, whose later uses are counted.
    pub skill_id: Option<String>,
    /// When it was drafted (ms); only later traces count as uses.
    pub drafted_at: i64,
}

/// Uses of an evolved skill: traces after its drafting that name it in
/// `skills_used` or `sequence`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub uses: u32,
    pub successes: u32,
    pub last_used_at: Option<i64>,
}

/// A cluster that met both thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Pattern {
    pub fingerprint: String,
    pub kind: TraceKind,
    /// A short human label: the most frequent words, or the step sequence.
    pub label: String,
    /// The founding signature.
    pub features: Vec<String>,
    pub occurrences: u32,
    pub successes: u32,
    pub success_rate: f64,
    pub first_seen: i64,
    pub last_seen: i64,
    /// The first `max_source_traces` member traces, oldest first.
    pub source_traces: Vec<String>,
    /// The first successful member traces (candidates for replay).
    pub successful_traces: Vec<String>,
    pub sample_tasks: Vec<String>,
    pub keywords: Vec<String>,
    /// Skills the member traces used, most used first, with counts:
    /// `[skill_id, count]` pairs.
    pub skills: Vec<(String, u32)>,
    /// Workflow runs: the node sequence.
    pub sequence: Vec<String>,
    /// Drafted by an earlier pass (never drafted again).
    pub known: bool,
}

/// The result of one user's detection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Detection {
    pub traces_analyzed: u64,
    /// Qualifying patterns, known ones included, most frequent first.
    pub patterns: Vec<Pattern>,
    /// Uses of known patterns' skills, by skill id.
    pub usage: BTreeMap<String, Usage>,
}

impl Detection {
    /// Qualifying patterns not drafted before.
    pub fn new_patterns(&self) -> impl Iterator<Item = &Pattern> {
        self.patterns.iter().filter(|p| !p.known)
    }
}

#[derive(Debug)]
struct Cluster {
    kind: TraceKind,
    features: Vec<String>,
    fingerprint: String,
    known: bool,
    occurrences: u32,
    successes: u32,
    first_seen: i64,
    last_seen: i64,
    source_traces: Vec<String>,
    successful_traces: Vec<String>,
    samples: Vec<String>,
    words: HashMap<String, u32>,
    skills: HashMap<String, u32>,
}

impl Cluster {
    fn new(kind: TraceKind, features: Vec<String>, fingerprint: String, known: bool) -> Self {
        Cluster {
            kind,
            features,
            fingerprint,
            known,
            occurrences: 0,
            successes: 0,
            first_seen: i64::MAX,
            last_seen: i64::MIN,
            source_traces: Vec::new(),
            successful_traces: Vec::new(),
            samples: Vec::new(),
            words: HashMap::new(),
            skills: HashMap::new(),
        }
    }

    fn add(&mut self, trace: &Observation<'_>, max_sources: usize) {
        self.occurrences += 1;
        self.first_seen = self.first_seen.min(trace.created_at);
        self.last_seen = self.last_seen.max(trace.created_at);
        if self.source_traces.len() < max_sources {
            self.source_traces.push(trace.trace_id.to_owned());
        }
        if trace.success {
            self.successes += 1;
            if self.successful_traces.len() < max_sources {
                self.successful_traces.push(trace.trace_id.to_owned());
            }
        }
        let task = trace.task.trim();
        if self.samples.len() < MAX_SAMPLES
            && !task.is_empty()
            && !self.samples.iter().any(|s| s == task)
        {
            self.samples.push(crate::trace::truncate_chars(task, 200));
        }
        for word in
            text::words(trace.task).filter(|w| !text::is_stop_word(w) && w.chars().count() > 2)
        {
            bump(&mut self.words, word);
        }
        for skill in trace.skills_used.iter().chain(trace.sequence) {
            bump(&mut self.skills, skill.clone());
        }
    }

    fn pattern(&self) -> Pattern {
        let keywords: Vec<String> = top(&self.words)
            .into_iter()
            .take(MAX_KEYWORDS)
            .map(|(w, _)| w)
            .collect();
        let sequence = if self.kind == TraceKind::WorkflowRun {
            self.features.clone()
        } else {
            Vec::new()
        };
        let label = match self.kind {
            TraceKind::WorkflowRun => sequence.join(" → "),
            TraceKind::Chat => chat_label(self.samples.first(), &keywords),
        };
        Pattern {
            fingerprint: self.fingerprint.clone(),
            kind: self.kind,
            label,
            features: self.features.clone(),
            occurrences: self.occurrences,
            successes: self.successes,
            success_rate: if self.occurrences == 0 {
                0.0
            } else {
                f64::from(self.successes) / f64::from(self.occurrences)
            },
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            source_traces: self.source_traces.clone(),
            successful_traces: self.successful_traces.clone(),
            sample_tasks: self.samples.clone(),
            keywords,
            skills: top(&self.skills),
            sequence,
            known: self.known,
        }
    }
}

/// The first sample's words that are among the keywords, in the
/// sample's order (so the label reads like the request), at most four;
/// the top keywords when the sample has none of them.
fn chat_label(sample: Option<&String>, keywords: &[String]) -> String {
    let mut words: Vec<String> = Vec::new();
    for word in sample
        .map(|s| text::words(s).collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if words.len() < 4 && keywords.contains(&word) && !words.contains(&word) {
            words.push(word);
        }
    }
    if words.is_empty() {
        words = keywords.iter().take(4).cloned().collect();
    }
    words.join(" ")
}

fn bump(counts: &mut HashMap<String, u32>, key: String) {
    let len = counts.len();
    match counts.get_mut(&key) {
        Some(n) => *n += 1,
        None if len < MAX_COUNTED => {
            counts.insert(key, 1);
        }
        None => {}
    }
}

/// Entries by count (descending), then name, so ties are deterministic.
fn top(counts: &HashMap<String, u32>) -> Vec<(String, u32)> {
    let mut entries: Vec<(String, u32)> = counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
    entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    entries
}

/// The signature of a trace: its features, in the order the fingerprint
/// uses. Empty when the trace says nothing to cluster on.
pub fn signature(trace: &Observation<'_>) -> Vec<String> {
    match trace.kind {
        TraceKind::WorkflowRun => {
            if trace.sequence.is_empty() {
                trace.skills_used.to_vec()
            } else {
                trace.sequence.to_vec()
            }
        }
        TraceKind::Chat => {
            let mut features = text::term_set(trace.task);
            features.extend(
                trace
                    .skills_used
                    .iter()
                    .map(|s| format!("{SKILL_FEATURE}{s}")),
            );
            features.sort();
            features.dedup();
            features
        }
    }
}

/// Jaccard similarity of two sorted, distinct lists.
pub fn jaccard(a: &[String], b: &[String]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared as f64 / (a.len() + b.len() - shared) as f64
}

/// Clusters one user's traces.
pub struct PatternDetector<'c> {
    config: &'c EvolveConfig,
    clusters: Vec<Cluster>,
    /// Workflow sequences → cluster.
    runs: HashMap<Vec<String>, usize>,
    /// Chat features → clusters whose founding signature has them (an
    /// inverted index, so a trace is compared only with clusters it shares
    /// something with).
    chat_index: HashMap<String, Vec<usize>>,
    /// Evolved skill id → (drafted at, usage so far).
    evolved: HashMap<String, (i64, Usage)>,
    analyzed: u64,
}

impl<'c> PatternDetector<'c> {
    /// A detector that knows the patterns drafted before.
    pub fn new(config: &'c EvolveConfig, known: &[KnownPattern]) -> Self {
        let mut detector = PatternDetector {
            config,
            clusters: Vec::new(),
            runs: HashMap::new(),
            chat_index: HashMap::new(),
            evolved: HashMap::new(),
            analyzed: 0,
        };
        for pattern in known {
            detector.open(
                pattern.kind,
                pattern.features.clone(),
                pattern.fingerprint.clone(),
                true,
            );
            if let Some(skill) = &pattern.skill_id {
                detector
                    .evolved
                    .insert(skill.clone(), (pattern.drafted_at, Usage::default()));
            }
        }
        detector
    }

    fn open(
        &mut self,
        kind: TraceKind,
        features: Vec<String>,
        fingerprint: String,
        known: bool,
    ) -> usize {
        let index = self.clusters.len();
        match kind {
            TraceKind::WorkflowRun => {
                self.runs.entry(features.clone()).or_insert(index);
            }
            TraceKind::Chat => {
                for feature in &features {
                    self.chat_index
                        .entry(feature.clone())
                        .or_default()
                        .push(index);
                }
            }
        }
        self.clusters
            .push(Cluster::new(kind, features, fingerprint, known));
        index
    }

    /// The chat cluster most similar to `features`, if similar enough.
    fn nearest_chat(&self, features: &[String]) -> Option<usize> {
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for feature in features {
            if let Some(clusters) = self.chat_index.get(feature) {
                for &c in clusters {
                    *shared.entry(c).or_default() += 1;
                }
            }
        }
        let mut best: Option<(f64, usize)> = None;
        for (cluster, common) in shared {
            let size = self.clusters[cluster].features.len();
            let similarity = common as f64 / (features.len() + size - common) as f64;
            if similarity + 1e-12 >= self.config.similarity_threshold
                && best.is_none_or(|(s, c)| similarity > s || (similarity == s && cluster < c))
            {
                best = Some((similarity, cluster));
            }
        }
        best.map(|(_, c)| c)
    }

    /// Takes one trace into account.
    pub fn push(&mut self, trace: &Observation<'_>) {
        self.analyzed += 1;
        if !self.evolved.is_empty() {
            let mut counted: Vec<&str> = Vec::new();
            for skill in trace.skills_used.iter().chain(trace.sequence) {
                if counted.contains(&skill.as_str()) {
                    continue;
                }
                counted.push(skill);
                if let Some((drafted_at, usage)) = self.evolved.get_mut(skill)
                    && trace.created_at > *drafted_at
                {
                    usage.uses += 1;
                    usage.successes += u32::from(trace.success);
                    usage.last_used_at = Some(
                        usage
                            .last_used_at
                            .map_or(trace.created_at, |t| t.max(trace.created_at)),
                    );
                }
            }
        }
        let features = signature(trace);
        if features.is_empty() {
            return;
        }
        let found = match trace.kind {
            TraceKind::WorkflowRun => self.runs.get(&features).copied(),
            TraceKind::Chat => self.nearest_chat(&features),
        };
        let cluster = match found {
            Some(c) => c,
            None if self.clusters.len() < self.config.max_clusters_per_user => {
                let fp = fingerprint(trace.kind, &features);
                self.open(trace.kind, features, fp, false)
            }
            None => return,
        };
        self.clusters[cluster].add(trace, self.config.max_source_traces);
    }

    /// The qualifying patterns and the usage of evolved skills.
    pub fn finish(self) -> Detection {
        let mut patterns: Vec<Pattern> = self
            .clusters
            .iter()
            .filter(|c| self.config.qualifies(c.occurrences, c.successes))
            .map(Cluster::pattern)
            .collect();
        patterns.sort_by(|a, b| {
            b.occurrences
                .cmp(&a.occurrences)
                .then_with(|| a.first_seen.cmp(&b.first_seen))
                .then_with(|| a.fingerprint.cmp(&b.fingerprint))
        });
        Detection {
            traces_analyzed: self.analyzed,
            patterns,
            usage: self.evolved.into_iter().map(|(k, (_, u))| (k, u)).collect(),
        }
    }
}

/// Runs a detector per user over a stream ordered by user (as the trace
/// index scans), calling `done(user, detection)` as each user's traces end.
/// `known(user)` supplies each user's known patterns. Only one user's
/// clusters are in memory at a time.
pub fn for_each_user<'t, I, K, D>(config: &EvolveConfig, stream: I, mut known: K, mut done: D)
where
    I: IntoIterator<Item = (&'t str, Observation<'t>)>,
    K: FnMut(&str) -> Vec<KnownPattern>,
    D: FnMut(&str, Detection),
{
    let mut current: Option<(String, PatternDetector<'_>)> = None;
    for (user, trace) in stream {
        let same = current.as_ref().is_some_and(|(u, _)| u == user);
        if !same {
            if let Some((u, detector)) = current.take() {
                done(&u, detector.finish());
            }
            let seeds = known(user);
            current = Some((user.to_owned(), PatternDetector::new(config, &seeds)));
        }
        if let Some((_, detector)) = current.as_mut() {
            detector.push(&trace);
        }
    }
    if let Some((u, detector)) = current {
        done(&u, detector.finish());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaccard_of_sorted_lists() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(jaccard(&s(&["a", "b"]), &s(&["a", "b"])), 1.0);
        assert_eq!(jaccard(&s(&["a", "b"]), &s(&["b", "c"])), 1.0 / 3.0);
        assert_eq!(jaccard(&s(&["a"]), &s(&["b"])), 0.0);
    }
}
