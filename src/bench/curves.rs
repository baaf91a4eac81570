//! Cost curves (`bench --curves`): throughput and peak memory against the number of agents
//! and the number of items, each point a fresh child process (`memory_probe_in_child`), so
//! a person sees how cost grows instead of reading one size's table.
//!
//! Each curve gets its growth exponent: the least-squares slope of log(cost) over log(size),
//! for the run's wall time and for its peak memory growth. Slope 1 is linear; above it, cost
//! grows faster than the swarm. Points the machine cannot hold are skipped, with the
//! prediction that ruled them out, rather than swapping the machine to death.

use std::path::Path;

use serde::Serialize;

use super::limits;
use super::swarm::{memory_probe_in_child, Probe};
use super::Stats;
use crate::error::Result;
use crate::swarm::memory;
use crate::telemetry::CaptureLevel;

/// What a curve varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    /// Agent count, items fixed.
    Agents,
    /// Item count, agents fixed.
    Items,
}

/// The sizes of both curves.
#[derive(Debug, Clone, Serialize)]
pub struct CurvePlan {
    /// Agent counts of the agents curve.
    pub agent_counts: Vec<usize>,
    /// Items of every point on the agents curve.
    pub items_on_agent_curve: usize,
    /// Item counts of the items curve.
    pub item_counts: Vec<usize>,
    /// Agents of every point on the items curve.
    pub agents_on_item_curve: usize,
    /// Child runs per point (the median is drawn).
    pub repeats: usize,
    /// Threads of the raw-CAS reference line.
    pub cores: usize,
    /// A point predicted to grow past this is skipped, bytes.
    pub memory_budget_bytes: u64,
}

/// Share of the machine's available memory a point may be predicted to use.
const MEMORY_BUDGET_SHARE: f64 = 0.5;

/// A prediction is the last point's growth scaled linearly, times this margin, because a
/// curve steeper than linear would otherwise be under-predicted.
const PREDICTION_MARGIN: f64 = 1.5;

/// Without `/proc/meminfo`, the budget assumed, bytes.
const MEMORY_BUDGET_FALLBACK_BYTES: u64 = 4 << 30;

impl CurvePlan {
    /// The sizes: agents 10² … 10⁶ (10⁴ items), items 10⁴ … 10⁷ (100 agents).
    pub fn full(cores: usize) -> Self {
        Self {
            agent_counts: vec![100, 1_000, 10_000, 100_000, 1_000_000],
            items_on_agent_curve: 10_000,
            item_counts: vec![10_000, 100_000, 1_000_000, 10_000_000],
            agents_on_item_curve: 100,
            repeats: 3,
            cores,
            memory_budget_bytes: memory_budget(),
        }
    }

    /// Seconds, not minutes: two points per curve, one run each.
    pub fn quick(cores: usize) -> Self {
        Self {
            agent_counts: vec![100, 1_000],
            items_on_agent_curve: 1_000,
            item_counts: vec![1_000, 10_000],
            agents_on_item_curve: 20,
            repeats: 1,
            ..Self::full(cores)
        }
    }
}

fn memory_budget() -> u64 {
    memory::available_bytes().map_or(MEMORY_BUDGET_FALLBACK_BYTES, |bytes| {
        (bytes as f64 * MEMORY_BUDGET_SHARE) as u64
    })
}

/// One measured size.
#[derive(Debug, Clone, Serialize)]
pub struct CurvePoint {
    /// Agents run.
    pub agent_count: usize,
    /// Items run.
    pub item_count: usize,
    /// Coordination operations per second (agents' window), over the repeats.
    pub ops_per_s: Stats,
    /// Wall time of the run, s.
    pub wall_s: Stats,
    /// Peak resident growth during the run, bytes.
    pub rss_bytes_growth: Stats,
    /// Raw CAS claims per second over this point's items, measured beside it.
    pub raw_cas_claims_per_s: f64,
}

impl CurvePoint {
    /// The size this point has on `axis`.
    pub fn size(&self, axis: Axis) -> usize {
        match axis {
            Axis::Agents => self.agent_count,
            Axis::Items => self.item_count,
        }
    }
}

/// A size not run, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedPoint {
    /// The size on the curve's axis.
    pub size: usize,
    /// Why it was not run.
    pub reason: String,
}

/// One curve: its points, what was skipped, and its growth exponents.
#[derive(Debug, Clone, Serialize)]
pub struct Curve {
    /// What varies.
    pub axis: Axis,
    /// The other dimension, held fixed.
    pub fixed: usize,
    /// Points measured, smallest first.
    pub points: Vec<CurvePoint>,
    /// Points not run.
    pub skipped: Vec<SkippedPoint>,
    /// Slope of log(wall time) over log(size); `None` with fewer than two points.
    pub slope_wall_time: Option<f64>,
    /// Slope of log(peak memory growth) over log(size).
    pub slope_memory: Option<f64>,
    /// The wall-time slope between the two largest points: at small sizes fixed costs (the
    /// runtime, its threads) flatten the whole-curve slope, so this is the growth to expect
    /// beyond the last point.
    pub slope_wall_time_tail: Option<f64>,
    /// The memory slope between the two largest points.
    pub slope_memory_tail: Option<f64>,
}

/// Both curves.
#[derive(Debug, Clone, Serialize)]
pub struct CurvesReport {
    /// The sizes asked for.
    pub plan: CurvePlan,
    /// Agents curve, then items curve.
    pub curves: Vec<Curve>,
}

/// The least-squares slope of log10(y) over log10(x), over points with both positive;
/// `None` unless two distinct x remain.
pub fn log_log_slope(points: &[(f64, f64)]) -> Option<f64> {
    let logs: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0)
        .map(|(x, y)| (x.log10(), y.log10()))
        .collect();
    let count = logs.len() as f64;
    let mean_x = logs.iter().map(|(x, _)| x).sum::<f64>() / count;
    let mean_y = logs.iter().map(|(_, y)| y).sum::<f64>() / count;
    let spread_x: f64 = logs.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    if logs.len() < 2 || spread_x <= f64::EPSILON {
        return None;
    }
    let covariance: f64 = logs.iter().map(|(x, y)| (x - mean_x) * (y - mean_y)).sum();
    Some(covariance / spread_x)
}

/// Measures both curves of `plan`, every point in a child of `exe`; `progress` hears each.
pub fn run(plan: &CurvePlan, exe: &Path, progress: &mut dyn FnMut(&str)) -> Result<CurvesReport> {
    let agents = plan
        .agent_counts
        .iter()
        .map(|&a| (a, plan.items_on_agent_curve));
    let items = plan
        .item_counts
        .iter()
        .map(|&i| (plan.agents_on_item_curve, i));
    let curves = vec![
        curve(
            plan,
            exe,
            Axis::Agents,
            plan.items_on_agent_curve,
            agents.collect(),
            progress,
        )?,
        curve(
            plan,
            exe,
            Axis::Items,
            plan.agents_on_item_curve,
            items.collect(),
            progress,
        )?,
    ];
    Ok(CurvesReport {
        plan: plan.clone(),
        curves,
    })
}

fn curve(
    plan: &CurvePlan,
    exe: &Path,
    axis: Axis,
    fixed: usize,
    sizes: Vec<(usize, usize)>,
    progress: &mut dyn FnMut(&str),
) -> Result<Curve> {
    let mut points: Vec<CurvePoint> = Vec::new();
    let mut skipped = Vec::new();
    for (agents, items) in sizes {
        let size = match axis {
            Axis::Agents => agents,
            Axis::Items => items,
        };
        if let Some(reason) = too_big(plan, axis, points.last(), size) {
            progress(&format!("curve {axis:?} = {size}: skipped, {reason}"));
            skipped.push(SkippedPoint { size, reason });
            continue;
        }
        let probes = (0..plan.repeats.max(1))
            .map(|_| memory_probe_in_child(exe, agents, items, CaptureLevel::Spans))
            .collect::<Result<Vec<Probe>>>()?;
        let of = |pick: &dyn Fn(&Probe) -> Option<f64>| {
            Stats::of(probes.iter().filter_map(pick).collect()).ok_or_else(super::no_samples)
        };
        let point = CurvePoint {
            agent_count: agents,
            item_count: items,
            ops_per_s: of(&|p| p.ops_per_s)?,
            wall_s: of(&|p| p.wall_s)?,
            rss_bytes_growth: of(&|p| Some(p.growth_bytes() as f64))?,
            raw_cas_claims_per_s: limits::raw_cas_claims(items, plan.cores).rate_per_s,
        };
        progress(&format!(
            "curve {axis:?} = {size}: {:.0} ops/s, {:.1} MiB",
            point.ops_per_s.median,
            point.rss_bytes_growth.median / (1024.0 * 1024.0)
        ));
        points.push(point);
    }
    let slope = |pick: &dyn Fn(&CurvePoint) -> f64, tail: bool| {
        let skip = if tail {
            points.len().saturating_sub(2)
        } else {
            0
        };
        let xy: Vec<(f64, f64)> = points
            .iter()
            .skip(skip)
            .map(|p| (p.size(axis) as f64, pick(p)))
            .collect();
        log_log_slope(&xy)
    };
    let wall = |p: &CurvePoint| p.wall_s.median;
    let memory = |p: &CurvePoint| p.rss_bytes_growth.median;
    Ok(Curve {
        axis,
        fixed,
        slope_wall_time: slope(&wall, false),
        slope_memory: slope(&memory, false),
        slope_wall_time_tail: slope(&wall, true),
        slope_memory_tail: slope(&memory, true),
        points,
        skipped,
    })
}

/// Why `size` would not fit, predicted from the last point measured; `None` if it fits.
fn too_big(plan: &CurvePlan, axis: Axis, last: Option<&CurvePoint>, size: usize) -> Option<String> {
    let last = last?;
    let scale = size as f64 / last.size(axis).max(1) as f64;
    let predicted = last.rss_bytes_growth.median * scale * PREDICTION_MARGIN;
    (predicted > plan.memory_budget_bytes as f64).then(|| {
        format!(
            "predicted {:.1} GiB of memory, over the budget of {:.1} GiB (half of what the \
             machine has available)",
            predicted / f64::from(1u32 << 30),
            plan.memory_budget_bytes as f64 / f64::from(1u32 << 30)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the slope of a straight line in log-log space is its exponent.
    #[test]
    fn slope_of_power_laws() {
        let linear: Vec<(f64, f64)> = [1e2, 1e3, 1e4].iter().map(|&x| (x, 3.0 * x)).collect();
        let square: Vec<(f64, f64)> = [1e2, 1e3, 1e4].iter().map(|&x| (x, x * x)).collect();
        let flat: Vec<(f64, f64)> = [1e2, 1e3, 1e4].iter().map(|&x| (x, 7.0)).collect();
        assert!((log_log_slope(&linear).unwrap() - 1.0).abs() < 1e-9);
        assert!((log_log_slope(&square).unwrap() - 2.0).abs() < 1e-9);
        assert!(log_log_slope(&flat).unwrap().abs() < 1e-9);
    }

    // Proves a slope needs two distinct positive sizes, and ignores non-positive figures.
    #[test]
    fn slope_needs_two_points() {
        assert_eq!(log_log_slope(&[]), None);
        assert_eq!(log_log_slope(&[(10.0, 5.0)]), None);
        assert_eq!(log_log_slope(&[(10.0, 5.0), (10.0, 6.0)]), None);
        assert_eq!(log_log_slope(&[(10.0, 5.0), (100.0, 0.0)]), None);
    }

    fn point(items: usize, growth: f64) -> CurvePoint {
        let stats = |v: f64| Stats::of(vec![v]).unwrap();
        CurvePoint {
            agent_count: 10,
            item_count: items,
            ops_per_s: stats(1.0),
            wall_s: stats(1.0),
            rss_bytes_growth: stats(growth),
            raw_cas_claims_per_s: 1.0,
        }
    }

    // Proves a point is skipped when the last point, scaled up, would pass the budget.
    #[test]
    fn too_big_predicts_from_the_last_point() {
        let mut plan = CurvePlan::quick(1);
        plan.memory_budget_bytes = 1_000_000;
        assert!(too_big(&plan, Axis::Items, None, 10_000_000).is_none());
        let small = point(1_000, 10_000.0);
        assert!(too_big(&plan, Axis::Items, Some(&small), 10_000).is_none());
        let reason = too_big(&plan, Axis::Items, Some(&small), 100_000).unwrap();
        assert!(reason.contains("GiB"), "{reason}");
    }
}
