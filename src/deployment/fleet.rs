//! One environment's instances and the traffic router in front of them.
//!
//! The router's one promise: a request only goes to an instance whose readiness probe passed
//! and that is not draining. That promise is what makes a good rolling or blue-green deploy
//! lose no request, and the evidence checks test it from spans, not from this code.

use std::collections::BTreeMap;

use rand::Rng;
use serde::Serialize;

use super::environment::Environment;

/// One running (or starting, or draining) instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instance {
    /// Stable name, e.g. `production-07`: what `deploy.instance` carries.
    pub name: String,
    /// The version it runs (or is starting).
    pub version: String,
    /// Whether its readiness probe passed and it is not draining.
    pub ready: bool,
}

/// How the router splits traffic between versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Routing {
    /// Every ready instance alike, whatever it runs.
    Even,
    /// `percent` of requests to ready instances running `candidate`, the rest to the others.
    Weighted {
        /// The version being introduced.
        candidate: String,
        /// Its share of traffic.
        percent: u8,
    },
}

/// Whether the router honours readiness. Only a test of the checks breaks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RouterDiscipline {
    /// Only ready instances get traffic (the real router).
    ReadyOnly,
    /// Broken on purpose: instances get traffic whether ready or not, to prove the
    /// unready-traffic check catches it.
    IgnoreReadiness,
}

/// The instances of one environment, keyed by slot so names stay stable across deploys.
#[derive(Debug, Clone, Serialize)]
pub struct Fleet {
    environment: Environment,
    instances: BTreeMap<usize, Instance>,
    /// How traffic is split right now.
    pub routing: Routing,
}

impl Fleet {
    /// `count` ready instances of `version` in slots `0..count`.
    pub fn new(environment: Environment, count: usize, version: &str) -> Self {
        let mut fleet = Self {
            environment,
            instances: BTreeMap::new(),
            routing: Routing::Even,
        };
        for slot in 0..count {
            fleet.add(slot, version);
            fleet.set_ready(slot, true);
        }
        fleet
    }

    /// Adds a (not yet ready) instance of `version` in `slot`.
    pub fn add(&mut self, slot: usize, version: &str) {
        let name = format!("{}-{slot:02}", self.environment.as_str());
        let instance = Instance {
            name,
            version: version.to_owned(),
            ready: false,
        };
        let previous = self.instances.insert(slot, instance);
        assert!(previous.is_none(), "slot {slot} was already taken");
    }

    /// Removes the instance in `slot` (it must have been drained first).
    pub fn remove(&mut self, slot: usize) {
        let removed = self.instances.remove(&slot);
        assert!(
            removed.is_some_and(|instance| !instance.ready),
            "slot {slot} removed while absent or still ready"
        );
    }

    /// `count` slots no instance uses, lowest first: where a green fleet starts.
    pub fn free_slots(&self, count: usize) -> Vec<usize> {
        (0..)
            .filter(|slot| !self.instances.contains_key(slot))
            .take(count)
            .collect()
    }

    /// The instance in `slot`.
    pub fn instance(&self, slot: usize) -> Option<&Instance> {
        self.instances.get(&slot)
    }

    /// Marks `slot` ready or not; returns whether that changed anything.
    pub fn set_ready(&mut self, slot: usize, ready: bool) -> bool {
        self.instances
            .get_mut(&slot)
            .is_some_and(|instance| std::mem::replace(&mut instance.ready, ready) != ready)
    }

    /// Makes `slot` run `version` (it restarts, so it is not ready).
    pub fn set_version(&mut self, slot: usize, version: &str) {
        if let Some(instance) = self.instances.get_mut(&slot) {
            instance.version = version.to_owned();
            instance.ready = false;
        }
    }

    /// Slots whose instance satisfies `keep`, in slot order.
    pub fn slots_where(&self, keep: impl Fn(&Instance) -> bool) -> Vec<usize> {
        self.instances
            .iter()
            .filter(|(_, instance)| keep(instance))
            .map(|(&slot, _)| slot)
            .collect()
    }

    /// Instances in the fleet.
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// Whether the fleet has no instance.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// Picks the slot that serves the next request, or `None` when no instance may.
    pub fn route(&self, rng: &mut impl Rng, discipline: RouterDiscipline) -> Option<usize> {
        let eligible =
            |instance: &Instance| discipline == RouterDiscipline::IgnoreReadiness || instance.ready;
        let mut pool = match &self.routing {
            Routing::Even => self.slots_where(eligible),
            Routing::Weighted { candidate, percent } => {
                let to_candidate = rng.gen_range(0..100u8) < *percent;
                self.slots_where(|i| eligible(i) && (&i.version == candidate) == to_candidate)
            }
        };
        // A pool with nothing ready (a canary still booting, blue already gone) must not
        // turn into failed requests while other instances could serve.
        if pool.is_empty() {
            pool = self.slots_where(eligible);
        }
        (!pool.is_empty()).then(|| pool[rng.gen_range(0..pool.len())])
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn routed(fleet: &Fleet, discipline: RouterDiscipline) -> Vec<usize> {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        (0..2_000)
            .filter_map(|_| fleet.route(&mut rng, discipline))
            .collect()
    }

    // Proves the real router never picks an unready instance, and the broken one does.
    #[test]
    fn ready_only_router_skips_unready_instances() {
        let mut fleet = Fleet::new(Environment::Dev, 4, "v1");
        fleet.set_version(1, "v2");
        let honest = routed(&fleet, RouterDiscipline::ReadyOnly);
        assert_eq!(honest.len(), 2_000);
        assert!(!honest.contains(&1));
        assert!(routed(&fleet, RouterDiscipline::IgnoreReadiness).contains(&1));
    }

    // Proves weighted routing gives the candidate about its share, and falls back when the
    // candidate has no ready instance.
    #[test]
    fn weighted_routing_honours_the_share() {
        let mut fleet = Fleet::new(Environment::Production, 20, "v1");
        fleet.set_version(0, "v2");
        fleet.set_ready(0, true);
        fleet.routing = Routing::Weighted {
            candidate: "v2".into(),
            percent: 25,
        };
        let to_candidate = routed(&fleet, RouterDiscipline::ReadyOnly)
            .iter()
            .filter(|&&slot| slot == 0)
            .count();
        assert!((400..600).contains(&to_candidate), "{to_candidate}");
        fleet.set_ready(0, false);
        let all = routed(&fleet, RouterDiscipline::ReadyOnly);
        assert_eq!(all.len(), 2_000);
        assert!(!all.contains(&0));
    }

    // Proves an empty or all-unready fleet routes nowhere, and free slots skip used ones.
    #[test]
    fn nothing_ready_routes_nowhere() {
        let mut fleet = Fleet::new(Environment::Staging, 2, "v1");
        assert_eq!(fleet.free_slots(3), vec![2, 3, 4]);
        for slot in 0..2 {
            assert!(fleet.set_ready(slot, false));
        }
        assert!(routed(&fleet, RouterDiscipline::ReadyOnly).is_empty());
        fleet.remove(0);
        assert_eq!(fleet.free_slots(1), vec![0]);
        assert_eq!(
            fleet.instance(1).map(|i| i.name.as_str()),
            Some("staging-01")
        );
    }
}
