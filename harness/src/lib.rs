//! Conformance test harness for IMS presence (3GPP TS 24.141 and the IETF SIMPLE RFCs).

pub mod built;
pub mod check;
pub mod core;
pub mod flow;
pub mod ids;
pub mod ims;
pub mod load;
pub mod net;
pub mod project;
pub use presence_reference as reference;
pub mod report;
pub mod runner;
pub mod schema;
pub use presence_sip as sip;
pub mod sut;
