//! Transport: the UDP receive loop, the TCP accept loop, one task per TCP connection (framing by
//! Content-Length, RFC 3261 §18.3), and sending on either transport.

use super::dispatch;
use super::shared::{lock, Shared};
use super::variation::{self, Variation};
use super::Fault;
use crate::sip::framing::{next_frame, trim_keepalive, Frame};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// The transport a message came on or goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Transport {
    /// UDP: one datagram per message; requests are retransmitted.
    Udp,
    /// TCP: a byte stream framed by Content-Length.
    Tcp,
}

impl Transport {
    /// The name in a Via header (`UDP`, `TCP`).
    pub fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }

    /// The value of a URI `transport` parameter (`udp`, `tcp`).
    pub fn uri_param(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// Where to send the response to a request: back to the UDP source, or on its TCP connection.
#[derive(Debug, Clone)]
pub(super) enum ReplyPath {
    /// The source address of the datagram.
    Udp(SocketAddr),
    /// The writer of the connection the request came on.
    Tcp(UnboundedSender<Vec<u8>>),
}

/// Writers of the open TCP connections, by peer address (inbound and outbound alike).
pub(super) type Connections = HashMap<SocketAddr, UnboundedSender<Vec<u8>>>;

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
                let (tx, rx) = unbounded_channel();
                lock(&shared.connections).insert(peer, tx.clone());
                shared.spawn(connection(
                    shared.clone(),
                    stream,
                    peer,
                    tx,
                    rx,
                    Opened::ByPeer,
                ));
            }
            Err(_) => tokio::task::yield_now().await,
        }
    }
}

/// Who opened a TCP connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opened {
    /// The peer connected to the server's listening port.
    ByPeer,
    /// The server connected to the peer.
    ByServer,
}

/// Serves one TCP connection: frames incoming messages and writes queued outgoing ones.
async fn connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    tx: UnboundedSender<Vec<u8>>,
    mut rx: UnboundedReceiver<Vec<u8>>,
    opened: Opened,
) {
    // Fault TcpResponseOnOwnConnectionOnly: responses are read only where the server connected.
    let drops_responses =
        opened == Opened::ByPeer && shared.fault(Fault::TcpResponseOnOwnConnectionOnly);
    let (mut reader, mut writer) = stream.into_split();
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
                                dispatch::on_message(&shared, message, peer, Transport::Tcp, ReplyPath::Tcp(tx.clone())).await;
                            }
                        }
                        Frame::Incomplete => break,
                        Frame::Invalid(_) => break 'serve,
                    }
                }
            }
            outgoing = rx.recv() => {
                let Some(bytes) = outgoing else { break 'serve };
                if writer.write_all(&bytes).await.is_err() {
                    break 'serve;
                }
            }
        }
    }
    let mut connections = lock(&shared.connections);
    if connections
        .get(&peer)
        .is_some_and(|current| current.same_channel(&tx))
    {
        connections.remove(&peer);
    }
}

/// Sends a response back the way its request came.
pub(super) async fn reply(shared: &Shared, path: &ReplyPath, bytes: Vec<u8>) {
    let bytes = variation::apply(&shared.config.variations, bytes);
    match path {
        ReplyPath::Udp(to) => {
            let _ = shared.udp.send_to(&bytes, to).await;
        }
        ReplyPath::Tcp(tx) => {
            let _ = tx.send(bytes);
        }
    }
}

/// Sends a request to `to`: over UDP from the server's socket, over TCP on an open connection
/// to that address or a new one. The byte variations apply; a NOTIFY wakes whoever waits on
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

/// Opens a TCP connection to `to` (within 64*T1), serves it like any other and returns its
/// writer. (Boxed, and declared `Send`: a connection's task dispatches messages, which may
/// open connections, and the compiler cannot infer `Send` around that cycle.)
pub(super) fn open_connection(shared: &Arc<Shared>, to: SocketAddr) -> Opening<'_> {
    Box::pin(async move {
        let limit = shared.config.t1.saturating_mul(64);
        let stream = tokio::time::timeout(limit, TcpStream::connect(to))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TCP connect timed out"))??;
        let (tx, rx) = unbounded_channel();
        lock(&shared.connections).insert(to, tx.clone());
        let task = connection(shared.clone(), stream, to, tx.clone(), rx, Opened::ByServer);
        match shared.spawn(task) {
            Some(_) => Ok(tx),
            None => Err(io::Error::other("server stopping")),
        }
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
        Transport::Tcp => {
            let open = lock(&shared.connections)
                .get(&to)
                .filter(|tx| !tx.is_closed())
                .cloned();
            let tx = match open {
                Some(tx) => tx,
                None => open_connection(shared, to).await?,
            };
            tx.send(bytes)
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "connection closed"))
        }
    }
}
