//! `run.json`: schema `presence-harness/run/1`. Every flow with its verdict, checks (each with
//! its requirement, expected and actual) and every message (raw bytes, time, nodes).

use crate::check::verdict::Verdict;
use crate::flow::interp::FlowOutcome;
use crate::flow::model::Citation;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Schema identifier written into every record.
pub const SCHEMA: &str = "presence-harness/run/1";

/// One run.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    /// Schema identifier.
    pub schema: &'static str,
    /// Run id (also the report folder name).
    pub run_id: String,
    /// Start time, RFC 3339.
    pub started: String,
    /// Harness version.
    pub harness_version: &'static str,
    /// The SUT profile.
    pub profile: serde_json::Value,
    /// Readiness probe result.
    pub probe: String,
    /// Wall time in microseconds.
    pub duration_us: u64,
    /// Flow count per verdict.
    pub summary: BTreeMap<&'static str, usize>,
    /// The flows.
    pub flows: Vec<FlowRecord>,
}

/// One flow in the record.
#[derive(Debug, Clone, Serialize)]
pub struct FlowRecord {
    /// The flow file, relative to the project root.
    pub file: String,
    /// Clauses the flow encodes.
    pub spec: Vec<Citation>,
    /// The outcome.
    #[serde(flatten)]
    pub outcome: FlowOutcome,
}

impl RunRecord {
    /// Counts verdicts.
    pub fn summarise(flows: &[FlowRecord]) -> BTreeMap<&'static str, usize> {
        let mut summary = BTreeMap::new();
        for flow in flows {
            *summary.entry(flow.outcome.verdict.name()).or_insert(0) += 1;
        }
        summary
    }

    /// The worst verdict of the run.
    pub fn worst(&self) -> Verdict {
        self.flows
            .iter()
            .map(|f| f.outcome.verdict)
            .max()
            .unwrap_or(Verdict::Pass)
    }

    /// Writes `run.json` into `reports_dir/<run_id>/` and points `reports_dir/latest` at it.
    pub fn write(&self, reports_dir: &Path) -> std::io::Result<PathBuf> {
        let dir = reports_dir.join(&self.run_id);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("run.json");
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&path, json)?;
        let latest = reports_dir.join("latest");
        let _ = std::fs::remove_file(&latest);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&self.run_id, &latest)?;
        Ok(path)
    }
}
