//! The three strategies, as sequences of steps on a `DeploySim`, and the rollback they share.
//!
//! Every step is a `deploy.batch` span under the deploy's `deploy.run`: which instances it
//! changed, what share of traffic the new version had after it, and whether it was healthy.
//! A step that fails (instances never ready, or a health window broken) triggers the
//! rollback at once: traffic leaves the new version first, then its instances are restarted
//! on (or, for blue-green, replaced by) the last good version.

use opentelemetry::KeyValue;

use super::environment::Environment;
use super::fleet::Routing;
use super::sim::DeploySim;
use super::strategy::Strategy;
use super::trace::OpenSpan;

/// How a deploy ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutOutcome {
    /// Every instance runs the new version and every health window held.
    Succeeded,
    /// A step failed; every instance runs the last good version again.
    RolledBack {
        /// The failed step's reason.
        reason: String,
    },
}

/// One deploy in progress.
#[derive(Debug)]
pub struct Rollout<'a> {
    /// Where.
    pub environment: Environment,
    /// The version being deployed.
    pub version: &'a str,
    /// The last good version, restored on rollback.
    pub previous: &'a str,
    /// How.
    pub strategy: &'a Strategy,
    /// The `deploy.run` span every step is parented under.
    pub run: &'a OpenSpan,
}

/// One step of a strategy.
struct Step<'s> {
    /// Instances to move to the new version in this step.
    slots: &'s [usize],
    /// Whether they serve the old version now and must be drained first.
    drain: bool,
    /// The new version's share of traffic after this step, in percent.
    traffic_percent: u8,
    /// Whether to set the router's weight to `traffic_percent` once the slots are ready.
    weighted: bool,
    /// Whether to watch the new version's health after the step.
    watch: bool,
}

impl Rollout<'_> {
    fn attributes(&self) -> Vec<KeyValue> {
        vec![
            KeyValue::new("deploy.environment", self.environment.as_str()),
            KeyValue::new("deploy.version", self.version.to_owned()),
            KeyValue::new("deploy.strategy", self.strategy.name()),
        ]
    }

    fn step(&self, sim: &mut DeploySim, index: usize, step: Step<'_>) -> Result<(), String> {
        let mut attributes = self.attributes();
        attributes.extend([
            KeyValue::new("deploy.batch_index", index as i64),
            KeyValue::new("deploy.batch_instances", step.slots.len() as i64),
            KeyValue::new("deploy.traffic_percent", i64::from(step.traffic_percent)),
        ]);
        let span = sim
            .spans
            .open("deploy.batch", sim.now_ns(), attributes, Some(self.run));
        if step.drain {
            sim.drain(self.environment, step.slots, "draining", &span);
        }
        let ready =
            step.slots.is_empty() || sim.start(self.environment, step.slots, self.version, &span);
        let result = if !ready {
            Err("new instances never became ready".to_owned())
        } else {
            if step.weighted {
                sim.fleet_mut(self.environment).routing = Routing::Weighted {
                    candidate: self.version.to_owned(),
                    percent: step.traffic_percent,
                };
            }
            if step.watch {
                let report = sim.watch(self.environment, Some(self.version), "health", Some(&span));
                if report.healthy {
                    Ok(())
                } else {
                    Err(report.reason)
                }
            } else {
                Ok(())
            }
        };
        let outcome = match (&result, ready) {
            (Ok(()), _) => "healthy",
            (Err(_), false) => "not_ready",
            (Err(_), true) => "unhealthy",
        };
        sim.spans.close(
            span,
            sim.now_ns(),
            vec![KeyValue::new("deploy.outcome", outcome)],
            None,
        );
        result
    }

    /// Runs the strategy to the end or to its rollback.
    pub fn execute(&self, sim: &mut DeploySim) -> RolloutOutcome {
        let result = match self.strategy {
            Strategy::Rolling { batch_size } => self.rolling(sim, *batch_size),
            Strategy::BlueGreen => self.blue_green(sim),
            Strategy::Canary { steps_percent } => self.canary(sim, steps_percent),
        };
        match result {
            Ok(()) => RolloutOutcome::Succeeded,
            Err(reason) => self.rollback(sim, reason),
        }
    }

    fn rolling(&self, sim: &mut DeploySim, batch_size: usize) -> Result<(), String> {
        let fleet_len = sim.fleet(self.environment).len();
        sim.fleet_mut(self.environment).routing = Routing::Even;
        let old = sim
            .fleet(self.environment)
            .slots_where(|i| i.version != self.version);
        let mut converted = fleet_len - old.len();
        // A rolling batch never drains the whole fleet: with batches as large as the fleet
        // (4 of 4 in dev) every instance was down at once and requests failed, which is a
        // recreate, not a rolling deploy. One instance keeps serving whenever there are two.
        let batch_size_max = fleet_len.saturating_sub(1).max(1);
        for (index, batch) in old.chunks(batch_size.clamp(1, batch_size_max)).enumerate() {
            converted += batch.len();
            let traffic_percent = percent_of(converted, fleet_len);
            let step = Step {
                slots: batch,
                drain: true,
                traffic_percent,
                weighted: false,
                watch: true,
            };
            self.step(sim, index, step)?;
        }
        Ok(())
    }

    fn canary(&self, sim: &mut DeploySim, steps_percent: &[u8]) -> Result<(), String> {
        let fleet_len = sim.fleet(self.environment).len();
        sim.fleet_mut(self.environment).routing = Routing::Weighted {
            candidate: self.version.to_owned(),
            percent: 0,
        };
        for (index, &percent) in steps_percent.iter().enumerate() {
            // Enough instances to carry the step's share, at least one.
            let wanted = (fleet_len * usize::from(percent)).div_ceil(100).max(1);
            let old = sim
                .fleet(self.environment)
                .slots_where(|i| i.version != self.version);
            let have = fleet_len - old.len();
            let slots = &old[..wanted.saturating_sub(have).min(old.len())];
            let step = Step {
                slots,
                drain: true,
                traffic_percent: percent,
                weighted: true,
                watch: true,
            };
            self.step(sim, index, step)?;
        }
        sim.fleet_mut(self.environment).routing = Routing::Even;
        Ok(())
    }

    fn blue_green(&self, sim: &mut DeploySim) -> Result<(), String> {
        let fleet = sim.fleet_mut(self.environment);
        fleet.routing = Routing::Weighted {
            candidate: self.version.to_owned(),
            percent: 0,
        };
        let blue = fleet.slots_where(|_| true);
        let green = fleet.free_slots(blue.len());
        let start = Step {
            slots: &green,
            drain: false,
            traffic_percent: 0,
            weighted: false,
            watch: false,
        };
        self.step(sim, 0, start)?;
        let switch = Step {
            slots: &[],
            drain: false,
            traffic_percent: 100,
            weighted: true,
            watch: true,
        };
        self.step(sim, 1, switch)?;
        sim.decommission(self.environment, &blue, self.run);
        sim.fleet_mut(self.environment).routing = Routing::Even;
        Ok(())
    }

    fn rollback(&self, sim: &mut DeploySim, reason: String) -> RolloutOutcome {
        let mut attributes = self.attributes();
        attributes.extend([
            KeyValue::new("deploy.restored_version", self.previous.to_owned()),
            KeyValue::new("deploy.reason", reason.clone()),
        ]);
        let span = sim
            .spans
            .open("deploy.rollback", sim.now_ns(), attributes, Some(self.run));
        // Traffic leaves the bad version while its instances still stand.
        sim.fleet_mut(self.environment).routing = Routing::Weighted {
            candidate: self.version.to_owned(),
            percent: 0,
        };
        let bad = sim
            .fleet(self.environment)
            .slots_where(|i| i.version == self.version);
        let restored = match self.strategy {
            Strategy::BlueGreen => {
                sim.decommission(self.environment, &bad, &span);
                true
            }
            Strategy::Rolling { batch_size } => self.restore(sim, &bad, *batch_size, &span),
            Strategy::Canary { .. } => {
                let quarter = sim.fleet(self.environment).len().div_ceil(4);
                self.restore(sim, &bad, quarter, &span)
            }
        };
        sim.fleet_mut(self.environment).routing = Routing::Even;
        // A last good version that no longer starts is a real failure: nothing older is
        // kept to fall back to, and its unready instances stay visible in the evidence.
        let (outcome, error) = if restored {
            ("restored", None)
        } else {
            (
                "incomplete",
                Some("the last good version did not become ready"),
            )
        };
        let end_ns = sim.now_ns();
        let outcome = vec![KeyValue::new("deploy.outcome", outcome)];
        sim.spans.close(span, end_ns, outcome, error);
        RolloutOutcome::RolledBack { reason }
    }

    /// Restarts `slots` on the last good version, `batch_size` at a time so the others
    /// serve; returns whether every one became ready.
    fn restore(
        &self,
        sim: &mut DeploySim,
        slots: &[usize],
        batch_size: usize,
        span: &OpenSpan,
    ) -> bool {
        let mut all_ready = true;
        for batch in slots.chunks(batch_size.max(1)) {
            sim.drain(self.environment, batch, "rolling_back", span);
            all_ready &= sim.start(self.environment, batch, self.previous, span);
        }
        all_ready
    }
}

/// `part` of `whole` in whole percent, rounded down; 0 of 0 is 0.
fn percent_of(part: usize, whole: usize) -> u8 {
    if whole == 0 {
        return 0;
    }
    u8::try_from((part * 100 / whole).min(100)).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves traffic shares round down and never exceed 100 %.
    #[test]
    fn percent_of_rounds_down_and_caps() {
        assert_eq!(percent_of(5, 20), 25);
        assert_eq!(percent_of(1, 3), 33);
        assert_eq!(percent_of(20, 20), 100);
        assert_eq!(percent_of(0, 0), 0);
    }
}
