//! The embedded reference presence server (PS): an event state compositor for PUBLISH
//! (RFC 3903) and a presence notifier for SUBSCRIBE/NOTIFY (RFC 6665, RFC 3856) composing
//! PIDF documents (RFC 3863) under pres-rules authorization (RFC 5025), watcher information
//! (RFC 3857), a resource list server (RFC 4662), on UDP, TCP and TLS at 127.0.0.1.
//!
//! It is written from the RFCs on its own and shares no code with the harness's checks, so a
//! misreading in one does not make both agree: this crate depends on the SIP wire layer
//! (`presence-sip`: framing, reading, building) and on nothing else of the harness. Fault switches ([`Fault`]) each break one
//! requirement on purpose, to show that the harness notices; variation switches ([`Variation`])
//! each do something the RFCs allow, to show that the harness does not object.
//!
//! Modules: `transport` (sockets, TCP and TLS framing), `tls` (its certificate and trust), `dispatch` (request checks and routing),
//! `transaction` (retransmission handling), `deadlines` (lifetimes), `esc` (publications), `notifier` (subscriptions and
//! NOTIFY delivery), `authz` (pres-rules, RFC 5025), `winfo` (watcher information documents,
//! RFC 3857/3858), `pidf` (documents), `presentity` (Request-URI keys), `shared` (state),
//! `xcap` (the XCAP server, RFC 4825, on its own HTTP port), `rls` (the resource list server,
//! RFC 4662 and RFC 4826: list subscriptions over lists kept in XCAP), `pna` (the presence
//! network agent, TS 24.141 §5.3.5: third-party REGISTER, reg event subscription, publication
//! of the registration state), and the public `ue` (the reference presence UE, a client the
//! harness judges: it publishes as an RFC 3903 PUA and watches as an RFC 6665 subscriber;
//! reached as `presence_reference::ue::{ReferenceUe, UeConfig, UeFault, UnknownUeFault}`).

/// The SIP wire layer, shared with the harness (framing and reading only, no checks).
use presence_sip as sip;

mod authz;
mod deadlines;
mod dispatch;
mod esc;
mod fault;
mod notifier;
mod pidf;
mod pidf_diff;
mod pna;
mod presentity;
mod rls;
mod shared;
mod tls;
mod transaction;
mod transport;
pub mod ue;
mod variation;
mod winfo;
mod xcap;

#[cfg(test)]
mod tests;

pub use fault::{Fault, UnknownFault};
pub use variation::{UnknownVariation, Variation};

use shared::Shared;
use std::collections::BTreeSet;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};

/// How the reference server behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceConfig {
    /// Requirements to break on purpose (empty: a conformant server).
    pub faults: BTreeSet<Fault>,
    /// Legal variations of behaviour (empty: the server's plain behaviour); see [`Variation`].
    pub variations: BTreeSet<Variation>,
    /// Shortest PUBLISH lifetime accepted; a shorter non-zero Expires gets 423 (default 60).
    pub publish_min_expires: u64,
    /// Longest lifetime granted to a PUBLISH or SUBSCRIBE; longer requests are lowered (default 3600).
    pub max_expires: u64,
    /// T1 for NOTIFY retransmission over UDP and the 64*T1 give-up time (default 500 ms).
    pub t1: Duration,
    /// T2, the cap on the NOTIFY retransmission interval (RFC 3261 §17.1.2.2; default 4 s).
    pub t2: Duration,
    /// Most subscriptions kept at once; a new SUBSCRIBE beyond them gets 503 with
    /// Retry-After (default 100,000). Expiry, unsubscribing and failed NOTIFYs free them.
    pub max_subscriptions: usize,
    /// User parts of the users this server has not provisioned (its stand-in for a subscriber
    /// database: every other user of every domain is served). A PUBLISH to one of them, and an
    /// XCAP request in one's home directory, get 404.
    pub unknown_users: BTreeSet<String>,
    /// Source addresses outside the server's trust domain (RFC 3325): a SUBSCRIBE from one gets
    /// 403, since the server takes identities only as its trust domain asserts them.
    pub untrusted: BTreeSet<std::net::IpAddr>,
    /// The password the server shares with every watcher (RFC 3856 §9.4): a Digest challenge
    /// to a NOTIFY is answered once as the watcher's AoR with it. None: not answered.
    pub notify_password: Option<String>,
    /// Certificates (DER) the server trusts when it connects to a SIP peer over TLS (to deliver
    /// a NOTIFY to a `sips:` target); the peer's must be one of them, for the IP address
    /// connected to. Empty: no TLS connection out succeeds.
    pub tls_trust: Vec<Vec<u8>>,
}

impl Default for ReferenceConfig {
    fn default() -> Self {
        ReferenceConfig {
            faults: BTreeSet::new(),
            variations: BTreeSet::new(),
            publish_min_expires: 60,
            max_expires: 3600,
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            max_subscriptions: 100_000,
            unknown_users: BTreeSet::new(),
            untrusted: BTreeSet::new(),
            notify_password: None,
            tls_trust: Vec::new(),
        }
    }
}

/// Receive buffer asked for on the UDP socket (Linux's default is 208 KiB, about 300
/// PUBLISHes; a 1 ms burst at 40,000/s is 40).
const UDP_RECEIVE_BUFFER: usize = 4 << 20;

/// Where a reference server listens; port 0 takes an ephemeral port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    /// SIP over UDP.
    pub udp: SocketAddr,
    /// SIP over TCP.
    pub tcp: SocketAddr,
    /// SIP over TLS (RFC 3261 §26.2.1, `sips:` URIs).
    pub sip_tls: SocketAddr,
    /// XCAP over HTTP.
    pub xcap: SocketAddr,
    /// XCAP over HTTP over TLS (RFC 2818).
    pub xcap_tls: SocketAddr,
}

impl Default for Listen {
    /// Ephemeral ports of 127.0.0.1.
    fn default() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Listen {
            udp: any,
            tcp: any,
            sip_tls: any,
            xcap: any,
            xcap_tls: any,
        }
    }
}

/// How many ephemeral ports are tried for a UDP port whose TCP twin is free.
const BIND_ATTEMPTS: usize = 20;

/// The SIP sockets. When UDP and TCP both ask for an ephemeral port on one address, they get the
/// same port, as RFC 3261 §18.2.1 asks ("For any port and interface that a server listens on for
/// UDP, it MUST listen on that same port and interface for TCP"); ports given are taken as given.
async fn bind_sip(listen: &Listen) -> io::Result<(UdpSocket, TcpListener)> {
    let twin = listen.udp == listen.tcp && listen.udp.port() == 0;
    if !twin {
        return Ok((
            UdpSocket::bind(listen.udp).await?,
            TcpListener::bind(listen.tcp).await?,
        ));
    }
    let mut last_error = None;
    for _ in 0..BIND_ATTEMPTS {
        let udp = UdpSocket::bind(listen.udp).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no port free for both UDP and TCP")))
}

/// A running reference server. Dropping it aborts all its tasks; [`ReferenceServer::stop`]
/// also waits for them to end.
pub struct ReferenceServer {
    shared: Arc<Shared>,
    http_addr: SocketAddr,
    https_addr: SocketAddr,
    certificate: Vec<u8>,
}

impl ReferenceServer {
    /// Binds UDP and TCP (SIP) and three more TCP ports (SIP over TLS, XCAP over HTTP, and over
    /// TLS) on ephemeral ports of 127.0.0.1 and starts serving.
    pub async fn start(config: ReferenceConfig) -> io::Result<ReferenceServer> {
        Self::start_at(config, &Listen::default()).await
    }

    /// Binds the addresses `listen` names and starts serving.
    pub async fn start_at(
        mut config: ReferenceConfig,
        listen: &Listen,
    ) -> io::Result<ReferenceServer> {
        if config.variations.contains(&Variation::ShorterExpires) {
            config.max_expires = config.max_expires.min(variation::SHORTER_MAX_EXPIRES);
        }
        let (udp, tcp) = bind_sip(listen).await?;
        // Best effort (the kernel caps it at net.core.rmem_max): bursts of requests wait in
        // the socket instead of being dropped while a message is handled.
        let _ = socket2::SockRef::from(&udp).set_recv_buffer_size(UDP_RECEIVE_BUFFER);
        let sip_tls = TcpListener::bind(listen.sip_tls).await?;
        let http = TcpListener::bind(listen.xcap).await?;
        let https = TcpListener::bind(listen.xcap_tls).await?;
        let identity = tls::Identity::self_signed()?;
        let connector = tls::Connector::trusting(&config.tls_trust)?;
        let certificate = identity.certificate.to_vec();
        let addrs = shared::SipAddrs {
            udp: udp.local_addr()?,
            tcp: tcp.local_addr()?,
            tls: sip_tls.local_addr()?,
        };
        let http_addr = http.local_addr()?;
        let https_addr = https.local_addr()?;
        let shared = Arc::new(Shared::new(config, udp, addrs, connector));
        shared.spawn(transport::udp_loop(shared.clone()));
        shared.spawn(transport::accept_loop(shared.clone(), tcp));
        let tls = identity.clone();
        shared.spawn(transport::accept_tls_loop(shared.clone(), sip_tls, tls));
        shared.spawn(xcap::accept_loop(shared.clone(), http));
        shared.spawn(xcap::accept_tls_loop(shared.clone(), https, identity));
        shared.spawn(shared::reap_loop(shared.clone()));
        shared.spawn(shared::expiry_loop(shared.clone()));
        Ok(ReferenceServer {
            shared,
            http_addr,
            https_addr,
            certificate,
        })
    }

    /// The XCAP root URI, e.g. `http://127.0.0.1:8080/xcap-root`.
    pub fn xcap_root(&self) -> String {
        format!("http://{}{}", self.http_addr, xcap::ROOT)
    }

    /// The XCAP root URI over TLS, e.g. `https://127.0.0.1:8443/xcap-root`.
    pub fn xcap_tls_root(&self) -> String {
        format!("https://{}{}", self.https_addr, xcap::ROOT)
    }

    /// The self-signed certificate (DER) the server presents over TLS, for SIP and XCAP alike.
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// The UDP address requests can be sent to.
    pub fn udp_addr(&self) -> SocketAddr {
        self.shared.udp_addr
    }

    /// The TCP address requests can be sent to.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.shared.tcp_addr
    }

    /// The TLS address requests can be sent to (`sips:` URIs).
    pub fn tls_addr(&self) -> SocketAddr {
        self.shared.tls_addr
    }

    /// Stops every task (receive loops, connections, timers, NOTIFY deliveries) and waits for
    /// them to end.
    pub async fn stop(self) {
        let mut tasks = self.shared.take_tasks();
        tasks.shutdown().await;
    }
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        self.shared.abort_tasks();
    }
}

impl std::fmt::Debug for ReferenceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReferenceServer")
            .field("udp_addr", &self.shared.udp_addr)
            .field("tcp_addr", &self.shared.tcp_addr)
            .field("tls_addr", &self.shared.tls_addr)
            .field("http_addr", &self.http_addr)
            .field("https_addr", &self.https_addr)
            .field("faults", &self.shared.config.faults)
            .field("variations", &self.shared.config.variations)
            .finish()
    }
}
