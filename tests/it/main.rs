//! Integration tests outside the Gherkin suite: the CLI's handling of bad input, the
//! runner's refusal to skip unknown steps, and library-level determinism and mutation checks.

use swarmspec::steps;

// `swarmspec audit-store`: counts by kind, --limit/--all/--json, root causes once.
mod audit_store;
// `swarmspec bench --quick`: runs and writes every section (not timed).
mod bench;
mod cli;
// The binary at its edges: a closed stdout, bench limits, small input mistakes.
mod cli_edges;
// `--otlp`: spans sent to a loopback receiver, a refused port, a collector that never answers.
mod export;
// OTLP export for real collectors: Resource, headers, gzip, https with a test CA, OTEL_* variables.
mod export_settings;
// The fuzz corpora replayed through their parsers: a crash once found stays a test.
mod fuzz_corpus;
// Gherkin mistakes: file:line:column and the precise cause, before and during a run.
mod gherkin_errors;
// The external-command adapter: a lossy coordinator caught, the file store found clean.
mod command_adapter;
// Command tools as people write them: create-on-claim, stdout answers, busy, broken states.
mod command_tools;
// Ledger-defined metrics on a real swarm: VERIFIED, REFUTED, UNVERIFIED from the spans.
mod custom_metrics;
mod library;
// `run --serve`: the live page in headless Chromium, its token, and an unchanged report.
mod live;
// `verify --serve` and `swarmspec serve DIR`: the verify view, deploy and compliance panels,
// a replayed run's history, trends and span files, in headless Chromium and over HTTP.
mod live_views;
// `verify --serve` charts each scenario's swarm while it runs (over HTTP, no browser).
mod live_verify_swarm;
// A Chrome DevTools Protocol client over Chromium's debugging pipe, for `live`.
mod cdp;
// `verify --mutants`: every planted engine defect is killed by the shipped features.
mod mutants;
// Many OS processes on one file store, and a worker killed with SIGKILL mid-run.
/// Workers joining a run over the network, spans over OTLP.
mod joined;
mod processes;
mod properties;
mod runner;
// Planted false and vacuous claims, one per metric: none may be VERIFIED.
mod planted;
// Per-scenario report contents: file:line, verdicts, replay, retries, warnings, timeline.
mod report_contents;
mod snapshots;
// `spans check` on another tool's spans: mappings, NOT APPLICABLE, grouped skips, --json.
mod spans_check;
// features/database.feature on a throwaway cluster: crash-restart, dropped connections.
mod database_faults;
// `postgres://` against a throwaway cluster: one winner, leases, restarts, bad input.
mod postgres;
// Other systems under test: process-protocol failures, serve-process, the shipped features
// against the file store and the Python coordinators.
mod systems;
// The one helper that runs a feature text through the suite runner.
mod suite;
mod verify;
