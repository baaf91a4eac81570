//! `swarmspec run --serve`: the live page in headless Chromium (counters advance, a planted
//! double hold turns the invariant panel red, a screenshot), the token rule, and that
//! watching leaves the run's output byte for byte as it was.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cdp::Browser;

pub(super) fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("swarmspec-live-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A `swarmspec run --serve` child and the URL it printed.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    fn start(args: &[&str], mutant: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_swarmspec"));
        command
            .arg("run")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .env_remove("SWARMSPEC_MUTANT");
        if let Some(mutant) = mutant {
            command.env("SWARMSPEC_MUTANT", mutant);
        }
        let mut child = command.spawn().expect("swarmspec runs");
        let stderr = child.stderr.take().expect("stderr piped");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("live view: http") {
                    // The URL without the `?token=TOKEN` hint printed after it.
                    let url = url.split('?').next().unwrap_or_default();
                    let _ = sender.send(format!("http{url}"));
                }
            }
        });
        let url = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("the live view's URL on stderr");
        Self { child, url }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// What the test reads from the page's DOM.
const PAGE_STATE: &str = "JSON.stringify({\
    ticks: +document.getElementById('ticks').textContent,\
    finished: +document.getElementById('finished').dataset.value,\
    ops: +document.getElementById('ops-total').dataset.value,\
    spans: +document.getElementById('spans').dataset.value,\
    status: document.getElementById('status').textContent,\
    panel: document.getElementById('invariants').dataset.state,\
    final: document.getElementById('inv-note').textContent.includes('final'),\
    doubleHolds: +(document.querySelector('[data-check=\"double holds\"]') || {dataset: {offences: -1}}).dataset.offences,\
    agents: +(document.querySelector('#agents-total th:last-child') || {textContent: 0}).textContent,\
    paths: document.querySelectorAll('#ops-chart path').length})";

fn page_state(browser: &mut Browser) -> Value {
    let text = browser.eval(PAGE_STATE);
    serde_json::from_str(text.as_str().unwrap_or("{}")).unwrap_or_default()
}

/// Reads the page until `done` holds or `within` passes; returns the last read.
fn read_until(browser: &mut Browser, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let state = page_state(browser);
        if done(&state) || Instant::now() > deadline {
            return state;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(super) fn require_chromium() -> Option<PathBuf> {
    let browser = chromium();
    if browser.is_none() {
        assert!(
            std::env::var_os("SWARMSPEC_REQUIRE_CHROMIUM").is_none(),
            "Chromium is required but absent"
        );
        eprintln!("skipped: no Chromium on this machine");
    }
    browser
}

/// A store directory on tmpfs where there is one: the file store fsyncs every transaction,
/// which on tmpfs costs nothing, so the run's length is its own work.
fn store_dir(name: &str) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("swarmspec-live-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

// Proves the live page works in a real browser: between two reads of its DOM the counters
// have advanced while the run goes (a file-store run of a few seconds), the correct engine's
// invariant panel ends green on the final check, and with the blind-write mutant planted in
// the memory engine the panel turns red naming double holds. Screenshots go to the test's
// output directory. Skipped where Chromium is absent, unless SWARMSPEC_REQUIRE_CHROMIUM is
// set.
#[test]
fn live_page_in_chromium() {
    let Some(chromium) = require_chromium() else {
        return;
    };
    let dir = out_dir("chromium");
    let store = store_dir("store");
    let store_arg = format!("file:{}", store.display());
    let served = Served::start(
        &[
            "--serve",
            "--serve-linger",
            "30",
            "--store",
            &store_arg,
            "--agents",
            "16",
            "--teams",
            "4",
            "--items",
            "500",
        ],
        None,
    );
    let mut browser = Browser::launch(&chromium, &dir.join("profile"));
    browser.open(&served.url);
    let first = read_until(&mut browser, Duration::from_secs(20), |s| {
        s["ticks"].as_u64() >= Some(2) && s["spans"].as_u64() > Some(0)
    });
    std::thread::sleep(Duration::from_millis(1_200));
    let second = page_state(&mut browser);
    assert_eq!(
        first["status"], "running",
        "first read while running: {first}"
    );
    assert!(
        second["spans"].as_u64() > first["spans"].as_u64()
            && second["ticks"].as_u64() > first["ticks"].as_u64(),
        "counters did not advance: {first} then {second}"
    );
    assert_eq!(second["agents"], 16, "{second}");
    let ended = read_until(&mut browser, Duration::from_secs(120), |s| {
        s["final"] == true
    });
    assert_eq!(ended["status"], "run ended", "{ended}");
    assert_eq!(ended["panel"], "green", "correct engine: {ended}");
    assert_eq!(ended["doubleHolds"], 0, "{ended}");
    assert_eq!(ended["finished"], 500, "{ended}");
    assert!(
        ended["paths"].as_u64() >= Some(1),
        "no chart line drawn: {ended}"
    );
    std::fs::write(dir.join("live-correct.png"), browser.screenshot()).expect("screenshot");
    drop(browser);
    drop(served);
    let _ = std::fs::remove_dir_all(&store);

    let planted = [
        "--serve",
        "--serve-linger",
        "30",
        "--mode",
        "deterministic",
        "--contention",
        "high",
        "--agents",
        "64",
        "--teams",
        "4",
        "--items",
        "20000",
    ];
    let served = Served::start(&planted, Some("blind-write"));
    let mut browser = Browser::launch(&chromium, &dir.join("profile-mutant"));
    browser.open(&served.url);
    let red = read_until(&mut browser, Duration::from_secs(60), |s| {
        s["panel"] == "red"
    });
    assert_eq!(red["panel"], "red", "planted double holds not shown: {red}");
    assert!(red["doubleHolds"].as_u64() > Some(0), "{red}");
    let shot = browser.screenshot();
    assert!(
        shot.starts_with(b"\x89PNG") && shot.len() > 10_000,
        "screenshot of {} bytes",
        shot.len()
    );
    std::fs::write(dir.join("live-blind-write.png"), shot).expect("screenshot");
    eprintln!("screenshots in {}", dir.display());
}

/// One GET over loopback; the status code and body.
pub(super) fn get(url: &str, path: &str, bearer: Option<&str>) -> (u16, String) {
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = TcpStream::connect(&host).expect("connect");
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n"
    )
    .expect("request");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

// Proves a token, once set, is demanded by the page and the API (by query or bearer
// header), is never echoed back, that nothing but GET is served, and that an address off
// loopback without a token is refused before the run starts.
#[test]
fn token_is_demanded_and_never_echoed() {
    let served = Served::start(
        &[
            "--serve",
            "127.0.0.1:0",
            "--serve-token",
            "s3cret-tok",
            "--serve-linger",
            "10",
            "--items",
            "20",
        ],
        None,
    );
    let (status, _) = get(&served.url, "/", None);
    assert_eq!(status, 401);
    let (status, _) = get(&served.url, "/api/snapshot?token=wrong", None);
    assert_eq!(status, 401);
    let (status, body) = get(&served.url, "/?token=s3cret-tok", None);
    assert_eq!(status, 200);
    assert!(body.contains("swarmspec live") && !body.contains("s3cret-tok"));
    let (status, body) = get(&served.url, "/api/snapshot", Some("s3cret-tok"));
    assert_eq!(status, 200);
    assert!(body.contains("\"op_kinds\"") && !body.contains("s3cret-tok"));
    let host = served
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(host).expect("connect");
    write!(stream, "POST /?token=s3cret-tok HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").expect("post");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");

    let open = Command::new(env!("CARGO_BIN_EXE_swarmspec"))
        .args(["run", "--serve", "0.0.0.0:0", "--items", "10"])
        .env_remove("SWARMSPEC_SERVE_TOKEN")
        .output()
        .expect("swarmspec runs");
    assert!(!open.status.success());
    assert!(String::from_utf8_lossy(&open.stderr).contains("--serve-token"));
}

/// A deterministic run's stdout with the wall-clock figure masked, and its span file
/// without the resource line (which names this process).
fn deterministic_output(dir: &Path, name: &str, serve: bool) -> (String, String) {
    let spans = dir.join(format!("{name}.spans"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_swarmspec"));
    command.args([
        "run",
        "--mode",
        "deterministic",
        "--contention",
        "high",
        "--seed",
        "5",
    ]);
    command
        .args(["--agents", "40", "--items", "400", "--spans-out"])
        .arg(&spans);
    if serve {
        command.args(["--serve", "--serve-linger", "1"]);
    }
    let output = command
        .env_remove("SWARMSPEC_MUTANT")
        .output()
        .expect("swarmspec runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| match line.find(" s wall)") {
            Some(end) => {
                let start = line[..end].rfind('(').unwrap_or(end);
                format!("{}{}", &line[..start], &line[end..])
            }
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let spans = std::fs::read_to_string(&spans).expect("span file");
    let body = spans
        .split_once('\n')
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or_default();
    (stdout, body)
}

// Proves watching changes nothing: the same seed gives the same report and the same spans,
// byte for byte, with and without --serve.
#[test]
fn watching_leaves_the_report_unchanged() {
    let dir = out_dir("unchanged");
    let (plain_out, plain_spans) = deterministic_output(&dir, "plain", false);
    let (served_out, served_spans) = deterministic_output(&dir, "served", true);
    assert!(
        plain_out.contains("no work item") || plain_out.contains("PASS"),
        "{plain_out}"
    );
    assert!(!plain_spans.is_empty());
    assert_eq!(plain_out, served_out);
    assert!(plain_spans == served_spans, "span files differ");
}
