//! `Receiver`: a minimal OTLP/HTTP collector on loopback that keeps what it is sent.
//!
//! It exists so that a test or a spec can prove spans really crossed the wire: it accepts
//! `POST /v1/traces` with a protobuf `ExportTraceServiceRequest`, decodes it with the same
//! generated types a collector uses, and keeps each span as a `SpanRecord`, the form the
//! evidence checks compare. Anything else it is sent is answered with an HTTP error and
//! listed in `problems`, so a malformed export fails a check instead of vanishing.
//!
//! What a real collector would see is kept too, for tests to assert on: each resource's
//! attributes, each request's headers, gzip bodies decoded (and the encoding recorded). It
//! can serve https with a given certificate and refuse requests lacking a header, as a
//! hosted collector refuses a missing API key.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use super::decode::{attribute, decode_request, record};
use crate::error::{Error, Result};
use crate::telemetry::{AttrKey, AttrValue, SpanRecord};

/// A request body larger than this is refused (the OTLP/HTTP recommended limit).
pub const REQUEST_BYTES_MAX: usize = 64 * 1024 * 1024;

/// How long one connection may take to deliver its request.
const CONNECTION_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Request headers larger than this are refused.
const HEADER_BYTES_MAX: usize = 64 * 1024;

/// A resource's attributes, as received.
pub type ResourceAttributes = Vec<(AttrKey, AttrValue)>;

#[derive(Debug, Default)]
struct Received {
    spans: Vec<SpanRecord>,
    resources: Vec<ResourceAttributes>,
    /// Each accepted request's headers, names lower-cased.
    headers: Vec<Vec<(String, String)>>,
    requests: usize,
    problems: Vec<String>,
}

/// How a receiver serves: TLS, and a header every request must carry.
#[derive(Debug, Clone, Default)]
pub struct ReceiverOptions {
    /// Serve https with this configuration (see `tls::server_config`).
    pub tls: Option<Arc<ServerConfig>>,
    /// Answer `401 Unauthorized` to a request without this header name and value.
    pub required_header: Option<(String, String)>,
}

/// A running receiver; it stops (and its thread ends) when dropped.
#[derive(Debug)]
pub struct Receiver {
    address: SocketAddr,
    https: bool,
    received: Arc<Mutex<Received>>,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Listens on an ephemeral port of 127.0.0.1, plain http, accepting every request.
    pub fn start() -> Result<Self> {
        Self::start_with(ReceiverOptions::default())
    }

    /// Listens on an ephemeral port of 127.0.0.1, serving as `options` say.
    pub fn start_with(options: ReceiverOptions) -> Result<Self> {
        let failed = |problem: String| Error::Export {
            endpoint: "127.0.0.1:0 (test receiver)".into(),
            problem,
        };
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| failed(e.to_string()))?;
        let address = listener.local_addr().map_err(|e| failed(e.to_string()))?;
        let received = Arc::new(Mutex::new(Received::default()));
        let stopping = Arc::new(AtomicBool::new(false));
        let (shared, stop) = (Arc::clone(&received), Arc::clone(&stopping));
        let https = options.tls.is_some();
        let thread = std::thread::Builder::new()
            .name("otlp-receiver".into())
            .spawn(move || serve(&listener, &options, &shared, &stop))
            .map_err(|e| failed(e.to_string()))?;
        Ok(Self {
            address,
            https,
            received,
            stopping,
            thread: Some(thread),
        })
    }

    /// The base URL to export to (`http://127.0.0.1:PORT`, or https when serving TLS).
    pub fn endpoint(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.address)
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<SpanRecord> {
        self.lock().spans.clone()
    }

    /// The `service.name` of each resource received (empty when a resource has none).
    pub fn service_names(&self) -> Vec<String> {
        self.resource_values("service.name")
    }

    /// Each resource received (one per `ResourceSpans`), its attributes as sent.
    pub fn resources(&self) -> Vec<ResourceAttributes> {
        self.lock().resources.clone()
    }

    /// The value of attribute `key` in each resource received, as text (empty when absent).
    pub fn resource_values(&self, key: &str) -> Vec<String> {
        let text = |value: &AttrValue| match value {
            AttrValue::Str(text) => text.clone(),
            AttrValue::Int(number) => number.to_string(),
            AttrValue::Float(number) => number.to_string(),
            AttrValue::Bool(flag) => flag.to_string(),
        };
        self.lock()
            .resources
            .iter()
            .map(|attributes| {
                attributes
                    .iter()
                    .find(|(k, _)| **k == *key)
                    .map_or_else(String::new, |(_, value)| text(value))
            })
            .collect()
    }

    /// The value of header `name` (any case) in each accepted request (empty when absent).
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.lock()
            .headers
            .iter()
            .map(|headers| {
                headers
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map_or_else(String::new, |(_, value)| value.clone())
            })
            .collect()
    }

    /// Export requests accepted so far.
    pub fn requests(&self) -> usize {
        self.lock().requests
    }

    /// Requests refused, each with the reason.
    pub fn problems(&self) -> Vec<String> {
        self.lock().problems.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Received> {
        // Only appended to; a panic in the serving thread leaves what arrived intact.
        self.received.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A loopback URL where nothing listens: a port just bound and released, so connecting is
/// refused at once (for showing what an export does when its collector is down).
pub fn unused_endpoint() -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| Error::Export {
        endpoint: "127.0.0.1:0".into(),
        problem: e.to_string(),
    })?;
    let address = listener.local_addr().map_err(|e| Error::Export {
        endpoint: "127.0.0.1:0".into(),
        problem: e.to_string(),
    })?;
    Ok(format!("http://{address}"))
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept; if the connection fails the listener is already gone.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    listener: &TcpListener,
    options: &ReceiverOptions,
    received: &Mutex<Received>,
    stopping: &AtomicBool,
) {
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(tcp) = stream else { continue };
        if tcp.set_read_timeout(Some(CONNECTION_READ_TIMEOUT)).is_err() {
            continue;
        }
        match &options.tls {
            None => answer(tcp, options, received),
            Some(config) => match ServerConnection::new(Arc::clone(config)) {
                Ok(connection) => answer(StreamOwned::new(connection, tcp), options, received),
                Err(e) => lock(received).problems.push(format!("TLS: {e}")),
            },
        }
    }
}

fn lock(received: &Mutex<Received>) -> std::sync::MutexGuard<'_, Received> {
    received.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads one request from `stream`, keeps what it holds, and answers it.
fn answer(mut stream: impl Read + Write, options: &ReceiverOptions, received: &Mutex<Received>) {
    let outcome = handle(&mut stream, options);
    let mut received = lock(received);
    let (status, body) = match outcome {
        Ok((request, headers)) => {
            received.requests += 1;
            received.headers.push(headers);
            absorb(&mut received, request);
            ("200 OK", Vec::new())
        }
        Err((status, problem)) => {
            received.problems.push(problem.clone());
            (status, problem.into_bytes())
        }
    };
    drop(received);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    // The client may have given up already; what it was sent is recorded either way.
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&body))
        .and_then(|()| stream.flush());
}

use super::decode::Refusal;

/// A request's decoded body and its headers.
type Accepted = (ExportTraceServiceRequest, Vec<(String, String)>);

/// Reads one request and decodes it, or says which HTTP status refuses it and why.
fn handle(
    stream: &mut impl Read,
    options: &ReceiverOptions,
) -> std::result::Result<Accepted, Refusal> {
    let bad = |problem: String| ("400 Bad Request", problem);
    let mut raw = Vec::new();
    let mut chunk = [0_u8; 16 * 1024];
    let head_end = loop {
        if let Some(end) = raw.windows(4).position(|w: &[u8]| w == b"\r\n\r\n") {
            break end;
        }
        if raw.len() > HEADER_BYTES_MAX {
            return Err(bad(format!("headers exceed {HEADER_BYTES_MAX} bytes")));
        }
        let read = stream.read(&mut chunk).map_err(|e| bad(e.to_string()))?;
        if read == 0 {
            return Err(bad("the connection closed before the headers ended".into()));
        }
        raw.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let request_line = head.lines().next().unwrap_or_default().to_owned();
    if !request_line.starts_with("POST /v1/traces ") {
        return Err((
            "404 Not Found",
            format!("unexpected request «{request_line}»"),
        ));
    }
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            Some((key.trim().to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    if let Some((name, value)) = &options.required_header {
        if header(&name.to_ascii_lowercase()).as_deref() != Some(value.as_str()) {
            // Like a hosted collector: the status says why, the value is not echoed.
            return Err((
                "401 Unauthorized",
                format!("missing or wrong «{name}» header"),
            ));
        }
    }
    let content_type = header("content-type").unwrap_or_default();
    if content_type != "application/x-protobuf" {
        return Err((
            "415 Unsupported Media Type",
            format!("content type «{content_type}», expected application/x-protobuf"),
        ));
    }
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ("411 Length Required", "no Content-Length".to_owned()))?;
    if length > REQUEST_BYTES_MAX {
        return Err((
            "413 Payload Too Large",
            format!("{length} bytes exceed {REQUEST_BYTES_MAX}"),
        ));
    }
    let mut body = raw.split_off(head_end + 4);
    while body.len() < length {
        let read = stream.read(&mut chunk).map_err(|e| bad(e.to_string()))?;
        if read == 0 {
            return Err(bad(format!(
                "the body ended after {} of {length} bytes",
                body.len()
            )));
        }
        body.extend_from_slice(&chunk[..read]);
    }
    body.truncate(length);
    let request = decode_request(&body, header("content-encoding").as_deref())?;
    Ok((request, headers))
}

fn absorb(received: &mut Received, request: ExportTraceServiceRequest) {
    for resource_spans in request.resource_spans {
        let resource = resource_spans.resource.unwrap_or_default();
        received
            .resources
            .push(resource.attributes.iter().map(attribute).collect());
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                received.spans.push(record(span));
            }
        }
    }
}
