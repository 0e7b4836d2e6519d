//! The I/O layer: one loopback UDP socket per emulated node; it only moves datagrams
//! (through a seeded lossy path when the profile asks for chaos).

pub mod chaos;
pub mod http;
pub mod node;
pub mod trace;

pub use chaos::Chaos;
pub use node::{bind_node, Inbound, NodeChaos, NodeSocket, Transport};
pub use trace::{Direction, Leg, SpecStep, Trace, TraceEntry};
