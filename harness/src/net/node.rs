//! A UDP socket on 127.0.0.1 for one emulated node, forwarding what it receives to a channel.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Largest datagram read.
const MAX_DATAGRAM: usize = 65_535;

/// A datagram that arrived at a node.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// Receiving node's role name.
    pub node: String,
    /// Sender address.
    pub from: SocketAddr,
    /// The datagram.
    pub bytes: Vec<u8>,
    /// Arrival time.
    pub at: Instant,
}

/// One node's socket and its receive task (stopped on drop).
#[derive(Debug)]
pub struct NodeSocket {
    /// Role name.
    pub name: String,
    /// Bound address.
    pub addr: SocketAddr,
    socket: Arc<UdpSocket>,
    task: JoinHandle<()>,
}

/// Binds a node on an ephemeral loopback port. Datagrams that do not fit the channel are
/// counted in `dropped` instead of buffering without bound.
pub async fn bind_node(
    name: &str,
    inbox: mpsc::Sender<Inbound>,
    dropped: Arc<AtomicUsize>,
) -> std::io::Result<NodeSocket> {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
    let addr = socket.local_addr()?;
    let reader = socket.clone();
    let node = name.to_string();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let Ok((len, from)) = reader.recv_from(&mut buf).await else {
                // ICMP port unreachable surfaces here on Linux; keep listening.
                continue;
            };
            let inbound = Inbound {
                node: node.clone(),
                from,
                bytes: buf[..len].to_vec(),
                at: Instant::now(),
            };
            if inbox.try_send(inbound).is_err() {
                dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    Ok(NodeSocket {
        name: name.to_string(),
        addr,
        socket,
        task,
    })
}

impl NodeSocket {
    /// Sends one datagram.
    pub async fn send_to(&self, bytes: &[u8], dest: SocketAddr) -> std::io::Result<()> {
        self.socket.send_to(bytes, dest).await.map(|_| ())
    }
}

impl Drop for NodeSocket {
    fn drop(&mut self) {
        self.task.abort();
    }
}
