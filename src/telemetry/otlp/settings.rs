//! `OtlpConfig::resolve`: the OTLP exporter's standard environment variables and
//! swarmspec's flags, read once, with the precedence the exporter specification defines.
//!
//! A flag beats the traces-specific variable (`OTEL_EXPORTER_OTLP_TRACES_*`), which beats the
//! general one (`OTEL_EXPORTER_OTLP_*`); an empty variable counts as unset. The general
//! endpoint is a base URL that gets `/v1/traces`; the traces endpoint is used as it is.
//! Everything is checked here, before a run starts, and a bad value is an error that names
//! the flag or variable it came from. The `opentelemetry-otlp` exporter reads some of these
//! variables itself, skipping malformed ones without a word; swarmspec hands it every
//! setting explicitly, and its client applies headers and compression, so what is sent is
//! what was resolved here.

use std::path::PathBuf;
use std::time::Duration;

use super::{Compression, Endpoint, Headers, OtlpConfig, EXPORT_TIMEOUT_DEFAULT};
use crate::error::{Error, Result};

/// The collector's base URL; `/v1/traces` is appended.
pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The traces URL, used as it is.
pub const TRACES_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const HEADERS_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_HEADERS",
];
const TIMEOUT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
];
const COMPRESSION_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
];
const PROTOCOL_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
];
const CERTIFICATE_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CERTIFICATE",
];
/// Client certificates (mutual TLS): recognised so that setting one is refused, not ignored.
const CLIENT_AUTH_VARS: [&str; 4] = [
    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
];

/// The only protocol this build speaks.
pub const PROTOCOL_SUPPORTED: &str = "http/protobuf";

/// A timeout longer than this is refused: a run waits for its export at the end.
pub const TIMEOUT_MS_MAX: u64 = 10 * 60 * 1000;

/// What the command line said; each value beats the variables for the same setting.
#[derive(Debug, Clone, Default)]
pub struct OtlpFlags {
    /// `--otlp`: a base URL, like `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: Option<String>,
    /// `--otlp-header KEY=VALUE`, each; these add to (and per name replace) the variables'.
    pub headers: Vec<String>,
    /// `--otlp-timeout-ms`.
    pub timeout_ms: Option<u64>,
    /// `--otlp-compression`: `gzip` or `none`.
    pub compression: Option<String>,
    /// `--otlp-certificate`: a PEM file of the CA certificates to trust for https.
    pub certificate: Option<PathBuf>,
}

/// A setting error naming where the value came from.
pub(super) fn setting_error(setting: &str, problem: impl Into<String>) -> Error {
    Error::OtlpSetting {
        setting: setting.to_owned(),
        problem: problem.into(),
    }
}

/// A variable's value, with empty (or blank) meaning unset.
pub(super) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
}

/// The first of `vars` that is set, with its name.
fn first_set(
    env: &dyn Fn(&str) -> Option<String>,
    vars: &[&'static str],
) -> Option<(&'static str, String)> {
    vars.iter()
        .find_map(|name| non_empty(env(name)).map(|value| (*name, value)))
}

/// Parses `key=value,key=value` (the W3C Baggage form both `OTEL_EXPORTER_OTLP_HEADERS` and
/// `OTEL_RESOURCE_ATTRIBUTES` use), percent-decoding values. A problem names the entry by
/// its position only: an entry may hold a secret, and an error may be printed.
pub(super) fn parse_pairs(text: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for (index, entry) in text.split(',').enumerate() {
        let number = index + 1;
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let Some((key, value)) = entry.split_once('=') else {
            return Err(format!("entry {number} has no '=' (expected key=value,…)"));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("entry {number} has an empty key"));
        }
        let value = percent_decode(value.trim())
            .ok_or_else(|| format!("entry {number} has a malformed %-escape or is not UTF-8"))?;
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = std::str::from_utf8(bytes.get(index + 1..index + 3)?).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

fn headers_from(setting: &str, pairs: Vec<(String, String)>, into: &mut Headers) -> Result<()> {
    for (index, (name, value)) in pairs.into_iter().enumerate() {
        into.insert(&name, &value)
            .map_err(|problem| setting_error(setting, format!("entry {}: {problem}", index + 1)))?;
    }
    Ok(())
}

impl OtlpConfig {
    /// The export `flags` and the variables `env` reads ask for, or `None` when neither
    /// names an endpoint (no export). Every value is checked; see the module's doc.
    pub fn resolve(
        flags: &OtlpFlags,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>> {
        let endpoint = match non_empty(flags.endpoint.clone()) {
            Some(url) => Endpoint::Base(url),
            None => match first_set(env, &[TRACES_ENDPOINT_VAR, ENDPOINT_VAR]) {
                Some((TRACES_ENDPOINT_VAR, url)) => Endpoint::Traces(url),
                Some((_, url)) => Endpoint::Base(url),
                None => return Ok(None),
            },
        };
        if let Some((name, value)) = first_set(env, &PROTOCOL_VARS) {
            if value.trim() != PROTOCOL_SUPPORTED {
                return Err(setting_error(
                    name,
                    format!(
                        "protocol «{}» is not supported: this build sends {PROTOCOL_SUPPORTED} \
                         only (a collector's OTLP/HTTP port, usually 4318)",
                        value.trim()
                    ),
                ));
            }
        }
        if let Some((name, _)) = first_set(env, &CLIENT_AUTH_VARS) {
            return Err(setting_error(
                name,
                "client certificates (mutual TLS) are not supported: use a header \
                 (OTEL_EXPORTER_OTLP_HEADERS) to authenticate",
            ));
        }
        let mut config = OtlpConfig::for_endpoint(endpoint);
        config.timeout = timeout(flags, env)?;
        config.compression = compression(flags, env)?;
        if let Some((name, text)) = first_set(env, &HEADERS_VARS) {
            let pairs = parse_pairs(&text).map_err(|problem| setting_error(name, problem))?;
            headers_from(name, pairs, &mut config.headers)?;
        }
        for (index, flag) in flags.headers.iter().enumerate() {
            let setting = format!("--otlp-header (occurrence {})", index + 1);
            let pairs = match flag.split_once('=') {
                Some((name, value)) => vec![(name.trim().to_owned(), value.to_owned())],
                None => return Err(setting_error(&setting, "expected KEY=VALUE")),
            };
            headers_from(&setting, pairs, &mut config.headers)?;
        }
        config.certificate = match &flags.certificate {
            Some(path) => Some(("--otlp-certificate".to_owned(), path.clone())),
            None => first_set(env, &CERTIFICATE_VARS)
                .map(|(name, path)| (name.to_owned(), PathBuf::from(path.trim()))),
        };
        config.resource = super::ResourceSettings::resolve(env)?;
        Ok(Some(config))
    }

    /// `resolve` over the process's environment.
    pub fn from_flags_and_env(flags: &OtlpFlags) -> Result<Option<Self>> {
        Self::resolve(flags, &|name| std::env::var(name).ok())
    }
}

fn timeout(flags: &OtlpFlags, env: &dyn Fn(&str) -> Option<String>) -> Result<Duration> {
    let (setting, millis) = match (flags.timeout_ms, first_set(env, &TIMEOUT_VARS)) {
        (Some(millis), _) => ("--otlp-timeout-ms", millis),
        (None, Some((name, text))) => {
            let millis = text.trim().parse::<u64>().map_err(|_| {
                setting_error(
                    name,
                    format!("«{}» is not a whole number of milliseconds", text.trim()),
                )
            })?;
            (name, millis)
        }
        (None, None) => return Ok(EXPORT_TIMEOUT_DEFAULT),
    };
    if millis == 0 || millis > TIMEOUT_MS_MAX {
        return Err(setting_error(
            setting,
            format!("{millis} ms: expected 1 to {TIMEOUT_MS_MAX} ms (every export has a deadline)"),
        ));
    }
    Ok(Duration::from_millis(millis))
}

fn compression(flags: &OtlpFlags, env: &dyn Fn(&str) -> Option<String>) -> Result<Compression> {
    let given = match &flags.compression {
        Some(text) => Some(("--otlp-compression", text.clone())),
        None => first_set(env, &COMPRESSION_VARS),
    };
    match given.as_ref().map(|(name, text)| (*name, text.trim())) {
        None | Some((_, "none")) => Ok(Compression::None),
        Some((_, "gzip")) => Ok(Compression::Gzip),
        Some((name, other)) => Err(setting_error(
            name,
            format!("compression «{other}» is not supported: use gzip or none"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(flags: &OtlpFlags, vars: &[(&str, &str)]) -> Result<Option<OtlpConfig>> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        OtlpConfig::resolve(flags, &move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn url(flags: &OtlpFlags, vars: &[(&str, &str)]) -> Option<String> {
        resolve(flags, vars)
            .expect("valid")
            .map(|config| config.traces_url().expect("a usable URL"))
    }

    // Proves the endpoint precedence: flag, then the traces variable as it is, then the
    // general variable with /v1/traces; nothing (or empty) means no export.
    #[test]
    fn endpoints_follow_the_specification_precedence() {
        let none = OtlpFlags::default();
        assert_eq!(url(&none, &[]), None);
        assert_eq!(url(&none, &[(ENDPOINT_VAR, "")]), None);
        assert_eq!(
            url(&none, &[(ENDPOINT_VAR, "http://127.0.0.1:4318/base/")]).as_deref(),
            Some("http://127.0.0.1:4318/base/v1/traces")
        );
        let both = [
            (ENDPOINT_VAR, "http://127.0.0.1:1"),
            (TRACES_ENDPOINT_VAR, "http://127.0.0.1:2/custom"),
        ];
        assert_eq!(
            url(&none, &both).as_deref(),
            Some("http://127.0.0.1:2/custom")
        );
        let flag = OtlpFlags {
            endpoint: Some("http://127.0.0.1:3".into()),
            ..OtlpFlags::default()
        };
        assert_eq!(
            url(&flag, &both).as_deref(),
            Some("http://127.0.0.1:3/v1/traces")
        );
    }

    // Proves headers come from the traces variable over the general one, flags add to them
    // per name, and values are percent-decoded yet never shown by Debug.
    #[test]
    fn headers_merge_by_precedence_and_stay_hidden() {
        let flags = OtlpFlags {
            headers: vec!["x-team=blue".into(), "Authorization=Bearer flag".into()],
            ..OtlpFlags::default()
        };
        let config = resolve(
            &flags,
            &[
                (ENDPOINT_VAR, "http://127.0.0.1:1"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-general=1"),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                    "authorization=Bearer%20env,x-tenant=t%2C1",
                ),
            ],
        )
        .expect("valid")
        .expect("an export");
        let headers = config.headers.pairs();
        assert_eq!(
            headers,
            vec![
                ("authorization".to_owned(), "Bearer flag".to_owned()),
                ("x-team".to_owned(), "blue".to_owned()),
                ("x-tenant".to_owned(), "t,1".to_owned()),
            ]
        );
        let shown = format!("{config:?}");
        assert!(
            shown.contains("authorization") && !shown.contains("Bearer"),
            "{shown}"
        );
    }

    // Proves each malformed value is refused with an error naming its variable or flag, and
    // that no part of a bad header entry is echoed.
    #[test]
    fn bad_values_name_their_variable() {
        let base = (ENDPOINT_VAR, "http://127.0.0.1:1");
        let none = OtlpFlags::default();
        let cases: [(&str, &str, &str); 8] = [
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "Authorization secret-token",
                "no '='",
            ),
            (
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                "bad name=secret-token",
                "header name",
            ),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x=secret-token\u{1}",
                "header value",
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "5s", "milliseconds"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0", "1 to"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", "gzip or none"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/k.pem", "mutual TLS"),
        ];
        for (var, value, expected) in cases {
            let error = resolve(&none, &[base, (var, value)])
                .expect_err(var)
                .to_string();
            assert!(error.contains(var) && error.contains(expected), "{error}");
            assert!(!error.contains("secret-token"), "{error}");
        }
        let flag = OtlpFlags {
            headers: vec!["no-equals-sign".into()],
            compression: Some("brotli".into()),
            ..OtlpFlags::default()
        };
        let error = resolve(&flag, &[base]).expect_err("bad flags").to_string();
        assert!(error.contains("--otlp-compression"), "{error}");
    }

    // Proves the flags beat the variables for timeout, compression and certificate, and
    // http/protobuf is accepted when named.
    #[test]
    fn flags_beat_variables() {
        let flags = OtlpFlags {
            timeout_ms: Some(250),
            compression: Some("none".into()),
            certificate: Some("/flag/ca.pem".into()),
            ..OtlpFlags::default()
        };
        let vars = [
            (ENDPOINT_VAR, "http://127.0.0.1:1"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "9000"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/env/ca.pem"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ];
        let config = resolve(&flags, &vars).expect("valid").expect("an export");
        assert_eq!(config.timeout, Duration::from_millis(250));
        assert_eq!(config.compression, Compression::None);
        assert_eq!(
            config.certificate.map(|(_, p)| p),
            Some("/flag/ca.pem".into())
        );
        let env_only = resolve(&OtlpFlags::default(), &vars)
            .expect("valid")
            .expect("export");
        assert_eq!(env_only.timeout, Duration::from_millis(9000));
        assert_eq!(env_only.compression, Compression::Gzip);
    }
}
