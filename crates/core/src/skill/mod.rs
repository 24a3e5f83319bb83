//! Skill files: Markdown with YAML front matter, context and executable
//! skills, and Agent Skills `SKILL.md` files.
