//! `llmos`: the LLMos-Lite host and command line.
fn main() -> anyhow::Result<()> {
    anyhow::bail!("the llmos host is not built yet")
}
