//! Least-loaded assignment of work to teams (pools).
//!
//! Load is outstanding work divided by capacity, so a team of 40 agents takes four times the
//! work of a team of 10. Ties go to the lowest team index, which keeps assignment
//! deterministic for a given submission order.

use super::types::TeamId;

/// Tracks assigned work per team and picks the least loaded one.
#[derive(Debug, Clone)]
pub struct LeastLoaded {
    capacity: Vec<u64>,
    assigned: Vec<u64>,
}

impl LeastLoaded {
    /// A balancer over teams with the given capacities (agents per team); zero-capacity
    /// teams never receive work.
    pub fn new(capacity: Vec<u64>) -> Self {
        let assigned = vec![0; capacity.len()];
        Self { capacity, assigned }
    }

    /// Assigns one unit of work to the least-loaded team, or `None` if no team has capacity.
    pub fn assign(&mut self) -> Option<TeamId> {
        let best = (0..self.capacity.len())
            .filter(|&team| self.capacity[team] > 0)
            // Compare assigned/capacity without division: a/b < c/d  ⇔  a·d < c·b.
            .min_by(|&x, &y| {
                let left = u128::from(self.assigned[x]) * u128::from(self.capacity[y]);
                let right = u128::from(self.assigned[y]) * u128::from(self.capacity[x]);
                left.cmp(&right).then(x.cmp(&y))
            })?;
        self.assigned[best] += 1;
        Some(TeamId(best as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves work is spread in proportion to capacity.
    #[test]
    fn assigns_in_proportion_to_capacity() {
        let mut balancer = LeastLoaded::new(vec![1, 3, 0]);
        let mut counts = [0; 3];
        for _ in 0..400 {
            counts[balancer.assign().unwrap().0 as usize] += 1;
        }
        assert_eq!(counts, [100, 300, 0]);
    }
}
