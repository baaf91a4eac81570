//! A live view of one swarm, made from its configuration: the title, the configured faults
//! in words and as windows on the timeline. Both `run --serve` and a verify scenario's swarm
//! (`verify --serve`) are shown through it, so the two views describe a swarm alike.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use super::marks::FaultWindow;
use super::LiveRun;
use crate::swarm::{Faults, SwarmConfig};

impl LiveRun {
    /// A view of the swarm `config` describes, counting `finished` items.
    pub fn of_swarm(config: &SwarmConfig, finished: Arc<AtomicU64>) -> Self {
        let title = format!(
            "{} agents in {} team(s), {} items, seed {}, {} mode, {:?} contention",
            config.agent_count,
            config.effective_team_sizes().len(),
            config.item_count,
            config.seed,
            config.mode.as_str(),
            config.contention
        );
        LiveRun::new(
            title,
            config.item_count as u64,
            describe_faults(&config.faults),
            finished,
        )
        .with_fault_windows(fault_windows(&config.faults))
    }
}

/// The configured faults on the run's timeline.
pub(crate) fn fault_windows(faults: &Faults) -> Vec<FaultWindow> {
    let s = |d: Duration| d.as_secs_f64();
    let mut windows = Vec::new();
    if let Some(crash) = faults.crash {
        windows.push(FaultWindow {
            kind: "crash",
            label: format!("{} agent(s) crash", crash.agent_count),
            start_s: s(crash.at),
            end_s: s(crash.at),
        });
    }
    if let Some(outage) = faults.outage {
        windows.push(FaultWindow {
            kind: "outage",
            label: "coordinator outage".into(),
            start_s: s(outage.start),
            end_s: s(outage.start + outage.length),
        });
    }
    if let Some(partition) = faults.partition {
        windows.push(FaultWindow {
            kind: "partition",
            label: format!("team-{} partitioned", partition.team),
            start_s: s(partition.start),
            end_s: s(partition.start + partition.length),
        });
    }
    windows
}

/// The configured faults in words, for the page.
pub(crate) fn describe_faults(faults: &Faults) -> Vec<String> {
    let ms = |d: Duration| d.as_millis();
    let mut words = Vec::new();
    if let Some(crash) = faults.crash {
        words.push(format!(
            "{} agent(s) crash at {} ms",
            crash.agent_count,
            ms(crash.at)
        ));
    }
    if let Some(outage) = faults.outage {
        words.push(format!(
            "coordinator outage {}–{} ms",
            ms(outage.start),
            ms(outage.start + outage.length)
        ));
    }
    if let Some(partition) = faults.partition {
        words.push(format!(
            "team-{} partitioned {}–{} ms",
            partition.team,
            ms(partition.start),
            ms(partition.start + partition.length)
        ));
    }
    if let Some(slow) = faults.slow {
        words.push(format!(
            "{} slow agent(s) ×{}",
            slow.agent_count, slow.factor
        ));
    }
    if let Some(skew) = faults.skew {
        words.push(format!(
            "{} agent(s) with clocks {} ms off",
            skew.agent_count, skew.offset_ms
        ));
    }
    if faults.error_rate > 0.0 {
        words.push(format!("{:.1} % of calls fail", faults.error_rate * 100.0));
    }
    words
}
