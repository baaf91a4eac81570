//! This crate's own steps, on swarmspec's World: they sit next to the whole shipped
//! catalogue in the same scenarios. The runner passes this file's text to swarmspec
//! (`SuiteOptions::extra_step_sources`) so the pre-run check knows these steps too; write
//! each one as `#[given(…)]`, `#[when(…)]` or `#[then(…)]`, with a `///` line above it.

use std::collections::BTreeMap;

use cucumber::then;
use swarmspec::evidence::Verdict;
use swarmspec::steps::SwarmWorld;

/// No agent starved: every agent that registered completed at least that many stages.
#[then(expr = "every registered agent completed at least {int} stage(s)")]
fn no_agent_starved(world: &mut SwarmWorld, minimum: usize) -> anyhow::Result<()> {
    // Decided from the spans alone, like every shipped check: registrations name the
    // agents, acknowledged completions count what each one finished.
    let mut completed: BTreeMap<String, usize> = BTreeMap::new();
    for span in &world.evidence()?.spans {
        let Some(agent) = span.attr_text("agent.id") else {
            continue;
        };
        let acknowledged = span.attr_text("work.outcome").as_deref() == Some("completed");
        match span.name.as_str() {
            "agent.register" => {
                completed.entry(agent).or_default();
            }
            "work.complete" if acknowledged => *completed.entry(agent).or_default() += 1,
            _ => {}
        }
    }
    let starved: Vec<String> = completed
        .iter()
        .filter(|(_, &count)| count < minimum)
        .map(|(agent, count)| format!("{agent} completed {count}"))
        .collect();
    let fewest = completed.values().min().copied().unwrap_or(0);
    let verdict = Verdict::new(
        format!("every registered agent completed at least {minimum} stage(s)"),
        !completed.is_empty() && starved.is_empty(),
        format!("each agent ≥ {minimum} acknowledged completions"),
        format!(
            "{} agents, fewest completions {fewest}, {} below",
            completed.len(),
            starved.len()
        ),
        if starved.is_empty() {
            let sample = completed.iter().take(3);
            sample.map(|(agent, n)| format!("{agent}: {n}")).collect()
        } else {
            starved
        },
    );
    world.judge(verdict)
}
