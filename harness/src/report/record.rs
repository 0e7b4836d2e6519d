//! `run.json`: schema `presence-harness/run/2`. Every flow with its verdict, checks (each with
//! its requirement, expected and actual) and every message (raw bytes, time, nodes).

use crate::check::verdict::{Gate, Verdict};
use crate::flow::interp::FlowOutcome;
use crate::flow::model::Citation;
use crate::sut::deviations::DeviationSummary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Schema identifier written into every record.
pub const SCHEMA: &str = "presence-harness/run/2";

/// Older schemas `read` still takes: run/1 kept every message's bytes in base64 as well as
/// its text; run/2 keeps base64 only for bytes that are not UTF-8.
const READABLE_SCHEMAS: &[&str] = &[SCHEMA, "presence-harness/run/1"];

/// One run.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunRecord {
    /// Schema identifier.
    #[schemars(extend("const" = SCHEMA))]
    pub schema: String,
    /// Run id (also the report folder name).
    pub run_id: String,
    /// Start time, RFC 3339.
    pub started: String,
    /// Harness version.
    pub harness_version: String,
    /// The SUT profile.
    #[schemars(with = "crate::sut::Profile")]
    pub profile: serde_json::Value,
    /// Readiness probe result.
    pub probe: String,
    /// Wall time in microseconds.
    pub duration_us: u64,
    /// Flow count per verdict.
    #[schemars(schema_with = "crate::schema::keyed_map::<Verdict, usize>")]
    pub summary: BTreeMap<String, usize>,
    /// The profile's expected deviations: which occurred, which no longer do.
    pub deviations: DeviationSummary,
    /// The flows.
    pub flows: Vec<FlowRecord>,
}

/// One flow in the record.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FlowRecord {
    /// The flow file, relative to the project root.
    pub file: String,
    /// Clauses the flow encodes.
    pub spec: Vec<Citation>,
    /// The specification figure the flow plays and the release read (`Figure A.7-1, Release
    /// 17`), whose step numbers mark the trace's messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figure: Option<String>,
    /// The outcome.
    #[serde(flatten)]
    pub outcome: FlowOutcome,
}

impl RunRecord {
    /// Counts verdicts.
    pub fn summarise(flows: &[FlowRecord]) -> BTreeMap<String, usize> {
        let mut summary = BTreeMap::new();
        for flow in flows {
            *summary
                .entry(flow.outcome.verdict.name().to_string())
                .or_insert(0) += 1;
        }
        summary
    }

    /// True when the harness could not judge some flow.
    pub fn has_error(&self) -> bool {
        self.flows
            .iter()
            .any(|f| f.outcome.verdict == Verdict::Error)
    }

    /// Flows that break the gate: a failed check the gate counts that the profile does not
    /// list as an expected deviation.
    pub fn breaking(&self, gate: Gate) -> Vec<&FlowRecord> {
        self.flows
            .iter()
            .filter(|f| f.outcome.checks.iter().any(|c| c.breaks(gate)))
            .collect()
    }

    /// True when the gate holds: no error, nothing breaks it, no listed deviation went stale.
    pub fn gate_holds(&self, gate: Gate) -> bool {
        !self.has_error() && self.breaking(gate).is_empty() && self.deviations.stale.is_empty()
    }

    /// Reads a `run.json` back (for re-rendering its reports).
    pub fn read(path: &Path) -> Result<RunRecord, String> {
        let text =
            std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let record: RunRecord = serde_json::from_slice(&text)
            .map_err(|e| format!("{}: not a run record: {e}", path.display()))?;
        if !READABLE_SCHEMAS.contains(&record.schema.as_str()) {
            return Err(format!(
                "{}: schema {} is not {SCHEMA} (or presence-harness/run/1)",
                path.display(),
                record.schema
            ));
        }
        Ok(record)
    }

    /// Renders every report of the run into `dir`: `junit.xml`, `index.html` and one
    /// `<flow run>.pcap` per flow run.
    pub fn render_reports(&self, dir: &Path) -> Result<(), String> {
        self.write_files(dir, None)
    }

    /// Writes the reports into `dir`, and `run.json` at `run_json` when given. The HTML page
    /// (the largest) and run.json are written on their own threads while this one writes the
    /// JUnit and pcap files.
    fn write_files(&self, dir: &Path, run_json: Option<&Path>) -> Result<(), String> {
        std::thread::scope(|scope| {
            // The page, the longest to make, on a thread of its own; the rest on this one.
            let page = scope.spawn(|| {
                let html = super::html::render(self)?;
                std::fs::write(dir.join("index.html"), html)
                    .map_err(|e| format!("cannot write index.html: {e}"))
            });
            let json = run_json.map_or(Ok(()), |path| self.write_json(path));
            let others = self.render_junit_and_pcaps(dir);
            let page = page
                .join()
                .unwrap_or_else(|_| Err("the HTML report's writer panicked".into()));
            json.and(others).and(page)
        })
    }

    /// Writes `run.json`, streamed to the file (a buffer of the whole document grew by copying).
    fn write_json(&self, path: &Path) -> Result<(), String> {
        let cannot = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
        let file = std::fs::File::create(path).map_err(|e| cannot(&e))?;
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
        serde_json::to_writer_pretty(&mut out, self).map_err(|e| cannot(&e))?;
        std::io::Write::flush(&mut out).map_err(|e| cannot(&e))
    }

    /// Writes `junit.xml` and the pcap files.
    fn render_junit_and_pcaps(&self, dir: &Path) -> Result<(), String> {
        let junit = super::junit::render(self)?;
        std::fs::write(dir.join("junit.xml"), junit)
            .map_err(|e| format!("cannot write junit.xml: {e}"))?;
        let started =
            humantime::parse_rfc3339(&self.started).unwrap_or(std::time::SystemTime::UNIX_EPOCH);
        for flow in &self.flows {
            let pcap = super::pcap::render(&flow.outcome, started)?;
            let name = format!("{}.pcap", flow.outcome.id.replace(['/', '\\'], "_"));
            std::fs::write(dir.join(&name), pcap)
                .map_err(|e| format!("cannot write {name}: {e}"))?;
        }
        Ok(())
    }

    /// Writes `run.json` and every report into `reports_dir/<run_id>/` and points
    /// `reports_dir/latest` at it; returns the path of run.json.
    pub fn write(&self, reports_dir: &Path) -> Result<PathBuf, String> {
        let dir = reports_dir.join(&self.run_id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let path = dir.join("run.json");
        self.write_files(&dir, Some(&path))?;
        let latest = reports_dir.join("latest");
        let _ = std::fs::remove_file(&latest);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&self.run_id, &latest)
            .map_err(|e| format!("cannot point {} at the run: {e}", latest.display()))?;
        Ok(path)
    }
}
