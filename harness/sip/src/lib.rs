//! SIP wire layer: framing, reading with normalisation (compact forms, folding), typed IMS
//! headers and message building. Raw bytes stay the source of truth; rsip reads URIs.

pub mod builder;
pub mod framing;
pub mod message;
pub mod names;
pub mod text;
pub mod typed;

pub use builder::{reason_phrase, MessageBuilder};
pub use message::{Header, ParseError, SipMessage, StartLine};
pub use typed::{Event, NameAddr, SubscriptionState};
