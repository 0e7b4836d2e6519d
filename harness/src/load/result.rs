//! The result of a load run (`load.json`, schema `presence-harness/load/1`) beside its
//! latencies (`histograms.hlog`, an HdrHistogram interval log), and the merge of shards'
//! results into one whose histograms are those of all their samples.

use super::conformance::Conformance;
use super::figures::Figures;
use super::metrics::{self, Interval, Percentiles, Series};
use super::run::LoadOutcome;
use super::workload::{Shard, Workload};
use crate::flow::model::{Level, Requirement};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Schema identifier of `load.json`.
pub const SCHEMA: &str = "presence-harness/load/1";
/// File name of the result.
pub const RESULT_FILE: &str = "load.json";
/// File name of the interval log beside it.
pub const HISTOGRAM_FILE: &str = "histograms.hlog";

/// One requirement's checks in a load result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RequirementResult {
    /// Catalogue key.
    pub key: String,
    /// The requirement (document, clause, level, words).
    #[serde(flatten)]
    pub requirement: Requirement,
    /// Idle and load tallies.
    #[serde(flatten)]
    pub tallies: super::conformance::RuleTallies,
    /// It held in every idle check and broke under load.
    pub broke_under_load: bool,
}

/// A load run's result (one shard's, or merged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadResult {
    /// Schema identifier.
    #[schemars(extend("const" = SCHEMA))]
    pub schema: String,
    /// When the run started (RFC 3339).
    pub started: String,
    /// Harness version.
    pub harness_version: String,
    /// SUT profile name.
    pub profile: String,
    /// The workload asked for.
    pub workload: Workload,
    /// The shards this result covers (one, or all of them after a merge).
    pub shards: Vec<Shard>,
    /// Seconds from the start to the first PUBLISH arrival (the largest over shards).
    pub publish_start_s: f64,
    /// Length of the publish phase in seconds (the largest over shards).
    pub publish_duration_s: f64,
    /// PUBLISH arrivals in the publish phase.
    pub publish_arrivals: u64,
    /// Achieved PUBLISH rate: final responses over the publish phase's length.
    pub publish_rate: f64,
    /// NOTIFYs received per second of the publish phase.
    pub notify_rate: f64,
    /// Counters.
    pub figures: Figures,
    /// Percentiles per series (microseconds), from the histograms.
    #[schemars(schema_with = "crate::schema::keyed_map::<Series, Percentiles>")]
    pub latency: BTreeMap<Series, Percentiles>,
    /// CPU seconds of the generator's thread in the publish phase and its drain (summed
    /// over shards), and per PUBLISH transaction in microseconds.
    pub publish_cpu_s: f64,
    /// CPU microseconds of the generator per PUBLISH transaction.
    pub cpu_us_per_publish: f64,
    /// CPU seconds of the generator in the whole run (summed over shards).
    pub cpu_s: f64,
    /// How far, at most, a request left after its intended time, in microseconds (a large
    /// value means the generator, not the SUT, was the bottleneck).
    pub max_send_lag_us: u64,
    /// Every accepted state reached every watcher before the drain ended (all shards).
    pub settled: bool,
    /// The message checks per requirement, idle and under load.
    pub requirements: Vec<RequirementResult>,
    /// Keys of the requirements that held idle and broke under load.
    pub broke_under_load: Vec<String>,
    /// The interval log, relative to this file.
    pub histograms: String,
}

impl LoadResult {
    /// Builds the result of one shard's run.
    pub fn new(
        outcome: &LoadOutcome,
        workload: &Workload,
        shard: Shard,
        profile: &str,
        started: SystemTime,
        catalogue: &BTreeMap<String, Requirement>,
    ) -> LoadResult {
        let mut result = LoadResult {
            schema: SCHEMA.into(),
            started: humantime::format_rfc3339_seconds(started).to_string(),
            harness_version: env!("CARGO_PKG_VERSION").into(),
            profile: profile.into(),
            workload: workload.clone(),
            shards: vec![shard],
            publish_start_s: outcome.publish_start_s,
            publish_duration_s: outcome.publish_duration_s,
            publish_arrivals: outcome.publish_arrivals,
            publish_rate: 0.0,
            notify_rate: 0.0,
            figures: outcome.figures.clone(),
            latency: BTreeMap::new(),
            publish_cpu_s: outcome.publish_cpu_s,
            cpu_us_per_publish: 0.0,
            cpu_s: outcome.cpu_s,
            max_send_lag_us: outcome.max_send_lag_us,
            settled: outcome.settled,
            requirements: Vec::new(),
            broke_under_load: Vec::new(),
            histograms: HISTOGRAM_FILE.into(),
        };
        result.derive(&outcome.intervals, &outcome.conformance, catalogue);
        result
    }

    /// Fills in what follows from the counters, the intervals and the checks.
    fn derive(
        &mut self,
        intervals: &[Interval],
        conformance: &Conformance,
        catalogue: &BTreeMap<String, Requirement>,
    ) {
        let answered: u64 = self.figures.publish.by_status.values().sum();
        let seconds = self.publish_duration_s.max(f64::MIN_POSITIVE);
        self.publish_rate = answered as f64 / seconds;
        self.notify_rate = self.figures.notify.received as f64 / seconds;
        self.cpu_us_per_publish = if answered > 0 {
            self.publish_cpu_s * 1e6 / answered as f64
        } else {
            0.0
        };
        self.latency = Series::ALL
            .into_iter()
            .map(|s| (s, Percentiles::of(&metrics::total(intervals, s))))
            .collect();
        let broke: Vec<String> = conformance
            .broke_under_load()
            .into_iter()
            .map(str::to_string)
            .collect();
        self.requirements = conformance
            .rules
            .iter()
            .map(|(key, tallies)| RequirementResult {
                key: key.clone(),
                requirement: catalogue.get(key).cloned().unwrap_or_else(|| Requirement {
                    doc: "presence-harness".into(),
                    clause: "load".into(),
                    level: Level::Informative,
                    text: format!("{key} (not in the catalogue)"),
                }),
                tallies: tallies.clone(),
                broke_under_load: broke.contains(key),
            })
            .collect();
        self.broke_under_load = broke;
    }

    /// The worst level among the requirements that failed (idle or under load).
    pub fn worst_broken(&self) -> Option<Level> {
        let rank = |l: Level| match l {
            Level::Must => 3,
            Level::Should => 2,
            Level::May => 1,
            Level::Informative => 0,
        };
        self.requirements
            .iter()
            .filter(|r| r.tallies.idle.failed + r.tallies.load.failed > 0)
            .map(|r| r.requirement.level)
            .max_by_key(|l| rank(*l))
    }

    /// Writes `load.json` and `histograms.hlog` into `dir` (created).
    pub fn write(
        &self,
        dir: &Path,
        intervals: &[Interval],
        started: SystemTime,
    ) -> Result<PathBuf, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let log = metrics::write_log(intervals, started)?;
        let log_path = dir.join(HISTOGRAM_FILE);
        std::fs::write(&log_path, log)
            .map_err(|e| format!("cannot write {}: {e}", log_path.display()))?;
        let path = dir.join(RESULT_FILE);
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| format!("cannot encode the result: {e}"))?;
        std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    /// Reads a `load.json` and the interval log it names.
    pub fn read(path: &Path) -> Result<(LoadResult, Vec<Interval>), String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let result: LoadResult = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not a load result: {e}", path.display()))?;
        if result.schema != SCHEMA {
            return Err(format!(
                "{}: schema {} is not {SCHEMA}",
                path.display(),
                result.schema
            ));
        }
        let log_path = path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&result.histograms);
        let log = std::fs::read(&log_path)
            .map_err(|e| format!("{}: cannot read: {e}", log_path.display()))?;
        let intervals =
            metrics::read_log(&log).map_err(|e| format!("{}: {e}", log_path.display()))?;
        Ok((result, intervals))
    }
}

/// Merges the results of the shards of one run: counters and checks added, intervals kept
/// side by side (so the totals are the histograms of all samples), figures derived again.
pub fn merge(
    parts: &[(LoadResult, Vec<Interval>)],
    catalogue: &BTreeMap<String, Requirement>,
) -> Result<(LoadResult, Vec<Interval>), String> {
    let (first, _) = parts.first().ok_or("nothing to merge")?;
    let mut merged = first.clone();
    merged.shards.clear();
    merged.figures = Figures::default();
    merged.publish_arrivals = 0;
    merged.publish_cpu_s = 0.0;
    merged.cpu_s = 0.0;
    merged.max_send_lag_us = 0;
    merged.settled = true;
    let mut conformance = Conformance::default();
    let mut intervals = Vec::new();
    for (part, part_intervals) in parts {
        if part.workload != first.workload {
            return Err(format!(
                "the results are of different workloads (run {} and run {}); merge the shards of one run",
                first.workload.run, part.workload.run
            ));
        }
        for shard in &part.shards {
            if merged.shards.contains(shard) {
                return Err(format!(
                    "shard {}/{} is given twice",
                    shard.index, shard.count
                ));
            }
            merged.shards.push(*shard);
        }
        merged.figures.add(&part.figures);
        merged.publish_arrivals += part.publish_arrivals;
        merged.publish_cpu_s += part.publish_cpu_s;
        merged.cpu_s += part.cpu_s;
        merged.max_send_lag_us = merged.max_send_lag_us.max(part.max_send_lag_us);
        merged.settled &= part.settled;
        merged.publish_start_s = merged.publish_start_s.max(part.publish_start_s);
        merged.publish_duration_s = merged.publish_duration_s.max(part.publish_duration_s);
        for r in &part.requirements {
            let tallies = conformance.rules.entry(r.key.clone()).or_default();
            tallies.idle.add(&r.tallies.idle);
            tallies.load.add(&r.tallies.load);
        }
        intervals.extend(part_intervals.iter().cloned());
    }
    merged.shards.sort_by_key(|s| s.index);
    intervals.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    merged.derive(&intervals, &conformance, catalogue);
    Ok((merged, intervals))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::testing;

    fn shard(index: u32, workload: &Workload) -> (LoadResult, Vec<Interval>) {
        let outcome = testing::outcome();
        let shard = Shard { index, count: 2 };
        let result = LoadResult::new(
            &outcome,
            workload,
            shard,
            "p",
            SystemTime::now(),
            &BTreeMap::new(),
        );
        (result, outcome.intervals)
    }

    #[test]
    fn shards_add_up() {
        let w = testing::workload();
        let (merged, intervals) = merge(&[shard(0, &w), shard(1, &w)], &BTreeMap::new()).unwrap();
        assert_eq!(merged.figures.publish.sent, 2);
        assert_eq!(merged.latency[&Series::Publish].count, 2);
        assert_eq!(intervals.len(), 2);
    }

    #[test]
    fn only_the_shards_of_one_run_merge() {
        let w = testing::workload();
        let other = Workload {
            run: "other".into(),
            ..w.clone()
        };
        let error = merge(&[shard(0, &w), shard(1, &other)], &BTreeMap::new()).unwrap_err();
        assert!(error.contains("different workloads"), "{error}");
        let error = merge(&[shard(0, &w), shard(0, &w)], &BTreeMap::new()).unwrap_err();
        assert!(error.contains("given twice"), "{error}");
    }
}
