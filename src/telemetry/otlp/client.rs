//! `StdHttpClient`: the OTLP exporter's HTTP client, HTTP/1.1 over `std::net`, with TLS
//! from rustls for https.
//!
//! The exporter runs on the batch span processor's own thread, outside any tokio runtime,
//! so a blocking client is the natural fit. A hand-written one keeps reqwest and hyper out
//! of the build (about seventy crates), and lets connect, TLS handshake, send and receive
//! carry one deadline (name resolution keeps the system resolver's own): the SDK puts no
//! timeout around an export on that thread, so a collector that accepts a connection and
//! never answers must be cut off here. The cryptography is rustls's (see `tls.rs`); this
//! file only frames one request and one response. It also applies the resolved headers and
//! gzip, so that what is sent is exactly what `OtlpConfig` says (see `settings.rs`).

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use super::config::{Compression, Headers};
use super::response::{framing, parse_response};

/// A collector's answer larger than this is refused (an OTLP response is a few bytes).
pub const RESPONSE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Longest part of a refusing collector's answer kept for the report.
const REFUSAL_TEXT_CHARS_MAX: usize = 200;

/// How the client sends: its deadline, what it adds to each request, and its TLS setup.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    /// Budget for connect, handshake, send and receive together.
    pub timeout: Duration,
    /// Added to every request, replacing the exporter's header of the same name.
    pub headers: Headers,
    /// How the body is encoded on the wire.
    pub compression: Compression,
    /// For https URLs; an https URL without it is refused.
    pub tls: Option<Arc<ClientConfig>>,
}

/// An HTTP/1.1 client with one connection per request and a deadline on the whole exchange.
#[derive(Debug, Clone)]
pub struct StdHttpClient {
    transport: Arc<Transport>,
    /// Why the last request failed. The OTLP exporter reduces a client error to "network
    /// error" and a refusal to its status code, so the detail a person needs is kept here.
    last_failure: Arc<Mutex<Option<String>>>,
}

impl StdHttpClient {
    /// A client sending as `transport` says.
    pub fn new(transport: Transport) -> Self {
        Self {
            transport: Arc::new(transport),
            last_failure: Arc::default(),
        }
    }

    /// A handle on why the last request failed (`None` after a success).
    pub fn last_failure(&self) -> Arc<Mutex<Option<String>>> {
        Arc::clone(&self.last_failure)
    }

    fn remember(&self, failure: Option<String>) {
        *self
            .last_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = failure;
    }
}

/// Why a request failed, worded for a person reading a warning.
fn failure(uri: &http::Uri, problem: impl std::fmt::Display) -> HttpError {
    format!("POST {uri}: {problem}").into()
}

#[async_trait::async_trait]
impl HttpClient for StdHttpClient {
    // Blocks the calling thread: right on the batch processor's thread (its executor is a
    // plain `block_on`), wrong inside an async runtime's worker.
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let deadline = Instant::now() + self.transport.timeout;
        let uri = request.uri().clone();
        let outcome =
            exchange(&request, &self.transport, deadline).map_err(|problem| failure(&uri, problem));
        self.remember(match &outcome {
            Err(error) => Some(error.to_string()),
            Ok(response) if !response.status().is_success() => {
                let text = String::from_utf8_lossy(response.body());
                let text: String = text.chars().take(REFUSAL_TEXT_CHARS_MAX).collect();
                Some(format!("POST {uri}: HTTP {}: {text}", response.status()))
            }
            Ok(_) => None,
        });
        outcome
    }
}

/// Time left before `deadline`, or a timeout error once it has passed.
fn remaining(deadline: Instant) -> std::io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(std::io::Error::new(ErrorKind::TimedOut, "timed out"))
    } else {
        Ok(left)
    }
}

/// A connection, plain or TLS: reads and writes go through rustls for the latter.
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => &tls.sock,
        }
    }

    /// Lets every blocking read and write, the TLS handshake's included, end by `deadline`.
    fn limit(&self, deadline: Instant) -> std::io::Result<()> {
        let budget = remaining(deadline)?;
        self.tcp().set_read_timeout(Some(budget))?;
        self.tcp().set_write_timeout(Some(budget))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buf),
            Stream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}

/// An I/O failure in words; a TLS failure (an untrusted certificate, a wrong host name)
/// says so, since "invalid data" alone sends a person looking in the wrong place.
fn io_problem(doing: &str, error: &std::io::Error) -> String {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => format!("TLS with the collector failed: {tls}"),
        None => format!("{doing}: {error}"),
    }
}

fn exchange(
    request: &Request<Bytes>,
    transport: &Transport,
    deadline: Instant,
) -> Result<Response<Bytes>, String> {
    let uri = request.uri();
    let tls = match (uri.scheme_str(), &transport.tls) {
        (Some("http"), _) => None,
        (Some("https"), Some(config)) => Some(config),
        (Some("https"), None) => return Err("https needs a TLS configuration".into()),
        _ => return Err("only http:// and https:// endpoints are supported".into()),
    };
    // `Uri::host` keeps an IPv6 address's brackets, which neither lookup nor TLS wants.
    let host = uri
        .host()
        .ok_or("the endpoint has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = uri
        .port_u16()
        .unwrap_or(if tls.is_some() { 443 } else { 80 });
    let tcp = connect(host, port, deadline)?;
    let mut stream = match tls {
        None => Stream::Plain(tcp),
        Some(config) => {
            let name = ServerName::try_from(host.to_owned())
                .map_err(|e| format!("«{host}» cannot be checked against a certificate: {e}"))?;
            let connection = ClientConnection::new(Arc::clone(config), name)
                .map_err(|e| format!("TLS with the collector failed: {e}"))?;
            Stream::Tls(Box::new(StreamOwned::new(connection, tcp)))
        }
    };
    let body = encode(request.body(), transport.compression)?;
    let head = request_head(request, transport, host, port, body.len());
    let sent = stream
        .limit(deadline)
        .and_then(|()| stream.write_all(head.as_bytes()))
        .and_then(|()| stream.write_all(&body))
        .and_then(|()| stream.flush());
    sent.map_err(|e| io_problem("sending", &e))?;
    let raw = read_response(&mut stream, deadline)?;
    parse_response(&raw)
}

/// The body as it goes on the wire.
fn encode(body: &[u8], compression: Compression) -> Result<Vec<u8>, String> {
    match compression {
        Compression::None => Ok(body.to_vec()),
        Compression::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder
                .write_all(body)
                .and_then(|()| encoder.finish())
                .map_err(|e| format!("gzip: {e}"))
        }
    }
}

fn connect(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, String> {
    let addresses = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("resolving {host}:{port}: {e}"))?;
    let mut last = format!("{host}:{port} resolved to no address");
    for address in addresses {
        let budget = remaining(deadline).map_err(|e| format!("connecting to {address}: {e}"))?;
        match TcpStream::connect_timeout(&address, budget) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = format!("connecting to {address}: {e}"),
        }
    }
    Err(last)
}

/// The request line and headers. Header values are written here and nowhere else: no
/// error or report repeats them.
fn request_head(
    request: &Request<Bytes>,
    transport: &Transport,
    host: &str,
    port: u16,
    body_len: usize,
) -> String {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut head = format!(
        "{} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {body_len}\r\nConnection: close\r\n",
        request.method(),
    );
    if transport.compression == Compression::Gzip {
        head.push_str("Content-Encoding: gzip\r\n");
    }
    let ours = |name: &http::HeaderName| transport.headers.iter().any(|(n, _)| n == name.as_str());
    for (name, value) in request.headers() {
        // Framing is ours to decide: one body, sent whole, on a connection closed after.
        let framing = [
            http::header::CONTENT_LENGTH,
            http::header::CONNECTION,
            http::header::HOST,
            http::header::CONTENT_ENCODING,
        ];
        if framing.contains(name) || ours(name) {
            continue;
        }
        if let Ok(value) = value.to_str() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    for (name, value) in transport.headers.iter() {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(&String::from_utf8_lossy(value.as_bytes()));
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

/// Reads until the response is complete (by Content-Length), the peer closes, or the
/// deadline or size limit is hit.
fn read_response(stream: &mut Stream, deadline: Instant) -> Result<Vec<u8>, String> {
    let mut raw = Vec::new();
    let mut chunk = [0_u8; 8192];
    loop {
        let budget = remaining(deadline).map_err(|e| format!("waiting for the response: {e}"))?;
        stream
            .tcp()
            .set_read_timeout(Some(budget))
            .map_err(|e| format!("waiting for the response: {e}"))?;
        let read = match stream.read(&mut chunk) {
            Ok(read) => read,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err("no response before the timeout: timed out".into())
            }
            // A TLS peer closing without close_notify: the framing check decides.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(raw),
            Err(e) => return Err(io_problem("waiting for the response", &e)),
        };
        if read == 0 {
            return Ok(raw);
        }
        raw.extend_from_slice(&chunk[..read]);
        if raw.len() > RESPONSE_BYTES_MAX {
            return Err(format!("the response exceeds {RESPONSE_BYTES_MAX} bytes"));
        }
        if let Some((head_len, Some(body_len))) = framing(&raw)? {
            if raw.len() >= head_len + body_len {
                return Ok(raw);
            }
        }
    }
}

/// One blocking `POST` of `body` to an http:// `url` with `headers`, within `timeout`: the
/// status and the body answered. For a joined run's control calls, which go to the same
/// parent the spans do, over the same framing.
pub fn post(
    url: &str,
    headers: &Headers,
    content_type: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), String> {
    let request = Request::post(url)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Bytes::from(body))
        .map_err(|e| format!("POST {url}: {e}"))?;
    let transport = Transport {
        timeout,
        headers: headers.clone(),
        compression: Compression::None,
        tls: None,
    };
    let response = exchange(&request, &transport, Instant::now() + timeout)
        .map_err(|problem| format!("POST {url}: {problem}"))?;
    Ok((response.status().as_u16(), response.body().to_vec()))
}
