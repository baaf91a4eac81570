//! Ownership from spans: every acknowledged write to an item came from the agent that held
//! it at that moment.
//!
//! The double-hold check sees two agents winning one item; it cannot see an engine that
//! lets a *non*-holder progress, complete, release or hand off an item (an agent whose lease
//! was reaped, say). This check rebuilds, per item and agent, the windows in which that
//! agent may have held the item, from the spans alone:
//!
//! - a successful `work.claim` opens a *claimed* window; an acknowledged `work.complete`
//!   opens a *stage done* window (the completer may hand the stage off);
//! - a window is over once something is known to have happened after it opened and
//!   before the write began: the agent's own completion, release or handoff, a `lease.reap`
//!   that took the item from it, or another agent's successful claim of the item.
//!
//! Times are taken so that a correct engine can never look guilty, even on the real clock:
//! a window opens at the *start* of its span (the earliest the call could have landed), and
//! an event ends it only if that event began after the window's span ended and ended
//! before the write's span began. A write outside every window is an offence, named with
//! the agent, item, stage, time and who (if anyone) held the item then.

use std::collections::BTreeMap;

use super::Verdict;
use crate::telemetry::SpanRecord;

/// Offending calls listed in a verdict; the rest are counted.
const OFFENCES_LISTED_MAX: usize = 20;

/// What an item's span says happened, for this check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Claim,
    Progress,
    Complete,
    Release,
    Handoff,
    Reap,
}

impl Act {
    /// The act a span records, if it was acknowledged (only acknowledged calls changed or
    /// could have changed the item).
    fn of(span: &SpanRecord) -> Option<Act> {
        let outcome = span.attr_text("work.outcome");
        let act = match (span.name.as_str(), outcome.as_deref()) {
            ("work.claim", Some("claimed")) => Act::Claim,
            ("work.progress", Some("ok")) => Act::Progress,
            ("work.complete", Some("completed")) => Act::Complete,
            ("work.release", Some("ok")) => Act::Release,
            ("work.handoff", Some("handed_off")) => Act::Handoff,
            ("lease.reap", _) => Act::Reap,
            _ => return None,
        };
        Some(act)
    }

    fn verb(self) -> &'static str {
        match self {
            Act::Claim => "claim",
            Act::Progress => "progress",
            Act::Complete => "complete",
            Act::Release => "release",
            Act::Handoff => "handoff",
            Act::Reap => "reap",
        }
    }
}

/// One acknowledged act on an item. For a reap, `agent` is the holder it took the item from.
#[derive(Debug, Clone)]
struct Event {
    act: Act,
    agent: String,
    stage: Option<String>,
    start_ns: u64,
    end_ns: u64,
}

/// Acknowledged acts per item, each item's in start order.
fn events_by_item(spans: &[SpanRecord]) -> BTreeMap<String, Vec<Event>> {
    let mut by_item: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for span in spans {
        let Some(act) = Act::of(span) else { continue };
        let holder_key = if act == Act::Reap {
            "work.previous_holder"
        } else {
            "agent.id"
        };
        let (Some(item), Some(agent)) =
            (span.attr_text("work.item_id"), span.attr_text(holder_key))
        else {
            continue;
        };
        by_item.entry(item).or_default().push(Event {
            act,
            agent,
            stage: span.attr_text("work.stage"),
            start_ns: span.start_unix_ns,
            end_ns: span.end_unix_ns,
        });
    }
    for events in by_item.values_mut() {
        events.sort_by_key(|event| (event.start_ns, event.end_ns));
    }
    by_item
}

/// Why `write` is not covered by a window of its agent, if it is not.
fn offence(events: &[Event], write: &Event) -> Option<String> {
    // A progress, complete or release needs a claim; a handoff needs the completion of the
    // stage it hands off. The latest such opener before the write is the only candidate:
    // one agent's calls are sequential, so an earlier one was closed by a later one.
    let opener_act = if write.act == Act::Handoff {
        Act::Complete
    } else {
        Act::Claim
    };
    let opener = events
        .iter()
        .filter(|e| e.act == opener_act && e.agent == write.agent && e.stage == write.stage)
        .filter(|e| e.start_ns <= write.start_ns)
        .max_by_key(|e| (e.start_ns, e.end_ns));
    let Some(opener) = opener else {
        return Some(format!(
            "{} never {} that stage before",
            write.agent,
            if opener_act == Act::Claim {
                "claimed"
            } else {
                "completed"
            }
        ));
    };
    let own_closers: &[Act] = if write.act == Act::Handoff {
        &[Act::Handoff]
    } else {
        &[Act::Complete, Act::Release]
    };
    let closer = events.iter().find(|e| {
        let between = e.start_ns >= opener.end_ns && e.end_ns < write.start_ns;
        let closes = match e.act {
            Act::Claim => e.agent != write.agent,
            Act::Reap => e.agent == write.agent,
            act => e.agent == write.agent && own_closers.contains(&act),
        };
        between && closes
    })?;
    Some(match closer.act {
        Act::Claim => format!(
            "the holder then was {} (claimed stage {} at {}..{})",
            closer.agent,
            closer.stage.as_deref().unwrap_or("?"),
            closer.start_ns,
            closer.end_ns
        ),
        Act::Reap => format!(
            "nobody held it for {}: its lease was reaped at {}",
            write.agent, closer.start_ns
        ),
        act => format!(
            "{} had already let it go ({} at {}..{})",
            write.agent,
            act.verb(),
            closer.start_ns,
            closer.end_ns
        ),
    })
}

/// What the ownership check found: every offending write, worded, and how many writes to
/// how many items it checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OffendingWrites {
    /// One line per acknowledged write from a non-holder, none left out.
    pub offences: Vec<String>,
    /// Acknowledged writes checked.
    pub checked: usize,
    /// Items they were to.
    pub items: usize,
}

/// Every acknowledged write in `spans` that came from an agent not holding the item then.
pub fn offending_writes(spans: &[SpanRecord]) -> OffendingWrites {
    let by_item = events_by_item(spans);
    let mut checked = 0usize;
    let mut offences = Vec::new();
    for (item, events) in &by_item {
        for write in events.iter().filter(|e| {
            matches!(
                e.act,
                Act::Progress | Act::Complete | Act::Release | Act::Handoff
            )
        }) {
            checked += 1;
            if let Some(reason) = offence(events, write) {
                offences.push(format!(
                    "{} {} of {item} (stage {}) at {}..{} was acknowledged, but {reason}",
                    write.agent,
                    write.act.verb(),
                    write.stage.as_deref().unwrap_or("?"),
                    write.start_ns,
                    write.end_ns
                ));
            }
        }
    }
    OffendingWrites {
        offences,
        checked,
        items: by_item.len(),
    }
}

/// Every acknowledged `work.progress`, `work.complete`, `work.release` and `work.handoff`
/// came from the agent that held the item when the call was made; and at least one did.
pub fn writes_from_holder(spans: &[SpanRecord]) -> Verdict {
    let OffendingWrites {
        mut offences,
        checked,
        items,
    } = offending_writes(spans);
    let offence_count = offences.len();
    if offence_count > OFFENCES_LISTED_MAX {
        offences.truncate(OFFENCES_LISTED_MAX);
        offences.push(format!(
            "… and {} more",
            offence_count - OFFENCES_LISTED_MAX
        ));
    }
    Verdict::new(
        "every acknowledged write came from the item's holder",
        offence_count == 0 && checked > 0,
        "0 acknowledged progress, complete, release or handoff calls from a non-holder \
         (among at least 1)",
        format!(
            "{offence_count} of {checked} acknowledged writes to {items} items came from a non-holder"
        ),
        offences,
    )
}

#[cfg(test)]
#[path = "ownership_tests.rs"]
mod tests;
