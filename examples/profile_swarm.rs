//! One benchmark swarm in a loop, for a profiler: `cargo run --release --example
//! profile_swarm -- LEVEL MODE THREADS ITEMS REPEATS` (level: histograms, spans, span-data;
//! mode: throughput, deterministic). Prints each run's rate, as the bench computes it.

use swarmspec::bench::swarm::{parse_level, swarm_once, SwarmShape};
use swarmspec::swarm::{Contention, Mode};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |index: usize, default: &str| args.get(index).cloned().unwrap_or(default.into());
    let level = parse_level(&arg(0, "histograms")).expect("level: histograms, spans, span-data");
    let mode = Mode::parse(&arg(1, "throughput")).expect("mode: throughput or deterministic");
    let shape = SwarmShape {
        agent_count: 100,
        item_count: arg(3, "200000").parse().expect("items"),
        worker_threads: arg(2, "2").parse().expect("threads"),
        contention: Contention::Spread,
        mode,
        level,
    };
    let repeats: usize = arg(4, "5").parse().expect("repeats");
    for _ in 0..repeats {
        let sample = swarm_once(&shape).expect("swarm runs");
        println!(
            "rate {:.3} M/s, all ops {:.3} M/s",
            sample.rate_per_s / 1e6,
            sample.ops_per_s.unwrap_or(0.0) / 1e6
        );
    }
}
