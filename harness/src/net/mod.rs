//! The I/O layer: one loopback UDP socket per emulated node; it only moves datagrams.

pub mod http;
pub mod node;
pub mod trace;

pub use node::{bind_node, Inbound, NodeSocket, Transport};
pub use trace::{Direction, Leg, Trace, TraceEntry};
