//! OTLP export as a real collector would need it, against loopback receivers: the
//! Resource, headers, gzip, https with a CA generated for the test, the standard
//! `OTEL_*` variables through the CLI, and a collector refusing a missing API key.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use swarmspec::evidence::{self, Evidence};
use swarmspec::swarm::{Mode, Swarm, SwarmConfig};
use swarmspec::telemetry::otlp::receiver::ReceiverOptions;
use swarmspec::telemetry::otlp::{
    resource, tls, Compression, ExportReport, OtlpConfig, OtlpTarget, Receiver, ResourceSettings,
    RunAttributes,
};
use swarmspec::telemetry::{Capture, CaptureLevel};

const API_KEY: &str = "k3y-that-must-stay-secret";

/// A CA and a server certificate it signed for 127.0.0.1 and localhost, as PEM.
struct TestPki {
    ca_pem: String,
    server_pem: String,
    server_key_pem: String,
}

fn test_pki(ca_name: &str) -> TestPki {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let server_key = KeyPair::generate().expect("server key");
    let mut server_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("server params");
    server_params
        .distinguished_name
        .push(DnType::CommonName, "swarmspec test collector");
    let server = server_params
        .signed_by(&server_key, &ca, &ca_key)
        .expect("server certificate");
    TestPki {
        ca_pem: ca.pem(),
        server_pem: server.pem(),
        server_key_pem: server_key.serialize_pem(),
    }
}

fn tls_receiver(pki: &TestPki, required_header: Option<(&str, &str)>) -> Receiver {
    let config = tls::server_config(&pki.server_pem, &pki.server_key_pem).expect("server TLS");
    Receiver::start_with(ReceiverOptions {
        tls: Some(config),
        required_header: required_header.map(|(k, v)| (k.to_owned(), v.to_owned())),
    })
    .expect("receiver")
}

/// Runs a small deterministic swarm exporting as `otlp` says; its evidence and report.
fn run_exporting(otlp: OtlpConfig, seed: u64) -> (Evidence, ExportReport) {
    let mut config = SwarmConfig::new(4, 12, seed);
    config.mode = Mode::Deterministic;
    let target = OtlpTarget::new(otlp).expect("the configuration is accepted");
    let run = RunAttributes::new(seed, "memory");
    let (export, processor) = target.start(Some(&run)).expect("the exporter builds");
    let capture = Arc::new(Capture::with_exports(
        seed,
        CaptureLevel::default(),
        vec![processor],
    ));
    Swarm::new(config).run(Arc::clone(&capture)).expect("run");
    let evidence = Evidence::from_capture(&capture).expect("capture");
    let report = export.finish(&capture);
    (evidence, report)
}

fn write_ca(dir: &Path, pem: &str) -> std::path::PathBuf {
    let path = dir.join("ca.pem");
    std::fs::write(&path, pem).expect("write the CA file");
    path
}

// Proves https with the test CA, an auth header and gzip work together end to end: every
// span arrives, each request was gzip-encoded and carried the header, and the resource
// names the service, this process's instance, the run and its seed.
#[test]
fn https_with_a_test_ca_a_header_and_gzip_delivers_every_span() {
    let pki = test_pki("swarmspec test CA");
    let receiver = tls_receiver(&pki, Some(("x-api-key", API_KEY)));
    let dir = tempfile::tempdir().expect("temp dir");
    let mut otlp = OtlpConfig::new(receiver.endpoint());
    assert!(otlp.is_https());
    otlp.certificate = Some(("test".into(), write_ca(dir.path(), &pki.ca_pem)));
    otlp.compression = Compression::Gzip;
    otlp.headers
        .insert("X-API-Key", API_KEY)
        .expect("a valid header");
    otlp.resource = ResourceSettings::default().with_run_id("night-1");
    let (evidence, report) = run_exporting(otlp, 31);
    assert!(report.is_complete(), "{report} / {:?}", receiver.problems());
    assert!(!report.to_string().contains(API_KEY));
    let verdict = evidence::export::received_every_span(&evidence.spans, &receiver.spans());
    assert!(verdict.passed, "{verdict}");
    let requests = receiver.requests();
    assert!(requests >= 1);
    assert_eq!(
        receiver.header_values("content-encoding"),
        vec!["gzip"; requests]
    );
    assert_eq!(receiver.header_values("x-api-key"), vec![API_KEY; requests]);
    let resources = receiver.resources().len();
    assert!(resources >= 1);
    let each = |key: &str| receiver.resource_values(key);
    assert_eq!(each("service.name"), vec!["swarmspec"; resources]);
    assert_eq!(
        each("service.instance.id"),
        vec![resource::instance_id(); resources]
    );
    assert_eq!(each("swarmspec.run.id"), vec!["night-1"; resources]);
    assert_eq!(each("swarmspec.seed"), vec!["31"; resources]);
    assert_eq!(each("swarmspec.system"), vec!["memory"; resources]);
    assert_eq!(
        each("process.pid"),
        vec![std::process::id().to_string(); resources]
    );
}

// Proves the certificate is really checked: the system's roots, or another CA, do not
// trust the test collector, and the failure says TLS; nothing arrives.
#[test]
fn an_untrusted_certificate_is_refused() {
    let pki = test_pki("swarmspec test CA");
    let receiver = tls_receiver(&pki, None);
    let other = test_pki("some other CA");
    let dir = tempfile::tempdir().expect("temp dir");
    let wrong_ca = write_ca(dir.path(), &other.ca_pem);
    for certificate in [None, Some(("test".to_owned(), wrong_ca))] {
        let mut otlp = OtlpConfig::new(receiver.endpoint());
        otlp.certificate = certificate;
        let (_, report) = run_exporting(otlp, 3);
        assert_eq!(report.spans_sent, 0, "{report}");
        let error = report.collector_error.clone().unwrap_or_default();
        assert!(
            error.contains("TLS") && error.contains("certificate"),
            "{report}"
        );
    }
    assert!(receiver.spans().is_empty());
}

// Proves a CA file that is missing or holds no certificate is refused before any run,
// naming the setting it came from.
#[test]
fn an_unusable_ca_file_is_refused_up_front() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = write_ca(dir.path(), "not a certificate\n");
    for path in [dir.path().join("missing.pem"), empty] {
        let mut otlp = OtlpConfig::new("https://127.0.0.1:9");
        otlp.certificate = Some(("OTEL_EXPORTER_OTLP_CERTIFICATE".into(), path));
        let error = OtlpTarget::new(otlp).expect_err("refused").to_string();
        assert!(
            error.starts_with("OTEL_EXPORTER_OTLP_CERTIFICATE"),
            "{error}"
        );
    }
}

/// Runs the binary with only the given `OTEL_*` variables set (none inherited).
fn swarmspec(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_swarmspec"));
    command.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
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
    "--seed",
    "8",
];

// Proves the standard variables drive the CLI: the traces endpoint used as is, headers,
// gzip, service name and resource attributes all reach the collector, and each process
// gets its own service.instance.id.
#[test]
fn cli_follows_the_standard_variables() {
    let receiver = Receiver::start().expect("receiver");
    let traces_url = format!("{}/v1/traces", receiver.endpoint());
    let env = [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces_url.as_str()),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=blue%20team"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_SERVICE_NAME", "nightly-swarm"),
        ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci"),
    ];
    for _ in 0..2 {
        let output = swarmspec(SMALL_RUN, &env);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("spans sent"),
            "{stdout}"
        );
    }
    let requests = receiver.requests();
    assert!(requests >= 2, "{:?}", receiver.problems());
    assert_eq!(
        receiver.header_values("x-tenant"),
        vec!["blue team"; requests]
    );
    assert_eq!(
        receiver.header_values("content-encoding"),
        vec!["gzip"; requests]
    );
    let names = receiver.resource_values("service.name");
    assert!(
        names.iter().all(|name| name == "nightly-swarm"),
        "{names:?}"
    );
    let environments = receiver.resource_values("deployment.environment");
    assert!(
        environments.iter().all(|env| env == "ci"),
        "{environments:?}"
    );
    let seeds = receiver.resource_values("swarmspec.seed");
    assert!(seeds.iter().all(|seed| seed == "8"), "{seeds:?}");
    let mut instances = receiver.resource_values("service.instance.id");
    instances.sort();
    instances.dedup();
    assert_eq!(
        instances.len(),
        2,
        "one instance id per process: {instances:?}"
    );
}

// Proves a collector refusing a missing or wrong API key gets a warning naming the status,
// the run's verdicts and exit code unchanged, and the key itself printed nowhere; with the
// right key (given by flag) the same collector takes every span.
#[test]
fn cli_warns_when_the_collector_refuses_the_key() {
    let receiver = Receiver::start_with(ReceiverOptions {
        tls: None,
        required_header: Some(("authorization".into(), format!("Bearer {API_KEY}"))),
    })
    .expect("receiver");
    let endpoint = receiver.endpoint();
    let wrong = "authorization=Bearer wrong-secret-value";
    for headers in [&[][..], &["--otlp-header", wrong][..]] {
        let args = [SMALL_RUN, &["--otlp", &endpoint], headers].concat();
        let output = swarmspec(&args, &[]);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        assert!(output.status.success(), "{stderr}");
        assert!(stdout.contains("spans captured"), "{stdout}");
        assert!(
            stderr.contains("warning: OTLP export") && stderr.contains("401"),
            "{stderr}"
        );
        assert!(!format!("{stdout}{stderr}").contains("wrong-secret-value"));
    }
    assert!(receiver.spans().is_empty());
    let right = format!("authorization=Bearer {API_KEY}");
    let output = swarmspec(
        &[SMALL_RUN, &["--otlp", &endpoint, "--otlp-header", &right]].concat(),
        &[],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let sent = receiver.spans().len();
    assert!(
        sent > 0 && stdout.contains(&format!("{sent} of {sent} spans sent")),
        "{stdout}"
    );
    assert!(!stdout.contains(API_KEY));
}

// Proves bad values are refused before the run, each error naming its variable or flag
// and never echoing a header's value.
#[test]
fn cli_refuses_bad_settings_naming_them() {
    let receiver = Receiver::start().expect("receiver");
    let endpoint = receiver.endpoint();
    let base = ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str());
    let cases = [
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "ten"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "authorization Bearer secret-in-bad-entry",
        ),
        ("OTEL_RESOURCE_ATTRIBUTES", "no-equals"),
    ];
    for (var, value) in cases {
        let output = swarmspec(SMALL_RUN, &[base, (var, value)]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{var}={value} was accepted");
        assert!(stderr.contains(var), "{stderr}");
        assert!(!stderr.contains("secret-in-bad-entry"), "{stderr}");
    }
    let output = swarmspec(
        &[SMALL_RUN, &["--otlp", &endpoint, "--otlp-timeout-ms", "0"]].concat(),
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("--otlp-timeout-ms"),
        "{stderr}"
    );
    assert_eq!(receiver.requests(), 0);
}

// Proves a span file written by `run --spans-out` starts with the run's resource, and is
// still read back with no fragment skipped.
#[test]
fn span_file_carries_the_resource() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("spans.jsonl");
    let path_text = path.to_string_lossy().into_owned();
    let output = swarmspec(
        &[SMALL_RUN, &["--spans-out", &path_text]].concat(),
        &[("OTEL_SERVICE_NAME", "from-env")],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&path).expect("the span file");
    let first = text.lines().next().unwrap_or_default();
    for expected in [
        "\"service.name\"",
        "from-env",
        "service.instance.id",
        "swarmspec.run.id",
        "host.name",
    ] {
        assert!(first.contains(expected), "{expected} missing from {first}");
    }
    let read = swarmspec::ingest::read_path(&path).expect("ingest");
    assert_eq!(read.report.skipped_total, 0, "{}", read.report);
    assert!(!read.spans.is_empty());
}

// Proves the workers of a split run inherit OTEL_EXPORTER_OTLP_ENDPOINT and each export
// their own spans, told apart by service.instance.id and marked as a file-store run; and
// that a bad inherited variable is refused by the parent before any worker starts.
#[test]
fn split_run_workers_export_under_their_own_instance_ids() {
    let receiver = Receiver::start().expect("receiver");
    let endpoint = receiver.endpoint();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = format!("file:{}", dir.path().join("store").display());
    let args = [
        "run",
        "--processes",
        "2",
        "--store",
        &store,
        "--agents",
        "4",
        "--items",
        "20",
    ];
    let bad = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
    ];
    let output = swarmspec(&args, &bad);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("OTEL_EXPORTER_OTLP_TIMEOUT"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("store").exists(),
        "refused before any worker started"
    );
    let output = swarmspec(&args, &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!receiver.spans().is_empty(), "{:?}", receiver.problems());
    let mut instances = receiver.resource_values("service.instance.id");
    instances.sort();
    instances.dedup();
    assert_eq!(
        instances.len(),
        2,
        "one instance id per worker: {instances:?}"
    );
    let systems = receiver.resource_values("swarmspec.system");
    assert!(systems.iter().all(|system| system == "file"), "{systems:?}");
}
