//! A UE under test (profile `role: ue`): a presence client started afresh for each flow run,
//! with the run's emulated P-CSCF as its outbound proxy, made to act by the flow's `act`
//! steps, and stopped at the end of the run. Either the embedded reference UE (profile
//! `embedded`, with its fault switches) or a real client the profile's `client` starts.

use super::client::{ClientProcess, ClientSpec};
use crate::net::Transport;
use crate::reference::ue::{ReferenceUe, UeConfig, UeFault};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The Digest password of every UE under test (its username is the user part of its AoR):
/// a client's profile gives it to the client (template variable `password`), and a flow that
/// challenges the UE's REGISTER can tell right credentials from none.
pub const UE_PASSWORD: &str = "presence-harness";

/// The lifetime the embedded reference UE asks for its publication (seconds), as a client
/// configured for a minute would.
const EMBEDDED_PUBLISH_EXPIRES: u64 = 60;
/// The lifetime the embedded reference UE asks for its registration (seconds): TS 24.229's
/// 600 000 of an IMS UE.
const EMBEDDED_REGISTER_EXPIRES: u64 = 600_000;
/// The lifetime the embedded reference UE asks for its subscriptions (seconds).
const EMBEDDED_SUBSCRIBE_EXPIRES: u64 = 600;

/// Who the UE of one run is and where its requests go.
#[derive(Debug, Clone)]
pub struct UeIdentity {
    /// Its public identity, e.g. `sip:ue-alice@home1.net`.
    pub aor: String,
    /// The user part of the AoR.
    pub user: String,
    /// The domain of the AoR.
    pub domain: String,
    /// The emulated P-CSCF: its outbound proxy.
    pub proxy: SocketAddr,
    /// The AoRs it watches.
    pub watches: Vec<String>,
    /// Whether it publishes its presence.
    pub publish: bool,
    /// Whether it registers before anything else.
    pub register: bool,
    /// The transport between it and the emulated nodes.
    pub transport: Transport,
}

/// How a profile's UE is started for each run.
#[derive(Debug, Clone)]
pub enum UeLauncher {
    /// The embedded reference UE with these fault switches.
    Embedded {
        /// Faults to turn on.
        faults: BTreeSet<UeFault>,
        /// RFC 3261 T1 and T2 of its client transactions.
        t1: Duration,
        /// T2.
        t2: Duration,
    },
    /// A client program.
    Client {
        /// How to start it and make it act.
        spec: ClientSpec,
        /// The project root (its working directory).
        root: PathBuf,
    },
}

impl UeLauncher {
    /// Whether the UE knows the action `name`.
    pub fn knows(&self, name: &str) -> bool {
        match self {
            UeLauncher::Embedded { .. } => crate::reference::ue::ACTIONS.contains(&name),
            UeLauncher::Client { spec, .. } => spec.actions.contains_key(name),
        }
    }

    /// Starts the UE of one run.
    pub async fn start(&self, identity: &UeIdentity) -> Result<RunningUe, String> {
        match self {
            UeLauncher::Embedded { faults, t1, t2 } => {
                if identity.transport != Transport::Udp {
                    return Err("the embedded reference UE speaks UDP only".into());
                }
                let config = UeConfig {
                    aor: identity.aor.clone(),
                    outbound: identity.proxy,
                    watches: identity.watches.clone(),
                    publish: identity.publish,
                    register: identity.register,
                    register_expires: EMBEDDED_REGISTER_EXPIRES,
                    password: Some(UE_PASSWORD.to_string()),
                    publish_expires: EMBEDDED_PUBLISH_EXPIRES,
                    subscribe_expires: EMBEDDED_SUBSCRIBE_EXPIRES,
                    t1: *t1,
                    t2: *t2,
                    faults: faults.clone(),
                };
                let ue = ReferenceUe::start(config)
                    .await
                    .map_err(|e| format!("cannot start the reference UE: {e}"))?;
                Ok(RunningUe::Embedded(ue))
            }
            UeLauncher::Client { spec, root } => Ok(RunningUe::Client(Box::new(
                ClientProcess::start(spec, root, identity).await?,
            ))),
        }
    }
}

/// The UE of one run.
pub enum RunningUe {
    /// The embedded reference UE.
    Embedded(ReferenceUe),
    /// A client process.
    Client(Box<ClientProcess>),
}

impl RunningUe {
    /// Its SIP address.
    pub fn addr(&self) -> SocketAddr {
        match self {
            RunningUe::Embedded(ue) => ue.addr(),
            RunningUe::Client(client) => client.addr(),
        }
    }

    /// Performs the user action `name`, waiting at most `timeout` for the client to take it.
    pub async fn act(&mut self, name: &str, timeout: Duration) -> Result<(), String> {
        match self {
            RunningUe::Embedded(ue) => ue.act(name).await,
            RunningUe::Client(client) => client.act(name, timeout).await,
        }
    }

    /// Stops it; a client's log tail comes back for the report.
    pub async fn stop(self) -> Option<String> {
        match self {
            RunningUe::Embedded(ue) => {
                ue.shutdown().await;
                None
            }
            RunningUe::Client(client) => Some(client.stop().await),
        }
    }
}
