//! Writing to stdout, where a reader that went away (`swarmspec history | head -1`) ends the
//! command quietly instead of panicking as `println!` does.
//!
//! `outln!` and `out!` return `StdoutClosed` through `?`, so the command unwinds normally
//! (files closed, temp directories removed) and `main` exits with 141, the code a shell
//! gives a process ended by SIGPIPE: a pipeline under `set -o pipefail` sees the output was
//! cut short, as it would for `cat`, and no verdict is claimed for a run whose report
//! nobody read to the end.

use std::fmt;
use std::io::Write as _;

/// The exit code of a command whose stdout was closed: 128 + SIGPIPE, as shells report it.
pub const STDOUT_CLOSED_EXIT_CODE: u8 = 141;

/// Stdout's reader is gone; nothing more can be shown.
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed")]
pub struct StdoutClosed;

/// Writes `args` (and a newline, when `newline`) to stdout.
pub fn write(args: fmt::Arguments<'_>, newline: bool) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| {
        if newline {
            stdout.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    match written {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(error) => Err(anyhow::Error::new(error).context("writing to stdout")),
    }
}

/// Whether `error` (anywhere in its chain) is a closed stdout.
pub fn is_stdout_closed(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<StdoutClosed>())
}
