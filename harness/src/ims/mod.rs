//! What the emulated CSCFs add and remove as a request passes them (TS 24.229).

pub mod proxy;
pub mod request;

pub use proxy::{forward, transport_param, uri_scheme, Hop, NextHop};
pub use request::OutRequest;
