//! `swarmspec bench`: runs the measurements of `swarmspec::bench`, prints the table with each
//! figure's ratio to the raw-CAS baseline, and writes the JSON. With `--probe-agents` it is
//! instead the memory probe a bench runs in a child process (one JSON line).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use swarmspec::bench::curves::{self, CurvePlan, CurvesReport};
use swarmspec::bench::{
    self, curves_html, swarm as bench_swarm, BenchPlan, BenchReport, Row, Stats,
};

/// Options of `swarmspec bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Run the small version (seconds, not minutes).
    #[arg(long)]
    quick: bool,
    /// Where the JSON goes.
    #[arg(long, default_value = "reports/bench.json")]
    out: PathBuf,
    /// Also measure cost curves: ops/s, wall time and peak memory against agents (10² to
    /// 10⁶) and items (10⁴ to 10⁷), each point in its own child process, with each curve's
    /// growth exponent; drawn as log-log charts in the HTML file beside --out
    /// (reports/bench.html). Points the machine cannot hold are skipped and say why.
    #[arg(long)]
    curves: bool,
    /// Threads for the baseline, engine and swarm: 1 to the machine's available parallelism
    /// (default: all of it).
    #[arg(long, value_parser = super::numbers::Usize(super::numbers::Whole::Usize))]
    cores: Option<usize>,
    /// Also compare the stores on this PostgreSQL server: the memory engine, a file store
    /// and PostgreSQL at 1 and 8 processes × 100 and 1000 agents, beside pgbench's
    /// conditional claim on the same server (the database's own limit). Written to
    /// bench-stores.json beside --out. `scripts/pg-throwaway -- swarmspec bench
    /// --only-postgres` measures on a throwaway cluster.
    #[arg(
        long,
        value_name = "URL",
        env = "SWARMSPEC_POSTGRES_URL",
        hide_env_values = true
    )]
    postgres: Option<String>,
    /// Measure only the store comparison (needs --postgres).
    #[arg(long, requires = "postgres")]
    only_postgres: bool,
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
        outln!("{}", serde_json::to_string(&probe)?);
        return Ok(ExitCode::SUCCESS);
    }
    let cores = checked_cores(args.cores)?;
    let created_out = check_out(&args.out)?;
    let plan = if args.quick {
        BenchPlan::quick(cores)
    } else {
        BenchPlan::full(cores)
    };
    let exe = std::env::current_exe().context("finding the swarmspec binary for the probes")?;
    if let (true, Some(spec)) = (args.only_postgres, &args.postgres) {
        super::bench_stores::measure(&plan, &exe, spec, &args.out)?;
        if created_out {
            // The probe file of --out stays unwritten: only bench-stores.json was measured.
            let _ = std::fs::remove_file(&args.out);
        }
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "bench: {} runs per figure, {cores} cores{}",
        plan.repeats,
        if plan.quick { ", quick" } else { "" }
    );
    let measured = bench::run(&plan, &exe, &mut |done| eprintln!("  measured {done}"));
    let measured = measured.and_then(|mut report| {
        if args.curves {
            let plan = if args.quick {
                CurvePlan::quick(cores)
            } else {
                CurvePlan::full(cores)
            };
            report.curves = Some(curves::run(&plan, &exe, &mut |done| {
                eprintln!("  measured {done}")
            })?);
        }
        Ok(report)
    });
    let report = match measured {
        Ok(report) => report,
        Err(error) => {
            if created_out {
                // Best effort: the empty file was only a probe that --out is writable.
                let _ = std::fs::remove_file(&args.out);
            }
            return Err(error.into());
        }
    };
    print_table(&report)?;
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(&args.out, json).with_context(|| format!("writing {}", args.out.display()))?;
    outln!("\nwrote {} ({:.1} s)", args.out.display(), report.wall_s);
    if let Some(curves) = &report.curves {
        let page = args.out.with_extension("html");
        std::fs::write(&page, curves_html::page(curves))
            .with_context(|| format!("writing {}", page.display()))?;
        outln!("wrote {}", page.display());
    }
    if let Some(spec) = &args.postgres {
        super::bench_stores::measure(&plan, &exe, spec, &args.out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The threads to measure with: `--cores` if the machine can run that many at once (a
/// figure "on N cores" measured on fewer is not one), else all of them.
fn checked_cores(requested: Option<usize>) -> anyhow::Result<usize> {
    let available = std::thread::available_parallelism().map_or(1, |n| n.get());
    match requested {
        None => Ok(available),
        Some(0) => anyhow::bail!("--cores 0: must be at least 1"),
        Some(cores) if cores > available => anyhow::bail!(
            "--cores {cores}: this machine runs {available} threads at once \
             (its available parallelism); use 1 to {available}"
        ),
        Some(cores) => Ok(cores),
    }
}

/// Checks that `out` can be written before minutes of bench, not after: not a directory,
/// its parent created, the file openable. Returns whether the check created the file.
fn check_out(out: &Path) -> anyhow::Result<bool> {
    if out.is_dir() {
        anyhow::bail!(
            "--out {}: is a directory; name the JSON file to write",
            out.display()
        );
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("--out {}: creating {}", out.display(), parent.display()))?;
    }
    let existed = out.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(out)
        .with_context(|| format!("--out {}: cannot be written", out.display()))?;
    Ok(!existed)
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

fn print_row(row: &Row) -> anyhow::Result<()> {
    let ops = row
        .ops_rate
        .as_ref()
        .map_or_else(|| "—".into(), |s| format!("{:.3}", s.median / 1e6));
    outln!(
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
    Ok(())
}

fn print_table(report: &BenchReport) -> anyhow::Result<()> {
    let mib = 1024.0 * 1024.0;
    outln!(
        "\n{:<48} {:>30} {:>11} {:>9} {:>9} {:>9}",
        "measurement (median of runs)",
        "M per s (min–max)",
        "all ops M/s",
        "p50 µs",
        "p99 µs",
        "× base"
    );
    print_row(&report.baseline)?;
    for row in &report.rows {
        print_row(row)?;
    }
    let live = &report.live_overhead;
    outln!(
        "\nlive view: swarm with every span, {} agents, {} items; claims M/s unwatched {}, \
         watched (view attached, one client reading {} events and the checker taking {} \
         snapshots per run) {}; median of {} ABBA pairs' watched / unwatched {:.3} ({:+.1} %, \
         target ≥ 0.950; pairs {})",
        live.shape.agent_count,
        live.shape.item_count,
        spread(&live.unwatched, 1e6, 3),
        live.events_read
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("/"),
        live.snapshots
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("/"),
        spread(&live.watched, 1e6, 3),
        live.pair_ratios.len(),
        live.ratio,
        (live.ratio - 1.0) * 100.0,
        live.pair_ratios
            .iter()
            .map(|r| format!("{r:.3}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    outln!(
        "\n{:<12} {:>28} {:>28} {:>16}",
        "agents",
        "peak RSS growth MiB (min–max)",
        "process peak RSS MiB",
        "bytes per agent"
    );
    for memory in &report.memory {
        outln!(
            "{:<12} {:>28} {:>28} {:>16.0}",
            memory.agent_count,
            spread(&memory.rss_bytes_growth, mib, 1),
            spread(&memory.rss_bytes_peak, mib, 1),
            memory.bytes_per_agent.median
        );
    }
    outln!(
        "\n{:<12} {:>12} {:>30} {:>22}",
        "span store",
        "spans",
        "bytes/span by RSS (min–max)",
        "bytes/span by store"
    );
    for cost in &report.span_cost {
        outln!(
            "{:<12} {:>12} {:>30} {:>22}",
            format!("{:?}", cost.level),
            cost.span_count,
            spread(&cost.bytes_per_span_rss, 1.0, 0),
            cost.bytes_per_span_store
                .as_ref()
                .map_or_else(|| "—".into(), |s| format!("{:.0}", s.median))
        );
    }
    if let Some(curves) = &report.curves {
        print_curves(curves)?;
    }
    Ok(())
}

fn print_curves(report: &CurvesReport) -> anyhow::Result<()> {
    let mib = 1024.0 * 1024.0;
    for curve in &report.curves {
        let slope = |s: Option<f64>| s.map_or_else(|| "—".into(), |s| format!("{s:.2}"));
        outln!(
            "\ncurve against {:?} ({} fixed): growth exponent of wall time {} (largest two \
             points: {}), of memory {} (largest two: {})",
            curve.axis,
            curve.fixed,
            slope(curve.slope_wall_time),
            slope(curve.slope_wall_time_tail),
            slope(curve.slope_memory),
            slope(curve.slope_memory_tail)
        );
        outln!(
            "{:>10} {:>10} {:>16} {:>12} {:>18} {:>16}",
            "agents",
            "items",
            "ops/s (median)",
            "wall s",
            "RSS growth MiB",
            "raw CAS/s"
        );
        for point in &curve.points {
            outln!(
                "{:>10} {:>10} {:>16.0} {:>12.3} {:>18.1} {:>16.0}",
                point.agent_count,
                point.item_count,
                point.ops_per_s.median,
                point.wall_s.median,
                point.rss_bytes_growth.median / mib,
                point.raw_cas_claims_per_s
            );
        }
        for skipped in &curve.skipped {
            outln!("{:>10}: not run, {}", skipped.size, skipped.reason);
        }
    }
    Ok(())
}
