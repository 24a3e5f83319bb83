//! Which skills steer a chat turn, and how they are written into the
//! system prompt.
//!
//! The candidates are the skills of the caller's merged view (user >
//! team > system, as `GET /skills` shows them), read from the catalog;
//! their bodies come from git. Ranking is BM25F over name, keywords,
//! description and body (`llmos_core::rank`); ties keep the merged view's
//! order, so the result is deterministic.

use llmos_core::ids::VolumeId;
use llmos_core::rank::{Bm25Index, DocTerms, RankDoc};
use llmos_guest::db::Migration;
use llmos_guest::{ApiError, ApiResult, Db};
use llmos_store::catalog::{Catalog, CatalogEntry, ListQuery};
use llmos_store::volume::At;
use llmos_store::{SqlStore, VolumePath, Volumes};
use spin_sdk::sqlite::Value;

/// Longest skill body put into a prompt; longer ones are cut.
pub const MAX_BODY_CHARS: usize = 12_000;
/// Character budget of the disclose-mode catalog.
pub const CATALOG_BUDGET: usize = 8_000;
/// Blobs looked up per query of the term cache.
const LOOKUP_CHUNK: usize = 200;

/// The ranking terms of each skill file, keyed by its blob id: a blob never
/// changes, so its terms are computed (read, parsed, stemmed) once.
pub const MIGRATIONS: &[Migration] = &[Migration {
    id: "chat-rank-terms-v1",
    statements: &["CREATE TABLE IF NOT EXISTS chat_rank_terms (
        blob TEXT PRIMARY KEY NOT NULL,
        terms TEXT NOT NULL
    )"],
}];

/// A skill as the chat uses it.
#[derive(Debug, Clone)]
pub struct ChatSkill {
    pub skill_id: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub volume: VolumeId,
    pub path: String,
    pub terms: DocTerms,
}

/// The skills of `view`, in the merged view's order, with their terms.
pub fn visible(
    db: &Db,
    volumes: &Volumes<SqlStore<&Db>>,
    view: &[VolumeId],
) -> ApiResult<Vec<ChatSkill>> {
    let catalog = Catalog::new(volumes);
    catalog.ensure_fresh(view).map_err(ApiError::internal)?;
    let entries = catalog
        .list(view, &ListQuery::default())
        .map_err(ApiError::internal)?
        .entries;
    let mut cached: std::collections::HashMap<String, DocTerms> = std::collections::HashMap::new();
    for chunk in entries.chunks(LOOKUP_CHUNK) {
        let params: Vec<Value> = chunk
            .iter()
            .map(|e| Value::Text(e.blob.to_string()))
            .collect();
        let placeholders = vec!["?"; chunk.len()].join(",");
        let rows = db.execute(
            &format!("SELECT blob, terms FROM chat_rank_terms WHERE blob IN ({placeholders})"),
            &params,
        )?;
        for row in &rows.rows {
            let blob = llmos_guest::db::text(&row.values, 0)?;
            if let Ok(terms) = serde_json::from_str(&llmos_guest::db::text(&row.values, 1)?) {
                cached.insert(blob, terms);
            }
        }
    }
    entries
        .into_iter()
        .map(|entry| {
            let blob = entry.blob.to_string();
            let terms = match cached.remove(&blob) {
                Some(terms) => terms,
                None => {
                    let terms = compute_terms(volumes, &entry)?;
                    let json = serde_json::to_string(&terms).map_err(ApiError::internal)?;
                    db.execute(
                        "INSERT OR IGNORE INTO chat_rank_terms (blob, terms) VALUES (?, ?)",
                        &[Value::Text(blob), Value::Text(json)],
                    )?;
                    terms
                }
            };
            Ok(ChatSkill {
                skill_id: entry.skill_id.to_string(),
                name: entry.name,
                description: entry.description,
                category: entry.category,
                volume: entry.volume,
                path: entry.path,
                terms,
            })
        })
        .collect()
}

fn compute_terms(volumes: &Volumes<SqlStore<&Db>>, entry: &CatalogEntry) -> ApiResult<DocTerms> {
    let body = read_body(volumes, &entry.volume, &entry.path)?;
    Ok(DocTerms::of(RankDoc {
        name: &entry.name,
        keywords: &entry.keywords,
        description: &entry.description,
        body: &body,
    }))
}

fn read_body(volumes: &Volumes<SqlStore<&Db>>, volume: &VolumeId, path: &str) -> ApiResult<String> {
    let volume_path = VolumePath::new(path).map_err(ApiError::internal)?;
    let file = volumes
        .read_file(volume, &volume_path, At::Head)
        .map_err(ApiError::internal)?;
    let text = String::from_utf8_lossy(&file.data);
    Ok(match llmos_core::skill::parse(Some(path), &text) {
        Ok(skill) => skill.body().trim().to_owned(),
        Err(_) => String::new(),
    })
}

/// The guidance (Markdown body) of a skill.
pub fn body(volumes: &Volumes<SqlStore<&Db>>, skill: &ChatSkill) -> ApiResult<String> {
    read_body(volumes, &skill.volume, &skill.path)
}

/// The indices of `skills`, best match for `message` first; only skills
/// that share a term with the message are returned.
pub fn rank(skills: &[ChatSkill], message: &str) -> Vec<usize> {
    let index = Bm25Index::from_terms(skills.iter().map(|s| &s.terms));
    index
        .search(message)
        .into_iter()
        .map(|hit| hit.doc)
        .collect()
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
            path: format!("skills/{id}.md"),
            terms: DocTerms::of(RankDoc {
                name,
                keywords: &[],
                description,
                body,
            }),
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
        assert_eq!(rank(&skills, "plot my data as a chart"), [0, 2]);
        assert_eq!(rank(&skills, "quantum energy"), [1]);
        assert!(rank(&skills, "unrelated words").is_empty());
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
