//! Where things are in the front matter: a line locator for block YAML.
//!
//! The YAML parser gives positions only for syntax errors, yet every
//! validation error must name its line. Skill front matter is block-style
//! YAML (`key: value` lines, `- ` items), whose structure shows in the
//! indentation alone, so this module finds a path such as `inputs[1].type`
//! by scanning lines: keys of one mapping sit at the same column, items of
//! one sequence start with `- ` at the same column. Block scalars and
//! continuation lines are always indented deeper than their key, so they
//! never look like siblings.
//!
//! The scan is checked against the parsed tree by its callers (the top-level
//! keys must match in order); where it cannot find a node (flow style,
//! exotic layouts) it answers with the nearest enclosing node it did find,
//! so an error is never reported without a line.

use super::yaml::Seg;

/// A line-oriented view of the front matter YAML.
pub(crate) struct Outline<'a> {
    lines: Vec<&'a str>,
    /// File line (1-based) of `lines[0]`.
    first_line: usize,
    /// File line reported when not even the top-level key is found.
    fallback: usize,
}

/// The lines a node spans: `start..end` (0-based, exclusive), starting at
/// column `col` of line `start` when the node begins inline (after `- `).
#[derive(Debug, Clone, Copy)]
struct Region {
    start: usize,
    end: usize,
    col: Option<usize>,
}

/// A top-level entry of the front matter: its key and the lines from the
/// key line to the last line of its value (comments and blank lines after
/// the value are not part of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopEntry {
    pub key: String,
    pub start: usize,
    pub end: usize,
}

impl<'a> Outline<'a> {
    /// `first_line` is the file line of the YAML's first line; `fallback`
    /// the file line to report when nothing better is known.
    pub(crate) fn new(yaml: &'a str, first_line: usize, fallback: usize) -> Self {
        Outline {
            lines: yaml.lines().collect(),
            first_line,
            fallback,
        }
    }

    /// File line of the opening `---`, used for whole-front-matter errors.
    pub(crate) fn fallback(&self) -> usize {
        self.fallback
    }

    /// The file line of the node at `path`, or of its nearest enclosing
    /// node that could be found.
    pub(crate) fn line_of(&self, path: &[Seg]) -> usize {
        let mut region = self.root();
        let mut line = None;
        for seg in path {
            let found = match seg {
                Seg::Key(key) => self
                    .map_children(region)
                    .into_iter()
                    .find(|(k, _, _)| k == key)
                    .map(|(_, l, c)| (l, self.value_region(l, c, region.end))),
                Seg::Index(i) => {
                    let items = self.seq_items(region);
                    items.get(*i).map(|&(l, c)| {
                        let end = items.get(i + 1).map_or(region.end, |&(next, _)| next);
                        (
                            l,
                            Region {
                                start: l,
                                end,
                                col: Some(c),
                            },
                        )
                    })
                }
            };
            match found {
                Some((l, r)) => {
                    line = Some(l);
                    region = r;
                }
                None => break,
            }
        }
        line.map_or(self.fallback, |l| self.first_line + l)
    }

    /// File lines of every occurrence of `key` in the mapping at `path`
    /// (used to report both lines of a duplicate key).
    pub(crate) fn key_lines(&self, path: &[Seg], key: &str) -> Vec<usize> {
        let mut region = self.root();
        for seg in path {
            let next = match seg {
                Seg::Key(k) => self
                    .map_children(region)
                    .into_iter()
                    .find(|(name, _, _)| name == k)
                    .map(|(_, l, c)| self.value_region(l, c, region.end)),
                Seg::Index(i) => {
                    let items = self.seq_items(region);
                    items.get(*i).map(|&(l, c)| Region {
                        start: l,
                        end: items.get(i + 1).map_or(region.end, |&(next, _)| next),
                        col: Some(c),
                    })
                }
            };
            match next {
                Some(r) => region = r,
                None => return Vec::new(),
            }
        }
        self.map_children(region)
            .into_iter()
            .filter(|(k, _, _)| k == key)
            .map(|(_, l, _)| self.first_line + l)
            .collect()
    }

    /// The top-level entries in file order, with 0-based line ranges
    /// relative to the YAML text.
    pub(crate) fn top_entries(&self) -> Vec<TopEntry> {
        let root = self.root();
        self.map_children(root)
            .into_iter()
            .map(|(key, line, col)| {
                let value = self.value_region(line, col, root.end);
                let mut end = value.end;
                while end > line + 1 && !self.is_content(end - 1) {
                    end -= 1;
                }
                TopEntry {
                    key,
                    start: line,
                    end,
                }
            })
            .collect()
    }

    fn root(&self) -> Region {
        Region {
            start: 0,
            end: self.lines.len(),
            col: None,
        }
    }

    /// A line that carries YAML content (not blank, not only a comment).
    fn is_content(&self, i: usize) -> bool {
        let t = self.lines[i].trim_start();
        !t.is_empty() && !t.starts_with('#')
    }

    fn indent(&self, i: usize) -> usize {
        self.lines[i].len() - self.lines[i].trim_start_matches(' ').len()
    }

    fn is_dash_at(&self, i: usize, col: usize) -> bool {
        let rest = self.lines[i].get(col..).unwrap_or("");
        rest == "-" || rest.starts_with("- ")
    }

    /// The lines of the value of the key at (`line`, `col`), ending before
    /// the next line that is indented less, or as much without being an item
    /// of a compact sequence (`key:` followed by `- ` at the same column).
    fn value_region(&self, line: usize, col: usize, limit: usize) -> Region {
        let mut end = line + 1;
        while end < limit {
            if self.is_content(end) {
                let ind = self.indent(end);
                if ind < col || (ind == col && !self.is_dash_at(end, col)) {
                    break;
                }
            }
            end += 1;
        }
        Region {
            start: line + 1,
            end,
            col: None,
        }
    }

    /// Column of the mapping or sequence in `region`.
    fn block_col(&self, region: Region) -> Option<usize> {
        match region.col {
            Some(c) => Some(c),
            None => (region.start..region.end)
                .find(|&i| self.is_content(i))
                .map(|i| self.indent(i)),
        }
    }

    /// Keys of the mapping in `region`: (key, line, column).
    fn map_children(&self, region: Region) -> Vec<(String, usize, usize)> {
        let Some(col) = self.block_col(region) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for i in region.start..region.end {
            let at_col = if i == region.start && region.col.is_some() {
                true
            } else {
                self.is_content(i) && self.indent(i) == col
            };
            if at_col && let Some(key) = key_at(self.lines[i], col) {
                out.push((key, i, col));
            }
        }
        out
    }

    /// Items of the sequence in `region`: (line, column of the item's
    /// content after `- `).
    fn seq_items(&self, region: Region) -> Vec<(usize, usize)> {
        let Some(col) = self.block_col(region) else {
            return Vec::new();
        };
        (region.start..region.end)
            .filter(|&i| {
                (self.is_content(i) && self.indent(i) == col || i == region.start)
                    && self.is_dash_at(i, col)
            })
            .map(|i| {
                let after = &self.lines[i][col + 1..];
                (
                    i,
                    col + 1 + (after.len() - after.trim_start_matches(' ').len()),
                )
            })
            .collect()
    }
}

/// The mapping key that starts at byte column `col` of `line`, if the line
/// has `key:` there (plain, single- or double-quoted).
pub(crate) fn key_at(line: &str, col: usize) -> Option<String> {
    let s = line.get(col..)?;
    let (key, rest) = match s.chars().next()? {
        '"' => {
            let mut key = String::new();
            let mut chars = s[1..].char_indices();
            let mut close = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, esc)) = chars.next() {
                            key.push(esc);
                        }
                    }
                    '"' => {
                        close = Some(i + 2);
                        break;
                    }
                    _ => key.push(c),
                }
            }
            (key, &s[close?..])
        }
        '\'' => {
            let mut key = String::new();
            let body = &s[1..];
            let mut i = 0;
            let bytes = body.as_bytes();
            let close = loop {
                let c = body[i..].chars().next()?;
                if c == '\'' {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        key.push('\'');
                        i += 2;
                        continue;
                    }
                    break i + 2;
                }
                key.push(c);
                i += c.len_utf8();
            };
            (key, &s[close..])
        }
        '#' | '[' | '{' | ']' | '}' | ',' | '&' | '*' | '!' | '|' | '>' | '%' | '@' | '`' | '?' => {
            return None;
        }
        '-' if s.len() == 1 || s[1..].starts_with(' ') => return None,
        _ => {
            let mut pos = None;
            for (i, c) in s.char_indices() {
                if c == ':' {
                    let next = s[i + 1..].chars().next();
                    if next.is_none_or(|n| n == ' ' || n == '\t') {
                        pos = Some(i);
                        break;
                    }
                }
            }
            let pos = pos?;
            let key = s[..pos].trim_end();
            if key.contains(" #") {
                return None;
            }
            (key.to_owned(), &s[pos..])
        }
    };
    let rest = rest.trim_start_matches([' ', '\t']);
    let after = rest.strip_prefix(':')?;
    if after.is_empty() || after.starts_with([' ', '\t']) {
        Some(key)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Seg {
        Seg::Key(s.to_owned())
    }

    const DOC: &str = "\
name: Demo
# a comment
description: |
  name: not a key
  - not an item
inputs:
- name: a
  type: number
  description: first
- name: b
  type: string
outputs:
  - name: y
    type: number
metadata:
  author: me
  'quoted key': 1
  \"dq\": 2
";

    #[test]
    fn finds_top_level_keys_and_nested_nodes() {
        let o = Outline::new(DOC, 2, 1);
        assert_eq!(o.line_of(&[k("name")]), 2);
        assert_eq!(o.line_of(&[k("description")]), 4);
        assert_eq!(o.line_of(&[k("inputs")]), 7);
        assert_eq!(o.line_of(&[k("inputs"), Seg::Index(0)]), 8);
        assert_eq!(o.line_of(&[k("inputs"), Seg::Index(0), k("type")]), 9);
        assert_eq!(o.line_of(&[k("inputs"), Seg::Index(1), k("type")]), 12);
        assert_eq!(o.line_of(&[k("outputs"), Seg::Index(0), k("type")]), 15);
        assert_eq!(o.line_of(&[k("metadata"), k("author")]), 17);
        assert_eq!(o.line_of(&[k("metadata"), k("quoted key")]), 18);
        assert_eq!(o.line_of(&[k("metadata"), k("dq")]), 19);
    }

    #[test]
    fn falls_back_to_the_nearest_enclosing_node() {
        let o = Outline::new(DOC, 2, 1);
        assert_eq!(o.line_of(&[k("inputs"), Seg::Index(5), k("type")]), 7);
        assert_eq!(o.line_of(&[k("inputs"), Seg::Index(1), k("default")]), 11);
        assert_eq!(o.line_of(&[k("missing")]), 1);
    }

    #[test]
    fn lists_top_level_entries_without_trailing_comments() {
        let o = Outline::new("a: 1\nb:\n  c: 2\n\n# note\nd: [1,\n  2]\n", 2, 1);
        let entries = o.top_entries();
        let spans: Vec<_> = entries
            .iter()
            .map(|e| (e.key.as_str(), e.start, e.end))
            .collect();
        assert_eq!(spans, [("a", 0, 1), ("b", 1, 3), ("d", 5, 7)]);
    }

    #[test]
    fn finds_every_line_of_a_duplicate_key() {
        let o = Outline::new("a: 1\nm:\n  - x: 1\n    x: 2\nb: 2\na: 3\n", 2, 1);
        assert_eq!(o.key_lines(&[], "a"), [2, 7]);
        assert_eq!(o.key_lines(&[k("m"), Seg::Index(0)], "x"), [4, 5]);
    }

    #[test]
    fn parses_keys_of_every_style() {
        assert_eq!(key_at("name: x", 0).as_deref(), Some("name"));
        assert_eq!(
            key_at("allowed-tools:", 0).as_deref(),
            Some("allowed-tools")
        );
        assert_eq!(key_at("'it''s': 1", 0).as_deref(), Some("it's"));
        assert_eq!(key_at("\"a\\\"b\" : 1", 0).as_deref(), Some("a\"b"));
        assert_eq!(key_at("url: http://x", 0).as_deref(), Some("url"));
        assert_eq!(key_at("- name: x", 0), None);
        assert_eq!(key_at("- name: x", 2).as_deref(), Some("name"));
        assert_eq!(key_at("# c: 1", 0), None);
        assert_eq!(key_at("plain text", 0), None);
        assert_eq!(key_at("a:b", 0), None);
    }
}
