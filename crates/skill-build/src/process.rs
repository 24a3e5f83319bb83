//! Runs one compiler with a deadline and collects what it printed.
//!
//! Compilers start children of their own (cargo runs rustc and the linker,
//! componentize-js runs wizer), so each runs in a process group of its own
//! and a timeout stops the whole group, not just the first process.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::Duration;

use llmos_core::skill::component::Language;
use wait_timeout::ChildExt;

use crate::BuildError;

/// What a finished run printed.
#[derive(Debug)]
pub struct Ran {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Standard error, then standard output.
    pub fn all_output(&self) -> String {
        let mut text = self.stderr.clone();
        if !self.stdout.trim().is_empty() {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&self.stdout);
        }
        text
    }
}

/// Why a run produced no [`Ran`].
#[derive(Debug)]
pub enum RunFailure {
    /// The program could not be started (`NotFound`: it is not installed).
    Spawn(std::io::Error),
    /// It ran past the deadline and was stopped.
    Timeout,
    /// Waiting for it failed.
    Wait(std::io::Error),
}

impl RunFailure {
    /// The build error of `tool`, a compiler of `language` that did not
    /// finish within `timeout`; `missing` when it is not installed.
    pub fn into_build_error(
        self,
        tool: &str,
        language: Language,
        timeout: Duration,
        missing: impl FnOnce() -> BuildError,
    ) -> BuildError {
        match self {
            RunFailure::Spawn(e) if e.kind() == std::io::ErrorKind::NotFound => missing(),
            RunFailure::Spawn(e) | RunFailure::Wait(e) => {
                BuildError::Io(format!("cannot run {tool}: {e}"))
            }
            RunFailure::Timeout => BuildError::Timeout {
                language,
                seconds: timeout.as_secs(),
            },
        }
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error ends the output early; what was read is kept.
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `command` (stdin closed) for at most `timeout`.
pub fn run(mut command: Command, timeout: Duration) -> Result<Ran, RunFailure> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command.spawn().map_err(RunFailure::Spawn)?;
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    let status = match child.wait_timeout(timeout) {
        Ok(Some(status)) => status,
        Ok(None) => {
            stop_group(&mut child);
            return Err(RunFailure::Timeout);
        }
        Err(e) => {
            stop_group(&mut child);
            return Err(RunFailure::Wait(e));
        }
    };
    // Grandchildren that outlive the compiler would keep the pipes open.
    stop_group(&mut child);
    Ok(Ran {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

fn stop_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        if let Ok(pid) = i32::try_from(child.id()) {
            // The group may already be gone: nothing left to stop.
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_output_and_status() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo out; echo err >&2; exit 3"]);
        let ran = run(c, Duration::from_secs(10)).unwrap();
        assert_eq!(ran.status.code(), Some(3));
        assert_eq!(ran.stdout, "out\n");
        assert_eq!(ran.all_output(), "err\nout\n");
    }

    #[test]
    fn stops_the_whole_group_at_the_deadline() {
        let mut c = Command::new("sh");
        // The child's own child holds the pipes; stopping only `sh` would
        // leave the reader threads waiting for it.
        c.args(["-c", "sleep 30 & sleep 30"]);
        let started = std::time::Instant::now();
        assert!(matches!(
            run(c, Duration::from_millis(300)),
            Err(RunFailure::Timeout)
        ));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_missing_program_is_a_spawn_failure() {
        let c = Command::new("/nonexistent/compiler");
        match run(c, Duration::from_secs(1)) {
            Err(RunFailure::Spawn(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
            other => panic!("{other:?}"),
        }
    }
}
