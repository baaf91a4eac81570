//! The live view's HTTP server: axum on a runtime and thread of its own, so it never shares
//! a scheduler with the swarm. Four read-only routes: the page, a JSON snapshot, the
//! server-sent event stream, and report files under `/files/` (when the view has a report
//! directory). Anything but GET is refused by the router. One server serves three views: a
//! swarm run, a verify run, and a finished run replayed from its files.
//!
//! Safety: it binds loopback unless told otherwise, and a non-loopback address needs a
//! token, which every route then demands (`?token=` or `Authorization: Bearer`). The token
//! is compared in constant time and never written into a response.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use std::path::PathBuf;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::{oneshot, watch};

use super::replay::Replay;
use super::sampler::Samplers;
use super::suite::SuiteBoard;
use super::LiveRun;
use crate::compliance::secrets::SecretScanner;
use crate::error::{Error, Result};

/// Where and how to serve.
#[derive(Clone)]
pub struct ServeOptions {
    /// The address to bind (port 0: any free port).
    pub addr: SocketAddr,
    /// The token every request must carry; required off loopback.
    pub token: Option<String>,
}

impl std::fmt::Debug for ServeOptions {
    // The token is a credential: a debug print names only whether there is one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("addr", &self.addr)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// What a server shows: the page's first state, and the directory its report links name.
pub(crate) trait View: Send + Sync {
    /// Everything the page needs when it opens.
    fn snapshot_json(&self) -> String;
    /// The directory `/files/` serves, if any.
    fn files_root(&self) -> Option<PathBuf> {
        None
    }
}

impl View for LiveRun {
    fn snapshot_json(&self) -> String {
        LiveRun::snapshot_json(self)
    }
}

impl View for SuiteBoard {
    fn snapshot_json(&self) -> String {
        SuiteBoard::snapshot_json(self)
    }
    fn files_root(&self) -> Option<PathBuf> {
        Some(self.reports_dir().to_path_buf())
    }
}

impl View for Replay {
    fn snapshot_json(&self) -> String {
        Replay::snapshot_json(self)
    }
    fn files_root(&self) -> Option<PathBuf> {
        Some(self.root().to_path_buf())
    }
}

/// A running live view; `finish` (or dropping it) stops it.
pub struct LiveServer {
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    samplers: Option<Samplers>,
    /// Kept so the event stream of a view without samplers stays open, not ended.
    _events: Option<watch::Sender<Arc<String>>>,
}

#[derive(Clone)]
struct AppState {
    view: Arc<dyn View>,
    events: watch::Receiver<Arc<String>>,
    token: Option<Arc<str>>,
    scanner: Arc<SecretScanner>,
}

impl LiveServer {
    /// Binds `options.addr`, starts the sampling threads and serves `run`.
    pub fn start(run: Arc<LiveRun>, options: ServeOptions) -> Result<Self> {
        let (events_tx, events) = watch::channel(Arc::new(run.event_json(None)));
        let start = |()| Some(Samplers::start(Arc::clone(&run), events_tx));
        Self::serve(run.clone(), events, start, options)
    }

    /// Serves the live view of a verify run, publishing the board twice a second.
    pub fn start_suite(board: Arc<SuiteBoard>, options: ServeOptions) -> Result<Self> {
        let (events_tx, events) = watch::channel(Arc::new(board.event_json()));
        let feed = Arc::clone(&board);
        let start = |()| Some(Samplers::ticking(move || feed.tick_json(), events_tx));
        Self::serve(board, events, start, options)
    }

    /// Serves a finished run read from its files: nothing moves, so no event is sent.
    pub fn start_replay(replay: Arc<Replay>, options: ServeOptions) -> Result<Self> {
        let (events_tx, events) = watch::channel(Arc::new(String::new()));
        let mut server = Self::serve(replay, events, |()| None, options)?;
        server._events = Some(events_tx);
        Ok(server)
    }

    /// Binds, then starts what feeds the events (only once the address is known good).
    fn serve(
        view: Arc<dyn View>,
        events: watch::Receiver<Arc<String>>,
        start_feeding: impl FnOnce(()) -> Option<Samplers>,
        options: ServeOptions,
    ) -> Result<Self> {
        if !options.addr.ip().is_loopback() && options.token.as_deref().is_none_or(str::is_empty) {
            return Err(Error::Live(format!(
                "{} is not a loopback address: anyone who can reach it could watch the run; \
                 give --serve-token TOKEN (the page then asks for it) or bind 127.0.0.1",
                options.addr
            )));
        }
        let listener = std::net::TcpListener::bind(options.addr)
            .map_err(|error| Error::Live(format!("cannot bind {}: {error}", options.addr)))?;
        listener.set_nonblocking(true)?;
        let bound = listener.local_addr()?;
        let samplers = start_feeding(());
        let state = AppState {
            view,
            events,
            token: options.token.filter(|t| !t.is_empty()).map(Arc::from),
            scanner: Arc::new(SecretScanner::new()),
        };
        let url = format!("http://{bound}/");
        let (shutdown, stopped) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let app = router(state);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Ok(Self {
            url,
            shutdown: Some(shutdown),
            thread: Some(thread),
            samplers,
            _events: None,
        })
    }

    /// The page's address (without the token).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Keeps serving for `linger` (the page shows the final state), then stops.
    pub fn finish(mut self, linger: Duration) {
        std::thread::sleep(linger);
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(samplers) = self.samplers.take() {
            samplers.stop();
        }
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            // Open event streams end when the runtime drops with the thread.
            let _ = thread.join();
        }
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/snapshot", get(snapshot))
        .route("/events", get(events))
        .route("/files/{*path}", get(file))
        .with_state(state)
}

/// Headers every answer carries: nothing cached, nothing sniffed, and a content policy that
/// lets the page load nothing from anywhere but itself.
fn hardened(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; img-src data:",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Whether the request carries the token (always, when none is set).
fn authorised(state: &AppState, uri: &Uri, headers: &HeaderMap) -> bool {
    let Some(expected) = state.token.as_deref() else {
        return true;
    };
    let from_query = uri
        .query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("token="));
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    [from_query, from_header]
        .into_iter()
        .flatten()
        .any(|given| same_secret(given.as_bytes(), expected.as_bytes()))
}

/// Compares in time that depends on the lengths only, not on where the bytes differ.
pub(crate) fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

fn refused() -> Response {
    hardened(
        (
            StatusCode::UNAUTHORIZED,
            "this live view needs its token: open the URL with ?token=TOKEN\n",
        )
            .into_response(),
    )
}

async fn page(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if !authorised(&state, &uri, &headers) {
        return refused();
    }
    hardened(
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            super::page::PAGE,
        )
            .into_response(),
    )
}

async fn snapshot(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if !authorised(&state, &uri, &headers) {
        return refused();
    }
    let body = state.view.snapshot_json();
    hardened(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn events(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if !authorised(&state, &uri, &headers) {
        return refused();
    }
    let stream = futures::stream::unfold(state.events, |mut events| async move {
        events.changed().await.ok()?;
        let data = events.borrow_and_update().clone();
        let event = Event::default().event("tick").data(data.as_str());
        Some((Ok::<Event, Infallible>(event), events))
    });
    hardened(
        Sse::new(stream)
            .keep_alive(KeepAlive::default())
            .into_response(),
    )
}

async fn file(
    State(state): State<AppState>,
    UrlPath(path): UrlPath<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if !authorised(&state, &uri, &headers) {
        return refused();
    }
    let found = state
        .view
        .files_root()
        .and_then(|root| super::files::resolve(&root, &path))
        .and_then(|file| super::files::read_scrubbed(&file, &state.scanner));
    match found {
        Some((kind, body)) => hardened(([(header::CONTENT_TYPE, kind)], body).into_response()),
        None => hardened((StatusCode::NOT_FOUND, "no such report file\n").into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the token comparison accepts only the exact token.
    #[test]
    fn same_secret_is_exact() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
    }

    // Proves a non-loopback address without a token is refused before anything binds.
    #[test]
    fn open_address_needs_a_token() {
        let run = Arc::new(LiveRun::new("t".into(), 1, Vec::new(), Default::default()));
        let options = ServeOptions {
            addr: "0.0.0.0:0"
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0))),
            token: None,
        };
        let refused = LiveServer::start(run, options).err().map(|e| e.to_string());
        assert!(refused.is_some_and(|text| text.contains("--serve-token")));
    }
}
