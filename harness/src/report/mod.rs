//! The run record (`run.json`), the single source every report is rendered from.

pub mod record;

pub use record::{FlowRecord, RunRecord};
