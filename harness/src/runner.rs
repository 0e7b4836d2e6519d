//! Runs a suite: starts the SUT (embedded reference server, a process the profile describes,
//! or an external address), probes it, plays the selected flows concurrently, stops the SUT
//! and gathers the run record with the profile's expected deviations applied.

use crate::check::verdict::Verdict;
use crate::core::Timers;
use crate::flow::interp::{run_flow, FlowOutcome, RunSettings};
use crate::flow::loader::LoadedFlow;
use crate::net::tls::{NodeIdentity, TlsTrust};
use crate::net::Transport;
use crate::reference::{Fault, ReferenceConfig, ReferenceServer, Variation};
use crate::report::{FlowRecord, RunRecord};
use crate::sut::process::SutProcess;
use crate::sut::profile::{Parallel, SutRole};
use crate::sut::ue::UeLauncher;
use crate::sut::{deviations, probe::probe, Profile};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// A started SUT: its address and the handle that stops it (embedded server or managed
/// process); an external SUT the harness did not start has neither.
pub struct StartedSut {
    /// SIP address for UDP.
    pub addr: std::net::SocketAddr,
    /// SIP address for TCP.
    pub tcp_addr: std::net::SocketAddr,
    /// SIP address for TLS, and the certificates the nodes trust there.
    pub sip_tls: Option<(std::net::SocketAddr, TlsTrust)>,
    /// The certificate and key the nodes present when the SUT connects to them over TLS.
    pub node_tls: Option<Arc<NodeIdentity>>,
    /// XCAP root URI: the embedded server's, or the profile's.
    pub xcap_root: Option<String>,
    /// XCAP root URI over TLS, and the certificates that connection trusts.
    pub xcap_tls: Option<(String, TlsTrust)>,
    server: Option<ReferenceServer>,
    process: Option<SutProcess>,
    /// A UE under test: started for each run, at an address of its own.
    ue: Option<Arc<UeLauncher>>,
}

impl StartedSut {
    /// A managed SUT process that exited on its own (a crash) or no longer answers the probe
    /// is stopped, reset, started again and probed. `None` while it answers; else how it had
    /// ended (with the end of its log), and whether it is back.
    async fn restart_if_down(
        &mut self,
        profile: &Profile,
        root: &Path,
    ) -> Option<(String, Result<(), String>)> {
        let spec = profile.process.as_ref()?;
        let t1 = Duration::from_millis(profile.t1_ms);
        let probe_limit = profile.probe_limit();
        let process = self.process.as_mut()?;
        let down = match process.exited() {
            Some(status) => format!("it exited ({status})"),
            None => match probe(self.addr, t1, probe_limit).await {
                Ok(_) => return None,
                Err(e) => format!("it no longer answered: {e}"),
            },
        };
        let ended = format!("{down}; its log ends:\n{}", process.log_end());
        tracing::warn!(%ended, "the SUT process is down; starting it again");
        if let Some(process) = self.process.take() {
            process.stop().await;
        }
        let again = match SutProcess::start(spec, root, self.addr, t1).await {
            Ok(process) => match probe(self.addr, t1, probe_limit).await {
                Ok(_) => Ok(process),
                Err(e) => {
                    process.stop().await;
                    Err(e)
                }
            },
            Err(e) => Err(e),
        };
        Some(match again {
            Ok(process) => {
                self.process = Some(process);
                (ended, Ok(()))
            }
            Err(e) => (ended, Err(e)),
        })
    }

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

/// Parses variation names.
pub fn parse_variations(names: &[String]) -> Result<BTreeSet<Variation>, String> {
    names
        .iter()
        .map(|n| n.parse::<Variation>().map_err(|e| e.to_string()))
        .collect()
}

/// Loads the SUT profile at `path` (default: the embedded reference server's) with the
/// `--fault` and `--variation` switches added.
pub fn load_profile(
    root: &Path,
    path: Option<&Path>,
    faults: &[String],
    variations: &[String],
) -> Result<Profile, String> {
    let default = root.join("fixtures/suts/reference.yaml");
    let mut profile = Profile::load(path.unwrap_or(&default))?;
    add_switches(&mut profile, faults, variations)?;
    Ok(profile)
}

/// Adds `--fault` and `--variation` switches to a profile of the embedded reference server
/// (or the embedded reference UE, whose fault switches are the `ue-` ones).
fn add_switches(
    profile: &mut Profile,
    faults: &[String],
    variations: &[String],
) -> Result<(), String> {
    let role = profile.role;
    if !faults.is_empty() {
        let embedded = profile
            .embedded
            .as_mut()
            .ok_or("--fault needs a profile with the embedded reference server or UE")?;
        embedded.faults.extend(faults.iter().cloned());
        match role {
            SutRole::Server => parse_faults(&embedded.faults).map(|_| ())?,
            SutRole::Ue => parse_ue_faults(&embedded.faults).map(|_| ())?,
        }
    }
    if !variations.is_empty() {
        let embedded = profile
            .embedded
            .as_mut()
            .filter(|_| role == SutRole::Server)
            .ok_or("--variation needs a profile with the embedded reference server")?;
        embedded.variations.extend(variations.iter().cloned());
        parse_variations(&embedded.variations)?;
    }
    Ok(())
}

/// Parses the fault names of the embedded reference UE.
fn parse_ue_faults(names: &[String]) -> Result<BTreeSet<crate::reference::ue::UeFault>, String> {
    names
        .iter()
        .map(|n| {
            n.parse()
                .map_err(|e: crate::reference::ue::UnknownUeFault| e.to_string())
        })
        .collect()
}

/// The UE a profile with `role: ue` starts for each run.
fn ue_launcher(profile: &Profile, root: &Path) -> Result<UeLauncher, String> {
    match (&profile.embedded, &profile.client) {
        (Some(embedded), _) => Ok(UeLauncher::Embedded {
            faults: embedded
                .faults
                .iter()
                .map(|n| {
                    n.parse()
                        .map_err(|e: crate::reference::ue::UnknownUeFault| e.to_string())
                })
                .collect::<Result<_, _>>()?,
            t1: Duration::from_millis(profile.t1_ms),
            t2: Duration::from_millis(profile.t2_ms),
        }),
        (None, Some(spec)) => Ok(UeLauncher::Client {
            spec: spec.clone(),
            root: root.to_path_buf(),
        }),
        (None, None) => Err(format!("profile {} names no UE", profile.name)),
    }
}

/// Starts the SUT a profile describes (a managed process is reset, started and probed); a
/// UE under test is only made ready, to be started for each run.
pub async fn start_sut(profile: &Profile, root: &Path) -> Result<StartedSut, String> {
    if profile.role == SutRole::Ue {
        let unbound = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        return Ok(StartedSut {
            addr: unbound,
            tcp_addr: unbound,
            sip_tls: None,
            node_tls: None,
            xcap_root: None,
            xcap_tls: None,
            server: None,
            process: None,
            ue: Some(Arc::new(ue_launcher(profile, root)?)),
        });
    }
    match (&profile.embedded, profile.address) {
        (Some(embedded), _) => {
            let node_tls = node_identity(profile, root)?;
            let config = ReferenceConfig {
                faults: parse_faults(&embedded.faults)?,
                variations: parse_variations(&embedded.variations)?,
                t1: Duration::from_millis(profile.t1_ms),
                t2: Duration::from_millis(profile.t2_ms),
                unknown_users: profile.unknown_user.iter().cloned().collect(),
                untrusted: profile
                    .untrusted_address
                    .iter()
                    .map(|&a| a.into())
                    .collect(),
                notify_password: profile
                    .notify_credentials
                    .as_ref()
                    .map(|c| c.password.clone()),
                tls_trust: vec![node_tls.certificate.clone()],
                ..ReferenceConfig::default()
            };
            let server = ReferenceServer::start(config)
                .await
                .map_err(|e| format!("cannot start the reference server: {e}"))?;
            let trust = crate::net::tls::tls_trust(&[server.certificate().to_vec()])?;
            Ok(StartedSut {
                addr: server.udp_addr(),
                tcp_addr: server.tcp_addr(),
                sip_tls: Some((server.tls_addr(), trust.clone())),
                node_tls: Some(node_tls),
                xcap_root: Some(server.xcap_root()),
                xcap_tls: Some((server.xcap_tls_root(), trust)),
                server: Some(server),
                process: None,
                ue: None,
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
                tcp_addr: profile.tcp_address.unwrap_or(addr),
                sip_tls: external_sip_tls(profile, root)?,
                node_tls: Some(node_identity(profile, root)?),
                xcap_root: profile.xcap_root.clone(),
                xcap_tls: external_xcap_tls(profile, root)?,
                server: None,
                process,
                ue: None,
            })
        }
        (None, None) => Err(format!("profile {} names no SUT", profile.name)),
    }
}

/// A TLS endpoint of the profile's SUT with what the harness trusts there: `endpoint` (named
/// by the profile key `key`) needs `ca`, a PEM file relative to the project folder (its key
/// `ca_key`), and `name` is what the SUT's certificate must carry instead of the address.
fn external_tls<T>(
    profile: &Profile,
    root: &Path,
    (key, endpoint): (&str, Option<T>),
    (ca_key, ca): (&str, Option<&PathBuf>),
    name: Option<&String>,
) -> Result<Option<(T, TlsTrust)>, String> {
    match (endpoint, ca) {
        (None, _) => Ok(None),
        (Some(_), None) => Err(format!(
            "profile {} names {key} but no {ca_key} (the PEM certificates to trust there)",
            profile.name
        )),
        (Some(endpoint), Some(ca)) => {
            let trust =
                crate::net::tls::tls_trust_from_pem(&root.join(ca))?.for_name(name.cloned());
            Ok(Some((endpoint, trust)))
        }
    }
}

/// The profile's XCAP root over TLS and the certificates it trusts there.
fn external_xcap_tls(profile: &Profile, root: &Path) -> Result<Option<(String, TlsTrust)>, String> {
    external_tls(
        profile,
        root,
        ("xcap_tls_root", profile.xcap_tls_root.clone()),
        ("xcap_tls_ca", profile.xcap_tls_ca.as_ref()),
        profile.xcap_tls_name.as_ref(),
    )
}

/// The certificate and key the nodes present over TLS: the profile's `node_tls_certificate`
/// and `node_tls_key`, else the test certificate in `fixtures/tls/`.
fn node_identity(profile: &Profile, root: &Path) -> Result<Arc<NodeIdentity>, String> {
    let certificate = root.join(
        profile
            .node_tls_certificate
            .as_deref()
            .unwrap_or(Path::new("fixtures/tls/node-cert.pem")),
    );
    let key = root.join(
        profile
            .node_tls_key
            .as_deref()
            .unwrap_or(Path::new("fixtures/tls/node-key.pem")),
    );
    NodeIdentity::from_pem(&certificate, &key).map(Arc::new)
}

/// The profile's SIP address over TLS and the certificates the nodes trust there.
fn external_sip_tls(
    profile: &Profile,
    root: &Path,
) -> Result<Option<(std::net::SocketAddr, TlsTrust)>, String> {
    external_tls(
        profile,
        root,
        ("tls_address", profile.tls_address),
        ("sip_tls_ca", profile.sip_tls_ca.as_ref()),
        profile.sip_tls_name.as_ref(),
    )
}

impl StartedSut {
    /// Settings for flows over UDP against this SUT (`RunSettings::over` for TCP).
    pub fn settings(&self, profile: &Profile, root: &Path) -> RunSettings {
        RunSettings {
            sip_tls: self.sip_tls.as_ref().map(|(_, trust)| trust.clone()),
            node_tls: self.node_tls.clone(),
            xcap_root: self.xcap_root.clone(),
            xcap_tls: self.xcap_tls.clone(),
            ue: self.ue.clone(),
            ..settings_for(profile, self.addr, root)
        }
    }

    /// The SUT's address for a transport (for TLS, when the SUT has none, its TCP address: such
    /// a run is `unsupported` before it sends anything).
    pub fn addr_for(&self, transport: Transport) -> std::net::SocketAddr {
        match transport {
            Transport::Udp => self.addr,
            Transport::Tcp => self.tcp_addr,
            Transport::Tls => self
                .sip_tls
                .as_ref()
                .map_or(self.tcp_addr, |(addr, _)| *addr),
        }
    }
}

/// Settings for flows over UDP against a started SUT (`RunSettings::over` for TCP).
pub fn settings_for(profile: &Profile, sut: std::net::SocketAddr, root: &Path) -> RunSettings {
    let t1 = Duration::from_millis(profile.t1_ms);
    RunSettings {
        sut_addr: sut,
        transport: Transport::Udp,
        timers: Timers {
            t1,
            t2: Duration::from_millis(profile.t2_ms),
        },
        step_timeout: Duration::from_secs_f64(profile.step_timeout),
        timeout_scale: profile.timer_scale,
        profile: profile.name.clone(),
        root: root.to_path_buf(),
        snapshots: profile
            .snapshots
            .clone()
            .unwrap_or_else(|| root.join("fixtures").join("snapshots")),
        domain_map: profile.domains.clone().into_iter().collect(),
        user_map: profile.users.clone().into_iter().collect(),
        unknown_user: profile.unknown_user.clone(),
        notify_credentials: profile.notify_credentials.clone(),
        untrusted_address: profile.untrusted_address,
        sip_tls: None,
        node_tls: None,
        xcap_root: profile.xcap_root.clone(),
        xcap_tls: None,
        xcap_credentials: profile.xcap_credentials.clone(),
        chaos: profile.chaos.clone(),
        lossy: profile.lossy || profile.chaos.is_some(),
        ue: None,
        skip_snapshots: profile.embedded.as_ref().and_then(|e| {
            let switches = match (e.faults.is_empty(), e.variations.is_empty()) {
                (true, true) => return None,
                (false, _) => "fault",
                (true, false) => "variation",
            };
            Some(format!(
                "not compared: the embedded reference runs with {switches} switches (snapshots record its plain behaviour)"
            ))
        }),
    }
}

/// Why a flow does not apply to the profile's kind of SUT (a flow judging a UE against a
/// server, or the other way), or needs actions the profile's UE lacks.
fn role_mismatch(loaded: &LoadedFlow, profile: &Profile, settings: &RunSettings) -> Option<String> {
    let judges_ue = loaded.flow.ue_under_test().is_some();
    match (judges_ue, profile.role) {
        (true, SutRole::Server) => Some(format!(
            "the flow judges a presence client (UE), and profile {} is a server",
            profile.name
        )),
        (false, SutRole::Ue) => Some(format!(
            "the flow judges a presence server, and profile {} is a client (UE)",
            profile.name
        )),
        _ => {
            let launcher = settings.ue.as_ref()?;
            let missing: Vec<&str> = loaded
                .flow
                .actions()
                .into_iter()
                .filter(|a| !launcher.knows(a))
                .collect();
            (!missing.is_empty()).then(|| {
                format!(
                    "profile {} has no action for: {}",
                    profile.name,
                    missing.join(", ")
                )
            })
        }
    }
}

/// The capability of an XCAP server that serves HTTP over TLS too (at `xcap_tls_root`).
const XCAP_TLS: &str = "xcap-tls";

/// Why the profile cannot play a flow, if it cannot: a capability it lacks, or a setting the
/// flow's roles need (a user the SUT has not provisioned, an address outside its trust domain,
/// an XCAP root over TLS), or a SIP address over TLS for a run over TLS.
fn unsupported_reason(
    loaded: &LoadedFlow,
    profile: &Profile,
    settings: &RunSettings,
) -> Option<String> {
    let name = &profile.name;
    let missing = profile.missing_capabilities(&loaded.flow.requires);
    if !missing.is_empty() {
        return Some(format!(
            "profile {name} lacks capabilities: {}",
            missing.join(", ")
        ));
    }
    let roles = || loaded.flow.roles.values();
    if roles().any(|role| !role.provisioned) && profile.unknown_user.is_none() {
        return Some(format!(
            "profile {name} names no unknown_user (a user the SUT has not provisioned)"
        ));
    }
    if roles().any(|role| !role.trusted) && profile.untrusted_address.is_none() {
        return Some(format!(
            "profile {name} names no untrusted_address (an address outside the SUT's trust domain)"
        ));
    }
    let challenges = loaded
        .flow
        .all_steps()
        .iter()
        .any(|step| step.digest.is_some());
    let judges_ue = loaded.flow.ue_under_test().is_some();
    if challenges && !judges_ue && profile.notify_credentials.is_none() {
        return Some(format!(
            "profile {name} names no notify_credentials (what the SUT answers a challenge to its NOTIFY with)"
        ));
    }
    if settings.transport == Transport::Tls && settings.sip_tls.is_none() {
        return Some(format!(
            "profile {name} names no tls_address (the SUT's SIP address over TLS)"
        ));
    }
    let over_tls = loaded.flow.requires.iter().any(|c| c == XCAP_TLS);
    (over_tls && settings.xcap_tls.is_none())
        .then(|| format!("profile {name} declares {XCAP_TLS} but names no xcap_tls_root"))
}

/// Plays one flow, or reports it unsupported when the profile lacks a capability or a setting
/// it needs (or is a SUT of the other kind, or lacks an action the flow's UE must take).
pub async fn play(loaded: &LoadedFlow, profile: &Profile, settings: &RunSettings) -> FlowOutcome {
    let reason = role_mismatch(loaded, profile, settings)
        .or_else(|| unsupported_reason(loaded, profile, settings));
    match reason {
        Some(reason) => {
            FlowOutcome::not_run(loaded, settings.transport, Verdict::Unsupported, reason)
        }
        None => run_flow(loaded, settings).await,
    }
}

/// Plays every run (a flow over a transport) concurrently against a SUT that answered the
/// probe; outcomes come back in the order of `runs`.
async fn play_all(
    runs: &[(Arc<LoadedFlow>, RunSettings)],
    profile: &Profile,
    on_flow: &mut impl FnMut(&FlowOutcome),
) -> Vec<FlowOutcome> {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (loaded, settings)) in runs.iter().enumerate() {
        let (loaded, profile, settings) = (Arc::clone(loaded), profile.clone(), settings.clone());
        tasks.spawn(async move { (index, play(&loaded, &profile, &settings).await) });
    }
    let mut slots: Vec<Option<FlowOutcome>> = vec![None; runs.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, outcome)) = joined {
            on_flow(&outcome);
            slots[index] = Some(outcome);
        }
    }
    slots
        .into_iter()
        .zip(runs)
        .map(|(o, (f, s))| {
            o.unwrap_or_else(|| {
                FlowOutcome::not_run(
                    f,
                    s.transport,
                    Verdict::Error,
                    "the flow task panicked".into(),
                )
            })
        })
        .collect()
}

/// Tells each run of a batch after which the managed SUT process was down (`ended`: how, and
/// the end of its log) that it was, and what became of it (`then`). A run that had passed
/// becomes an error: a server that crashed under it was not judged whole.
fn mark_sut_down(played: &mut [FlowOutcome], ended: &str, then: &str) {
    let note = format!("the SUT process was down after this run or its batch: {ended}; {then}");
    for outcome in played {
        if outcome.verdict == Verdict::Pass {
            outcome.verdict = Verdict::Error;
        }
        outcome.reason = Some(match outcome.reason.take() {
            Some(reason) => format!("{reason}; {note}"),
            None => note.clone(),
        });
    }
}

/// Splits the runs (in plan order: by transport, then flow) into batches played one after
/// the other, as the profile's `parallel` allows.
fn batches(
    runs: &[(Arc<LoadedFlow>, RunSettings)],
    parallel: Parallel,
) -> Vec<&[(Arc<LoadedFlow>, RunSettings)]> {
    match parallel {
        Parallel::All => vec![runs],
        Parallel::None => runs.chunks(1).collect(),
        Parallel::PerTransport => runs
            .chunk_by(|a, b| a.1.transport == b.1.transport)
            .collect(),
    }
}

/// Runs `flows` against the profile's SUT and returns the record. `on_flow` sees each
/// outcome as it completes (for progress output).
pub async fn run_suite(
    profile: &Profile,
    flows: &[LoadedFlow],
    root: &Path,
    on_flow: impl FnMut(&FlowOutcome),
) -> RunRecord {
    let ready = ready_sut(profile, root).await;
    play_suite(ready, profile, flows.to_vec(), root, on_flow).await
}

/// A SUT started and probed, or why it could not be; and when the run began.
pub struct ReadySut {
    started_wall: SystemTime,
    started: Instant,
    sut: Result<(StartedSut, String), String>,
}

impl ReadySut {
    /// Stops the SUT without playing anything (the flows could not be loaded).
    pub async fn stop(self) {
        if let Ok((sut, _)) = self.sut {
            sut.stop().await;
        }
    }
}

/// Starts the SUT and waits for its answer to the probe: the first half of [`run_suite`],
/// which `run` overlaps with parsing the flows.
pub async fn ready_sut(profile: &Profile, root: &Path) -> ReadySut {
    let started_wall = SystemTime::now();
    let started = Instant::now();
    tracing::debug!(profile = %profile.name, "starting the SUT");
    let sut = match start_sut(profile, root).await {
        Err(e) => Err(e),
        Ok(sut) if sut.ue.is_some() => Ok((sut, "a UE under test, started for each run".into())),
        Ok(sut) => {
            tracing::debug!(udp = %sut.addr, tcp = %sut.tcp_addr, "SUT started");
            match probe(
                sut.addr,
                Duration::from_millis(profile.t1_ms),
                profile.probe_limit(),
            )
            .await
            {
                Ok(answer) => Ok((sut, answer)),
                Err(e) => {
                    sut.stop().await;
                    Err(e)
                }
            }
        }
    };
    ReadySut {
        started_wall,
        started,
        sut,
    }
}

/// Plays `flows` against a readied SUT, stops it and gathers the run record: the second
/// half of [`run_suite`].
pub async fn play_suite(
    ready: ReadySut,
    profile: &Profile,
    flows: Vec<LoadedFlow>,
    root: &Path,
    mut on_flow: impl FnMut(&FlowOutcome),
) -> RunRecord {
    let ReadySut {
        started_wall,
        started,
        sut,
    } = ready;
    let run_id = humantime::format_rfc3339_millis(started_wall)
        .to_string()
        .replace(':', "-");
    // One copy of each flow, shared by its runs' tasks.
    let flows: Vec<Arc<LoadedFlow>> = flows.into_iter().map(Arc::new).collect();
    // The runs: a flow (its index in `flows`) over a transport.
    let transports = [Transport::Udp, Transport::Tcp, Transport::Tls];
    let plan: Vec<(usize, Transport)> = transports
        .iter()
        .flat_map(|t| {
            flows
                .iter()
                .enumerate()
                .filter(|(_, f)| f.flow.run_transports(&profile.transports).contains(t))
                .map(move |(i, _)| (i, *t))
        })
        .collect();
    let all_error = |reason: &str| -> Vec<FlowOutcome> {
        plan.iter()
            .map(|(i, t)| FlowOutcome::not_run(&flows[*i], *t, Verdict::Error, reason.to_string()))
            .collect()
    };
    let (outcomes, probe_result) = match sut {
        Err(e) => (all_error(&e), e),
        Ok((mut sut, answer)) => {
            let settings = sut.settings(profile, root);
            let runs: Vec<(Arc<LoadedFlow>, RunSettings)> = plan
                .iter()
                .map(|(i, t)| (Arc::clone(&flows[*i]), settings.over(*t, sut.addr_for(*t))))
                .collect();
            let mut outcomes = Vec::with_capacity(runs.len());
            let mut gone: Option<String> = None;
            let managed = sut.process.is_some();
            for batch in batches(&runs, profile.parallel) {
                if let Some(reason) = &gone {
                    outcomes.extend(batch.iter().map(|(f, s)| {
                        FlowOutcome::not_run(f, s.transport, Verdict::Error, reason.clone())
                    }));
                    continue;
                }
                // A managed process is checked after each batch: its outcomes are shown once
                // they can say whether the process went down under them.
                let mut played = if managed {
                    play_all(batch, profile, &mut |_: &FlowOutcome| {}).await
                } else {
                    play_all(batch, profile, &mut on_flow).await
                };
                match sut.restart_if_down(profile, root).await {
                    None => {}
                    Some((ended, Ok(()))) => mark_sut_down(&mut played, &ended, "started again"),
                    Some((ended, Err(e))) => {
                        let then = format!("it could not be started again: {e}");
                        mark_sut_down(&mut played, &ended, &then);
                        gone = Some(format!(
                            "not run: the SUT process was down after an earlier run and {then}"
                        ));
                    }
                }
                if managed {
                    played.iter().for_each(&mut on_flow);
                }
                outcomes.extend(played);
            }
            sut.stop().await;
            tracing::debug!("SUT stopped");
            (outcomes, answer)
        }
    };
    let mut records: Vec<FlowRecord> = plan
        .iter()
        .zip(outcomes)
        .map(|((i, _), outcome)| (&flows[*i], outcome))
        .map(|(loaded, outcome)| FlowRecord {
            file: loaded
                .path
                .strip_prefix(root)
                .unwrap_or(&loaded.path)
                .display()
                .to_string(),
            spec: loaded.flow.spec.clone(),
            figure: loaded
                .flow
                .figure
                .as_ref()
                .map(|f| format!("{}, {}", f.name, f.release)),
            outcome,
        })
        .collect();
    let deviations = deviations::apply(&profile.deviations, &mut records);
    RunRecord {
        schema: crate::report::record::SCHEMA.to_string(),
        run_id,
        started: humantime::format_rfc3339_seconds(started_wall).to_string(),
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        profile: serde_json::to_value(profile).unwrap_or_default(),
        probe: probe_result,
        duration_us: started.elapsed().as_micros() as u64,
        summary: RunRecord::summarise(&records),
        deviations,
        flows: records,
    }
}
