//! The run record (`run.json`), the single source every report is rendered from, and the
//! reports rendered from it.

pub mod console;
pub mod coverage;
pub mod html;
pub mod junit;
pub mod pcap;
pub mod record;

pub use record::{FlowRecord, RunRecord};
