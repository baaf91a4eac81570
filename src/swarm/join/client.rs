//! The worker's side of the join calls: join, beat from a thread of its own while the
//! swarm runs (the first answers double as the start signal), say when done.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::protocol::{
    Beat, BeatAnswer, Done, JoinRequest, WorkerPlan, BEAT_INTERVAL_MS, BEAT_PATH, DONE_PATH,
    JOIN_PATH, PROTOCOL_VERSION, TOKEN_HEADER,
};
use crate::error::{Error, Result};
use crate::telemetry::otlp::client::post;
use crate::telemetry::otlp::config::Headers;

/// How long one join call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A run's parent, as a worker reaches it.
#[derive(Debug, Clone)]
pub struct JoinClient {
    base: String,
    headers: Headers,
}

impl JoinClient {
    /// The parent at base URL `base` (what it printed), with the run's token if it has one.
    pub fn new(base: &str, token: Option<&str>) -> Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") {
            return Err(Error::Join(format!(
                "--join {base}: expected the http://HOST:PORT the run's parent printed"
            )));
        }
        let mut headers = Headers::default();
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            headers
                .insert(TOKEN_HEADER, token)
                .map_err(|problem| Error::Join(format!("--join-token: {problem}")))?;
        }
        Ok(Self { base, headers })
    }

    /// The base URL, also where spans are exported (`/v1/traces` under it).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The headers every call carries (the token), for the span exporter too.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    fn call<T: DeserializeOwned>(&self, path: &str, message: &impl Serialize) -> Result<T> {
        let url = format!("{}{path}", self.base);
        let body = serde_json::to_vec(message).map_err(|e| Error::Join(e.to_string()))?;
        let (status, answer) = post(&url, &self.headers, "application/json", body, CALL_TIMEOUT)
            .map_err(Error::Join)?;
        if !(200..300).contains(&status) {
            let text: String = String::from_utf8_lossy(&answer).chars().take(300).collect();
            return Err(Error::Join(format!("POST {url}: HTTP {status}: {text}")));
        }
        serde_json::from_slice(&answer)
            .map_err(|e| Error::Join(format!("POST {url}: an answer that is not JSON: {e}")))
    }

    /// Joins under `name` (or the next free one), receiving this worker's share.
    pub fn join(&self, name: Option<&str>, host: &str) -> Result<WorkerPlan> {
        let request = JoinRequest {
            name: name.map(str::to_owned),
            protocol: PROTOCOL_VERSION,
            host: host.to_owned(),
        };
        self.call(JOIN_PATH, &request)
    }

    /// One sign of life.
    pub fn beat(&self, name: &str) -> Result<BeatAnswer> {
        self.call(BEAT_PATH, &Beat { name: name.into() })
    }

    /// Says this worker is done.
    pub fn done(&self, done: &Done) -> Result<()> {
        self.call::<serde_json::Value>(DONE_PATH, done).map(|_| ())
    }
}

/// Beats on a thread of its own until dropped.
pub struct Heartbeat {
    latest: Arc<Mutex<Option<Result<BeatAnswer>>>>,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Heartbeat")
    }
}

impl Heartbeat {
    /// Starts beating as `name`.
    pub fn start(client: JoinClient, name: String) -> Result<Self> {
        let latest = Arc::new(Mutex::new(None));
        let stopping = Arc::new(AtomicBool::new(false));
        let (shared, stop) = (Arc::clone(&latest), Arc::clone(&stopping));
        let thread = std::thread::Builder::new()
            .name("join-heartbeat".into())
            .spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let answer = client.beat(&name);
                    *shared.lock().unwrap_or_else(PoisonError::into_inner) = Some(answer);
                    std::thread::sleep(Duration::from_millis(BEAT_INTERVAL_MS));
                }
            })?;
        Ok(Self {
            latest,
            stopping,
            thread: Some(thread),
        })
    }

    /// Waits until the parent says start, calls the run off, or `timeout` passes. A beat
    /// that fails is retried until then (the parent may be briefly busy).
    pub fn wait_for_start(&self, timeout: Duration) -> Result<()> {
        let give_up = Instant::now() + timeout;
        let mut last_problem = None;
        while Instant::now() < give_up {
            let latest = self
                .latest
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            match latest {
                Some(Ok(BeatAnswer {
                    cancelled: Some(reason),
                    ..
                })) => return Err(Error::Join(format!("the run was called off: {reason}"))),
                Some(Ok(BeatAnswer { start: true, .. })) => return Ok(()),
                Some(Err(error)) => last_problem = Some(error.to_string()),
                Some(Ok(_)) | None => {}
            }
            std::thread::sleep(Duration::from_millis(BEAT_INTERVAL_MS / 2));
        }
        Err(Error::Join(format!(
            "the run did not start within {} s{}",
            timeout.as_secs(),
            last_problem.map_or_else(String::new, |p| format!(" (last beat: {p})"))
        )))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
