//! The receiver a joined run's parent serves: standard OTLP/HTTP `POST /v1/traces` (so a
//! collector may sit between workers and parent) beside the three join calls of
//! `protocol`, all feeding one `JoinBoard`. axum on a runtime and thread of its own, as the
//! live view's server.
//!
//! Safety as the live view: loopback unless told otherwise, and a non-loopback address
//! needs a token that every request, exports included, must carry in `TOKEN_HEADER`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use super::board::JoinBoard;
use super::protocol::{Beat, Done, JoinRequest, BEAT_PATH, DONE_PATH, JOIN_PATH, TOKEN_HEADER};
use crate::error::{Error, Result};
use crate::live::server::same_secret;
use crate::telemetry::otlp::decode::{decode_request, Refusal};
use crate::telemetry::otlp::receiver::REQUEST_BYTES_MAX;

/// A join message larger than this is refused (they are a few hundred bytes).
const MESSAGE_BYTES_MAX: usize = 64 * 1024;

#[derive(Clone)]
struct AppState {
    board: Arc<Mutex<JoinBoard>>,
    token: Option<Arc<str>>,
}

/// The running receiver; it stops when dropped.
pub struct JoinServer {
    url: String,
    board: Arc<Mutex<JoinBoard>>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for JoinServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinServer")
            .field("url", &self.url)
            .finish()
    }
}

/// Locks the board; a panic elsewhere leaves what it recorded intact.
pub fn lock(board: &Mutex<JoinBoard>) -> MutexGuard<'_, JoinBoard> {
    board.lock().unwrap_or_else(PoisonError::into_inner)
}

impl JoinServer {
    /// Binds `addr` (refusing a non-loopback one without a token) and serves `board`.
    pub fn start(board: JoinBoard, addr: SocketAddr, token: Option<String>) -> Result<Self> {
        let token = token.filter(|t| !t.is_empty());
        if !addr.ip().is_loopback() && token.is_none() {
            return Err(Error::Join(format!(
                "{addr} is not a loopback address: anyone who can reach it could join the \
                 run or send it spans; give --join-token TOKEN (every worker then needs it) \
                 or listen on 127.0.0.1"
            )));
        }
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|error| Error::Join(format!("cannot listen on {addr}: {error}")))?;
        listener.set_nonblocking(true)?;
        let bound = listener.local_addr()?;
        let board = Arc::new(Mutex::new(board));
        let state = AppState {
            board: Arc::clone(&board),
            token: token.map(Arc::from),
        };
        let (shutdown, stopped) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("join-receiver".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let _ = axum::serve(listener, router(state))
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })?;
        Ok(Self {
            url: format!("http://{bound}"),
            board,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The base URL workers join (`http://ADDR:PORT`, the port chosen if 0 was asked).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The board the requests feed.
    pub fn board(&self) -> &Mutex<JoinBoard> {
        &self.board
    }
}

impl Drop for JoinServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/traces", post(traces))
        .route(JOIN_PATH, post(join))
        .route(BEAT_PATH, post(beat))
        .route(DONE_PATH, post(done))
        .layer(DefaultBodyLimit::max(REQUEST_BYTES_MAX))
        .with_state(state)
}

fn answer((status, problem): Refusal) -> Response {
    let status = status
        .split_once(' ')
        .and_then(|(code, _)| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    (status, problem).into_response()
}

/// Checks the token. A refused export is recorded on the board (spans that did not arrive
/// fail the run); a refused join call is only answered (a stranger knocking loses nothing).
fn admitted(
    state: &AppState,
    headers: &HeaderMap,
    export: bool,
) -> std::result::Result<(), Refusal> {
    let Some(expected) = state.token.as_deref() else {
        return Ok(());
    };
    let given = headers
        .get(TOKEN_HEADER)
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    if same_secret(given, expected.as_bytes()) {
        return Ok(());
    }
    let problem = format!("a request without the run's {TOKEN_HEADER}");
    if export {
        lock(&state.board).refused(format!("an export refused: {problem}"));
    }
    Err(("401 Unauthorized", problem))
}

fn message<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<T, Refusal> {
    if body.len() > MESSAGE_BYTES_MAX {
        return Err((
            "413 Payload Too Large",
            format!("a join message of {} bytes", body.len()),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ("400 Bad Request", format!("not a join message: {e}")))
}

fn json(value: &impl serde::Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn traces(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refusal) = admitted(&state, &headers, true) {
        return answer(refusal);
    }
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = text(header::CONTENT_TYPE).unwrap_or_default();
    let decoded = if content_type == "application/x-protobuf" {
        decode_request(&body, text(header::CONTENT_ENCODING).as_deref())
    } else {
        Err((
            "415 Unsupported Media Type",
            format!("content type «{content_type}», expected application/x-protobuf"),
        ))
    };
    let mut board = lock(&state.board);
    // The board records a refusal of its own (spans of no joined worker) itself.
    let outcome = match decoded {
        Ok(request) => board.absorb(request),
        Err(refusal) => {
            board.refused(format!("an export refused: {}", refusal.1));
            Err(refusal)
        }
    };
    drop(board);
    match outcome {
        // An empty ExportTraceServiceResponse: full success.
        Ok(_) => (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            Vec::new(),
        )
            .into_response(),
        Err(refusal) => answer(refusal),
    }
}

async fn join(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refusal) = admitted(&state, &headers, false) {
        return answer(refusal);
    }
    let request: JoinRequest = match message(&body) {
        Ok(request) => request,
        Err(refusal) => return answer(refusal),
    };
    match lock(&state.board).join(&request, Instant::now()) {
        Ok(plan) => json(&plan),
        Err(refusal) => answer(refusal),
    }
}

async fn beat(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refusal) = admitted(&state, &headers, false) {
        return answer(refusal);
    }
    let beat: Beat = match message(&body) {
        Ok(beat) => beat,
        Err(refusal) => return answer(refusal),
    };
    match lock(&state.board).beat(&beat.name, Instant::now()) {
        Ok(answer_) => json(&answer_),
        Err(refusal) => answer(refusal),
    }
}

async fn done(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refusal) = admitted(&state, &headers, false) {
        return answer(refusal);
    }
    let done: Done = match message(&body) {
        Ok(done) => done,
        Err(refusal) => return answer(refusal),
    };
    match lock(&state.board).done(done, Instant::now()) {
        Ok(()) => json(&serde_json::json!({"ok": true})),
        Err(refusal) => answer(refusal),
    }
}
