//! Markdown to HTML for chat answers and skill bodies, safe to put in
//! `innerHTML`: text from an LLM or a skill file must never run script or
//! load anything.
//!
//! - Raw HTML (blocks and inline) is shown as text, never parsed.
//! - Links keep only `http`, `https` and `mailto` targets and in-page
//!   anchors; others (`javascript:`, `data:` …) become plain text.
//! - Images are replaced by their alt text: loading a remote image would
//!   send a request off the machine.
//!
//! pulldown-cmark escapes every text and attribute it writes, so what is
//! left cannot open a tag.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

fn safe_link(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("mailto:")
        || lower.starts_with('#')
}

/// Renders Markdown to sanitized HTML.
pub fn to_html(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut events: Vec<Event<'_>> = Vec::new();
    // Depth of unsafe links and of images being dropped: their inner text
    // stays, their tags go.
    let mut dropped_links = Vec::new();
    let mut in_image = 0usize;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Html(text) | Event::InlineHtml(text) => events.push(Event::Text(text)),
            Event::Start(Tag::Link { ref dest_url, .. }) => {
                let keep = safe_link(dest_url);
                dropped_links.push(!keep);
                if keep {
                    events.push(event);
                }
            }
            Event::End(TagEnd::Link) => {
                if dropped_links.pop() == Some(false) {
                    events.push(event);
                }
            }
            Event::Start(Tag::Image { .. }) => {
                in_image += 1;
                events.push(Event::Text(CowStr::Borrowed("[image: ")));
            }
            Event::End(TagEnd::Image) => {
                in_image = in_image.saturating_sub(1);
                events.push(Event::Text(CowStr::Borrowed("]")));
            }
            other => events.push(other),
        }
    }
    let _ = in_image;
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events.into_iter());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_escaped_not_rendered() {
        let html = to_html("hi <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn unsafe_links_and_images_become_text() {
        let html = to_html(
            "[click](javascript:alert(1)) [ok](https://example.org) ![pic](http://x/y.png)",
        );
        assert!(!html.contains("javascript:"), "{html}");
        assert!(
            html.contains("<a href=\"https://example.org\">ok</a>"),
            "{html}"
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("[image: pic]"), "{html}");
        assert!(html.contains("click"));
    }

    #[test]
    fn markdown_structure_renders() {
        let html = to_html(
            "# Title\n\n- a\n- **b**\n\n```python\nx = 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(html.contains("<h1>Title</h1>"));
        assert!(html.contains("<strong>b</strong>"));
        assert!(html.contains("<code class=\"language-python\">"));
        assert!(html.contains("<table>"));
    }
}
