//! Conversations: the turns of a chat, kept per user in SQLite so a
//! `conversation_id` continues where the last answer stopped.
//!
//! Bounded twice: a conversation keeps its last [`MAX_TURNS`] turns (older
//! ones are dropped as new ones arrive) and a user keeps their
//! [`MAX_CONVERSATIONS`] most recently used conversations. A conversation
//! is found only together with its owner, so another user's id is
//! indistinguishable from an unknown one (404).

use llmos_guest::db::{self, Db, Migration};
use llmos_guest::llm::{Message, Role};
use llmos_guest::{ApiError, ApiResult};
use spin_sdk::sqlite::Value;

pub const MAX_TURNS: i64 = 40;
pub const MAX_CONVERSATIONS: i64 = 200;

pub const MIGRATIONS: &[Migration] = &[Migration {
    id: "chat-conversations-v1",
    statements: &[
        "CREATE TABLE IF NOT EXISTS chat_conversations (
            id TEXT PRIMARY KEY NOT NULL,
            user_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS chat_conversations_user
            ON chat_conversations (user_id, updated_at DESC)",
        "CREATE TABLE IF NOT EXISTS chat_turns (
            conversation_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (conversation_id, seq)
        )",
    ],
}];

/// Whether `id` has the shape of a conversation id (`cv-` and 24 hex digits).
pub fn is_conversation_id(id: &str) -> bool {
    id.len() == 27
        && id.starts_with("cv-")
        && id[3..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub fn new_id() -> ApiResult<String> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    Ok(format!("cv-{}", hex::encode(bytes)))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(
        "conversation-not-found",
        format!("no conversation `{id}` of this user"),
    )
}

/// Checks that `id` is a conversation of `user`.
pub fn require_owned(db: &Db, user: &str, id: &str) -> ApiResult<()> {
    if !is_conversation_id(id) {
        return Err(ApiError::bad_request(
            "invalid-conversation-id",
            format!("`{id}` is not a conversation id (cv- and 24 hex digits)"),
        ));
    }
    let rows = db.execute(
        "SELECT 1 FROM chat_conversations WHERE id = ? AND user_id = ?",
        &[Value::Text(id.into()), Value::Text(user.into())],
    )?;
    if rows.rows.is_empty() {
        return Err(not_found(id));
    }
    Ok(())
}

/// The stored turns of a conversation, oldest first.
pub fn turns(db: &Db, id: &str) -> ApiResult<Vec<(Role, String, i64)>> {
    let rows = db.execute(
        "SELECT role, content, created_at FROM chat_turns WHERE conversation_id = ? ORDER BY seq",
        &[Value::Text(id.into())],
    )?;
    rows.rows
        .iter()
        .map(|row| {
            let role = match db::text(&row.values, 0)?.as_str() {
                "assistant" => Role::Assistant,
                _ => Role::User,
            };
            Ok((
                role,
                db::text(&row.values, 1)?,
                db::integer(&row.values, 2)?,
            ))
        })
        .collect()
}

/// The turns as messages for the model.
pub fn history(db: &Db, id: &str) -> ApiResult<Vec<Message>> {
    Ok(turns(db, id)?
        .into_iter()
        .map(|(role, text, _)| Message::Text { role, text })
        .collect())
}

/// Appends a user turn and its answer, creating the conversation when
/// `id` is new, and applies both bounds.
pub fn append(db: &Db, user: &str, id: &str, question: &str, answer: &str) -> ApiResult<()> {
    let now = llmos_guest::now_secs() * 1000;
    db.execute(
        "INSERT INTO chat_conversations (id, user_id, created_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at",
        &[
            Value::Text(id.into()),
            Value::Text(user.into()),
            Value::Integer(now),
            Value::Integer(now),
        ],
    )?;
    for (role, content) in [("user", question), ("assistant", answer)] {
        db.execute(
            "INSERT INTO chat_turns (conversation_id, seq, role, content, created_at)
             VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM chat_turns WHERE conversation_id = ?), ?, ?, ?)",
            &[
                Value::Text(id.into()),
                Value::Text(id.into()),
                Value::Text(role.into()),
                Value::Text(content.into()),
                Value::Integer(now),
            ],
        )?;
    }
    db.execute(
        "DELETE FROM chat_turns WHERE conversation_id = ? AND seq <=
            (SELECT MAX(seq) FROM chat_turns WHERE conversation_id = ?) - ?",
        &[
            Value::Text(id.into()),
            Value::Text(id.into()),
            Value::Integer(MAX_TURNS),
        ],
    )?;
    let old = db.execute(
        "SELECT id FROM chat_conversations WHERE user_id = ?
            ORDER BY updated_at DESC, id DESC LIMIT -1 OFFSET ?",
        &[Value::Text(user.into()), Value::Integer(MAX_CONVERSATIONS)],
    )?;
    for row in &old.rows {
        let old_id = db::text(&row.values, 0)?;
        delete(db, &old_id)?;
    }
    Ok(())
}

/// Removes a conversation and its turns.
pub fn delete(db: &Db, id: &str) -> ApiResult<()> {
    db.execute(
        "DELETE FROM chat_turns WHERE conversation_id = ?",
        &[Value::Text(id.into())],
    )?;
    db.execute(
        "DELETE FROM chat_conversations WHERE id = ?",
        &[Value::Text(id.into())],
    )?;
    Ok(())
}

/// The user's conversations, most recently used first.
pub fn list(db: &Db, user: &str) -> ApiResult<Vec<(String, i64, i64)>> {
    let rows = db.execute(
        "SELECT c.id, c.updated_at, (SELECT COUNT(*) FROM chat_turns t WHERE t.conversation_id = c.id)
         FROM chat_conversations c WHERE c.user_id = ? ORDER BY c.updated_at DESC, c.id DESC",
        &[Value::Text(user.into())],
    )?;
    rows.rows
        .iter()
        .map(|row| {
            Ok((
                db::text(&row.values, 0)?,
                db::integer(&row.values, 1)?,
                db::integer(&row.values, 2)?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ids_are_checked() {
        assert!(is_conversation_id("cv-0123456789abcdef01234567"));
        assert!(!is_conversation_id("cv-0123456789ABCDEF01234567"));
        assert!(!is_conversation_id("cv-../../etc"));
        assert!(!is_conversation_id(""));
    }
}
