//! TLS for https collectors, through rustls.
//!
//! Why rustls: it is the TLS stack the Rust ecosystem has converged on (reqwest, hyper-rustls,
//! tokio-postgres-rustls build on it), memory-safe, audited, and a plain library over any
//! `Read + Write`, so the exporter's blocking `std::net` client keeps its own deadline and
//! error reporting and only gains an encrypted stream. It uses the `ring` provider, which
//! builds without cmake. Roots come from the operating system's store
//! (rustls-native-certs, so a company CA installed on the host is trusted as it is by curl),
//! or only from the PEM file `OTEL_EXPORTER_OTLP_CERTIFICATE` names. A `rustls::ClientConfig`
//! built here is what a Postgres client's TLS (`sslmode=verify-full`) would take too.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use super::settings::setting_error;
use crate::error::{Error, Result};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(problem: impl std::fmt::Display) -> Error {
    Error::Export {
        endpoint: "https".into(),
        problem: format!("cannot set up TLS: {problem}"),
    }
}

/// The CA certificates in a PEM file; `setting` names the flag or variable in errors.
pub fn read_certificates(setting: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let unreadable =
        |problem: String| setting_error(setting, format!("{}: {problem}", path.display()));
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(e.to_string()))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| unreadable(format!("not PEM certificates: {e}")))?;
    if certificates.is_empty() {
        return Err(unreadable("holds no CERTIFICATE block".into()));
    }
    Ok(certificates)
}

/// A client configuration trusting `certificates` only, or the system's roots when `None`.
pub fn client_config(
    certificates: Option<Vec<CertificateDer<'static>>>,
) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    match certificates {
        Some(certificates) => {
            for certificate in certificates {
                roots
                    .add(certificate)
                    .map_err(|e| tls_error(format!("a given CA certificate is unusable: {e}")))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _unusable) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map_or_else(|| "the store is empty".to_owned(), ToString::to_string);
                return Err(tls_error(format!(
                    "no system CA certificate found ({why}): name a CA file with \
                     OTEL_EXPORTER_OTLP_CERTIFICATE or --otlp-certificate"
                )));
            }
        }
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A server configuration presenting `certificate_pem` with `key_pem` (for the loopback
/// receiver in tests).
pub fn server_config(certificate_pem: &str, key_pem: &str) -> Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_slice_iter(certificate_pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| tls_error(format!("the server certificate is not PEM: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| tls_error(format!("the server key is not PEM: {e}")))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(tls_error)?;
    Ok(Arc::new(config))
}
