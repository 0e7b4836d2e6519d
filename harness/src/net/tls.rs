//! TLS for the harness: what it trusts when it connects to the SUT (XCAP over HTTPS, SIP over
//! TLS), and the certificate its nodes present when the SUT connects to them over TLS.

use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// What an `https://` exchange trusts: certificates (as rustls client settings), and the name
/// the server's certificate must carry when it is not the URL's host.
#[derive(Debug, Clone)]
pub struct TlsTrust {
    config: Arc<ClientConfig>,
    server_name: Option<String>,
}

impl TlsTrust {
    /// Completes a TLS handshake on `stream` with a server whose certificate must name `host`
    /// (an IP address or DNS name), or the name this trust was given instead.
    pub async fn connect(
        &self,
        host: &str,
        stream: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
        let host = self.server_name.as_deref().unwrap_or(host);
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| format!("not a TLS server name: {host:?}: {e}"))?;
        TlsConnector::from(Arc::clone(&self.config))
            .connect(name, stream)
            .await
            .map_err(|e| e.to_string())
    }

    /// The same trust, checking the server's certificate against `name` (a DNS name or an IP
    /// address) instead of the URL's host.
    pub fn for_name(self, name: Option<String>) -> TlsTrust {
        TlsTrust {
            server_name: name,
            ..self
        }
    }
}

/// Client settings that trust exactly these certificates (DER): the server's own, when it
/// signs for itself, or the authority that signed it.
pub fn tls_trust(certificates: &[Vec<u8>]) -> Result<TlsTrust, String> {
    let mut roots = RootCertStore::empty();
    for der in certificates {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| format!("cannot trust the certificate: {e}"))?;
    }
    let config = ClientConfig::builder_with_provider(Arc::new(ring_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("no TLS versions: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsTrust {
        config: Arc::new(config),
        server_name: None,
    })
}

/// Client settings that trust the certificates of a PEM file.
pub fn tls_trust_from_pem(path: &Path) -> Result<TlsTrust, String> {
    tls_trust(&certificates_from_pem(path)?)
}

/// The certificates (DER) of a PEM file; at least one.
pub fn certificates_from_pem(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read certificates from {}: {e}", path.display()))?
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot read certificates from {}: {e}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(certificates)
}

/// A DER certificate as PEM text.
pub fn certificate_pem(der: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in text.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// The ring crypto provider: pure Rust and assembly, no C build of aws-lc. rustls 0.23.48
/// deprecates it for lacking post-quantum key exchange, which a test client on loopback does
/// not need.
#[expect(
    deprecated,
    reason = "post-quantum key exchange is not needed on loopback"
)]
fn ring_provider() -> tokio_rustls::rustls::crypto::CryptoProvider {
    tokio_rustls::rustls::crypto::ring::default_provider()
}

/// The certificate and key the harness's nodes present to a SUT that connects to them over
/// TLS (to deliver a NOTIFY to a `sips:` Contact): read from PEM files, by default the test
/// certificate shipped in `fixtures/tls/` (for `localhost` and 127.0.0.1 to 127.0.0.9), which a
/// SUT that verifies its peers can be told to trust.
pub struct NodeIdentity {
    /// Completes the TLS handshake of a connection the SUT opened.
    pub acceptor: TlsAcceptor,
    /// The certificate (DER), for a SUT to trust.
    pub certificate: Vec<u8>,
}

impl std::fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "NodeIdentity({} bytes of certificate)",
            self.certificate.len()
        )
    }
}

impl NodeIdentity {
    /// The identity in the PEM files `certificate` (the first certificate is the nodes') and
    /// `key_file` (a PKCS#8, PKCS#1 or SEC1 private key).
    pub fn from_pem(certificate: &Path, key_file: &Path) -> Result<NodeIdentity, String> {
        let chain: Vec<CertificateDer<'static>> = certificates_from_pem(certificate)?
            .into_iter()
            .map(CertificateDer::from)
            .collect();
        let key = PrivateKeyDer::from_pem_file(key_file)
            .map_err(|e| format!("cannot read a private key from {}: {e}", key_file.display()))?;
        let leaf = chain.first().map(|c| c.to_vec()).unwrap_or_default();
        let config = ServerConfig::builder_with_provider(Arc::new(ring_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("no TLS versions: {e}"))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| {
                format!(
                    "the key {} does not fit the certificate {}: {e}",
                    key_file.display(),
                    certificate.display()
                )
            })?;
        Ok(NodeIdentity {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            certificate: leaf,
        })
    }
}
