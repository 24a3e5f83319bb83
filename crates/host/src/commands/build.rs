//! `llmos build`: run the build command of every component (or of the
//! components named with `--component`), like `spin build`.

use clap::Args;

use super::AppArgs;

/// Arguments of `llmos build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    app: AppArgs,
    /// Build only this component (repeatable).
    #[arg(short = 'c', long = "component")]
    components: Vec<String>,
}

/// Runs `llmos build`.
pub fn run(args: BuildArgs) -> anyhow::Result<()> {
    let manifest = args.app.manifest()?;
    let only = (!args.components.is_empty()).then_some(args.components.as_slice());
    llmos_host::builder::build(&manifest, only)
}
