//! One emulated node's sockets on a loopback address: a UDP socket and a TCP listener on the
//! same port, plus the connections it opened or accepted, plain TCP or TLS (a connection the
//! SUT opens is TLS when its first byte starts a TLS handshake, so one port serves `sip:` and
//! `sips:` URIs alike). Everything received is framed (a datagram, or Content-Length on a
//! stream) and forwarded to one channel; the node only moves bytes.

use super::chaos::{Chaos, Emit, Lane};
use super::tls::{NodeIdentity, TlsTrust};
use crate::sip::framing::{next_frame, trim_keepalive, Frame};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Largest datagram read.
const MAX_DATAGRAM: usize = 65_535;
/// Attempts to find a port free for both UDP and TCP.
const BIND_ATTEMPTS: usize = 20;

/// The transport a message used.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS over TCP (RFC 3261 §26.2.1), for `sips:` URIs.
    Tls,
}

impl Transport {
    /// The name in a Via header (`UDP`, `TCP`, `TLS`).
    pub fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// Lower-case name (`udp`, `tcp`, `tls`), as in a `transport=` URI parameter.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// True for a connection-oriented transport (TCP, and TLS over it): responses go back on
    /// the request's connection (RFC 3261 §18.2.2).
    pub fn is_stream(self) -> bool {
        self != Transport::Udp
    }
}

/// A message that arrived at a node.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// Receiving node's role name.
    pub node: String,
    /// Sender address (for TCP: the peer of the connection).
    pub from: SocketAddr,
    /// The message bytes (or the bytes that could not be framed).
    pub bytes: Vec<u8>,
    /// Arrival time.
    pub at: Instant,
    /// Transport it came on.
    pub transport: Transport,
    /// Why the bytes could not be framed as a message on a stream, when they could not.
    pub framing_error: Option<String>,
}

/// Where a node forwards what it receives; full means the datagram is counted as dropped.
#[derive(Clone, Debug)]
struct Inbox {
    node: String,
    sender: mpsc::Sender<Inbound>,
    dropped: Arc<AtomicUsize>,
}

impl Inbox {
    fn deliver(
        &self,
        from: SocketAddr,
        bytes: Vec<u8>,
        transport: Transport,
        framing_error: Option<String>,
    ) {
        let inbound = Inbound {
            node: self.node.clone(),
            from,
            bytes,
            at: Instant::now(),
            transport,
            framing_error,
        };
        if self.sender.try_send(inbound).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The write half of an open connection, with a number that tells it from a later one to the
/// same peer.
struct Writer {
    serial: u64,
    half: Box<dyn AsyncWrite + Send + Unpin>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Writer({})", self.serial)
    }
}

/// The open connections, by transport (TCP or TLS) and peer.
type Connections = Arc<Mutex<HashMap<(Transport, SocketAddr), Writer>>>;

/// Numbers the connections of every node.
static SERIALS: AtomicUsize = AtomicUsize::new(0);

fn next_serial() -> u64 {
    SERIALS.fetch_add(1, Ordering::Relaxed) as u64
}

/// The first byte of a TLS record carrying a handshake (RFC 8446 §5.1): no SIP message or
/// keep-alive starts with it.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// One node's sockets and receive tasks (all stopped on drop).
#[derive(Debug)]
pub struct NodeSocket {
    /// Role name.
    pub name: String,
    /// Bound address (the same port for UDP and TCP).
    pub addr: SocketAddr,
    udp: Arc<UdpSocket>,
    connections: Connections,
    inbox: mpsc::Sender<Inbound>,
    dropped: Arc<AtomicUsize>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// With chaos: the lane every datagram this node sends passes through.
    send_lane: Option<Lane>,
    /// The connections this node opened that the peer closed: the peer and when.
    closed: Closures,
    /// What a TLS connection this node opens trusts (none: it opens none).
    tls_trust: Option<TlsTrust>,
}

/// A node's TLS settings: what it trusts when it connects to the SUT, and the identity it
/// presents when the SUT connects to it (none: it serves no TLS).
#[derive(Debug, Clone, Default)]
pub struct NodeTls {
    /// The certificates the SUT's must be verified against.
    pub trust: Option<TlsTrust>,
    /// The nodes' certificate and key.
    pub identity: Option<Arc<NodeIdentity>>,
}

/// Connections a node opened that the peer closed, with when.
type Closures = Arc<Mutex<Vec<(SocketAddr, Instant)>>>;

/// Chaos on a node's UDP datagrams, both ways: the settings and the name of the run, which
/// with the node's name seeds the node's lanes (`<run>/<node>/send`, `<run>/<node>/recv`).
#[derive(Debug, Clone, Copy)]
pub struct NodeChaos<'a> {
    /// The profile's chaos settings.
    pub chaos: &'a Chaos,
    /// The flow run's name.
    pub run: &'a str,
}

/// Binds a node on an ephemeral port of the loopback address `ip`, for UDP, TCP and TLS alike;
/// with `chaos`, its UDP datagrams pass through lossy lanes; with `tls`, it opens TLS connections
/// to servers its trust verifies and takes those the SUT opens with its identity.
pub async fn bind_node(
    name: &str,
    ip: std::net::Ipv4Addr,
    inbox: mpsc::Sender<Inbound>,
    dropped: Arc<AtomicUsize>,
    chaos: Option<NodeChaos<'_>>,
    tls: NodeTls,
) -> std::io::Result<NodeSocket> {
    let mut last_error = None;
    for _ in 0..BIND_ATTEMPTS {
        let udp = UdpSocket::bind((ip, 0)).await?;
        let addr = udp.local_addr()?;
        match TcpListener::bind(addr).await {
            Ok(listener) => {
                let inbox = Inbox {
                    node: name.to_string(),
                    sender: inbox,
                    dropped,
                };
                let mut node = NodeSocket::start(udp, listener, addr, inbox, chaos, tls.identity);
                node.tls_trust = tls.trust;
                return Ok(node);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no port free for UDP and TCP")))
}

impl NodeSocket {
    fn start(
        udp: UdpSocket,
        listener: TcpListener,
        addr: SocketAddr,
        inbox: Inbox,
        chaos: Option<NodeChaos<'_>>,
        identity: Option<Arc<NodeIdentity>>,
    ) -> NodeSocket {
        let name = inbox.node.clone();
        let udp = Arc::new(udp);
        let connections: Connections = Arc::default();
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let lane = |side: &str, emit: Emit| {
            chaos.map(|c| {
                let lane_name = format!("{}/{name}/{side}", c.run);
                Lane::new(c.chaos, &lane_name, emit, tasks.clone())
            })
        };
        let deliver_inbox = inbox.clone();
        let recv_lane = lane(
            "recv",
            Arc::new(move |bytes: &[u8], from| {
                deliver_inbox.deliver(from, bytes.to_vec(), Transport::Udp, None);
                Ok(())
            }),
        );
        let out = udp.clone();
        let send_lane = lane(
            "send",
            Arc::new(move |bytes: &[u8], dest| out.try_send_to(bytes, dest).map(|_| ())),
        );
        let reader = udp.clone();
        let udp_inbox = inbox.clone();
        let udp_task = tokio::spawn(async move {
            // Uninitialised capacity, filled by the kernel: a datagram touches only the pages
            // it needs (zeroing 64 KiB per node was a quarter of a short run's page faults).
            let mut buf = Vec::with_capacity(MAX_DATAGRAM);
            loop {
                buf.clear();
                // ICMP port unreachable surfaces here on Linux as an error; keep listening.
                if let Ok((len, from)) = reader.recv_buf_from(&mut buf).await {
                    match &recv_lane {
                        // Delivering to the inbox never fails (a full inbox counts a drop).
                        Some(lane) => drop(lane.pass(&buf[..len], from)),
                        None => udp_inbox.deliver(from, buf[..len].to_vec(), Transport::Udp, None),
                    }
                }
            }
        });
        let accept_connections = connections.clone();
        let accept_tasks = tasks.clone();
        let (sender, dropped) = (inbox.sender.clone(), inbox.dropped.clone());
        let accept_task = tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let task = tokio::spawn(adopt(
                    stream,
                    peer,
                    inbox.clone(),
                    accept_connections.clone(),
                    identity.clone(),
                ));
                lock(&accept_tasks).push(task);
            }
        });
        lock(&tasks).extend([udp_task, accept_task]);
        NodeSocket {
            name,
            addr,
            udp,
            connections,
            inbox: sender,
            dropped,
            tasks,
            send_lane,
            closed: Arc::default(),
            tls_trust: None,
        }
    }

    /// The connections this node opened that the peer has closed so far, with when.
    pub fn closed_connections(&self) -> Vec<(SocketAddr, Instant)> {
        lock(&self.closed).clone()
    }

    /// Closes this node's `transport` connection with `peer`, if one is open: its write side
    /// is shut down (a TLS close_notify, then the FIN), and its reader stops when the peer
    /// closes its side.
    pub fn close(&self, transport: Transport, peer: SocketAddr) {
        if let Some(mut writer) = lock(&self.connections).remove(&(transport, peer)) {
            let task = tokio::spawn(async move {
                let _ = writer.half.shutdown().await;
            });
            lock(&self.tasks).push(task);
        }
    }

    /// Sends one message: a datagram, or on the TCP or TLS connection to `dest` (opened if none).
    /// Returns what chaos did to a datagram, as a note for the trace.
    pub async fn send(
        &self,
        bytes: &[u8],
        dest: SocketAddr,
        transport: Transport,
    ) -> std::io::Result<Option<String>> {
        match transport {
            Transport::Udp => match &self.send_lane {
                Some(lane) => {
                    let (result, note) = lane.pass(bytes, dest);
                    result.map(|()| note)
                }
                None => self.udp.send_to(bytes, dest).await.map(|_| None),
            },
            Transport::Tcp | Transport::Tls => {
                let key = (transport, dest);
                let writer = lock(&self.connections).remove(&key);
                let mut writer = match writer {
                    Some(writer) => writer,
                    None => self.open(transport, dest).await?,
                };
                // A TLS stream may keep the end of a record buffered until flushed.
                let mut result = writer.half.write_all(bytes).await;
                if result.is_ok() {
                    result = writer.half.flush().await;
                }
                if result.is_ok() {
                    lock(&self.connections).insert(key, writer);
                }
                result.map(|()| None)
            }
        }
    }

    /// Opens a connection to `dest` (over TLS, a handshake trusting the node's `tls_trust` for
    /// `dest`'s IP address) and starts reading it; returns its writer.
    async fn open(&self, transport: Transport, dest: SocketAddr) -> std::io::Result<Writer> {
        let stream = connect_from(self.addr.ip(), dest).await?;
        let (read, half): (
            Box<dyn AsyncRead + Send + Unpin>,
            Box<dyn AsyncWrite + Send + Unpin>,
        ) = if transport == Transport::Tls {
            let trust = self.tls_trust.as_ref().ok_or_else(|| {
                    std::io::Error::other("no certificate to trust for the SUT over TLS (the profile's sip_tls_ca names none)")
                })?;
            let host = dest.ip().to_string();
            let handshake = trust.connect(&host, stream);
            let secured = tokio::time::timeout(TLS_HANDSHAKE_LIMIT, handshake)
                .await
                .map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!(
                            "TLS handshake with {dest} not done within {TLS_HANDSHAKE_LIMIT:?}"
                        ),
                    )
                })?
                .map_err(|e| std::io::Error::other(format!("TLS handshake with {dest}: {e}")))?;
            let (read, write) = tokio::io::split(secured);
            (Box::new(read), Box::new(write))
        } else {
            let (read, write) = stream.into_split();
            (Box::new(read), Box::new(write))
        };
        let serial = next_serial();
        let inbox = Inbox {
            node: self.name.clone(),
            sender: self.inbox.clone(),
            dropped: self.dropped.clone(),
        };
        let (closed, connections) = (self.closed.clone(), self.connections.clone());
        let task = tokio::spawn(async move {
            if read_stream(read, dest, transport, inbox).await == Ended::ByPeer {
                // The peer closed it: the next request opens another (unless one already
                // replaced it).
                let key = (transport, dest);
                let mut open = lock(&connections);
                if open.get(&key).map(|w| w.serial) == Some(serial) {
                    open.remove(&key);
                }
                drop(open);
                lock(&closed).push((dest, Instant::now()));
            }
        });
        lock(&self.tasks).push(task);
        Ok(Writer { serial, half })
    }
}

/// Opens a TCP connection to `dest` from an ephemeral port of `ip`, the node's address (the
/// system would otherwise pick 127.0.0.1 for any loopback destination).
async fn connect_from(ip: std::net::IpAddr, dest: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = match ip {
        std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(ip, 0))?;
    socket.connect(dest).await
}

/// Reads a connection the SUT opened, keeping its write half for replies: over TLS when its
/// first byte starts a TLS handshake (within [`TLS_HANDSHAKE_LIMIT`], presenting `identity`;
/// without one the connection is dropped), else plain TCP.
async fn adopt(
    stream: TcpStream,
    peer: SocketAddr,
    inbox: Inbox,
    connections: Connections,
    identity: Option<Arc<NodeIdentity>>,
) {
    let mut first = [0u8; 1];
    let tls = matches!(stream.peek(&mut first).await, Ok(1) if first[0] == TLS_HANDSHAKE_RECORD);
    let (transport, read): (Transport, Box<dyn AsyncRead + Send + Unpin>) = if tls {
        let Some(identity) = identity else {
            return;
        };
        let handshake = identity.acceptor.accept(stream);
        let Ok(Ok(secured)) = tokio::time::timeout(TLS_HANDSHAKE_LIMIT, handshake).await else {
            return;
        };
        let (read, write) = tokio::io::split(secured);
        let writer = Writer {
            serial: next_serial(),
            half: Box::new(write),
        };
        lock(&connections).insert((Transport::Tls, peer), writer);
        (Transport::Tls, Box::new(read))
    } else {
        let (read, write) = stream.into_split();
        let writer = Writer {
            serial: next_serial(),
            half: Box::new(write),
        };
        lock(&connections).insert((Transport::Tcp, peer), writer);
        (Transport::Tcp, Box::new(read))
    };
    read_stream(read, peer, transport, inbox).await;
}

/// How long a SUT may take over the TLS handshake of a connection it opened.
const TLS_HANDSHAKE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a stream's reader stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The peer closed the connection, or it failed.
    ByPeer,
    /// The bytes could not be framed: the harness stopped reading.
    Unframed,
}

/// Frames messages on a stream by Content-Length (RFC 3261 §18.3). Bytes that cannot be
/// framed (beyond the header or body limit, bad Content-Length) are delivered once as they
/// are, with the reason, and the stream is closed; so are the bytes of a message the peer cut
/// off by closing the connection. The buffer never holds more than one message's limits
/// plus one read.
async fn read_stream(
    mut read: Box<dyn AsyncRead + Send + Unpin>,
    peer: SocketAddr,
    transport: Transport,
    inbox: Inbox,
) -> Ended {
    let mut buffer = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match next_frame(&buffer) {
            Frame::Complete(len) => {
                let frame: Vec<u8> = buffer.drain(..len).collect();
                let message = trim_keepalive(&frame);
                if !message.is_empty() {
                    inbox.deliver(peer, message.to_vec(), transport, None);
                }
                continue;
            }
            Frame::Invalid(why) => {
                inbox.deliver(peer, std::mem::take(&mut buffer), transport, Some(why));
                return Ended::Unframed;
            }
            Frame::Incomplete => {}
        }
        match read.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                let rest = trim_keepalive(&buffer);
                if !rest.is_empty() {
                    let why = format!(
                        "the connection closed after {} bytes of an incomplete message",
                        rest.len()
                    );
                    inbox.deliver(peer, rest.to_vec(), transport, Some(why));
                }
                return Ended::ByPeer;
            }
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Drop for NodeSocket {
    fn drop(&mut self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
    }
}
