//! Runs a suite: starts the SUT (embedded reference server, a process the profile describes,
//! or an external address), probes it, plays the selected flows concurrently, stops the SUT
//! and gathers the run record with the profile's expected deviations applied.

use crate::check::verdict::Verdict;
use crate::core::Timers;
use crate::flow::interp::{run_flow, FlowOutcome, RunSettings};
use crate::flow::loader::LoadedFlow;
use crate::reference::{Fault, ReferenceConfig, ReferenceServer};
use crate::report::{FlowRecord, RunRecord};
use crate::sut::process::SutProcess;
use crate::sut::{deviations, probe::probe, Profile};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// A started SUT: its address and the handle that stops it (embedded server or managed
/// process); an external SUT the harness did not start has neither.
pub struct StartedSut {
    /// SIP address (UDP).
    pub addr: std::net::SocketAddr,
    server: Option<ReferenceServer>,
    process: Option<SutProcess>,
}

impl StartedSut {
    /// Stops what the harness started.
    pub async fn stop(self) {
        if let Some(server) = self.server {
            server.stop().await;
        }
        if let Some(process) = self.process {
            process.stop().await;
        }
    }
}

/// Parses fault names.
pub fn parse_faults(names: &[String]) -> Result<BTreeSet<Fault>, String> {
    names
        .iter()
        .map(|n| n.parse::<Fault>().map_err(|e| e.to_string()))
        .collect()
}

/// Starts the SUT a profile describes (a managed process is reset, started and probed).
pub async fn start_sut(profile: &Profile, root: &Path) -> Result<StartedSut, String> {
    match (&profile.embedded, profile.address) {
        (Some(embedded), _) => {
            let config = ReferenceConfig {
                faults: parse_faults(&embedded.faults)?,
                ..ReferenceConfig::default()
            };
            let server = ReferenceServer::start(config)
                .await
                .map_err(|e| format!("cannot start the reference server: {e}"))?;
            Ok(StartedSut {
                addr: server.udp_addr(),
                server: Some(server),
                process: None,
            })
        }
        (None, Some(addr)) => {
            let process = match &profile.process {
                Some(spec) => Some(
                    SutProcess::start(spec, root, addr, Duration::from_millis(profile.t1_ms))
                        .await?,
                ),
                None => None,
            };
            Ok(StartedSut {
                addr,
                server: None,
                process,
            })
        }
        (None, None) => Err(format!("profile {} names no SUT", profile.name)),
    }
}

/// Settings for flows against a started SUT.
pub fn settings_for(profile: &Profile, sut: std::net::SocketAddr, root: &Path) -> RunSettings {
    let t1 = Duration::from_millis(profile.t1_ms);
    RunSettings {
        sut_addr: sut,
        timers: Timers {
            t1,
            ..Timers::default()
        },
        step_timeout: Duration::from_secs_f64(profile.step_timeout),
        timeout_scale: profile.timer_scale,
        profile: profile.name.clone(),
        root: root.to_path_buf(),
        domain_map: profile.domains.clone().into_iter().collect(),
        skip_snapshots: profile
            .embedded
            .as_ref()
            .filter(|e| !e.faults.is_empty())
            .map(|_| "not compared: the reference server runs with fault switches".to_string()),
    }
}

/// Plays one flow, or reports it unsupported when the profile lacks a capability.
pub async fn play(loaded: &LoadedFlow, profile: &Profile, settings: &RunSettings) -> FlowOutcome {
    let missing = profile.missing_capabilities(&loaded.flow.requires);
    if !missing.is_empty() {
        let reason = format!(
            "profile {} lacks capabilities: {}",
            profile.name,
            missing.join(", ")
        );
        return FlowOutcome::not_run(loaded, Verdict::Unsupported, reason);
    }
    run_flow(loaded, settings).await
}

/// Plays every flow concurrently against a SUT that answered the probe.
async fn play_all(
    flows: &[LoadedFlow],
    profile: &Profile,
    settings: &RunSettings,
    on_flow: &mut impl FnMut(&FlowOutcome),
) -> Vec<FlowOutcome> {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, loaded) in flows.iter().enumerate() {
        let (loaded, profile, settings) = (loaded.clone(), profile.clone(), settings.clone());
        tasks.spawn(async move { (index, play(&loaded, &profile, &settings).await) });
    }
    let mut slots: Vec<Option<FlowOutcome>> = vec![None; flows.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, outcome)) = joined {
            on_flow(&outcome);
            slots[index] = Some(outcome);
        }
    }
    slots
        .into_iter()
        .zip(flows)
        .map(|(o, f)| {
            o.unwrap_or_else(|| {
                FlowOutcome::not_run(f, Verdict::Error, "the flow task panicked".into())
            })
        })
        .collect()
}

/// Runs `flows` against the profile's SUT and returns the record. `on_flow` sees each
/// outcome as it completes (for progress output).
pub async fn run_suite(
    profile: &Profile,
    flows: &[LoadedFlow],
    root: &Path,
    mut on_flow: impl FnMut(&FlowOutcome),
) -> RunRecord {
    let started_wall = SystemTime::now();
    let started = Instant::now();
    let run_id = humantime::format_rfc3339_millis(started_wall)
        .to_string()
        .replace(':', "-");
    let all_error = |reason: &str| -> Vec<FlowOutcome> {
        flows
            .iter()
            .map(|f| FlowOutcome::not_run(f, Verdict::Error, reason.to_string()))
            .collect()
    };
    let (outcomes, probe_result) = match start_sut(profile, root).await {
        Err(e) => (all_error(&e), e),
        Ok(sut) => {
            let settings = settings_for(profile, sut.addr, root);
            let probe_limit = Duration::from_secs_f64(5.0 * profile.timer_scale);
            let result = match probe(sut.addr, settings.timers.t1, probe_limit).await {
                Err(e) => (all_error(&e), e),
                Ok(answer) => (
                    play_all(flows, profile, &settings, &mut on_flow).await,
                    answer,
                ),
            };
            sut.stop().await;
            result
        }
    };
    let mut records: Vec<FlowRecord> = flows
        .iter()
        .zip(outcomes)
        .map(|(loaded, outcome)| FlowRecord {
            file: loaded
                .path
                .strip_prefix(root)
                .unwrap_or(&loaded.path)
                .display()
                .to_string(),
            spec: loaded.flow.spec.clone(),
            outcome,
        })
        .collect();
    let deviations = deviations::apply(&profile.deviations, &mut records);
    RunRecord {
        schema: crate::report::record::SCHEMA,
        run_id,
        started: humantime::format_rfc3339_seconds(started_wall).to_string(),
        harness_version: env!("CARGO_PKG_VERSION"),
        profile: serde_json::to_value(profile).unwrap_or_default(),
        probe: probe_result,
        duration_us: started.elapsed().as_micros() as u64,
        summary: RunRecord::summarise(&records),
        deviations,
        flows: records,
    }
}
