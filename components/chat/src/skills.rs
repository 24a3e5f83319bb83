//! Which skills steer a chat turn, and how they are written into the
//! system prompt.
//!
//! The candidates are the skills of the caller's merged view (user >
//! team > system, as `GET /skills` shows them), read from the catalog;
//! their bodies come from git. Ranking is BM25F over name, keywords,
//! description and body (`llmos_core::rank`); ties keep the merged view's
//! order, so the result is deterministic.

use std::collections::HashMap;

use llmos_core::ids::VolumeId;
use llmos_core::rank::{DocTerms, RankDoc, search_encoded};
use llmos_guest::db::Migration;
use llmos_guest::{ApiError, ApiResult, Db};
use llmos_store::ObjectStore as _;
use llmos_store::catalog::{BriefEntry, Catalog};
use llmos_store::object::{ObjectId, parse_id};
use llmos_store::{SqlStore, Volumes};
use spin_sdk::sqlite::Value;

/// Longest skill body put into a prompt; longer ones are cut.
pub const MAX_BODY_CHARS: usize = 12_000;
/// Character budget of the disclose-mode catalog.
pub const CATALOG_BUDGET: usize = 8_000;
/// Blobs looked up per query of the cache.
const LOOKUP_CHUNK: usize = 200;

/// What a turn needs of each skill file, keyed by its blob id: its ranking
/// terms ([`DocTerms::encode`]) and its guidance (the Markdown body). A
/// blob never changes, so a file is read, parsed and stemmed once, and a
/// turn reads the bodies of only the skills it uses.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        id: "chat-rank-terms-v1",
        statements: &["CREATE TABLE IF NOT EXISTS chat_rank_terms (
            blob TEXT PRIMARY KEY NOT NULL,
            terms TEXT NOT NULL
        )"],
    },
    Migration {
        id: "chat-skill-text-v1",
        statements: &[
            "DROP TABLE IF EXISTS chat_rank_terms",
            "CREATE TABLE IF NOT EXISTS chat_skill_text (
                blob TEXT PRIMARY KEY NOT NULL,
                terms TEXT NOT NULL,
                body TEXT NOT NULL
            )",
        ],
    },
];

/// Where a turn's skills come from: the database (catalog and cache), the
/// volumes, and the caller's view.
pub struct Sources<'a> {
    pub db: &'a Db,
    pub volumes: &'a Volumes<SqlStore<&'a Db>>,
    pub view: &'a [VolumeId],
}

/// A skill as the chat uses it.
#[derive(Debug, Clone)]
pub struct ChatSkill {
    pub skill_id: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub volume: VolumeId,
    /// The file's blob: the key of its cached terms and body.
    pub blob: ObjectId,
    /// Ranking terms in [`DocTerms::encode`]'s form.
    pub terms: String,
}

/// The skills of `view`, in the merged view's order, with their terms.
pub fn visible(src: &Sources<'_>) -> ApiResult<Vec<ChatSkill>> {
    let (db, view) = (src.db, src.view);
    let catalog = Catalog::new(src.volumes);
    catalog.ensure_fresh(view).map_err(ApiError::internal)?;
    let entries = catalog.list_brief(view).map_err(ApiError::internal)?;
    let blobs: Vec<ObjectId> = entries.iter().map(|e| e.blob).collect();
    let mut cached = cached(db, &blobs, "terms")?;
    entries
        .into_iter()
        .map(|entry| {
            let terms = match cached.remove(&entry.blob) {
                Some(terms) => terms,
                None => prepare(src, &entry)?.0,
            };
            Ok(ChatSkill {
                skill_id: entry.skill_id.to_string(),
                name: entry.name,
                description: entry.description,
                category: entry.category,
                volume: entry.volume,
                blob: entry.blob,
                terms,
            })
        })
        .collect()
}

/// One cached column (`terms` or `body`) of each of `blobs` that has a row.
fn cached(db: &Db, blobs: &[ObjectId], column: &str) -> ApiResult<HashMap<ObjectId, String>> {
    let mut found = HashMap::new();
    for chunk in blobs.chunks(LOOKUP_CHUNK) {
        let params: Vec<Value> = chunk.iter().map(|b| Value::Text(b.to_string())).collect();
        let placeholders = vec!["?"; chunk.len()].join(",");
        let rows = db.execute(
            &format!("SELECT blob, {column} FROM chat_skill_text WHERE blob IN ({placeholders})"),
            &params,
        )?;
        for row in &rows.rows {
            let blob = llmos_guest::db::text(&row.values, 0)?;
            if let Ok(blob) = parse_id(&blob) {
                found.insert(blob, llmos_guest::db::text(&row.values, 1)?);
            }
        }
    }
    Ok(found)
}

/// Reads and parses the file of `entry` from git, stores its terms and
/// body, and returns them.
fn prepare(src: &Sources<'_>, entry: &BriefEntry) -> ApiResult<(String, String)> {
    let object = src
        .volumes
        .store()
        .read_object(&entry.blob)
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::internal(format_args!(
                "skill file {} of {} (blob {}) is missing",
                entry.path, entry.volume, entry.blob
            ))
        })?;
    let text = String::from_utf8_lossy(object.data());
    let body = match llmos_core::skill::parse(Some(&entry.path), &text) {
        Ok(skill) => skill.body().trim().to_owned(),
        Err(_) => String::new(),
    };
    let terms = DocTerms::of(RankDoc {
        name: &entry.name,
        keywords: &entry.keywords,
        description: &entry.description,
        body: &body,
    })
    .encode();
    src.db.execute(
        "INSERT OR REPLACE INTO chat_skill_text (blob, terms, body) VALUES (?, ?, ?)",
        &[
            Value::Text(entry.blob.to_string()),
            Value::Text(terms.clone()),
            Value::Text(body.clone()),
        ],
    )?;
    Ok((terms, body))
}

/// The guidance (Markdown body) of each of `chosen`, in order.
pub fn bodies(src: &Sources<'_>, chosen: &[&ChatSkill]) -> ApiResult<Vec<String>> {
    let blobs: Vec<ObjectId> = chosen.iter().map(|s| s.blob).collect();
    let mut found = cached(src.db, &blobs, "body")?;
    chosen
        .iter()
        .map(|skill| match found.remove(&skill.blob) {
            Some(body) => Ok(body),
            None => Ok(prepare(src, &entry_of(src, skill)?)?.1),
        })
        .collect()
}

/// The catalog entry a chat skill came from (to prepare a file whose
/// cached row has gone).
fn entry_of(src: &Sources<'_>, skill: &ChatSkill) -> ApiResult<BriefEntry> {
    let id = llmos_core::ids::SkillId::new(&skill.skill_id).map_err(ApiError::internal)?;
    Catalog::new(src.volumes)
        .get_in(&skill.volume, &id)
        .map_err(ApiError::internal)?
        .filter(|e| e.blob == skill.blob)
        .map(BriefEntry::from)
        .ok_or_else(|| {
            ApiError::internal(format_args!(
                "skill {} changed while the turn was running",
                skill.skill_id
            ))
        })
}

/// The indices of `skills`, best match for `message` first; only skills
/// that share a term with the message are returned. A cached row that no
/// longer parses is prepared again from git.
pub fn rank(src: &Sources<'_>, skills: &mut [ChatSkill], message: &str) -> ApiResult<Vec<usize>> {
    for _ in 0..=skills.len() {
        match order(skills, message) {
            Ok(order) => return Ok(order),
            Err(bad) => {
                let entry = entry_of(src, &skills[bad])?;
                skills[bad].terms = prepare(src, &entry)?.0;
            }
        }
    }
    Err(ApiError::internal(
        "the ranking terms of the skills do not parse",
    ))
}

/// [`rank`] over the terms as they are; `Err` names a skill whose terms do
/// not parse.
fn order(skills: &[ChatSkill], message: &str) -> Result<Vec<usize>, usize> {
    search_encoded(skills.iter().map(|s| s.terms.as_str()), message)
        .map(|hits| hits.into_iter().map(|hit| hit.doc).collect())
        .map_err(|(bad, _)| bad)
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}\n…(cut)", &text[..i]),
        None => text.to_owned(),
    }
}

/// The opening of every system prompt.
pub const PREAMBLE: &str = "You are the assistant of LLMos-Lite, a computational workbench \
where skills (Markdown guidance and executable nodes) are combined into workflows. \
Answer clearly and concisely, in Markdown.";

/// The system prompt of inject mode: the preamble and each chosen skill's
/// name, when to use it and its guidance.
pub fn inject_prompt(chosen: &[(&ChatSkill, String)]) -> String {
    let mut prompt = PREAMBLE.to_owned();
    if chosen.is_empty() {
        return prompt;
    }
    prompt.push_str(
        "\n\nThe following skills were selected for this request, most relevant first. \
         Follow a skill's guidance when the request falls under its \"When to use\".",
    );
    for (i, (skill, body)) in chosen.iter().enumerate() {
        prompt.push_str(&format!(
            "\n\n<skill index=\"{}\" id=\"{}\" name=\"{}\" category=\"{}\" volume=\"{}\">\nWhen to use: {}\n\nGuidance:\n{}\n</skill>",
            i + 1,
            skill.skill_id,
            skill.name,
            skill.category,
            skill.volume,
            skill.description,
            cut(body, MAX_BODY_CHARS)
        ));
    }
    prompt
}

/// The system prompt of disclose mode: a compact catalog (best ranked
/// first, within [`CATALOG_BUDGET`] characters) and how to load a skill.
pub fn disclose_prompt(ordered: &[&ChatSkill]) -> String {
    let mut prompt = PREAMBLE.to_owned();
    prompt.push_str(
        "\n\nSkills are available on demand. When one fits the request, call the \
         `load_skill` tool with its id to read its full guidance before answering. \
         Available skills (id: description):",
    );
    let mut used = 0;
    for skill in ordered {
        let line = format!("\n- {}: {}", skill.skill_id, skill.description);
        if used + line.len() > CATALOG_BUDGET {
            prompt.push_str("\n- …(more skills not listed)");
            break;
        }
        used += line.len();
        prompt.push_str(&line);
    }
    prompt
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skill(id: &str, name: &str, description: &str, body: &str) -> ChatSkill {
        ChatSkill {
            skill_id: id.into(),
            name: name.into(),
            description: description.into(),
            category: "c".into(),
            volume: VolumeId::System,
            blob: parse_id(&"0".repeat(40)).unwrap(),
            terms: DocTerms::of(RankDoc {
                name,
                keywords: &[],
                description,
                body,
            })
            .encode(),
        }
    }

    #[test]
    fn ranking_is_by_relevance_then_view_order() {
        let skills = vec![
            skill(
                "plot",
                "Data plotting",
                "Plot series as line charts",
                "Use SVG.",
            ),
            skill(
                "vqe",
                "Quantum VQE",
                "Ground state energy of H2",
                "Variational quantum.",
            ),
            skill(
                "plot-user",
                "Data plotting",
                "Plot series as line charts",
                "Use SVG.",
            ),
        ];
        assert_eq!(order(&skills, "plot my data as a chart"), Ok(vec![0, 2]));
        assert_eq!(order(&skills, "quantum energy"), Ok(vec![1]));
        let mut broken = skills.clone();
        broken[1].terms = "1 2 3 4\nquantum x".into();
        assert_eq!(order(&broken, "quantum energy"), Err(1));
        assert_eq!(order(&skills, "unrelated words"), Ok(vec![]));
    }

    #[test]
    fn prompts_name_the_skills_in_order_within_budget() {
        let a = skill("a", "Alpha", "when alpha", "do alpha");
        let b = skill("b", "Beta", "when beta", "do beta");
        let p = inject_prompt(&[(&b, "do beta".into()), (&a, "do alpha".into())]);
        assert!(p.find("Beta").unwrap() < p.find("Alpha").unwrap());
        assert!(p.contains("When to use: when beta"));
        assert!(p.contains("do beta"));
        let many: Vec<ChatSkill> = (0..1000)
            .map(|i| skill(&format!("s{i}"), "n", &"d".repeat(50), ""))
            .collect();
        let refs: Vec<&ChatSkill> = many.iter().collect();
        let p = disclose_prompt(&refs);
        assert!(p.len() < PREAMBLE.len() + CATALOG_BUDGET + 400);
        assert!(p.contains("- s0:"));
        assert!(p.contains("more skills not listed"));
    }
}
