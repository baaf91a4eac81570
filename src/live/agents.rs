//! What every agent is doing right now, as one byte per agent the agent itself stores and the
//! live view reads. An agent writes its byte only when its state changes (one relaxed store,
//! no lock, no allocation), so watching costs the swarm next to nothing; the view sums the
//! bytes into counts per team and role, which stay readable at 100 000 agents.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use serde::Serialize;

/// One agent's state, as the live view shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum AgentState {
    /// Not yet registered with the coordinator.
    Starting = 0,
    /// Registered, looking for or waiting on work.
    Idle = 1,
    /// Holding an item (claimed and not yet completed or released).
    Holding = 2,
    /// Waiting out a retry backoff after a failed call.
    BackingOff = 3,
    /// Crashed by fault injection.
    Crashed = 4,
    /// Stopped: nothing left to do, or the deadline.
    Stopped = 5,
}

impl AgentState {
    /// Every state, in the order the page's columns show them.
    pub const ALL: [AgentState; 6] = [
        AgentState::Starting,
        AgentState::Idle,
        AgentState::Holding,
        AgentState::BackingOff,
        AgentState::Crashed,
        AgentState::Stopped,
    ];

    /// The state's name on the page and in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Starting => "starting",
            AgentState::Idle => "idle",
            AgentState::Holding => "holding",
            AgentState::BackingOff => "backing_off",
            AgentState::Crashed => "crashed",
            AgentState::Stopped => "stopped",
        }
    }

    fn from_byte(byte: u8) -> AgentState {
        Self::ALL
            .get(usize::from(byte))
            .copied()
            .unwrap_or(AgentState::Starting)
    }
}

/// Swarms up to this many agents give each agent's byte a cache line of its own (at most
/// 1 MiB): agents on different cores storing bytes of one line slow each other on every
/// state change, as the coordinator's packed heartbeats did. Larger swarms keep one byte
/// an agent, as the per-agent memory budget matters more there and any two agents share
/// a line less often.
const PADDED_AGENTS_MAX: usize = 16_384;
/// Bytes between two agents' states when padded: one cache line.
const CACHE_LINE: usize = 64;

/// Who each agent is: its team and role, set once by the run that plans the agents.
#[derive(Debug)]
struct Layout {
    /// Per agent: (team, role name).
    agents: Vec<(u32, &'static str)>,
    /// Agent `i`'s state is at `i * stride`.
    states: Vec<AtomicU8>,
    stride: usize,
}

impl Layout {
    fn state(&self, index: usize) -> Option<&AtomicU8> {
        self.states.get(index.checked_mul(self.stride)?)
    }
}

/// Agents' states for one run, shared between the swarm (which writes) and the live view
/// (which reads). Empty until the run lays out its agents.
#[derive(Debug, Default)]
pub struct LiveAgents {
    layout: OnceLock<Layout>,
}

/// Counts of agents in each state for one team and role.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GroupCounts {
    /// The team's number.
    pub team: u32,
    /// The role's name.
    pub role: &'static str,
    /// Agents per state, in `AgentState::ALL` order.
    pub counts: [u32; 6],
}

impl LiveAgents {
    /// An empty board; `lay_out` gives it its agents.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets who the agents are (index order), each `Starting`. Only the first call counts:
    /// a second run on the same board (a determinism check) leaves the first layout.
    pub fn lay_out(&self, agents: impl IntoIterator<Item = (u32, &'static str)>) {
        let agents: Vec<_> = agents.into_iter().collect();
        let stride = if agents.len() <= PADDED_AGENTS_MAX {
            CACHE_LINE
        } else {
            1
        };
        let states = (0..agents.len() * stride)
            .map(|_| AtomicU8::new(0))
            .collect();
        let _ = self.layout.set(Layout {
            agents,
            states,
            stride,
        });
    }

    /// Notes agent `index`'s new state (ignored for an index the layout does not have).
    #[inline]
    pub fn set(&self, index: usize, state: AgentState) {
        if let Some(slot) = self.layout.get().and_then(|l| l.state(index)) {
            slot.store(state as u8, Ordering::Relaxed);
        }
    }

    /// Agents in the layout.
    pub fn len(&self) -> usize {
        self.layout.get().map_or(0, |l| l.agents.len())
    }

    /// Whether no agent is laid out yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts per (team, role), in team then role order.
    pub fn counts(&self) -> Vec<GroupCounts> {
        let Some(layout) = self.layout.get() else {
            return Vec::new();
        };
        let mut groups: BTreeMap<(u32, &'static str), [u32; 6]> = BTreeMap::new();
        let states = layout.states.iter().step_by(layout.stride);
        for (&(team, role), state) in layout.agents.iter().zip(states) {
            let state = AgentState::from_byte(state.load(Ordering::Relaxed));
            groups.entry((team, role)).or_default()[state as usize] += 1;
        }
        groups
            .into_iter()
            .map(|((team, role), counts)| GroupCounts { team, role, counts })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves states are counted per team and role, and that an index past the layout is
    // ignored rather than a panic.
    #[test]
    fn counts_group_by_team_and_role() {
        let live = LiveAgents::new();
        live.lay_out([(0, "developer"), (0, "developer"), (1, "tester")]);
        live.set(0, AgentState::Holding);
        live.set(2, AgentState::Crashed);
        live.set(9, AgentState::Holding);
        let counts = live.counts();
        assert_eq!(counts.len(), 2);
        assert_eq!(counts[0].counts, [1, 0, 1, 0, 0, 0]);
        assert_eq!((counts[1].team, counts[1].role), (1, "tester"));
        assert_eq!(counts[1].counts, [0, 0, 0, 0, 1, 0]);
    }
}
