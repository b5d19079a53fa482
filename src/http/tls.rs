//! TLS for the engine: verified against the system's roots, or not verified at all (`insecure`, for the
//! self-signed certificates of test deployments, as Locust's `FastHttpUser` does by default); optionally with a
//! client certificate (mutual TLS) and a private CA's roots, read from PEM files (`TlsFiles`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::error::HttpError;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for certificate in found.certs {
        // one unreadable system certificate must not disable https altogether
        let _ = roots.add(certificate);
    }
    roots
}

/// Verifies servers against the operating system's certificate store.
pub fn verified() -> Result<ClientConfig, HttpError> {
    let roots = system_roots();
    if roots.is_empty() {
        return Err(HttpError::Connect(
            "no system root certificates found for https verification".to_owned(),
        ));
    }
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|err| HttpError::Connect(err.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// PEM files that shape a connection's TLS: a client certificate chain and its key (mutual TLS), and roots of a
/// private CA that the server's certificate is checked against besides the system's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsFiles {
    /// The client's certificate chain, leaf first.
    pub cert: Option<PathBuf>,
    /// The client certificate's private key; None: read from `cert`'s file.
    pub key: Option<PathBuf>,
    /// CA certificates trusted for servers; given, the server is verified whatever `insecure` says.
    pub ca: Option<PathBuf>,
}

fn file_error(what: &str, path: &Path, why: impl std::fmt::Display) -> HttpError {
    HttpError::TlsFile(format!("{what} {}: {why}", path.display()))
}

fn certificates(what: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, HttpError> {
    let found = CertificateDer::pem_file_iter(path)
        .map_err(|err| file_error(what, path, err))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| file_error(what, path, err))?;
    if found.is_empty() {
        return Err(file_error(what, path, "no PEM certificate in it"));
    }
    Ok(found)
}

/// The TLS setup `files` ask for: verification as `insecure` says (always with a CA bundle), client
/// authentication when a certificate is given. A file that cannot be read or holds no usable PEM is an error
/// that names it.
pub fn with_files(files: &TlsFiles, insecure: bool) -> Result<ClientConfig, HttpError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|err| HttpError::Connect(err.to_string()))?;
    let builder = match &files.ca {
        Some(ca) => {
            let mut roots = system_roots();
            for certificate in certificates("CA bundle", ca)? {
                roots.add(certificate).map_err(|err| file_error("CA bundle", ca, err))?;
            }
            builder.with_root_certificates(roots)
        }
        None if insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider))),
        None => {
            let roots = system_roots();
            if roots.is_empty() {
                return Err(HttpError::Connect(
                    "no system root certificates found for https verification".to_owned(),
                ));
            }
            builder.with_root_certificates(roots)
        }
    };
    let Some(cert) = &files.cert else {
        if let Some(key) = &files.key {
            return Err(file_error("client key", key, "given without a client certificate"));
        }
        return Ok(builder.with_no_client_auth());
    };
    let chain = certificates("client certificate", cert)?;
    let key_path = files.key.as_deref().unwrap_or(cert);
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|err| match err {
        rustls::pki_types::pem::Error::NoItemsFound => file_error("client key", key_path, "no PEM private key in it"),
        other => file_error("client key", key_path, other),
    })?;
    builder
        .with_client_auth_cert(chain, key)
        .map_err(|err| file_error("client certificate", cert, err))
}

/// Accepts any server certificate; the connection is still encrypted.
///
/// # Panics
/// Never: ring supports the default protocol versions.
#[must_use]
pub fn unverified() -> ClientConfig {
    let provider = provider();
    ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider)))
        .with_no_client_auth()
}

#[derive(Debug)]
struct AcceptAnything(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    // Signatures are still checked: "insecure" skips trust in the certificate, not the handshake's integrity.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
