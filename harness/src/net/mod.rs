//! The I/O layer: one loopback port per emulated node, for UDP, TCP and TLS; it only moves
//! messages (datagrams through a seeded lossy path when the profile asks for chaos).

pub mod chaos;
pub mod http;
pub mod node;
pub mod tls;
pub mod trace;

pub use chaos::Chaos;
pub use node::{bind_node, Inbound, NodeChaos, NodeSocket, NodeTls, Transport};
pub use trace::{Direction, Leg, SpecStep, Trace, TraceEntry};
