//! `swarmspec bench`: runs the measurements of `swarmspec::bench`, prints the table with each
//! figure's ratio to the raw-CAS baseline, and writes the JSON. With `--probe-agents` it is
//! instead the memory probe a bench runs in a child process (one JSON line).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use swarmspec::bench::{self, swarm as bench_swarm, BenchPlan, BenchReport, Row, Stats};

/// Options of `swarmspec bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Run the small version (seconds, not minutes).
    #[arg(long)]
    quick: bool,
    /// Where the JSON goes.
    #[arg(long, default_value = "reports/bench.json")]
    out: PathBuf,
    /// Threads for the baseline, engine and swarm (default: all cores).
    #[arg(long)]
    cores: Option<usize>,
    /// Internal: run one memory probe of this many agents and print it as JSON.
    #[arg(long, hide = true)]
    probe_agents: Option<usize>,
    /// Internal: items of the memory probe.
    #[arg(long, hide = true, default_value_t = 1)]
    probe_items: usize,
    /// Internal: capture level of the memory probe.
    #[arg(long, hide = true, default_value = "spans")]
    probe_level: String,
}

/// Runs the bench (or one probe) and writes the report.
pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if let Some(agents) = args.probe_agents {
        let level = bench_swarm::parse_level(&args.probe_level)
            .with_context(|| format!("unknown --probe-level '{}'", args.probe_level))?;
        let probe = bench_swarm::memory_probe(agents, args.probe_items.max(1), level)?;
        println!("{}", serde_json::to_string(&probe)?);
        return Ok(ExitCode::SUCCESS);
    }
    let cores = args
        .cores
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let plan = if args.quick {
        BenchPlan::quick(cores)
    } else {
        BenchPlan::full(cores)
    };
    let exe = std::env::current_exe().context("finding the swarmspec binary for the probes")?;
    eprintln!(
        "bench: {} runs per figure, {cores} cores{}",
        plan.repeats,
        if plan.quick { ", quick" } else { "" }
    );
    let report = bench::run(&plan, &exe, &mut |done| eprintln!("  measured {done}"))?;
    print_table(&report);
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(&args.out, json).with_context(|| format!("writing {}", args.out.display()))?;
    println!("\nwrote {} ({:.1} s)", args.out.display(), report.wall_s);
    Ok(ExitCode::SUCCESS)
}

fn spread(stats: &Stats, scale: f64, digits: usize) -> String {
    format!(
        "{:.d$} ({:.d$}–{:.d$})",
        stats.median / scale,
        stats.min / scale,
        stats.max / scale,
        d = digits
    )
}

fn latency_us(stats: &Option<Stats>) -> String {
    stats
        .as_ref()
        .map_or_else(|| "—".into(), |s| format!("{:.2}", s.median / 1e3))
}

fn print_row(row: &Row) {
    let ops = row
        .ops_rate
        .as_ref()
        .map_or_else(|| "—".into(), |s| format!("{:.3}", s.median / 1e6));
    println!(
        "{:<48} {:>30} {:>11} {:>9} {:>9} {:>9.3}",
        row.name,
        format!(
            "{} {}",
            spread(&row.rate, 1e6, 3),
            row.unit.replace("/s", "")
        ),
        ops,
        latency_us(&row.latency_ns_p50),
        latency_us(&row.latency_ns_p99),
        row.ratio_to_baseline
    );
}

fn print_table(report: &BenchReport) {
    let mib = 1024.0 * 1024.0;
    println!(
        "\n{:<48} {:>30} {:>11} {:>9} {:>9} {:>9}",
        "measurement (median of runs)",
        "M per s (min–max)",
        "all ops M/s",
        "p50 µs",
        "p99 µs",
        "× base"
    );
    print_row(&report.baseline);
    for row in &report.rows {
        print_row(row);
    }
    println!(
        "\n{:<12} {:>28} {:>28} {:>16}",
        "agents", "peak RSS growth MiB (min–max)", "process peak RSS MiB", "bytes per agent"
    );
    for memory in &report.memory {
        println!(
            "{:<12} {:>28} {:>28} {:>16.0}",
            memory.agent_count,
            spread(&memory.rss_bytes_growth, mib, 1),
            spread(&memory.rss_bytes_peak, mib, 1),
            memory.bytes_per_agent.median
        );
    }
    println!(
        "\n{:<12} {:>12} {:>30} {:>22}",
        "span store", "spans", "bytes/span by RSS (min–max)", "bytes/span by store"
    );
    for cost in &report.span_cost {
        println!(
            "{:<12} {:>12} {:>30} {:>22}",
            format!("{:?}", cost.level),
            cost.span_count,
            spread(&cost.bytes_per_span_rss, 1.0, 0),
            cost.bytes_per_span_store
                .as_ref()
                .map_or_else(|| "—".into(), |s| format!("{:.0}", s.median))
        );
    }
}
