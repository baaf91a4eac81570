//! `swarmspec steps`: every step a spec writer can use, with its doc and an example.

use std::process::ExitCode;

use clap::Args;

use swarmspec::steps::catalogue;

/// Options of `swarmspec steps`.
#[derive(Debug, Args)]
pub struct StepsArgs {
    /// Print the Markdown page (`docs/steps.md` is this output).
    #[arg(long)]
    markdown: bool,
}

/// Prints the step catalogue, grouped by domain.
pub fn steps(args: StepsArgs) -> anyhow::Result<ExitCode> {
    let entries = catalogue::catalogue();
    if args.markdown {
        out!("{}", catalogue::markdown(&entries));
        return Ok(ExitCode::SUCCESS);
    }
    let mut domain = "";
    for entry in &entries {
        if entry.domain != domain {
            domain = entry.domain;
            outln!("\n{domain}");
        }
        outln!("  {} {}", entry.keyword, entry.pattern);
        outln!("      {}", entry.doc);
        if let Some(example) = &entry.example {
            outln!("      e.g. {} {example}", entry.keyword);
        }
    }
    Ok(ExitCode::SUCCESS)
}
