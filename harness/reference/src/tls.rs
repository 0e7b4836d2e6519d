//! The server's TLS identity and trust: a certificate it makes for itself at start, for
//! `localhost` and 127.0.0.1, which it presents to XCAP clients (RFC 4825 §8: "servers MUST
//! implement HTTP over TLS") and SIP peers (RFC 3856 §9.2: "all PA MUST support TLS and SIPS");
//! and the certificates it trusts when it connects to a SIP peer over TLS.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use tokio_rustls::rustls::{crypto::ring, ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// How long a peer may take over its TLS handshake.
pub const TLS_HANDSHAKE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The server's TLS identity: its self-signed certificate and what accepts connections with it.
#[derive(Clone)]
pub struct Identity {
    /// Completes the TLS handshake of an accepted connection.
    pub acceptor: TlsAcceptor,
    /// The certificate (DER), for clients to trust.
    pub certificate: CertificateDer<'static>,
}

impl Identity {
    /// A fresh self-signed certificate for `localhost` and 127.0.0.1, with its key.
    pub fn self_signed() -> io::Result<Identity> {
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
        Ok(Identity {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            certificate,
        })
    }
}

/// Opens TLS connections to SIP peers, verifying each peer's certificate against the trusted
/// ones for the IP address connected to (RFC 3261 §26.3.1: the server authenticates the peer).
#[derive(Clone)]
pub struct Connector {
    connector: TlsConnector,
}

impl Connector {
    /// Trusts exactly `certificates` (DER); none: no TLS connection out succeeds.
    pub fn trusting(certificates: &[Vec<u8>]) -> io::Result<Connector> {
        let mut roots = RootCertStore::empty();
        for der in certificates {
            roots
                .add(CertificateDer::from(der.clone()))
                .map_err(io::Error::other)?;
        }
        let config = ClientConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Connector {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }

    /// Completes the handshake on `stream`, a connection to `ip`, whose certificate must name it.
    pub async fn connect(
        &self,
        ip: IpAddr,
        stream: TcpStream,
    ) -> io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        self.connector
            .connect(ServerName::IpAddress(ip.into()), stream)
            .await
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
