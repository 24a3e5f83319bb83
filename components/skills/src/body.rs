//! Bodies of `POST /skills` and `PUT /skills/{id}`: the seed's JSON fields,
//! or a skill file as is (`Content-Type: text/markdown`).
//!
//! JSON bodies are strict: unknown and repeated fields are a 400, so a
//! misspelt field never silently drops a value. Files are validated with
//! the path they will be stored at, so errors name that path and line.

use llmos_core::ids::SkillId;
use llmos_core::skill::{self, MAX_SKILL_FILE_BYTES, Skill, SkillFields};
use llmos_guest::api::skills::SkillWrite;
use llmos_guest::http::{self, Query};
use llmos_guest::{ApiError, ApiResult};

use crate::errors;

/// How the body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Markdown,
}

impl Format {
    /// The format a `Content-Type` (lowercase essence) announces; JSON when
    /// there is none, as curl examples often omit it.
    pub fn of(content_type: Option<&str>) -> ApiResult<Self> {
        match content_type {
            None => Ok(Format::Json),
            Some(ct) if http::is_json_media_type(ct) => Ok(Format::Json),
            Some("text/markdown" | "text/x-markdown") => Ok(Format::Markdown),
            Some(other) => Err(ApiError::unsupported_media_type(format!(
                "expected application/json or text/markdown, got `{other}`"
            ))),
        }
    }
}

/// Where a write goes: `user_id`, `team_id` and `volume` as the request
/// names them (JSON fields, else query parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub volume: Option<String>,
}

/// The skill a write carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Fields(Box<SkillFields>),
    File(Vec<u8>),
}

/// A parsed write request body.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteBody {
    pub target: Target,
    pub content: Content,
}

/// Reads a write body in `format`; `query` supplies what the body does
/// not (a file has no `user_id`).
pub fn parse(format: Format, bytes: &[u8], query: &Query) -> ApiResult<WriteBody> {
    let from_query = |name: &str| query.get(name).map(str::to_owned);
    match format {
        Format::Json => {
            let body: SkillWrite = parse_object(bytes)?;
            Ok(WriteBody {
                target: Target {
                    user_id: body.user_id.or_else(|| from_query("user_id")),
                    team_id: body.team_id.or_else(|| from_query("team_id")),
                    volume: body.volume.or_else(|| from_query("volume")),
                },
                content: Content::Fields(Box::new(SkillFields {
                    skill_id: body.skill_id,
                    name: body.name,
                    category: body.category,
                    description: body.description,
                    content: body.content,
                    keywords: body.keywords,
                    status: body.status,
                    kind: body.kind,
                    runtime: body.runtime,
                    execution_mode: body.execution_mode,
                    inputs: body.inputs,
                    outputs: body.outputs,
                    code: body.code,
                    code_language: body.code_language,
                })),
            })
        }
        Format::Markdown => {
            if bytes.len() > MAX_SKILL_FILE_BYTES {
                return Err(ApiError::new(
                    413,
                    "skill-too-large",
                    format!(
                        "skill file is {} bytes; skill files may have at most \
                         {MAX_SKILL_FILE_BYTES} bytes",
                        bytes.len()
                    ),
                ));
            }
            Ok(WriteBody {
                target: Target {
                    user_id: from_query("user_id"),
                    team_id: from_query("team_id"),
                    volume: from_query("volume"),
                },
                content: Content::File(bytes.to_vec()),
            })
        }
    }
}

/// Parses a JSON body that must be an object. serde would also read a
/// struct from an array, positionally; an API body never means that.
pub fn parse_object<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(ApiError::bad_request(
            "invalid-request",
            "request body: expected a JSON object",
        ));
    }
    http::parse_json(bytes)
}

/// [`parse_object`] of a request body, which must be JSON (or untyped).
pub fn read_object<T: serde::de::DeserializeOwned>(req: &spin_sdk::http::Request) -> ApiResult<T> {
    if Format::of(http::content_type(req).as_deref())? != Format::Json {
        return Err(ApiError::unsupported_media_type(
            "expected a JSON body (Content-Type: application/json)",
        ));
    }
    parse_object(req.body())
}

impl Content {
    /// The id a create names: the JSON `skill_id`, the `skill_id` query
    /// parameter, or the one the file itself declares.
    pub fn skill_id(&self, query_id: Option<&str>) -> ApiResult<SkillId> {
        let named = match self {
            Content::Fields(fields) => fields.skill_id.as_deref(),
            Content::File(_) => query_id,
        };
        if let Some(id) = named {
            return Ok(SkillId::new(id)?);
        }
        match self {
            Content::Fields(_) => Err(ApiError::bad_request(
                "missing-field",
                "request body: required field `skill_id` is missing",
            )),
            Content::File(bytes) => Ok(skill::parse_bytes(None, bytes)
                .map_err(|e| errors::skill(&e))?
                .id()
                .clone()),
        }
    }

    /// The skill file to store for `id` at `path`, validated as it will be
    /// read back from there. A JSON `skill_id` other than `id` is a 422.
    pub fn to_skill(&self, id: &SkillId, path: &str) -> ApiResult<Skill> {
        match self {
            Content::Fields(fields) => {
                if let Some(named) = fields.skill_id.as_deref()
                    && named != id.as_str()
                {
                    return Err(ApiError::unprocessable(
                        "skill-id-mismatch",
                        format!("field `skill_id` is `{named}` but the skill is `{id}`"),
                    ));
                }
                let mut fields = fields.as_ref().clone();
                fields.skill_id = Some(id.to_string());
                let rendered = skill::render(&fields).map_err(|e| errors::skill(&e))?;
                skill::parse_as(id, Some(path), rendered.source()).map_err(|e| errors::skill(&e))
            }
            Content::File(bytes) => {
                skill::parse_bytes_as(id, Some(path), bytes).map_err(|e| errors::skill(&e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(body: &str) -> ApiResult<WriteBody> {
        parse(Format::Json, body.as_bytes(), &Query::default())
    }

    fn seed() -> &'static str {
        r#"{"user_id":"alice","skill_id":"my-skill","name":"My skill","category":"coding",
            "description":"Helps.","content":"Use it well.","keywords":["a","b"]}"#
    }

    #[test]
    fn content_types_pick_the_format() {
        assert_eq!(Format::of(None).unwrap(), Format::Json);
        assert_eq!(Format::of(Some("application/json")).unwrap(), Format::Json);
        assert_eq!(Format::of(Some("text/markdown")).unwrap(), Format::Markdown);
        assert_eq!(Format::of(Some("text/plain")).unwrap_err().status, 415);
        assert_eq!(
            Format::of(Some("application/x-www-form-urlencoded"))
                .unwrap_err()
                .status,
            415
        );
    }

    #[test]
    fn seed_json_renders_a_context_skill() {
        let body = json(seed()).unwrap();
        assert_eq!(body.target.user_id.as_deref(), Some("alice"));
        let id = body.content.skill_id(None).unwrap();
        let skill = body.content.to_skill(&id, "skills/my-skill.md").unwrap();
        assert_eq!(skill.name(), "My skill");
        assert_eq!(skill.keywords(), ["a", "b"]);
        assert!(skill.body().contains("Use it well."));
    }

    #[test]
    fn malformed_json_is_a_400_with_a_code() {
        for (body, code) in [
            ("{", "invalid-json"),
            ("", "invalid-json"),
            ("[1]", "invalid-request"),
            (r#"["alice", null, null, "x"]"#, "invalid-request"),
            ("\"x\"", "invalid-request"),
            (r#"{"skill_id":"a","nmae":"x"}"#, "invalid-request"),
            (
                r#"{"skill_id":"a","name":"x","name":"y"}"#,
                "invalid-request",
            ),
            (
                r#"{"skill_id":"a","keywords":"not-a-list"}"#,
                "invalid-request",
            ),
        ] {
            let err = json(body).unwrap_err();
            assert_eq!(
                (err.status, err.code.as_ref()),
                (400, code),
                "{body}: {err}"
            );
        }
    }

    #[test]
    fn ids_are_required_and_checked() {
        let body = json(r#"{"name":"x"}"#).unwrap();
        assert_eq!(
            body.content.skill_id(None).unwrap_err().code,
            "missing-field"
        );
        let body = json(r#"{"skill_id":"../etc"}"#).unwrap();
        assert_eq!(body.content.skill_id(None).unwrap_err().status, 400);
        let body = json(seed()).unwrap();
        let other = SkillId::new("other").unwrap();
        let err = body
            .content
            .to_skill(&other, "skills/other.md")
            .unwrap_err();
        assert_eq!((err.status, err.code.as_ref()), (422, "skill-id-mismatch"));
    }

    #[test]
    fn invalid_skills_are_422_naming_the_field() {
        let body = json(r#"{"skill_id":"x","name":"X","category":"c"}"#).unwrap();
        let id = SkillId::new("x").unwrap();
        let err = body.content.to_skill(&id, "skills/x.md").unwrap_err();
        assert_eq!(
            (err.status, err.code.as_ref()),
            (422, "skill-missing-field")
        );
        assert!(err.message.contains("description"), "{}", err.message);
        let body =
            json(r#"{"skill_id":"x","name":"X","category":"c","description":"d","type":"ruby"}"#)
                .unwrap();
        let err = body.content.to_skill(&id, "skills/x.md").unwrap_err();
        assert_eq!(err.code, "skill-unknown-runtime");
    }

    #[test]
    fn markdown_bodies_are_files_with_query_targets() {
        let query = Query::parse("user_id=alice&volume=teams/core");
        let text = "---\nskill_id: md\nname: M\ncategory: c\ndescription: d\n---\nBody\n";
        let body = parse(Format::Markdown, text.as_bytes(), &query).unwrap();
        assert_eq!(body.target.volume.as_deref(), Some("teams/core"));
        let id = body.content.skill_id(None).unwrap();
        assert_eq!(id.as_str(), "md");
        let skill = body.content.to_skill(&id, "skills/md.md").unwrap();
        assert_eq!(skill.source(), text);
        let big = vec![b'x'; MAX_SKILL_FILE_BYTES + 1];
        let err = parse(Format::Markdown, &big, &query).unwrap_err();
        assert_eq!((err.status, err.code.as_ref()), (413, "skill-too-large"));
        let wrong = SkillId::new("other").unwrap();
        let err = body
            .content
            .to_skill(&wrong, "skills/other.md")
            .unwrap_err();
        assert_eq!((err.status, err.code.as_ref()), (422, "skill-id-mismatch"));
    }
}
