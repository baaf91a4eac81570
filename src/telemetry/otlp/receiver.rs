//! `Receiver`: a minimal OTLP/HTTP collector on loopback that keeps what it is sent.
//!
//! It exists so that a test or a spec can prove spans really crossed the wire: it accepts
//! `POST /v1/traces` with a protobuf `ExportTraceServiceRequest`, decodes it with the same
//! generated types a collector uses, and keeps each span as a `SpanRecord`, the form the
//! evidence checks compare. Anything else it is sent is answered with an HTTP error and
//! listed in `problems`, so a malformed export fails a check instead of vanishing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use prost::Message as _;

use crate::error::{Error, Result};
use crate::telemetry::{AttrValue, SpanRecord, SpanStatus};

/// A request body larger than this is refused (the OTLP/HTTP recommended limit).
pub const REQUEST_BYTES_MAX: usize = 64 * 1024 * 1024;

/// How long one connection may take to deliver its request.
const CONNECTION_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Request headers larger than this are refused.
const HEADER_BYTES_MAX: usize = 64 * 1024;

#[derive(Debug, Default)]
struct Received {
    spans: Vec<SpanRecord>,
    service_names: Vec<String>,
    requests: usize,
    problems: Vec<String>,
}

/// A running receiver; it stops (and its thread ends) when dropped.
#[derive(Debug)]
pub struct Receiver {
    address: SocketAddr,
    received: Arc<Mutex<Received>>,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Listens on an ephemeral port of 127.0.0.1.
    pub fn start() -> Result<Self> {
        let failed = |problem: String| Error::Export {
            endpoint: "127.0.0.1:0 (test receiver)".into(),
            problem,
        };
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| failed(e.to_string()))?;
        let address = listener.local_addr().map_err(|e| failed(e.to_string()))?;
        let received = Arc::new(Mutex::new(Received::default()));
        let stopping = Arc::new(AtomicBool::new(false));
        let (shared, stop) = (Arc::clone(&received), Arc::clone(&stopping));
        let thread = std::thread::Builder::new()
            .name("otlp-receiver".into())
            .spawn(move || serve(&listener, &shared, &stop))
            .map_err(|e| failed(e.to_string()))?;
        Ok(Self {
            address,
            received,
            stopping,
            thread: Some(thread),
        })
    }

    /// The base URL to export to (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<SpanRecord> {
        self.lock().spans.clone()
    }

    /// The `service.name` of each resource received.
    pub fn service_names(&self) -> Vec<String> {
        self.lock().service_names.clone()
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

fn serve(listener: &TcpListener, received: &Mutex<Received>, stopping: &AtomicBool) {
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut stream) = stream else { continue };
        let outcome = handle(&mut stream);
        let mut received = received.lock().unwrap_or_else(PoisonError::into_inner);
        let (status, body) = match outcome {
            Ok(request) => {
                received.requests += 1;
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
            .and_then(|()| stream.write_all(&body));
    }
}

type Refusal = (&'static str, String);

/// Reads one request and decodes it, or says which HTTP status refuses it and why.
fn handle(stream: &mut TcpStream) -> std::result::Result<ExportTraceServiceRequest, Refusal> {
    let bad = |problem: String| ("400 Bad Request", problem);
    stream
        .set_read_timeout(Some(CONNECTION_READ_TIMEOUT))
        .map_err(|e| bad(e.to_string()))?;
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
    let header = |name: &str| {
        head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
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
    ExportTraceServiceRequest::decode(body.as_slice())
        .map_err(|e| bad(format!("not an ExportTraceServiceRequest: {e}")))
}

fn absorb(received: &mut Received, request: ExportTraceServiceRequest) {
    for resource_spans in request.resource_spans {
        let resource = resource_spans.resource.unwrap_or_default();
        if let Some(AttrValue::Str(name)) = resource
            .attributes
            .iter()
            .find(|kv| kv.key == "service.name")
            .map(attribute)
            .map(|(_, value)| value)
        {
            received.service_names.push(name);
        }
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                received.spans.push(record(span));
            }
        }
    }
}

/// A received span in the form the evidence checks read.
fn record(span: opentelemetry_proto::tonic::trace::v1::Span) -> SpanRecord {
    let parent = id_u64(&span.parent_span_id);
    let status = span.status.unwrap_or_default();
    SpanRecord {
        trace_id: span
            .trace_id
            .as_slice()
            .try_into()
            .map_or(0, u128::from_be_bytes),
        span_id: id_u64(&span.span_id),
        parent_span_id: (parent != 0).then_some(parent),
        name: span.name,
        start_unix_ns: span.start_time_unix_nano,
        end_unix_ns: span.end_time_unix_nano,
        // Codes per the OTLP schema: 0 unset, 1 ok, 2 error.
        status: match status.code {
            1 => SpanStatus::Ok,
            2 => SpanStatus::Error(status.message),
            _ => SpanStatus::Unset,
        },
        attributes: span.attributes.iter().map(attribute).collect(),
    }
}

fn id_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map_or(0, u64::from_be_bytes)
}

fn attribute(kv: &KeyValue) -> (String, AttrValue) {
    let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => AttrValue::Str(s.clone()),
        Some(any_value::Value::BoolValue(b)) => AttrValue::Bool(*b),
        Some(any_value::Value::IntValue(i)) => AttrValue::Int(*i),
        Some(any_value::Value::DoubleValue(f)) => AttrValue::Float(*f),
        Some(other) => AttrValue::Str(format!("{other:?}")),
        None => AttrValue::Str(String::new()),
    };
    (kv.key.clone(), value)
}
