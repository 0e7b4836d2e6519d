//! The interpreter: plays a validated flow against the SUT through the emulated nodes and
//! collects checks. Steps run in order; waits are bounded by the step timeout.

mod act;
mod cancel_ack;
mod evaluate;
mod http;
mod inbound;
mod outbound;
mod partial;
mod parts;
mod registrar;
mod repeat;
mod retransmissions;
mod rlmi_presence;
mod select_body;
mod stray;
mod versions;
mod watcher_ids;

use crate::check::audit;
use crate::check::snapshot::Normaliser;
use crate::check::verdict::{flow_verdict, CheckResult, Outcome, RequirementRef, Verdict};
use crate::core::{ClientTransaction, Dialog, ServerTransactions, SubscriptionTracker, Timers};
use crate::flow::loader::LoadedFlow;
use crate::flow::model::{Alternative, Grade, RoleKind, Step, StepKind};
use crate::flow::vars::Vars;
use crate::net::trace::{MAX_TRACE_BYTES, MAX_TRACE_ENTRIES};
use crate::net::{
    bind_node, Chaos, Direction, Inbound, NodeChaos, NodeSocket, SpecStep, Trace, TraceEntry,
    Transport,
};
use crate::sip::{Event, SipMessage};
use serde::Serialize;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What a flow run may take beyond the sum of its steps' timeouts before it is stopped as an
/// error (the bound on a run whose SUT holds the harness in a wait without a timeout).
pub const FLOW_TIME_MARGIN: Duration = Duration::from_secs(5);

/// The step path of the checks the message rules make on the whole run.
pub const MESSAGE_RULES_STEP: &str = "every message";

/// Where the SUT listens and how to time the run.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// SUT SIP address.
    pub sut_addr: SocketAddr,
    /// Transport between the emulated nodes and the SUT.
    pub transport: Transport,
    /// RFC 3261 timers for the harness's own transactions.
    pub timers: Timers,
    /// Default wait of an expect step.
    pub step_timeout: Duration,
    /// Multiplies every step timeout (profile `timer_scale`).
    pub timeout_scale: f64,
    /// Profile name (snapshot directory).
    pub profile: String,
    /// Project root (fixtures).
    pub root: PathBuf,
    /// The folder of snapshot folders (this profile's are `<snapshots>/<profile>/`).
    pub snapshots: PathBuf,
    /// Why snapshot checks are not compared in this run, if they are not (e.g. a reference
    /// server with fault switches, whose messages are broken on purpose).
    pub skip_snapshots: Option<String>,
    /// Flow users mapped to users the SUT has provisioned.
    pub user_map: HashMap<String, String>,
    /// The user part of a user the SUT has not provisioned (profile `unknown_user`).
    pub unknown_user: Option<String>,
    /// The credentials the SUT holds for its watchers (profile `notify_credentials`).
    pub notify_credentials: Option<crate::sut::profile::CredentialsTemplate>,
    /// A loopback address outside the SUT's trust domain (profile `untrusted_address`).
    pub untrusted_address: Option<std::net::Ipv4Addr>,
    /// What the nodes trust when they connect to the SUT over TLS (profile `sip_tls_ca`, or the
    /// embedded server's certificate).
    pub sip_tls: Option<crate::net::tls::TlsTrust>,
    /// The certificate and key the nodes present to a SUT that connects to them over TLS.
    pub node_tls: Option<Arc<crate::net::tls::NodeIdentity>>,
    /// The SUT's XCAP root URI, offered to flows as `${<sut role>.xcap_root}`.
    pub xcap_root: Option<String>,
    /// The SUT's XCAP root over TLS, offered as `${<sut role>.xcap_tls_root}`, and the
    /// certificates trusted there.
    pub xcap_tls: Option<(String, crate::net::tls::TlsTrust)>,
    /// Digest credentials for XCAP requests, from the profile.
    pub xcap_credentials: Option<crate::sut::profile::CredentialsTemplate>,
    /// Domains the SUT serves, replacing the flow's domains when set (`home1.net` → SUT domain).
    pub domain_map: HashMap<String, String>,
    /// A lossy path for the emulated nodes' UDP datagrams (profile `chaos`), if any.
    pub chaos: Option<Chaos>,
    /// The path loses datagrams (profile `lossy`, or `chaos`): retransmission timing is not
    /// judged.
    pub lossy: bool,
    /// A UE under test (profile `role: ue`), started for each run at `sut_addr`'s place.
    pub ue: Option<Arc<crate::sut::ue::UeLauncher>>,
}

impl RunSettings {
    /// The same settings for a run over `transport` to the SUT at `addr`.
    pub fn over(&self, transport: Transport, addr: SocketAddr) -> RunSettings {
        RunSettings {
            transport,
            sut_addr: addr,
            ..self.clone()
        }
    }
}

/// The result of playing one flow.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct FlowOutcome {
    /// Run name: the flow id, with `@tcp` over TCP, `@tls` over TLS.
    pub id: String,
    /// Flow id.
    pub flow: String,
    /// Transport of this run.
    pub transport: Transport,
    /// Title.
    pub title: String,
    /// Verdict.
    pub verdict: Verdict,
    /// Why the harness could not judge, for `error`; why skipped or unsupported; that the SUT
    /// process the harness manages exited during the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Wall time in microseconds.
    pub duration_us: u64,
    /// Names of the alternative branches taken.
    pub branches: Vec<String>,
    /// Every check.
    pub checks: Vec<CheckResult>,
    /// Every message.
    pub trace: Vec<TraceEntry>,
    /// How a client under test ended and the end of its log (UE profiles with a `client`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sut_log: Option<String>,
}

/// The name of one run of a flow: its id, with `@tcp` appended over TCP, `@tls` over TLS.
pub fn run_name(flow_id: &str, transport: Transport) -> String {
    match transport {
        Transport::Udp => flow_id.to_string(),
        Transport::Tcp => format!("{flow_id}@tcp"),
        Transport::Tls => format!("{flow_id}@tls"),
    }
}

impl FlowOutcome {
    /// The outcome of a flow that did not run (unsupported, or the SUT could not be reached).
    pub fn not_run(
        loaded: &LoadedFlow,
        transport: Transport,
        verdict: Verdict,
        reason: String,
    ) -> Self {
        FlowOutcome {
            id: run_name(&loaded.flow.id, transport),
            flow: loaded.flow.id.clone(),
            transport,
            title: loaded.flow.title.clone(),
            verdict,
            reason: Some(reason),
            duration_us: 0,
            branches: Vec::new(),
            checks: Vec::new(),
            trace: Vec::new(),
            sut_log: None,
        }
    }
}

/// A message ready to be matched by an expect step.
#[derive(Debug, Clone)]
struct Delivered {
    msg: SipMessage,
    /// Node it arrived at.
    node: String,
    /// Sender address.
    from: SocketAddr,
    /// Transport it came on (replies use the same).
    transport: Transport,
    /// Trace sequence number.
    seq: usize,
    kind: Delivery,
    /// It opened a dialog of ours (we are the UAS): the in-dialog rules do not apply to it.
    opens_dialog: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Delivery {
    /// Final response to the request labelled so.
    Response(String),
    /// Request from the SUT in this dialog (None: no dialog of ours).
    Request(Option<String>),
}

/// Why a step did not run.
#[derive(Debug)]
enum StepError {
    /// It needs what an earlier step failed to provide (a capture, a request); the flow goes on.
    Dependency(String),
    /// The harness itself cannot go on (bad socket, unreadable fixture).
    Harness(String),
}

impl From<String> for StepError {
    fn from(message: String) -> Self {
        StepError::Harness(message)
    }
}

/// A request we sent and wait on.
#[derive(Debug)]
struct Pending {
    label: String,
    tx: ClientTransaction,
    /// Node that sent it on the wire.
    node: String,
    /// The transport it went over (the run's, or its step's `transport`).
    transport: Transport,
    dialog: Option<String>,
    /// Trace numbers of its final response and of every copy of it that came again.
    answers: Vec<usize>,
}

/// A dialog of the flow.
#[derive(Debug)]
struct DialogState {
    dialog: Dialog,
    /// The UE role that owns it.
    ue: String,
    /// Its Event header, which NOTIFYs must match.
    event: Option<Event>,
    tracker: SubscriptionTracker,
    /// The remote URI (To of the initial request).
    remote_uri: String,
    /// The version of the last versioned document (RLMI, watcherinfo, reginfo) it carried.
    last_version: Option<u64>,
    /// A SUBSCRIBE of ours went out in the dialog after its last versioned document: the next
    /// one must carry full state (RFC 4662 §5.2), and the next partial notification should
    /// (RFC 5263 §4.4).
    full_state_due: bool,
    /// The presence document of its partial notifications (RFC 5263), as the watcher holds it.
    partial: Option<partial::Held>,
    /// Whether its first NOTIFY carried RLMI (RFC 4662 §4.5); `None` before the first.
    first_carried_rlmi: Option<bool>,
    /// The watcher URI each watcher id of its watcherinfo documents stood for (RFC 3858 §3).
    watcher_ids: std::collections::HashMap<String, String>,
    /// Our URI when we are the UAS (the To of the request that opened the dialog); `None`
    /// when our UE opened it and its own AOR is used.
    local_uri: Option<String>,
    /// The Contact a request of ours in the dialog last gave, when a step set one other than
    /// the UE's own (a target refresh, RFC 3261 §12.2.2): the SUT's requests must target it.
    refreshed_target: Option<String>,
}

struct Runner<'a> {
    loaded: &'a LoadedFlow,
    /// The run's settings; a UE under test's address replaces the SUT address.
    settings: std::borrow::Cow<'a, RunSettings>,
    /// The UE under test of this run, when the SUT is one.
    ue: Option<crate::sut::ue::RunningUe>,
    nodes: HashMap<String, NodeSocket>,
    inbox: mpsc::Receiver<Inbound>,
    dropped: Arc<AtomicUsize>,
    trace: Trace,
    vars: Vars,
    pending: Vec<Pending>,
    server_tx: HashMap<String, ServerTransactions>,
    dialogs: HashMap<String, DialogState>,
    ready: Vec<Delivered>,
    received: HashMap<String, Delivered>,
    checks: Vec<CheckResult>,
    branches: Vec<String>,
    normaliser: Normaliser,
    sut_name: String,
    /// Snapshot checks to make once the flow ends: (step path, name, message).
    snapshots: Vec<(String, String, Delivered)>,
    /// Labels of steps that did not run, so that steps answering them are skipped too.
    skipped: std::collections::HashSet<String>,
    /// Why an HTTP request (by label) got no readable response.
    http_failures: HashMap<String, String>,
    /// The flow's namespace prefixes, for XML selection.
    namespaces: HashMap<String, String>,
    /// Methods of requests a step may take outside our dialogs (it opens a dialog with them);
    /// other such requests are strays.
    uas_methods: std::collections::HashSet<String>,
    /// Stray requests answered 481.
    strays: usize,
    /// Messages from the SUT not processed because the trace was full.
    unrecorded: usize,
}

/// The user part of the Request-URI of a request's text, if it has one.
fn request_user(text: &str) -> Option<&str> {
    let line = text.lines().next()?;
    let mut words = line.split(' ');
    let (_, uri, version) = (words.next()?, words.next()?, words.next()?);
    if !version.starts_with("SIP/") {
        return None;
    }
    let rest = uri.split_once(':')?.1;
    let (user, _) = rest.split_once('@')?;
    Some(user.split(';').next().unwrap_or(user))
}

/// The user part of a role's identity: the profile may map a flow's user to one the SUT
/// has provisioned; runs of one flow over different transports share the SUT, so their users
/// differ by suffix.
fn user_of(role: &crate::flow::model::Role, settings: &RunSettings) -> String {
    if !role.provisioned {
        return settings.unknown_user.clone().unwrap_or_default();
    }
    let user = role.user.clone().unwrap_or_default();
    let user = settings.user_map.get(&user).cloned().unwrap_or(user);
    match settings.transport {
        Transport::Tcp if !user.is_empty() => format!("{user}-tcp"),
        Transport::Tls if !user.is_empty() => format!("{user}-tls"),
        _ => user,
    }
}

/// The AoR of `user` at `domain` (the domain alone for a node without a user).
fn aor_of(user: &str, domain: &str) -> String {
    if user.is_empty() {
        format!("sip:{domain}")
    } else {
        format!("sip:{user}@{domain}")
    }
}

/// Starts the UE under test of a run: its identity from its role, its outbound proxy the
/// first node of its path, the AoRs of the roles it watches.
async fn start_ue(
    launcher: &crate::sut::ue::UeLauncher,
    role: &crate::flow::model::Role,
    vars: &Vars,
    nodes: &HashMap<String, NodeSocket>,
    settings: &RunSettings,
) -> Result<crate::sut::ue::RunningUe, String> {
    let user = user_of(role, settings);
    let domain = role.domain.clone().unwrap_or_else(|| "home1.net".into());
    let domain = settings.domain_map.get(&domain).cloned().unwrap_or(domain);
    let proxy = role
        .path
        .first()
        .and_then(|hop| nodes.get(hop))
        .map(|node| node.addr)
        .ok_or("the UE under test has no outbound proxy (the first role of its path)")?;
    let watches = role
        .watches
        .iter()
        .map(|w| {
            vars.get(&format!("{w}.aor"))
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let identity = crate::sut::ue::UeIdentity {
        aor: aor_of(&user, &domain),
        user,
        domain,
        proxy,
        watches,
        publish: role.publishes,
        register: role.registers,
        transport: settings.transport,
    };
    launcher.start(&identity).await
}

/// Plays one flow. Never panics on SUT input; harness problems become an `error` verdict.
pub async fn run_flow(loaded: &LoadedFlow, settings: &RunSettings) -> FlowOutcome {
    let started = Instant::now();
    tracing::debug!(flow = %loaded.flow.id, transport = ?settings.transport, "flow starts");
    let flow = &loaded.flow;
    let mut outcome =
        FlowOutcome::not_run(loaded, settings.transport, Verdict::Error, String::new());
    outcome.reason = None;
    match Runner::start(loaded, settings, started).await {
        Err(e) => outcome.reason = Some(e),
        Ok(mut runner) => {
            let limit = runner.time_limit(&flow.steps) + FLOW_TIME_MARGIN;
            let result = match tokio::time::timeout(limit, runner.run_steps(&flow.steps, "")).await
            {
                Ok(result) => result,
                Err(_) => Err(format!(
                    "the flow run did not finish within {:.1} s (its steps' timeouts plus {} s)",
                    limit.as_secs_f64(),
                    FLOW_TIME_MARGIN.as_secs()
                )),
            };
            let result = result
                .and(runner.note_leftovers())
                .and(runner.all_answered());
            runner.finish_snapshots();
            runner.apply_message_rules();
            if let Some(ue) = runner.ue.take() {
                outcome.sut_log = ue.stop().await;
            }
            outcome.checks = std::mem::take(&mut runner.checks);
            outcome.trace = std::mem::take(&mut runner.trace.entries);
            outcome.branches = std::mem::take(&mut runner.branches);
            match result {
                Ok(()) => outcome.verdict = flow_verdict(&outcome.checks),
                Err(e) => outcome.reason = Some(e),
            }
        }
    }
    outcome.duration_us = started.elapsed().as_micros() as u64;
    tracing::debug!(flow = %outcome.id, verdict = outcome.verdict.name(), "flow ends");
    outcome
}

impl<'a> Runner<'a> {
    async fn start(
        loaded: &'a LoadedFlow,
        settings: &'a RunSettings,
        started: Instant,
    ) -> Result<Runner<'a>, String> {
        let (tx, inbox) = mpsc::channel(1024);
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut nodes = HashMap::new();
        let mut vars = Vars::default();
        let mut normaliser = Normaliser::default();
        let run = run_name(&loaded.flow.id, settings.transport);
        let chaos = settings
            .chaos
            .as_ref()
            .map(|chaos| NodeChaos { chaos, run: &run });
        for (name, role) in &loaded.flow.roles {
            let domain = role.domain.clone().unwrap_or_else(|| "home1.net".into());
            let domain = settings.domain_map.get(&domain).cloned().unwrap_or(domain);
            vars.set(&format!("{name}.domain"), domain.clone());
            if role.kind == RoleKind::Sut {
                continue;
            }
            let ip = match (role.trusted, role.address) {
                (false, _) => settings.untrusted_address.unwrap_or(Ipv4Addr::LOCALHOST),
                (true, Some(address)) => address,
                (true, None) => Ipv4Addr::LOCALHOST,
            };
            let tls = crate::net::NodeTls {
                trust: settings.sip_tls.clone(),
                identity: settings.node_tls.clone(),
            };
            let node = bind_node(name, ip, tx.clone(), dropped.clone(), chaos, tls)
                .await
                .map_err(|e| format!("cannot bind a socket on {ip} for {name}: {e} (127.0.0.1 is the only loopback address on some systems: macOS adds another with `ifconfig lo0 alias {ip}`)"))?;
            let user = user_of(role, settings);
            let aor = aor_of(&user, &domain);
            let param = crate::ims::transport_param(settings.transport);
            let scheme = crate::ims::uri_scheme(settings.transport);
            let contact = if user.is_empty() {
                format!("{scheme}:{}{param}", node.addr)
            } else {
                format!("{scheme}:{user}@{}{param}", node.addr)
            };
            vars.set(&format!("{name}.user"), user);
            vars.set(&format!("{name}.aor"), aor);
            vars.set(&format!("{name}.contact"), contact);
            vars.set(&format!("{name}.uri"), format!("sip:{}", node.addr));
            vars.set(&format!("{name}.host"), node.addr.to_string());
            vars.set(&format!("{name}.ip"), node.addr.ip().to_string());
            normaliser.addresses.insert(node.addr, name.clone());
            nodes.insert(name.clone(), node);
        }
        let (sut_name, sut_role) = loaded
            .flow
            .roles
            .iter()
            .find(|(_, r)| r.kind == RoleKind::Sut)
            .ok_or("the flow has no SUT role")?;
        let (settings, ue) = match (&settings.ue, loaded.flow.ue_under_test()) {
            (Some(launcher), Some(_)) => {
                let ue = start_ue(launcher, sut_role, &vars, &nodes, settings).await?;
                let addr = ue.addr();
                (
                    std::borrow::Cow::Owned(settings.over(settings.transport, addr)),
                    Some(ue),
                )
            }
            (None, Some(_)) => {
                return Err("the flow judges a UE, and the profile's SUT is a server".into())
            }
            (Some(_), None) => {
                return Err("the flow judges a server, and the profile's SUT is a UE".into())
            }
            (None, None) => (std::borrow::Cow::Borrowed(settings), None),
        };
        let sut_uri = format!(
            "{}:{}",
            crate::ims::uri_scheme(settings.transport),
            settings.sut_addr
        );
        let name = sut_name;
        vars.set(&format!("{name}.uri"), sut_uri.clone());
        vars.set(&format!("{name}.host"), settings.sut_addr.to_string());
        vars.set(&format!("{name}.ip"), settings.sut_addr.ip().to_string());
        if ue.is_some() {
            let user = user_of(sut_role, &settings);
            let domain = vars
                .get(&format!("{name}.domain"))
                .unwrap_or_default()
                .to_string();
            let param = crate::ims::transport_param(settings.transport);
            let scheme = crate::ims::uri_scheme(settings.transport);
            vars.set(
                &format!("{name}.contact"),
                format!("{scheme}:{user}@{}{param}", settings.sut_addr),
            );
            vars.set(&format!("{name}.aor"), aor_of(&user, &domain));
            vars.set(&format!("{name}.user"), user);
        } else {
            vars.set(&format!("{name}.contact"), sut_uri.clone());
            vars.set(&format!("{name}.user"), "");
            vars.set(&format!("{name}.aor"), sut_uri.clone());
        }
        if let Some((root, _)) = &settings.xcap_tls {
            vars.set(&format!("{name}.xcap_tls_root"), root.clone());
        }
        if let Some(root) = &settings.xcap_root {
            vars.set(&format!("{name}.xcap_root"), root.clone());
        }
        normaliser.addresses.insert(settings.sut_addr, name.clone());
        let sut_name = name.clone();
        Ok(Runner {
            loaded,
            settings,
            ue,
            nodes,
            inbox,
            dropped,
            trace: Trace::new(started),
            vars,
            pending: Vec::new(),
            server_tx: HashMap::new(),
            dialogs: HashMap::new(),
            ready: Vec::new(),
            received: HashMap::new(),
            checks: Vec::new(),
            branches: Vec::new(),
            normaliser,
            sut_name,
            skipped: Default::default(),
            snapshots: Vec::new(),
            http_failures: HashMap::new(),
            namespaces: loaded.flow.namespaces.clone().into_iter().collect(),
            uas_methods: uas_methods(&loaded.flow.steps),
            strays: 0,
            unrecorded: 0,
        })
    }

    /// Runs steps in order; `prefix` numbers nested steps (`3.` for a group at step 3).
    async fn run_steps(&mut self, steps: &[Step], prefix: &str) -> Result<(), String> {
        for (index, step) in steps.iter().enumerate() {
            let path = format!("{prefix}{}", index + 1);
            self.run_step(step, &path).await?;
        }
        Ok(())
    }

    async fn run_step(&mut self, step: &Step, path: &str) -> Result<(), String> {
        let recorded_before = self.trace.entries.len();
        let sent = match step.kind() {
            StepKind::Send => self.send_request(step).await,
            StepKind::Http => self.send_http(step).await,
            StepKind::Reply => self.send_reply(step).await,
            StepKind::Cancel => self.send_cancel(step).await,
            _ => Ok(()),
        };
        match sent {
            Err(StepError::Dependency(why)) => {
                self.record_skip(step, path, why);
                return Ok(());
            }
            Err(StepError::Harness(why)) => return Err(why),
            Ok(()) => self.mark_spec_steps(step, recorded_before),
        }
        match step.kind() {
            StepKind::Send | StepKind::Http | StepKind::Reply | StepKind::Cancel => Ok(()),
            StepKind::Withhold => {
                self.withhold(step, path).await;
                Ok(())
            }
            StepKind::Resend => {
                self.resend(step, path).await;
                Ok(())
            }
            StepKind::AwaitCopy => {
                self.await_copy(step, path).await;
                Ok(())
            }
            StepKind::Act => self.act(step).await,
            StepKind::Expect if step.absent == Some(true) => {
                self.expect_absent(step, path).await;
                Ok(())
            }
            StepKind::Expect => {
                self.expect_group(&[step], path, false).await;
                Ok(())
            }
            StepKind::AnyOrder => {
                let group: Vec<&Step> = step.any_order.iter().flatten().collect();
                self.expect_group(&group, &format!("{path}."), true).await;
                Ok(())
            }
            StepKind::Alternatives => Box::pin(self.alternatives(step, path)).await,
        }
    }

    /// Numbers the messages a send, http or reply step put on the wire (those recorded from
    /// `recorded_before` on, in order) with the step's `spec_steps`.
    fn mark_spec_steps(&mut self, step: &Step, recorded_before: usize) {
        let Some(numbers) = &step.spec_steps else {
            return;
        };
        let own: Vec<usize> = self.trace.entries[recorded_before.min(self.trace.entries.len())..]
            .iter()
            .filter(|e| e.direction != Direction::Received)
            .map(|e| e.seq)
            .collect();
        for (seq, &number) in own.into_iter().zip(numbers) {
            let marker = self.spec_step(number);
            self.trace.mark_spec_step(seq, marker);
        }
    }

    /// Step `number` of the flow's figure, confirmed when the figure lists it as read.
    fn spec_step(&self, number: u32) -> SpecStep {
        let confirmed = self
            .loaded
            .flow
            .figure
            .as_ref()
            .is_some_and(|f| f.confirmed.contains(&number));
        SpecStep { number, confirmed }
    }

    /// The longest the steps may take when every wait runs to its timeout: each send, reply
    /// and expect its timeout (an HTTP request two: a Digest challenge is answered once), a
    /// group its longest, alternatives their wait plus their longest branch.
    fn time_limit(&self, steps: &[Step]) -> Duration {
        steps
            .iter()
            .map(|step| match step.kind() {
                StepKind::Http => self.timeout_of(step) * 2,
                StepKind::Send
                | StepKind::Reply
                | StepKind::Expect
                | StepKind::Resend
                | StepKind::Cancel
                | StepKind::AwaitCopy
                | StepKind::Act => self.timeout_of(step),
                StepKind::Withhold => {
                    retransmissions::window(self.settings.timers.t1, self.settings.timers.t2)
                }
                StepKind::AnyOrder => {
                    self.time_limit(step.any_order.as_deref().unwrap_or_default())
                }
                StepKind::Alternatives => {
                    self.timeout_of(step)
                        + step
                            .alternatives
                            .iter()
                            .flatten()
                            .map(|b| self.time_limit(b.steps.get(1..).unwrap_or_default()))
                            .max()
                            .unwrap_or_default()
                }
            })
            .sum()
    }

    fn timeout_of(&self, step: &Step) -> Duration {
        let base = step
            .timeout
            .map(Duration::from_secs_f64)
            .unwrap_or(self.settings.step_timeout);
        base.mul_f64(self.settings.timeout_scale.max(0.01))
    }

    /// Waits for every step of `group` (expect steps) to match a message, in any order when
    /// `any_order`. Missing messages fail the step's requirement (or are skipped if optional).
    async fn expect_group(&mut self, group: &[&Step], prefix: &str, numbered: bool) {
        let deadline = Instant::now()
            + group
                .iter()
                .map(|s| self.timeout_of(s))
                .max()
                .unwrap_or_default();
        let mut matched = vec![false; group.len()];
        for (i, step) in group.iter().enumerate() {
            if let Some(of) = step.of.as_ref().filter(|of| self.skipped.contains(*of)) {
                matched[i] = true;
                let path = if numbered {
                    format!("{prefix}{}", i + 1)
                } else {
                    prefix.to_string()
                };
                self.record_skip(step, &path, format!("{of} was not sent"));
            } else if step
                .of
                .as_ref()
                .is_some_and(|of| self.http_failures.contains_key(of))
            {
                // An HTTP request that got no readable response has nothing more to wait for.
                matched[i] = true;
                let path = if numbered {
                    format!("{prefix}{}", i + 1)
                } else {
                    prefix.to_string()
                };
                self.record_missing(step, &path);
            }
        }
        loop {
            for (i, step) in group.iter().enumerate() {
                if matched[i] {
                    continue;
                }
                if let Some(delivered) = self.take(step) {
                    matched[i] = true;
                    let path = if numbered {
                        format!("{prefix}{}", i + 1)
                    } else {
                        prefix.to_string()
                    };
                    self.evaluate(step, &path, delivered);
                }
            }
            if matched.iter().all(|m| *m) {
                return;
            }
            let waiting: Vec<&Step> = group
                .iter()
                .zip(&matched)
                .filter(|(_, m)| !**m)
                .map(|(s, _)| *s)
                .collect();
            for delivered in self.take_intermediate(&waiting) {
                self.answer_intermediate(prefix.trim_end_matches('.'), delivered)
                    .await;
            }
            if !self.pump(deadline).await {
                break;
            }
        }
        for (i, step) in group.iter().enumerate() {
            if !matched[i] {
                let path = if numbered {
                    format!("{prefix}{}", i + 1)
                } else {
                    prefix.to_string()
                };
                self.record_missing(step, &path);
            }
        }
    }

    /// Waits the step's whole timeout for a request that must not come; each one that does
    /// fails the step's requirement and is answered 481 (RFC 6665 §4.1.3: it matches no
    /// subscription the subscriber still has).
    async fn expect_absent(&mut self, step: &Step, path: &str) {
        let waited = self.timeout_of(step);
        let deadline = Instant::now() + waited;
        let mut arrived = Vec::new();
        loop {
            while let Some(delivered) = self.take(step) {
                arrived.push(format!("#{} {}", delivered.seq, delivered.msg.summary()));
                self.respond(
                    &delivered,
                    481,
                    &[],
                    Some("must not arrive: answered 481".into()),
                )
                .await;
            }
            if !self.pump(deadline).await {
                break;
            }
        }
        let requirement = self.requirement(step.req.as_deref());
        self.checks.push(CheckResult {
            step: path.to_string(),
            check: format!("{} does not arrive", step.describe()),
            requirement,
            outcome: if arrived.is_empty() {
                Outcome::Pass
            } else {
                Outcome::Fail
            },
            expected: format!("nothing within {:.1} s", waited.as_secs_f64()),
            actual: if arrived.is_empty() {
                "nothing arrived".into()
            } else {
                arrived.join("; ")
            },
            diff: None,
            message: None,
            deviation: None,
        });
    }

    /// Chooses the first branch whose first expectation matches an arriving message.
    async fn alternatives(&mut self, step: &Step, path: &str) -> Result<(), String> {
        let branches = step.alternatives.as_deref().unwrap_or_default();
        let deadline = Instant::now() + self.timeout_of(step);
        loop {
            for (i, branch) in branches.iter().enumerate() {
                let Some(first) = branch.steps.first() else {
                    continue;
                };
                if let Some(delivered) = self.take_for_branch(first) {
                    self.branches.push(format!("{path}: {}", branch.name));
                    self.record_branch(step, path, branches, branch);
                    let inner = format!("{path}.{}.", i + 1);
                    self.evaluate(first, &format!("{inner}1"), delivered);
                    for (j, rest) in branch.steps.iter().enumerate().skip(1) {
                        Box::pin(self.run_step(rest, &format!("{inner}{}", j + 1))).await?;
                    }
                    return Ok(());
                }
            }
            if !self.pump(deadline).await {
                break;
            }
        }
        let names: Vec<&str> = branches.iter().map(|b| b.name.as_str()).collect();
        let requirement = self.requirement(step.req.as_deref());
        self.checks.push(CheckResult {
            step: path.to_string(),
            check: "one of the alternatives happens".into(),
            requirement,
            outcome: Outcome::Fail,
            expected: names.join(" | "),
            actual: self.unmatched_summary(),
            diff: None,
            message: None,
            deviation: None,
        });
        Ok(())
    }

    /// Records which alternative the SUT took as a check on the alternatives' requirement:
    /// a non-strict branch fails it (the loader makes that requirement a SHOULD).
    fn record_branch(&mut self, step: &Step, path: &str, all: &[Alternative], taken: &Alternative) {
        let conforming: Vec<&str> = all
            .iter()
            .filter(|b| b.grade == Grade::Pass)
            .map(|b| b.name.as_str())
            .collect();
        let requirement = self.requirement(step.req.as_deref());
        self.checks.push(CheckResult {
            step: path.to_string(),
            check: format!("alternative taken: {}", taken.name),
            requirement,
            outcome: if taken.grade == Grade::Pass {
                Outcome::Pass
            } else {
                Outcome::Fail
            },
            expected: conforming.join(" | "),
            actual: taken.name.clone(),
            diff: None,
            message: None,
            deviation: None,
        });
    }

    /// Records a step that could not run because an earlier step failed.
    fn record_skip(&mut self, step: &Step, path: &str, why: String) {
        if let Some(label) = &step.label {
            self.skipped.insert(label.clone());
        }
        let requirement = self.requirement(Some("harness-dependency"));
        self.checks.push(CheckResult {
            step: path.to_string(),
            check: format!("{} (not run)", step.describe()),
            requirement,
            outcome: Outcome::Skipped,
            expected: "the step runs".into(),
            actual: why,
            diff: None,
            message: None,
            deviation: None,
        });
    }

    fn record_missing(&mut self, step: &Step, path: &str) {
        let waited = self.timeout_of(step);
        // A response expected `at` a node other than the sender's missed that node: the step's
        // `req` is the requirement of where it goes.
        let req = if step.expects_response() && step.at.is_none() {
            step.status
                .as_ref()
                .and_then(|s| s.req())
                .or(step.req.as_deref())
        } else {
            step.req.as_deref()
        };
        let requirement = self.requirement(req);
        let optional = step.optional.unwrap_or(false);
        self.checks.push(CheckResult {
            step: path.to_string(),
            check: format!("{} arrives", step.describe()),
            requirement,
            outcome: if optional {
                Outcome::Skipped
            } else {
                Outcome::Fail
            },
            expected: format!("the message within {:.1} s", waited.as_secs_f64()),
            actual: match (
                optional,
                step.of.as_ref().and_then(|of| self.http_failures.get(of)),
            ) {
                (_, Some(failure)) => failure.clone(),
                (true, None) => format!(
                    "optional message did not arrive; {}",
                    self.unmatched_summary()
                ),
                (false, None) => self.unmatched_summary(),
            },
            diff: None,
            message: None,
            deviation: None,
        });
    }

    /// What arrived that no step took: the first few unmatched messages and the strays.
    fn unmatched_summary(&self) -> String {
        const SHOWN: usize = 10;
        let mut text = if self.ready.is_empty() {
            "nothing arrived".to_string()
        } else {
            let list: Vec<String> = self
                .ready
                .iter()
                .take(SHOWN)
                .map(|d| format!("#{} {}", d.seq, d.msg.summary()))
                .collect();
            let more = self.ready.len().saturating_sub(SHOWN);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!("unmatched: {}{more}", list.join("; "))
        };
        if self.strays > 0 {
            text.push_str(&format!(
                "; {} stray requests in no dialog of ours (answered 481)",
                self.strays
            ));
        }
        text
    }

    /// The trace without the requests whose Request-URI names a user no role of this run has:
    /// datagrams the SUT meant for the run that had a node's port before (it may retransmit to
    /// it for 64*T1 after that run ended). They stay in the trace, annotated; the message rules
    /// leave them out. `None` when there are none (the trace is judged as it is, uncopied).
    fn without_foreign_requests(&mut self) -> Option<Vec<crate::net::trace::TraceEntry>> {
        let users: std::collections::HashSet<&str> = self
            .loaded
            .flow
            .roles
            .keys()
            .filter_map(|name| self.vars.get(&format!("{name}.user")))
            .filter(|user| !user.is_empty())
            .collect();
        let foreign: std::collections::HashSet<usize> = self
            .trace
            .entries
            .iter()
            .filter(|e| e.direction == Direction::Received)
            .filter(|e| request_user(&e.text).is_some_and(|u| !users.contains(u)))
            .map(|e| e.seq)
            .collect();
        if foreign.is_empty() {
            return None;
        }
        for &seq in &foreign {
            self.trace.annotate(
                seq,
                "its Request-URI names no user of this run (a port another run had): left out of the message rules",
            );
        }
        let mut judged = self.trace.entries.clone();
        judged.retain(|e| !foreign.contains(&e.seq));
        Some(judged)
    }

    /// The message rules on every SIP message of the run the SUT sent: one check per rule that
    /// held on every message it applies to, one per message that broke it (the first
    /// [`audit::FAILURES_SHOWN`]; the last says how many more).
    fn apply_message_rules(&mut self) {
        let mut exempt: Vec<String> = self
            .loaded
            .flow
            .exempt
            .iter()
            .map(|e| e.rule.clone())
            .collect();
        if self.settings.lossy {
            // A lossy path may duplicate the SUT's responses or the harness's requests.
            exempt.push(crate::check::rules::FINALS_PROMPTED.to_string());
            // ... and lose the harness's final responses, which the SUT then rightly retransmits for.
            exempt.push(crate::check::rules::REQUEST_COMPLETED.to_string());
            // ... and lose the SUT's responses to the harness's copies of a request.
            exempt.push(crate::check::rules::PROCEEDING_ANSWERS_COPIES.to_string());
        }
        let start = self.trace.start();
        let closed: Vec<audit::ClosedConnection> = self
            .nodes
            .iter()
            .flat_map(|(name, node)| {
                node.closed_connections()
                    .into_iter()
                    .map(move |(peer, at)| audit::ClosedConnection {
                        node: name.clone(),
                        peer: peer.to_string(),
                        at_us: at.saturating_duration_since(start).as_micros() as u64,
                    })
            })
            .collect();
        let judged = self.without_foreign_requests();
        let entries = judged.as_deref().unwrap_or(&self.trace.entries);
        for (key, tally) in audit::audit(entries, &exempt, &closed) {
            let requirement = self.requirement(Some(key));
            let words = crate::check::rules::summary(key);
            if tally.broken_count == 0 {
                self.checks.push(CheckResult {
                    step: MESSAGE_RULES_STEP.into(),
                    check: format!("message rule: {words}"),
                    requirement,
                    outcome: Outcome::Pass,
                    expected: words.to_string(),
                    actual: format!("held on the {} SUT messages it applies to", tally.held),
                    diff: None,
                    message: None,
                    deviation: None,
                });
                continue;
            }
            let more = tally.broken_count - tally.broken.len();
            let shown = tally.broken.len();
            for (i, broken) in tally.broken.into_iter().enumerate() {
                let tail = if i + 1 == shown && more > 0 {
                    format!(" (and {more} more messages)")
                } else {
                    String::new()
                };
                self.checks.push(CheckResult {
                    step: MESSAGE_RULES_STEP.into(),
                    check: format!(
                        "message rule: {words}, on #{} {}",
                        broken.message, broken.summary
                    ),
                    requirement: requirement.clone(),
                    outcome: Outcome::Fail,
                    expected: broken.failure.expected,
                    actual: format!("{}{tail}", broken.failure.actual),
                    diff: None,
                    message: Some(broken.message),
                    deviation: None,
                });
            }
        }
    }

    /// The requirement a key names (flow's own or the catalogue's).
    fn requirement(&self, key: Option<&str>) -> RequirementRef {
        let key = key.unwrap_or("harness-unnamed");
        match self.loaded.requirement(key) {
            Some(requirement) => RequirementRef {
                key: key.to_string(),
                requirement: requirement.clone(),
            },
            None => RequirementRef {
                key: key.to_string(),
                requirement: crate::flow::model::Requirement {
                    doc: "harness".into(),
                    clause: "-".into(),
                    level: crate::flow::model::Level::Must,
                    text: format!("requirement {key} is not in the catalogue"),
                },
            },
        }
    }

    /// Errs when a request of ours never got a final response by the end of the flow and the
    /// harness cannot tell the SUT's silence from a lost path: the SUT answered no request of
    /// the run (unreachable), or the path loses datagrams (e.g. loss beyond Timer F). Then the
    /// harness cannot judge the flow, whatever the grade of the steps that waited. A SUT that
    /// answered other requests over a path that loses nothing chose not to answer this one:
    /// the steps that waited for the answer judge it.
    fn all_answered(&self) -> Result<(), String> {
        let unanswered: Vec<&str> = self
            .pending
            .iter()
            .filter(|p| !p.tx.answered())
            .map(|p| p.label.as_str())
            .collect();
        let heard = self.pending.iter().any(|p| p.tx.answered());
        if unanswered.is_empty() || (heard && !self.settings.lossy) {
            return Ok(());
        }
        Err(format!(
            "no final response from the SUT to {}: the SUT did not answer, or the path lost every copy (over UDP the harness retransmits by RFC 3261 timers E and F)",
            unanswered.join(", ")
        ))
    }

    /// Marks messages no step took, and fails the run when datagrams were dropped: the
    /// harness could not see everything the SUT sent, so it cannot judge.
    fn note_leftovers(&mut self) -> Result<(), String> {
        for delivered in std::mem::take(&mut self.ready) {
            self.trace
                .annotate(delivered.seq, "not matched by any step");
            // Every request the SUT sent in one of our dialogs obeys the dialog rules.
            if let Delivery::Request(Some(dialog)) = &delivered.kind {
                let dialog = dialog.clone();
                self.dialog_checks("- (unmatched)", &delivered, &dialog);
            }
        }
        let mut lost = Vec::new();
        match self.dropped.load(std::sync::atomic::Ordering::Relaxed) {
            0 => {}
            dropped => lost.push(format!(
                "{dropped} messages from the SUT were dropped: the harness inbox was full"
            )),
        }
        if self.unrecorded > 0 {
            lost.push(format!(
                "{} messages from the SUT were not processed: the trace reached its limit \
                 ({MAX_TRACE_ENTRIES} messages or {MAX_TRACE_BYTES} bytes)",
                self.unrecorded
            ));
        }
        if lost.is_empty() {
            Ok(())
        } else {
            Err(lost.join("; "))
        }
    }
}

/// Methods of the requests that expect steps may take outside our dialogs: those of steps
/// with `at` (they open a dialog with the request), at any depth.
fn uas_methods(steps: &[Step]) -> std::collections::HashSet<String> {
    let mut methods = std::collections::HashSet::new();
    for step in steps {
        if let (Some(method), Some(_)) = (&step.expect, &step.at) {
            methods.insert(method.clone());
        }
        for group in step.any_order.iter() {
            methods.extend(uas_methods(group));
        }
        for branch in step.alternatives.iter().flatten() {
            methods.extend(uas_methods(&branch.steps));
        }
    }
    methods
}
