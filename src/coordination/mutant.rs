//! Deliberately broken engine disciplines: defects a real coordinator could plausibly have,
//! planted in the reference engine so the suite can prove its checks fail when they should.
//!
//! A check that has never gone red on a broken engine has not shown it can see the defect
//! it is named after. Each `Mutant` is one such defect; `swarmspec verify --mutants` runs
//! the shipped features once per mutant and a mutant no scenario kills is a hole in the
//! suite (fix the suite, never the mutant).

use serde::Serialize;

/// The environment variable that makes the Gherkin suite run against a mutant
/// (`SWARMSPEC_MUTANT=racy-claim cargo test --test features`).
pub const MUTANT_ENV: &str = "SWARMSPEC_MUTANT";

/// One planted defect of the reference engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
pub enum Mutant {
    /// A claim overwrites whoever holds the item (no check of the status at all).
    BlindWrite,
    /// A claim reads the item's word, decides, then stores: no compare-and-swap, so two
    /// threads that read the same open word both win.
    RacyClaim,
    /// Progress, complete and release are accepted from an agent that does not hold the
    /// item (anyone may write to an item that is open or claimed).
    NonHolderWrites,
    /// Some acknowledged completions are not recorded: the engine answers "completed" and
    /// the item is open again at that stage, as if the write never became durable.
    LostCompletion,
    /// The lease reaper never reopens anything, so a crashed holder keeps its items forever.
    NeverReap,
    /// A handoff moves the item two stages on when it can, skipping the next role.
    HandoffSkipsStage,
    /// The reaper judges only the holder's silence, not the status, so it also reopens
    /// stages already completed by a holder that has since gone quiet.
    ReapReopensCompleted,
}

/// Every mutant, in the order reports list them.
const ALL: [Mutant; 7] = [
    Mutant::BlindWrite,
    Mutant::RacyClaim,
    Mutant::NonHolderWrites,
    Mutant::LostCompletion,
    Mutant::NeverReap,
    Mutant::HandoffSkipsStage,
    Mutant::ReapReopensCompleted,
];

impl Mutant {
    /// Every shipped mutant.
    pub fn all() -> &'static [Mutant] {
        &ALL
    }

    /// The name used on the command line, in `SWARMSPEC_MUTANT` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Mutant::BlindWrite => "blind-write",
            Mutant::RacyClaim => "racy-claim",
            Mutant::NonHolderWrites => "non-holder-writes",
            Mutant::LostCompletion => "lost-completion",
            Mutant::NeverReap => "never-reap",
            Mutant::HandoffSkipsStage => "handoff-skips-stage",
            Mutant::ReapReopensCompleted => "reap-reopens-completed",
        }
    }

    /// The mutant of that name, if there is one.
    pub fn from_name(name: &str) -> Option<Mutant> {
        ALL.into_iter().find(|mutant| mutant.name() == name.trim())
    }

    /// Every name, comma-separated (for messages about an unknown name).
    pub fn names() -> String {
        ALL.map(Mutant::name).join(", ")
    }

    /// The defect in one sentence, for reports.
    pub fn defect(self) -> &'static str {
        match self {
            Mutant::BlindWrite => "a claim overwrites the current holder",
            Mutant::RacyClaim => "a claim reads, decides, then stores (no compare-and-swap)",
            Mutant::NonHolderWrites => "progress, complete and release accepted from a non-holder",
            Mutant::LostCompletion => "one acknowledged completion in four is not recorded",
            Mutant::NeverReap => "expired leases are never reaped",
            Mutant::HandoffSkipsStage => "a handoff skips the next stage",
            Mutant::ReapReopensCompleted => "the reaper reopens completed stages",
        }
    }

    /// The mutant `SWARMSPEC_MUTANT` names: `Ok(None)` when it is unset or empty, an error
    /// naming the known mutants when it names none of them.
    pub fn from_env() -> crate::error::Result<Option<Mutant>> {
        match std::env::var(MUTANT_ENV) {
            Ok(name) if !name.trim().is_empty() => {
                Self::from_name(&name).map(Some).ok_or_else(|| {
                    crate::error::Error::InvalidConfig(format!(
                        "{MUTANT_ENV}={name}: no such mutant; known: {}",
                        Self::names()
                    ))
                })
            }
            _ => Ok(None),
        }
    }
}

impl From<Mutant> for &'static str {
    fn from(mutant: Mutant) -> Self {
        mutant.name()
    }
}

impl std::fmt::Display for Mutant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How the engine behaves: correctly, or with one planted defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Discipline {
    /// Correct: every transition is a compare-and-swap that checks status, stage and holder.
    #[default]
    Correct,
    /// Deliberately broken in one way; only tests of the checks select this.
    Mutant(Mutant),
}

impl Discipline {
    /// The planted defect, if any.
    pub fn mutant(self) -> Option<Mutant> {
        match self {
            Discipline::Correct => None,
            Discipline::Mutant(mutant) => Some(mutant),
        }
    }

    /// Whether this is that mutant.
    pub fn is(self, mutant: Mutant) -> bool {
        self.mutant() == Some(mutant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves every mutant's name reads back as that mutant, and names are distinct.
    #[test]
    fn names_round_trip() {
        for &mutant in Mutant::all() {
            assert_eq!(Mutant::from_name(mutant.name()), Some(mutant));
        }
        let mut names: Vec<&str> = Mutant::all().iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Mutant::all().len());
        assert_eq!(Mutant::from_name("racy"), None);
    }
}
