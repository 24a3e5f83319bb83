//! A reader for the small YAML subset the system skills' front matter uses,
//! turning it into JSON values so the checks can look at fields and the
//! runners can take defaults from it.
//!
//! Supported: top-level `key: value` lines; a `key:` followed by a block
//! sequence of scalars or of one-level mappings (`- name: x` then
//! `  type: number`); plain, single- and double-quoted scalars; flow
//! sequences and mappings (`[a, b]`, `{}`); `#` comments. Scalars resolve as
//! in YAML 1.2's core schema. Anything else is an error naming the line, so a
//! file that strays from the subset fails the test instead of being misread.

use serde_json::{Map, Number, Value};

/// Parses front matter text (without the `---` lines). `first_line` is the
/// file line of the text's first line, for messages.
pub fn parse(text: &str, first_line: usize) -> Result<Map<String, Value>, String> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, line)| (first_line + i, line))
        .filter(|(_, line)| {
            let trimmed = line.trim_start();
            !trimmed.is_empty() && !trimmed.starts_with('#')
        })
        .collect();
    let mut map = Map::new();
    let mut i = 0;
    while i < lines.len() {
        let (number, line) = lines[i];
        if indent(line) != 0 {
            return Err(format!("line {number}: unexpected indentation"));
        }
        let (key, rest) =
            split_key(line).ok_or_else(|| format!("line {number}: expected `key: value`"))?;
        i += 1;
        let value = if rest.is_empty() {
            let start = i;
            while i < lines.len() && indent(lines[i].1) > 0 {
                i += 1;
            }
            block_sequence(&lines[start..i])?
        } else {
            scalar_or_flow(rest).map_err(|e| format!("line {number}: {e}"))?
        };
        if map.insert(key.to_owned(), value).is_some() {
            return Err(format!("line {number}: duplicate key `{key}`"));
        }
    }
    Ok(map)
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Splits `key: rest` (or `key:`), with the comment removed from `rest`.
fn split_key(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    let colon = line.find(':')?;
    let key = &line[..colon];
    let rest = &line[colon + 1..];
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((key, strip_comment(rest).trim()))
}

/// Removes a `#` comment that is outside quotes and follows whitespace.
fn strip_comment(text: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (at, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => return &text[..at],
            None => {}
        }
        previous = c;
    }
    text
}

fn block_sequence(lines: &[(usize, &str)]) -> Result<Value, String> {
    let Some(&(first_number, first)) = lines.first() else {
        return Ok(Value::Null);
    };
    let dash_indent = indent(first);
    let mut items = Vec::new();
    let mut current: Option<Map<String, Value>> = None;
    for &(number, line) in lines {
        let here = indent(line);
        let trimmed = line.trim();
        if here == dash_indent && (trimmed == "-" || trimmed.starts_with("- ")) {
            if let Some(map) = current.take() {
                items.push(Value::Object(map));
            }
            let entry = trimmed[1..].trim();
            match split_key(entry) {
                Some((key, rest)) if !rest.is_empty() => {
                    let mut map = Map::new();
                    let value = scalar_or_flow(rest).map_err(|e| format!("line {number}: {e}"))?;
                    map.insert(key.to_owned(), value);
                    current = Some(map);
                }
                Some(_) => {
                    return Err(format!(
                        "line {number}: nested blocks are outside the supported subset"
                    ));
                }
                None => items.push(
                    scalar_or_flow(strip_comment(entry).trim())
                        .map_err(|e| format!("line {number}: {e}"))?,
                ),
            }
        } else if here == dash_indent + 2 {
            let map = current.as_mut().ok_or_else(|| {
                format!("line {number}: continuation line outside a mapping item")
            })?;
            let (key, rest) =
                split_key(line).ok_or_else(|| format!("line {number}: expected `key: value`"))?;
            if rest.is_empty() {
                return Err(format!(
                    "line {number}: nested blocks are outside the supported subset"
                ));
            }
            let value = scalar_or_flow(rest).map_err(|e| format!("line {number}: {e}"))?;
            if map.insert(key.to_owned(), value).is_some() {
                return Err(format!("line {number}: duplicate key `{key}`"));
            }
        } else {
            return Err(format!(
                "line {number}: indentation {here} does not fit the sequence that starts on line {first_number}"
            ));
        }
    }
    if let Some(map) = current.take() {
        items.push(Value::Object(map));
    }
    Ok(Value::Array(items))
}

/// One value written on a single line: a flow collection or a scalar.
fn scalar_or_flow(text: &str) -> Result<Value, String> {
    let mut reader = FlowReader { text, at: 0 };
    let value = reader.value(false)?;
    reader.skip_spaces();
    if reader.at != text.len() {
        return Err(format!(
            "unexpected `{}` after the value",
            &text[reader.at..]
        ));
    }
    Ok(value)
}

struct FlowReader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> FlowReader<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn skip_spaces(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_spaces();
        if self.rest().starts_with(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// A value; `in_flow` ends plain scalars at `,`, `]`, `}` and `: `.
    fn value(&mut self, in_flow: bool) -> Result<Value, String> {
        self.skip_spaces();
        if self.eat('[') {
            let mut items = Vec::new();
            if self.eat(']') {
                return Ok(Value::Array(items));
            }
            loop {
                items.push(self.value(true)?);
                if self.eat(']') {
                    return Ok(Value::Array(items));
                }
                if !self.eat(',') {
                    return Err("expected `,` or `]` in a flow sequence".into());
                }
            }
        }
        if self.eat('{') {
            let mut map = Map::new();
            if self.eat('}') {
                return Ok(Value::Object(map));
            }
            loop {
                let key = match self.value(true)? {
                    Value::String(key) => key,
                    other => other.to_string(),
                };
                if !self.eat(':') {
                    return Err("expected `:` in a flow mapping".into());
                }
                let value = self.value(true)?;
                map.insert(key, value);
                if self.eat('}') {
                    return Ok(Value::Object(map));
                }
                if !self.eat(',') {
                    return Err("expected `,` or `}` in a flow mapping".into());
                }
            }
        }
        if self.rest().starts_with('"') {
            return self.double_quoted().map(Value::String);
        }
        if self.rest().starts_with('\'') {
            return self.single_quoted().map(Value::String);
        }
        let rest = self.rest();
        let mut end = rest.len();
        if in_flow {
            for (at, c) in rest.char_indices() {
                let colon = c == ':' && rest[at + 1..].starts_with(' ');
                if matches!(c, ',' | ']' | '}') || colon {
                    end = at;
                    break;
                }
            }
        }
        let plain = rest[..end].trim_end();
        if plain.is_empty() {
            return Err("missing value".into());
        }
        if plain.starts_with(['[', '{', '&', '*', '!', '|', '>', '%', '@', '`']) {
            return Err(format!("`{plain}` needs quotes"));
        }
        self.at += end;
        Ok(resolve_plain(plain))
    }

    fn double_quoted(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let mut chars = self.rest()[1..].char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '"' => {
                    self.at += 1 + at + 1;
                    return Ok(out);
                }
                '\\' => match chars.next().map(|(_, e)| e) {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('/') => out.push('/'),
                    other => {
                        return Err(format!("unsupported escape `\\{}`", other.unwrap_or(' ')));
                    }
                },
                c => out.push(c),
            }
        }
        Err("unterminated double-quoted string".into())
    }

    fn single_quoted(&mut self) -> Result<String, String> {
        let body = &self.rest()[1..];
        let mut out = String::new();
        let mut chars = body.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().map(|&(_, n)| n) == Some('\'') {
                    chars.next();
                    out.push('\'');
                } else {
                    self.at += 1 + at + 1;
                    return Ok(out);
                }
            } else {
                out.push(c);
            }
        }
        Err("unterminated single-quoted string".into())
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(plain: &str) -> Value {
    match plain {
        "null" | "Null" | "NULL" | "~" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = plain.strip_prefix(['-', '+']).unwrap_or(plain);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = plain.parse::<i64>()
    {
        return Value::Number(n.into());
    }
    if is_core_float(digits)
        && let Some(n) = plain.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(plain.to_owned())
}

/// `( \.[0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_core_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(whole)
        && fraction.is_none_or(all_digits)
        && (!whole.is_empty() || fraction.is_some_and(|f| !f.is_empty()));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}
