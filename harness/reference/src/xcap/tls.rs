//! XCAP over TLS (RFC 4825 §8: "servers MUST implement HTTP over TLS, RFC 2818"): a
//! certificate the server makes for itself at start, for `localhost` and 127.0.0.1, and the
//! rustls settings that serve it.

use std::io;
use std::sync::Arc;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{crypto::ring, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// The server's TLS identity: its self-signed certificate and what accepts connections with it.
#[derive(Clone)]
pub struct XcapTls {
    /// Completes the TLS handshake of an accepted connection.
    pub acceptor: TlsAcceptor,
    /// The certificate (DER), for clients to trust.
    pub certificate: CertificateDer<'static>,
}

impl XcapTls {
    /// A fresh self-signed certificate for `localhost` and 127.0.0.1, with its key.
    pub fn self_signed() -> io::Result<XcapTls> {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let made = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
        let certificate = made.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()));
        let config = ServerConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![certificate.clone()], key)
            .map_err(io::Error::other)?;
        Ok(XcapTls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            certificate,
        })
    }
}

/// The ring crypto provider: pure Rust and assembly, no C build of aws-lc. rustls 0.23.48
/// deprecates it for lacking post-quantum key exchange, which a test server on loopback does
/// not need.
#[expect(
    deprecated,
    reason = "post-quantum key exchange is not needed on loopback"
)]
fn provider() -> tokio_rustls::rustls::crypto::CryptoProvider {
    ring::default_provider()
}
