//! One trace per work item: the trace and root span every process derives from an item's id.
//!
//! An item's story is told by many agents, of several roles, in several processes or hosts:
//! the submitter, every claimant (winners and losers), the holder reporting progress, the
//! handoff to the next stage, the reaper. For a trace viewer to show that story as one
//! trace, every one of those spans must carry the same trace id and name the same parent,
//! yet none of the coordinators swarmspec drives (a file store, a user's command or process,
//! PostgreSQL) carries trace context beside an item. So the context is derived instead: a
//! bijective mix of the item's id and a salt shared by the whole run gives the trace id and
//! the id of the item's root span (its `work.submit`). A worker in another process that
//! knows only the item id and the run's salt names the same parent as the submitter did.
//!
//! The salt keeps two runs apart in one collector (deterministic runs issue the same item
//! ids every time) and is the run's seed unless a split run hands its workers the parent's.

use crate::ids::WorkId;

/// A span context a new span is parented under: its trace and the parent span's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanParent {
    /// The trace the child joins.
    pub trace_id: u128,
    /// The parent span's id (never 0).
    pub span_id: u64,
}

/// splitmix64's finaliser: a bijection on u64 that spreads nearby inputs far apart.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Never 0: the zero id is invalid in OpenTelemetry (as a trace id and as a span id).
fn nonzero(id: u64) -> u64 {
    if id == 0 {
        1
    } else {
        id
    }
}

/// The trace of `item` in a run salted with `salt`, and its root span's id.
pub fn item_root(salt: u64, item: WorkId) -> SpanParent {
    let base = item.0 ^ mix(salt ^ 0x243F_6A88_85A3_08D3);
    let high = mix(base.wrapping_add(0x9E37_79B9_7F4A_7C15));
    let low = nonzero(mix(base.wrapping_add(0x3C6E_F372_FE94_F82A)));
    SpanParent {
        trace_id: u128::from(high) << 64 | u128::from(low),
        span_id: nonzero(mix(base.wrapping_add(0xDAA6_6D2C_7DDF_743F))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_item_and_salt_name_the_same_root_anywhere() {
        assert_eq!(item_root(7, WorkId(42)), item_root(7, WorkId(42)));
    }

    #[test]
    fn items_and_runs_get_traces_of_their_own() {
        let mut seen = std::collections::HashSet::new();
        for salt in 0..20 {
            for item in 0..500 {
                let root = item_root(salt, WorkId(item));
                assert_ne!(root.trace_id, 0);
                assert_ne!(root.span_id, 0);
                assert!(
                    seen.insert(root.trace_id),
                    "salt {salt} item {item} collides"
                );
            }
        }
    }
}
