//! Refuses, before anything compiles, the Rust constructs that would let
//! a skill read the build machine while it is compiled.
//!
//! The check works on tokens (proc-macro2's lexer, the one macros see), so
//! strings and comments never trigger it and no spelling hides from it:
//!
//! - `include!`, `include_str!`, `include_bytes!` read files, and `env!`,
//!   `option_env!` the builder's environment. Their names are refused
//!   wherever they appear as identifiers, not only before `!`: a `use …
//!   as` or a `macro_rules!` that receives the name as an argument could
//!   otherwise call them under another name. (`std::env` is of no use in
//!   a skill anyway: its environment and arguments are empty.)
//! - `mod name;` loads another file; only inline `mod name { … }` is
//!   accepted, and a `mod` keyword followed by anything else (as when a
//!   macro assembles the item) is refused.
//! - `#[path = …]` names such a file, and `#[debugger_visualizer(…)]`
//!   embeds one into the binary.
//! - `extern crate` may load any library the compiler can find, such as
//!   the bindings generator a dependency uses, whose macro reads files;
//!   only `extern crate llmos_skill` is accepted, and `extern` must be
//!   followed by an ABI string, `fn`, a block or that.
//!
//! Code the lexer cannot read is refused too (the compiler would refuse
//! it as well; refusing it here means nothing unscanned ever compiles).

use std::str::FromStr;

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};

/// A refused construct, at a line and column of the code (both 1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub line: usize,
    pub column: usize,
    pub construct: String,
    /// The lexer could not read the code at all.
    pub unreadable: bool,
}

const FILE_MACROS: &[&str] = &["include", "include_str", "include_bytes"];
const ENV_MACROS: &[&str] = &["env", "option_env"];

fn refused(span: Span, construct: impl Into<String>) -> Refused {
    let start = span.start();
    Refused {
        line: start.line,
        column: start.column + 1,
        construct: construct.into(),
        unreadable: false,
    }
}

/// The first refused construct of `code`, if any.
pub fn scan(code: &str) -> Result<(), Refused> {
    let tokens = TokenStream::from_str(code).map_err(|e| {
        let start = e.span().start();
        Refused {
            line: start.line.max(1),
            column: start.column + 1,
            construct: format!("code the Rust lexer cannot read ({e})"),
            unreadable: true,
        }
    })?;
    scan_stream(tokens, false)
}

/// An identifier's name without the `r#` of a raw identifier, and whether
/// it was raw (a raw identifier is never a keyword, but names the same
/// macro).
fn ident_name(tree: &TokenTree) -> Option<(String, bool)> {
    let TokenTree::Ident(ident) = tree else {
        return None;
    };
    let text = ident.to_string();
    Some(match text.strip_prefix("r#") {
        Some(bare) => (bare.to_owned(), true),
        None => (text, false),
    })
}

fn is_keyword(tree: Option<&TokenTree>, keyword: &str) -> bool {
    matches!(tree.and_then(ident_name), Some((name, false)) if name == keyword)
}

fn is_punct(tree: Option<&TokenTree>, ch: char) -> bool {
    matches!(tree, Some(TokenTree::Punct(p)) if p.as_char() == ch)
}

fn scan_stream(stream: TokenStream, in_attribute: bool) -> Result<(), Refused> {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    for (i, tree) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1);
        match tree {
            TokenTree::Group(group) => {
                // `#[…]` and `#![…]`: the bracket group of an attribute.
                let attribute = group.delimiter() == Delimiter::Bracket
                    && (is_punct(i.checked_sub(1).and_then(|p| tokens.get(p)), '#')
                        || (is_punct(i.checked_sub(1).and_then(|p| tokens.get(p)), '!')
                            && is_punct(i.checked_sub(2).and_then(|p| tokens.get(p)), '#')));
                scan_stream(group.stream(), in_attribute || attribute)?;
            }
            TokenTree::Ident(ident) => {
                let (name, raw) = ident_name(tree).expect("an identifier");
                if FILE_MACROS.contains(&name.as_str()) {
                    return Err(refused(
                        ident.span(),
                        format!("`{name}!` (it reads files of the build machine)"),
                    ));
                }
                if ENV_MACROS.contains(&name.as_str()) {
                    return Err(refused(
                        ident.span(),
                        format!(
                            "`{name}` (`{name}!` reads the build machine's environment; a skill's own environment is empty)"
                        ),
                    ));
                }
                if in_attribute && name == "path" && is_punct(next, '=') {
                    return Err(refused(
                        ident.span(),
                        "`#[path = …]` (it loads a module from another file)",
                    ));
                }
                if in_attribute && name == "debugger_visualizer" {
                    return Err(refused(
                        ident.span(),
                        "`#[debugger_visualizer]` (it embeds a file of the build machine)",
                    ));
                }
                if raw {
                    continue;
                }
                if name == "mod" {
                    let named = matches!(next.and_then(ident_name), Some((n, raw)) if raw || !is_reserved(&n));
                    let body = matches!(tokens.get(i + 2), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace);
                    if !(named && body) {
                        return Err(refused(
                            ident.span(),
                            "`mod name;` (a module in another file; write `mod name { … }`)",
                        ));
                    }
                }
                if name == "extern" {
                    check_extern(ident.span(), next, tokens.get(i + 2))?;
                }
            }
            TokenTree::Punct(_) | TokenTree::Literal(_) => {}
        }
    }
    Ok(())
}

fn check_extern(
    span: Span,
    next: Option<&TokenTree>,
    after: Option<&TokenTree>,
) -> Result<(), Refused> {
    match next {
        // `extern "C" fn` / `extern "C" { … }`
        Some(TokenTree::Literal(_)) => Ok(()),
        // `extern { … }`
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => Ok(()),
        _ if is_keyword(next, "fn") => Ok(()),
        _ if is_keyword(next, "crate") => match after.and_then(ident_name) {
            Some((name, _)) if name == "llmos_skill" => Ok(()),
            Some((name, _)) => Err(refused(
                span,
                format!("`extern crate {name}` (only `extern crate llmos_skill` is allowed)"),
            )),
            None => Err(refused(
                span,
                "`extern crate` (only `extern crate llmos_skill` is allowed)",
            )),
        },
        _ => Err(refused(
            span,
            "`extern` not followed by an ABI, `fn` or a block (only `extern crate llmos_skill` loads a crate)",
        )),
    }
}

/// Keywords that cannot name a module.
fn is_reserved(name: &str) -> bool {
    matches!(
        name,
        "as" | "async"
            | "await"
            | "break"
            | "const"
            | "continue"
            | "crate"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "Self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_at(code: &str) -> (usize, usize, String) {
        let r = scan(code).unwrap_err();
        (r.line, r.column, r.construct)
    }

    #[test]
    fn accepts_ordinary_skill_code() {
        let code = r#"
use llmos_skill::prelude::*;
extern crate llmos_skill;

/// Mentions include_str! and env! in a comment: only tokens count.
mod helpers {
    pub fn path_len(path: &str) -> usize { let s = "include_bytes!(\"/etc\")"; path.len() + s.len() }
}

unsafe extern "C" { fn abs(x: i32) -> i32; }
extern "C" fn callback() {}

#[derive(Outputs)]
struct Out { y: f64 }

#[skill]
fn execute(x: f64, r#type: String) -> Out {
    let path = 3.0;
    Out { y: x * path + r#type.len() as f64 }
}
"#;
        assert_eq!(scan(code), Ok(()));
    }

    #[test]
    fn refuses_file_and_environment_macros_with_their_position() {
        let (line, column, what) =
            refused_at("fn f() -> &'static str {\n    include_str!(\"/etc/passwd\")\n}\n");
        assert_eq!((line, column), (2, 5));
        assert!(what.contains("include_str!"), "{what}");
        assert!(
            refused_at("const A: &[u8] = std::include_bytes!(\"x\");")
                .2
                .contains("include_bytes")
        );
        assert!(refused_at("include!(\"x.rs\");").2.contains("`include!`"));
        assert!(
            refused_at("const H: &str = env!(\"HOME\");")
                .2
                .contains("`env`")
        );
        assert!(
            refused_at("const H: Option<&str> = option_env!(\"HOME\");")
                .2
                .contains("option_env")
        );
        // Renamed imports and macro arguments cannot hide them.
        assert!(
            refused_at("use std::include_str as read;")
                .2
                .contains("include_str")
        );
        assert!(
            refused_at(
                "macro_rules! m { ($i:ident) => { $i!(\"HOME\") } }\nconst H: &str = m!(env);"
            )
            .0 == 2
        );
        assert!(
            refused_at("const H: &str = r#env!(\"HOME\");")
                .2
                .contains("env")
        );
        assert!(
            refused_at("#[doc = include_str!(\"/etc/hosts\")]\nfn f() {}")
                .2
                .contains("include_str")
        );
    }

    #[test]
    fn refuses_modules_in_other_files() {
        assert_eq!(refused_at("mod secret;").0, 1);
        assert!(refused_at("pub mod a { mod b; }").2.contains("mod name;"));
        // A macro assembling `mod x;` from pieces.
        assert!(scan("macro_rules! m { ($k:tt $n:ident) => { $k $n; } }\nm!(mod x);").is_err());
        let (line, _, what) = refused_at("#[path = \"/etc/x.rs\"]\nmod x {}\n");
        assert_eq!(line, 1);
        assert!(what.contains("#[path"), "{what}");
        assert!(
            refused_at("#[cfg_attr(all(), path = \"x.rs\")]\nmod x {}")
                .2
                .contains("#[path")
        );
        assert!(
            refused_at("#![debugger_visualizer(gdb_script_file = \"/etc/passwd\")]")
                .2
                .contains("debugger_visualizer")
        );
        // A variable called `path` outside attributes is fine.
        assert_eq!(scan("fn f() { let path = 1; let _ = path; }"), Ok(()));
        // As is a raw identifier `r#mod`.
        assert_eq!(scan("fn f() { let r#mod = 1; let _ = r#mod; }"), Ok(()));
    }

    #[test]
    fn refuses_extern_crates_but_the_sdk() {
        let (_, _, what) = refused_at("extern crate wit_bindgen_rust_macro;");
        assert!(
            what.contains("extern crate wit_bindgen_rust_macro"),
            "{what}"
        );
        assert!(scan("extern crate proc_macro as pm;").is_err());
        assert!(scan("extern crate llmos_skill as sdk;").is_ok());
        assert!(
            scan("macro_rules! m { ($($t:tt)*) => { $($t)* }; }\nm!(extern crate std;);").is_err()
        );
        assert!(scan("macro_rules! m { ($e:tt $c:tt $n:ident) => { $e $c $n; }; }\nm!(extern, crate, alloc);").is_err());
    }

    #[test]
    fn refuses_code_the_lexer_cannot_read() {
        let r = scan("fn f() {\n    let s = \"unterminated;\n}\n").unwrap_err();
        assert!(r.unreadable);
        assert!(r.construct.contains("cannot read"), "{}", r.construct);
    }
}
