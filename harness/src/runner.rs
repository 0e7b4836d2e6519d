//! Runs a suite: starts the SUT (embedded reference server or an external address), probes
//! it, plays the selected flows concurrently and gathers the run record.

use crate::check::verdict::Verdict;
use crate::core::Timers;
use crate::flow::interp::{run_flow, FlowOutcome, RunSettings};
use crate::flow::loader::LoadedFlow;
use crate::reference::{Fault, ReferenceConfig, ReferenceServer};
use crate::report::{FlowRecord, RunRecord};
use crate::sut::{probe::probe, Profile};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// A started SUT: its address and, for the embedded server, the handle that stops it.
pub struct StartedSut {
    /// SIP address (UDP).
    pub addr: std::net::SocketAddr,
    server: Option<ReferenceServer>,
}

impl StartedSut {
    /// Stops an embedded server; an external SUT is left alone.
    pub async fn stop(self) {
        if let Some(server) = self.server {
            server.stop().await;
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

/// Starts the SUT a profile describes.
pub async fn start_sut(profile: &Profile) -> Result<StartedSut, String> {
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
            })
        }
        (None, Some(addr)) => Ok(StartedSut { addr, server: None }),
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
        return FlowOutcome {
            id: loaded.flow.id.clone(),
            title: loaded.flow.title.clone(),
            verdict: Verdict::Unsupported,
            reason: Some(format!(
                "profile {} lacks capabilities: {}",
                profile.name,
                missing.join(", ")
            )),
            duration_us: 0,
            branches: Vec::new(),
            checks: Vec::new(),
            trace: Vec::new(),
        };
    }
    run_flow(loaded, settings).await
}

fn error_outcome(loaded: &LoadedFlow, reason: &str) -> FlowOutcome {
    FlowOutcome {
        id: loaded.flow.id.clone(),
        title: loaded.flow.title.clone(),
        verdict: Verdict::Error,
        reason: Some(reason.to_string()),
        duration_us: 0,
        branches: Vec::new(),
        checks: Vec::new(),
        trace: Vec::new(),
    }
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
    let (outcomes, probe_result) = match start_sut(profile).await {
        Err(e) => (
            flows
                .iter()
                .map(|f| error_outcome(f, &e))
                .collect::<Vec<_>>(),
            e,
        ),
        Ok(sut) => {
            let settings = settings_for(profile, sut.addr, root);
            let probe_limit = Duration::from_secs_f64(5.0 * profile.timer_scale);
            let outcomes = match probe(sut.addr, settings.timers.t1, probe_limit).await {
                Err(e) => (flows.iter().map(|f| error_outcome(f, &e)).collect(), e),
                Ok(answer) => {
                    let mut tasks = tokio::task::JoinSet::new();
                    for (index, loaded) in flows.iter().enumerate() {
                        let (loaded, profile, settings) =
                            (loaded.clone(), profile.clone(), settings.clone());
                        tasks.spawn(
                            async move { (index, play(&loaded, &profile, &settings).await) },
                        );
                    }
                    let mut slots: Vec<Option<FlowOutcome>> = vec![None; flows.len()];
                    while let Some(joined) = tasks.join_next().await {
                        if let Ok((index, outcome)) = joined {
                            on_flow(&outcome);
                            slots[index] = Some(outcome);
                        }
                    }
                    let outcomes = slots
                        .into_iter()
                        .zip(flows)
                        .map(|(o, f)| {
                            o.unwrap_or_else(|| error_outcome(f, "the flow task panicked"))
                        })
                        .collect();
                    (outcomes, answer)
                }
            };
            sut.stop().await;
            outcomes
        }
    };
    let records: Vec<FlowRecord> = flows
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
    RunRecord {
        schema: crate::report::record::SCHEMA,
        run_id,
        started: humantime::format_rfc3339_seconds(started_wall).to_string(),
        harness_version: env!("CARGO_PKG_VERSION"),
        profile: serde_json::to_value(profile).unwrap_or_default(),
        probe: probe_result,
        duration_us: started.elapsed().as_micros() as u64,
        summary: RunRecord::summarise(&records),
        flows: records,
    }
}
