//! `swarmspec bench --postgres URL`: the store comparison's table and its JSON, written
//! beside the bench's own as `bench-stores.json`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use swarmspec::bench::stores::{self, StoresReport};
use swarmspec::bench::{BenchPlan, Stats};

/// Where the store comparison goes: `bench-stores.json` beside `out`.
pub fn stores_out(out: &Path) -> PathBuf {
    out.with_file_name("bench-stores.json")
}

/// Measures the stores on `spec`'s server, prints the table and writes the JSON.
pub fn measure(plan: &BenchPlan, exe: &Path, spec: &str, out: &Path) -> anyhow::Result<()> {
    eprintln!(
        "bench: stores side by side on {}, {} runs per row",
        swarmspec::systems::postgres::url::redact(spec),
        plan.repeats
    );
    let report = stores::run(plan, exe, spec, &mut |done| eprintln!("  measured {done}"))
        .context("measuring the stores")?;
    print(&report)?;
    let path = stores_out(out);
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", path.display()))?;
    outln!("wrote {}", path.display());
    Ok(())
}

fn median(stats: &Stats, scale: f64, digits: usize) -> String {
    format!("{:.d$}", stats.median / scale, d = digits)
}

fn print(report: &StoresReport) -> anyhow::Result<()> {
    outln!(
        "\nstores on {} (medians of runs; every commit durable)",
        report.server
    );
    match (&report.pgbench_claims_per_s, &report.pgbench_missing) {
        (Some(stats), _) => outln!(
            "pgbench conditional claim, {} clients: {} tps ({:.0}–{:.0})",
            swarmspec::bench::pgbench::CLIENTS,
            median(stats, 1.0, 0),
            stats.min,
            stats.max
        ),
        (None, Some(why)) => outln!("pgbench: not measured: {why}"),
        (None, None) => outln!("pgbench: not measured"),
    }
    outln!(
        "{:<10} {:>9} {:>7} {:>7} {:>10} {:>10} {:>9} {:>9} {:>8} {:>10}",
        "store",
        "processes",
        "agents",
        "items",
        "claims/s",
        "ops/s",
        "p50 µs",
        "p99 µs",
        "doubles",
        "× pgbench"
    );
    for row in &report.rows {
        outln!(
            "{:<10} {:>9} {:>7} {:>7} {:>10} {:>10} {:>9} {:>9} {:>8} {:>10}",
            row.store,
            row.processes,
            row.agents,
            row.items,
            median(&row.claims_per_s, 1.0, 0),
            median(&row.ops_per_s, 1.0, 0),
            median(&row.claim_p50_ns, 1e3, 1),
            median(&row.claim_p99_ns, 1e3, 1),
            row.double_holds,
            row.claims_to_pgbench
                .map_or_else(|| "—".into(), |ratio| format!("{ratio:.2}"))
        );
    }
    for target in &report.targets {
        let verdict = if target.met { "met" } else { "NOT met" };
        outln!(
            "target {verdict}: {} — measured {}",
            target.target,
            target.measured
        );
    }
    Ok(())
}
