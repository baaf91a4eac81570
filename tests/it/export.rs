//! OTLP export against real sockets on loopback: a receiver that decodes what arrives, a
//! port where nothing listens, and a collector that accepts and never answers.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use swarmspec::evidence::{self, digest, Evidence};
use swarmspec::swarm::{Mode, Swarm, SwarmConfig};
use swarmspec::telemetry::otlp::{
    receiver, ExportReport, OtlpConfig, OtlpTarget, Receiver, RunAttributes, EXPORT_TIMEOUT_DEFAULT,
};
use swarmspec::telemetry::{Capture, CaptureLevel, SpanRecord};

/// Runs `config` with its spans also exported to `config_otlp`; the run's evidence and what
/// the export says became of the spans, with how long finishing the export took.
fn run_exporting(config: &SwarmConfig, otlp: OtlpConfig) -> (Evidence, ExportReport, Duration) {
    let target = OtlpTarget::new(otlp).expect("a loopback URL is accepted");
    let run = RunAttributes::new(config.seed, "memory");
    let (export, processor) = target.start(Some(&run)).expect("the exporter builds");
    let capture = Arc::new(Capture::with_exports(
        config.seed,
        CaptureLevel::default(),
        vec![processor],
    ));
    Swarm::new(config.clone())
        .run(Arc::clone(&capture))
        .expect("the swarm runs");
    let evidence = Evidence::from_capture(&capture).expect("the capture reads");
    let finishing = Instant::now();
    let report = export.finish(&capture);
    (evidence, report, finishing.elapsed())
}

fn deterministic(agents: usize, items: usize) -> SwarmConfig {
    let mut config = SwarmConfig::new(agents, items, 5);
    config.mode = Mode::Deterministic;
    config
}

fn names(spans: &[SpanRecord]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for span in spans {
        *counts.entry(span.name.as_str()).or_default() += 1;
    }
    counts
}

/// Asserts the receiver holds exactly what the capture holds, by name, count and attributes.
fn check_received(evidence: &Evidence, receiver: &Receiver, report: &ExportReport) {
    assert!(report.is_complete(), "{report}");
    let received = receiver.spans();
    assert_eq!(receiver.problems(), Vec::<String>::new());
    assert_eq!(report.spans_sent as usize, evidence.spans.len(), "{report}");
    assert_eq!(names(&received), names(&evidence.spans));
    let claims: Vec<&SpanRecord> = received.iter().filter(|s| s.name == "work.claim").collect();
    assert!(!claims.is_empty());
    assert!(claims.iter().all(|s| s.attr("work.item_id").is_some()));
    let verdict = evidence::export::received_every_span(&evidence.spans, &received);
    assert!(verdict.passed, "{verdict}");
    // One resource per request at least, each naming the service (not `unknown_service`).
    let names = receiver.service_names();
    assert!(names.len() >= receiver.requests() && receiver.requests() > 0);
    assert!(names.iter().all(|name| name == "swarmspec"), "{names:?}");
}

// Proves every span of a deterministic run arrives, decoded, identical to the capture's.
#[test]
fn deterministic_run_arrives_whole_at_the_receiver() {
    let receiver = Receiver::start().expect("receiver");
    let config = deterministic(6, 30);
    let (evidence, report, _) = run_exporting(&config, OtlpConfig::new(receiver.endpoint()));
    check_received(&evidence, &receiver, &report);
}

// Proves a multi-threaded run with more spans than one OTLP request carries arrives whole,
// over several requests.
#[test]
fn throughput_run_arrives_whole_over_several_requests() {
    let receiver = Receiver::start().expect("receiver");
    let config = SwarmConfig::new(40, 1_500, 9);
    let (evidence, report, _) = run_exporting(&config, OtlpConfig::new(receiver.endpoint()));
    assert!(evidence.spans.len() > swarmspec::telemetry::otlp::BATCH_SPANS_MAX);
    check_received(&evidence, &receiver, &report);
    assert!(receiver.requests() >= 2, "{} requests", receiver.requests());
}

// Proves a collector that refuses connections is reported within the export timeout, every
// span counted as not sent, and the run's evidence is span for span what it is unexported.
#[test]
fn refused_connection_is_reported_and_evidence_is_unchanged() {
    let config = deterministic(6, 30);
    let endpoint = receiver::unused_endpoint().expect("a free port");
    let (evidence, report, finishing) = run_exporting(&config, OtlpConfig::new(endpoint));
    assert!(finishing < EXPORT_TIMEOUT_DEFAULT * 2, "took {finishing:?}");
    assert_eq!(report.spans_sent, 0, "{report}");
    assert_eq!(report.spans_ended as usize, evidence.spans.len());
    assert_eq!(
        report.spans_failed + report.spans_unaccounted,
        report.spans_ended
    );
    let error = report.collector_error.clone().unwrap_or_default();
    assert!(error.contains("refused"), "{report}");
    assert!(evidence::export::failure_reported(&report).passed);

    let capture = Arc::new(Capture::new(config.seed));
    Swarm::new(config).run(Arc::clone(&capture)).expect("run");
    let plain = Evidence::from_capture(&capture).expect("capture");
    assert_eq!(
        digest::first_divergence(&evidence.spans, &plain.spans),
        None
    );
}

/// A collector that accepts connections and never answers, until dropped.
struct Silent {
    address: std::net::SocketAddr,
    stopping: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Silent {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&stopping);
        let thread = std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) || held.len() > 64 {
                    return;
                }
                held.extend(stream.ok());
            }
        });
        Self {
            address,
            stopping,
            thread: Some(thread),
        }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// Proves a collector that never answers cannot hang the run: the export gives up after its
// timeout and says the request timed out.
#[test]
fn silent_collector_is_cut_off_by_the_timeout() {
    let silent = Silent::start();
    let mut otlp = OtlpConfig::new(format!("http://{}", silent.address));
    otlp.timeout = Duration::from_millis(500);
    let (evidence, report, finishing) = run_exporting(&deterministic(4, 10), otlp);
    assert!(finishing < Duration::from_secs(6), "took {finishing:?}");
    assert!(!evidence.spans.is_empty());
    assert_eq!(report.spans_sent, 0, "{report}");
    assert!(!report.is_complete());
    let said = format!("{report}");
    assert!(said.contains("timed out"), "{said}");
}

fn swarmspec(args: &[&str], env: Option<(&str, &str)>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_swarmspec"));
    command.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    if let Some((key, value)) = env {
        command.env(key, value);
    }
    command.output().expect("the swarmspec binary runs")
}

const SMALL_RUN: &[&str] = &[
    "run",
    "--agents",
    "4",
    "--items",
    "12",
    "--mode",
    "deterministic",
];

// Proves `run --otlp` sends the spans it captured and says so; the env var works the same.
#[test]
fn cli_run_exports_to_the_named_collector() {
    for via_env in [false, true] {
        let receiver = Receiver::start().expect("receiver");
        let endpoint = receiver.endpoint();
        let output = if via_env {
            swarmspec(SMALL_RUN, Some(("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)))
        } else {
            swarmspec(&[SMALL_RUN, &["--otlp", &endpoint]].concat(), None)
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        let sent = receiver.spans().len();
        assert!(sent > 0);
        assert!(
            stdout.contains(&format!("{sent} of {sent} spans sent"))
                && stdout.contains(&format!("{sent} spans captured")),
            "{stdout}"
        );
    }
}

// Proves an unreachable collector is a warning on stderr, while the run's checks decide the
// exit code as before; that an empty variable means no export; and that a protocol this
// build does not speak is refused before the run.
#[test]
fn cli_run_warns_about_an_unreachable_collector() {
    let endpoint = receiver::unused_endpoint().expect("a free port");
    let output = swarmspec(&[SMALL_RUN, &["--otlp", &endpoint]].concat(), None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: OTLP export") && stderr.contains("0 of"),
        "{stderr}"
    );

    let output = swarmspec(SMALL_RUN, Some(("OTEL_EXPORTER_OTLP_ENDPOINT", "")));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && !stdout.contains("OTLP"),
        "{stdout}"
    );

    let output = swarmspec(
        &[SMALL_RUN, &["--otlp", &endpoint]].concat(),
        Some(("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("OTEL_EXPORTER_OTLP_PROTOCOL") && stderr.contains("http/protobuf"),
        "{stderr}"
    );
}
