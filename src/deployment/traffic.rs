//! The client agents' request schedule: each agent sends one request per interval, at a
//! seeded phase, so traffic is steady, spread out, and the same for the same seed.

use rand::Rng;

/// Time between two requests of one client agent, simulated.
pub const REQUEST_INTERVAL_NS: u64 = 1_000_000_000;
/// Most client agents a deploy simulation drives.
pub const CLIENT_COUNT_MAX: usize = 10_000;

/// When each client agent sends its next request.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// (phase within the interval, agent index), sorted by phase.
    phases: Vec<(u64, usize)>,
    round: u64,
    cursor: usize,
}

impl Schedule {
    /// `client_count` agents with phases drawn from `rng`.
    pub fn new(client_count: usize, rng: &mut impl Rng) -> Self {
        let mut phases: Vec<(u64, usize)> = (0..client_count)
            .map(|agent| (rng.gen_range(0..REQUEST_INTERVAL_NS), agent))
            .collect();
        phases.sort_unstable();
        Self {
            phases,
            round: 0,
            cursor: 0,
        }
    }

    /// The next request (time, agent) if it is due strictly before `until_ns`, and moves on.
    pub fn next_before(&mut self, until_ns: u64) -> Option<(u64, usize)> {
        let &(phase, agent) = self.phases.get(self.cursor)?;
        let at_ns = self.round * REQUEST_INTERVAL_NS + phase;
        if at_ns >= until_ns {
            return None;
        }
        self.cursor += 1;
        if self.cursor == self.phases.len() {
            self.cursor = 0;
            self.round += 1;
        }
        Some((at_ns, agent))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    // Proves every agent sends exactly one request per interval, in time order.
    #[test]
    fn one_request_per_agent_per_interval_in_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut schedule = Schedule::new(100, &mut rng);
        let mut sent = Vec::new();
        while let Some(request) = schedule.next_before(3 * REQUEST_INTERVAL_NS) {
            sent.push(request);
        }
        assert_eq!(sent.len(), 300);
        assert!(sent.windows(2).all(|pair| pair[0].0 <= pair[1].0));
        for agent in 0..100 {
            assert_eq!(sent.iter().filter(|(_, a)| *a == agent).count(), 3);
        }
        assert!(schedule.next_before(3 * REQUEST_INTERVAL_NS).is_none());
    }

    // Proves no clients means no requests, rather than a panic.
    #[test]
    fn no_clients_no_requests() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        assert!(Schedule::new(0, &mut rng).next_before(u64::MAX).is_none());
    }
}
