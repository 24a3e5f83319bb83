//! Writes the OpenAPI document to the file named by its argument (the
//! web component's build writes `docs/openapi.json`), or to standard
//! output without one. The file is only rewritten when its bytes change.

use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let document = llmos_api::document_json();
    let mut args = std::env::args_os().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        return match std::io::stdout().write_all(document.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("openapi: writing to standard output: {err}");
                ExitCode::FAILURE
            }
        };
    };
    let path = std::path::PathBuf::from(path);
    if std::fs::read(&path).is_ok_and(|old| old == document.as_bytes()) {
        return ExitCode::SUCCESS;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(err) = std::fs::create_dir_all(dir)
    {
        eprintln!("openapi: creating {}: {err}", dir.display());
        return ExitCode::FAILURE;
    }
    match std::fs::write(&path, &document) {
        Ok(()) => {
            println!(
                "openapi: wrote {} ({} bytes)",
                path.display(),
                document.len()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("openapi: writing {}: {err}", path.display());
            ExitCode::FAILURE
        }
    }
}
