//! `StdHttpClient`: the OTLP exporter's HTTP client, plain HTTP/1.1 over `std::net`.
//!
//! The exporter runs on the batch span processor's own thread, outside any tokio runtime,
//! so a blocking client is the natural fit. A hand-written one keeps reqwest, hyper and a
//! TLS stack out of the build (about seventy crates), and lets connect, send and receive
//! carry one deadline (name resolution keeps the system resolver's own): the SDK puts no
//! timeout around an export on that thread, so a collector that accepts a connection and
//! never answers must be cut off here. Only `http://` is supported: the
//! collector is expected on loopback or a sidecar.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

/// A collector's answer larger than this is refused (an OTLP response is a few bytes).
pub const RESPONSE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Response headers larger than this are refused.
const HEADER_BYTES_MAX: usize = 64 * 1024;

/// Longest part of a refusing collector's answer kept for the report.
const REFUSAL_TEXT_CHARS_MAX: usize = 200;

/// An HTTP/1.1 client with one connection per request and a deadline on the whole exchange.
#[derive(Debug, Clone)]
pub struct StdHttpClient {
    /// Budget for connect, send and receive together.
    timeout: Duration,
    /// Why the last request failed. The OTLP exporter reduces a client error to "network
    /// error" and a refusal to its status code, so the detail a person needs is kept here.
    last_failure: Arc<Mutex<Option<String>>>,
}

impl StdHttpClient {
    /// A client that gives up on any request after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
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
        let deadline = Instant::now() + self.timeout;
        let uri = request.uri().clone();
        let outcome = exchange(&request, deadline).map_err(|problem| failure(&uri, problem));
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

fn exchange(request: &Request<Bytes>, deadline: Instant) -> Result<Response<Bytes>, String> {
    let uri = request.uri();
    if uri.scheme_str() != Some("http") {
        return Err("only http:// endpoints are supported (this build has no TLS)".into());
    }
    let host = uri.host().ok_or("the endpoint has no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let mut stream = connect(host, port, deadline)?;
    let head = request_head(request, host, port);
    let timed = |e: std::io::Error| format!("sending: {e}");
    stream
        .set_write_timeout(Some(remaining(deadline).map_err(timed)?))
        .map_err(timed)?;
    stream.write_all(head.as_bytes()).map_err(timed)?;
    stream.write_all(request.body()).map_err(timed)?;
    stream.flush().map_err(timed)?;
    let raw = read_response(&mut stream, deadline)?;
    parse_response(&raw)
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

fn request_head(request: &Request<Bytes>, host: &str, port: u16) -> String {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut head = format!(
        "{} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {}\r\nConnection: close\r\n",
        request.method(),
        request.body().len()
    );
    for (name, value) in request.headers() {
        // Framing is ours to decide: one body, sent whole, on a connection closed after.
        let framing = [
            http::header::CONTENT_LENGTH,
            http::header::CONNECTION,
            http::header::HOST,
        ];
        if framing.contains(name) {
            continue;
        }
        if let Ok(value) = value.to_str() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("\r\n");
    head
}

/// Reads until the response is complete (by Content-Length), the peer closes, or the
/// deadline or size limit is hit.
fn read_response(stream: &mut TcpStream, deadline: Instant) -> Result<Vec<u8>, String> {
    let mut raw = Vec::new();
    let mut chunk = [0_u8; 8192];
    loop {
        let budget = remaining(deadline).map_err(|e| format!("waiting for the response: {e}"))?;
        stream
            .set_read_timeout(Some(budget))
            .map_err(|e| format!("waiting for the response: {e}"))?;
        let read = match stream.read(&mut chunk) {
            Ok(read) => read,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err("no response before the timeout: timed out".into())
            }
            Err(e) => return Err(format!("waiting for the response: {e}")),
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

/// Once the head has arrived: its length, and the body's length if the head states it.
fn framing(raw: &[u8]) -> Result<Option<(usize, Option<usize>)>, String> {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        if raw.len() > HEADER_BYTES_MAX {
            return Err(format!("response headers exceed {HEADER_BYTES_MAX} bytes"));
        }
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&raw[..end]);
    let length = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok());
    Ok(Some((end + 4, length)))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn parse_response(raw: &[u8]) -> Result<Response<Bytes>, String> {
    let Some((head_len, length)) = framing(raw)? else {
        return Err(format!(
            "the connection closed after {} bytes, before a complete response",
            raw.len()
        ));
    };
    let head = String::from_utf8_lossy(&raw[..head_len]);
    let status_line = head.lines().next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: «{status_line}»"))?;
    let rest = &raw[head_len..];
    let body = match length {
        Some(length) if rest.len() >= length => rest[..length].to_vec(),
        Some(length) => {
            return Err(format!(
                "the response body ended after {} of {length} bytes",
                rest.len()
            ))
        }
        None if header(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) => {
            dechunk(rest)?
        }
        None => rest.to_vec(),
    };
    let mut response = Response::builder().status(status);
    for line in head.lines().skip(1) {
        if let Some((key, value)) = line.split_once(':') {
            response = response.header(key.trim(), value.trim());
        }
    }
    response
        .body(Bytes::from(body))
        .map_err(|e| format!("malformed response head: {e}"))
}

/// Decodes a chunked body (collectors answering through a proxy may send one).
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size line is cut off")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size «{size_hex}»"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size + 2 {
            return Err("a chunk is cut off".into());
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A collector's answer is read by its Content-Length, chunked, or up to the close.
    #[test]
    fn parses_the_three_ways_a_body_is_framed() {
        let sized = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").unwrap();
        assert_eq!(
            (sized.status().as_u16(), &sized.body()[..]),
            (200, &b"ok"[..])
        );
        let chunked = parse_response(
            b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nbad\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            (chunked.status().as_u16(), &chunked.body()[..]),
            (400, &b"bad"[..])
        );
        let closed = parse_response(b"HTTP/1.0 503 Busy\r\n\r\nlater").unwrap();
        assert_eq!(
            (closed.status().as_u16(), &closed.body()[..]),
            (503, &b"later"[..])
        );
    }

    // A response cut short is an error naming what is missing, not a silent empty body.
    #[test]
    fn refuses_truncated_responses() {
        let short = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok");
        assert!(short.unwrap_err().contains("2 of 9 bytes"));
        assert!(parse_response(b"HTTP/1.1 200")
            .unwrap_err()
            .contains("before a complete"));
        assert!(parse_response(b"SSH-2.0\r\n\r\n")
            .unwrap_err()
            .contains("not an HTTP"));
    }
}
