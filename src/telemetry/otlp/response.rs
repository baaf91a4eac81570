//! A collector's HTTP/1.1 response, parsed from the bytes `StdHttpClient` read: framed by
//! Content-Length, chunked, or by the connection's close, and refused when cut short.

use opentelemetry_http::{Bytes, Response};

/// Response headers larger than this are refused.
const HEADER_BYTES_MAX: usize = 64 * 1024;

/// Once the head has arrived: its length, and the body's length if the head states it.
pub(super) fn framing(raw: &[u8]) -> Result<Option<(usize, Option<usize>)>, String> {
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

pub(super) fn parse_response(raw: &[u8]) -> Result<Response<Bytes>, String> {
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
