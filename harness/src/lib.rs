//! Conformance test harness for IMS presence (3GPP TS 24.141 and the IETF SIMPLE RFCs).

pub mod check;
pub mod sip;
