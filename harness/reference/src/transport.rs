//! Transport: the UDP receive loop, the TCP and TLS accept loops, one task per connection
//! (framing by Content-Length, RFC 3261 §18.3), and sending on any of the three transports.

use super::dispatch;
use super::shared::{lock, Shared};
use super::tls::{Identity, TLS_HANDSHAKE_LIMIT};
use super::variation::{self, Variation};
use super::Fault;
use crate::sip::framing::{next_frame, trim_keepalive, Frame};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// The transport a message came on or goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Transport {
    /// UDP: one datagram per message; requests are retransmitted.
    Udp,
    /// TCP: a byte stream framed by Content-Length.
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2.1, for `sips:` targets): framed as TCP.
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

    /// The value of a URI `transport` parameter (`udp`, `tcp`, `tls`).
    pub fn uri_param(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }
}

/// Where to send the response to a request: back to the UDP source, or on its connection.
#[derive(Debug, Clone)]
pub(super) enum ReplyPath {
    /// The source address of the datagram.
    Udp(SocketAddr),
    /// The writer of the connection (TCP or TLS) the request came on.
    Stream(UnboundedSender<Vec<u8>>),
}

/// Writers of the open connections, by transport (TCP or TLS) and peer address (inbound and
/// outbound alike).
pub(super) type Connections = HashMap<(Transport, SocketAddr), UnboundedSender<Vec<u8>>>;

/// Largest UDP datagram read.
const MAX_DATAGRAM: usize = 65_535;
/// The datagram size read under `Fault::UdpSmallBuffer` (a larger one is cut short).
const SMALL_DATAGRAM: usize = 8 * 1024;

/// Receives datagrams until the task is aborted.
pub(super) async fn udp_loop(shared: Arc<Shared>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let limit = if shared.fault(Fault::UdpSmallBuffer) {
        SMALL_DATAGRAM
    } else {
        MAX_DATAGRAM
    };
    loop {
        match shared.udp.recv_from(&mut buf[..limit]).await {
            Ok((n, from)) => {
                let data = buf.get(..n).unwrap_or_default();
                dispatch::on_message(&shared, data, from, Transport::Udp, ReplyPath::Udp(from))
                    .await;
            }
            // e.g. ICMP port unreachable reported on the socket: nothing to do.
            Err(_) => tokio::task::yield_now().await,
        }
    }
}

/// Accepts TCP connections until the task is aborted.
pub(super) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) if shared.fault(Fault::NoTcp) => drop(stream),
            Ok((stream, peer)) => {
                serve(&shared, stream, peer, Transport::Tcp, Opened::ByPeer);
            }
            Err(_) => tokio::task::yield_now().await,
        }
    }
}

/// Accepts TLS connections until the task is aborted; each handshake runs in its own task,
/// within [`TLS_HANDSHAKE_LIMIT`].
pub(super) async fn accept_tls_loop(shared: Arc<Shared>, listener: TcpListener, tls: Identity) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::task::yield_now().await;
            continue;
        };
        let (task_shared, acceptor) = (shared.clone(), tls.acceptor.clone());
        shared.spawn(async move {
            match tokio::time::timeout(TLS_HANDSHAKE_LIMIT, acceptor.accept(stream)).await {
                Ok(Ok(secured)) => {
                    serve(&task_shared, secured, peer, Transport::Tls, Opened::ByPeer);
                }
                Ok(Err(e)) => tracing::debug!("SIP TLS handshake with {peer} failed: {e}"),
                Err(_) => tracing::debug!("SIP TLS handshake with {peer} not done in time"),
            }
        });
    }
}

/// Registers a connection's writer and starts serving it; returns the writer.
fn serve<S>(
    shared: &Arc<Shared>,
    stream: S,
    peer: SocketAddr,
    transport: Transport,
    opened: Opened,
) -> Option<UnboundedSender<Vec<u8>>>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (tx, rx) = unbounded_channel();
    lock(&shared.connections).insert((transport, peer), tx.clone());
    let task = connection(
        shared.clone(),
        stream,
        peer,
        transport,
        tx.clone(),
        rx,
        opened,
    );
    shared.spawn(task).map(|_| tx)
}

/// Who opened a TCP connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opened {
    /// The peer connected to the server's listening port.
    ByPeer,
    /// The server connected to the peer.
    ByServer,
}

/// Serves one connection: frames incoming messages and writes queued outgoing ones.
async fn connection<S>(
    shared: Arc<Shared>,
    stream: S,
    peer: SocketAddr,
    transport: Transport,
    tx: UnboundedSender<Vec<u8>>,
    mut rx: UnboundedReceiver<Vec<u8>>,
    opened: Opened,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    // Fault TcpResponseOnOwnConnectionOnly: responses are read only where the server connected.
    let drops_responses =
        opened == Opened::ByPeer && shared.fault(Fault::TcpResponseOnOwnConnectionOnly);
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    'serve: loop {
        tokio::select! {
            read = reader.read(&mut chunk) => {
                let n = match read {
                    Ok(0) | Err(_) => break 'serve,
                    Ok(n) => n,
                };
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                loop {
                    match next_frame(&buf) {
                        Frame::Complete(len) => {
                            let frame: Vec<u8> = buf.drain(..len.min(buf.len())).collect();
                            let message = trim_keepalive(&frame);
                            let dropped = drops_responses && message.starts_with(b"SIP/2.0 ");
                            if !message.is_empty() && !dropped {
                                dispatch::on_message(&shared, message, peer, transport, ReplyPath::Stream(tx.clone())).await;
                            }
                        }
                        Frame::Incomplete => break,
                        Frame::Invalid(_) => break 'serve,
                    }
                }
            }
            outgoing = rx.recv() => {
                let Some(bytes) = outgoing else { break 'serve };
                // A TLS stream may keep the end of a record buffered until flushed.
                if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
                    break 'serve;
                }
            }
        }
    }
    let mut connections = lock(&shared.connections);
    if connections
        .get(&(transport, peer))
        .is_some_and(|current| current.same_channel(&tx))
    {
        connections.remove(&(transport, peer));
    }
}

/// Sends a response back the way its request came.
pub(super) async fn reply(shared: &Shared, path: &ReplyPath, bytes: Vec<u8>) {
    let bytes = variation::apply(&shared.config.variations, bytes);
    match path {
        ReplyPath::Udp(to) => {
            let _ = shared.udp.send_to(&bytes, to).await;
        }
        ReplyPath::Stream(tx) => {
            let _ = tx.send(bytes);
        }
    }
}

/// Sends a request to `to`: over UDP from the server's socket, over TCP or TLS on an open
/// connection to that address or a new one. The byte variations apply; a NOTIFY wakes whoever waits on
/// `notify_sent`, and goes twice over UDP under `duplicate-notify`.
pub(super) async fn send(
    shared: &Arc<Shared>,
    transport: Transport,
    to: SocketAddr,
    bytes: Vec<u8>,
) -> io::Result<()> {
    let notify = bytes.starts_with(b"NOTIFY ");
    let bytes = variation::apply(&shared.config.variations, bytes);
    let result = send_bytes(shared, transport, to, bytes.clone()).await;
    if notify {
        if transport == Transport::Udp && shared.variation(Variation::DuplicateNotify) {
            let _ = shared.udp.send_to(&bytes, to).await;
        }
        shared.notify_sent.notify_waiters();
    }
    result
}

/// A connection being opened: its writer once it is.
pub(super) type Opening<'a> =
    Pin<Box<dyn Future<Output = io::Result<UnboundedSender<Vec<u8>>>> + Send + 'a>>;

/// Opens a TCP or TLS connection to `to` (connected and, over TLS, the peer's certificate
/// verified within 64*T1), serves it like any other and returns its writer. (Boxed, and
/// declared `Send`: a connection's task dispatches messages, which may open connections, and
/// the compiler cannot infer `Send` around that cycle.)
pub(super) fn open_connection(
    shared: &Arc<Shared>,
    transport: Transport,
    to: SocketAddr,
) -> Opening<'_> {
    Box::pin(async move {
        let limit = shared.config.t1.saturating_mul(64);
        let timed_out =
            |what: &str| io::Error::new(io::ErrorKind::TimedOut, format!("{what} timed out"));
        let stream = tokio::time::timeout(limit, TcpStream::connect(to))
            .await
            .map_err(|_| timed_out("TCP connect"))??;
        let opened = if transport == Transport::Tls {
            let secured =
                tokio::time::timeout(limit, shared.tls_connector.connect(to.ip(), stream))
                    .await
                    .map_err(|_| timed_out("TLS handshake"))??;
            serve(shared, secured, to, Transport::Tls, Opened::ByServer)
        } else {
            serve(shared, stream, to, Transport::Tcp, Opened::ByServer)
        };
        opened.ok_or_else(|| io::Error::other("server stopping"))
    })
}

async fn send_bytes(
    shared: &Arc<Shared>,
    transport: Transport,
    to: SocketAddr,
    bytes: Vec<u8>,
) -> io::Result<()> {
    match transport {
        Transport::Udp => shared.udp.send_to(&bytes, to).await.map(|_| ()),
        Transport::Tcp | Transport::Tls => {
            let open = lock(&shared.connections)
                .get(&(transport, to))
                .filter(|tx| !tx.is_closed())
                .cloned();
            let tx = match open {
                Some(tx) => tx,
                None => open_connection(shared, transport, to).await?,
            };
            tx.send(bytes)
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "connection closed"))
        }
    }
}
