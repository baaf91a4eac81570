//! `swarmspec vocabulary`: the span names, attributes, types and value sets a spec writer
//! writes against, and the values of every enumerated step parameter.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use swarmspec::evidence::lexicon;

/// Options of `swarmspec vocabulary`.
#[derive(Debug, Args)]
pub struct VocabularyArgs {
    /// One JSON document instead of text.
    #[arg(long)]
    json: bool,
}

/// Prints the vocabulary.
pub fn vocabulary(args: VocabularyArgs) -> anyhow::Result<ExitCode> {
    let lexicon = lexicon::lexicon();
    if args.json {
        let text = serde_json::to_string_pretty(&lexicon).context("vocabulary as JSON")?;
        outln!("{text}");
    } else {
        out!("{}", lexicon::markdown(&lexicon));
    }
    Ok(ExitCode::SUCCESS)
}
