//! The embedded reference presence UE: a presence user agent that publishes its own status as
//! an event publication agent (RFC 3903 §4, PIDF documents of RFC 3863) and watches others as
//! a subscriber (RFC 6665 §4.1, RFC 3856), over UDP at 127.0.0.1, every request through its
//! outbound proxy (the P-CSCF the harness plays) with that proxy as its first Route. Like the
//! reference server it is written from the RFCs apart from the harness's checks, on the SIP
//! wire layer alone; fault switches ([`UeFault`]) each break one requirement on purpose.
//!
//! What it does, in order: [`ReferenceUe::start`] binds its socket, registers first when
//! `register` is set (waiting for the answer; later requests outside a dialog carry the
//! Service-Route), sends the initial PUBLISH
//! (when `publish` is set; basic `open`) and then one SUBSCRIBE per watched address-of-record,
//! and returns once they are all sent. A 2xx's Expires (else the one asked for) sets the
//! refresh at 80 % of the granted interval and at least 1 s before its end where the interval
//! allows (10 s: at 8 s; 2 s: at 1 s; 1 s: at 0.8 s); a NOTIFY's shorter `expires` brings a
//! subscription's refresh forward. [`ReferenceUe::act`] takes the user's actions
//! `set-status open`, `set-status closed` and `stop`.
//!
//! Modules, one job each: `shared` (what the tasks share; how requests start), `client` (client
//! transactions: timers E and F, response matching), `inbound` (the receive loop; answers as a
//! UAS), `notify` (NOTIFYs in subscription dialogs), `dialog` (subscription dialogs and their
//! SUBSCRIBEs), `watcher` (one subscription per watched address-of-record), `publisher` (the
//! publication), `pidf` (the document), `timing` (refresh, 423 and re-subscription intervals),
//! `fault` (the fault switches), `registration` (REGISTER, Service-Route, refresh and
//! de-registration), `digest` (credentials for a challenged REGISTER).

mod client;
mod dialog;
pub(crate) mod digest;
mod fault;
mod inbound;
mod notify;
mod pidf;
mod publisher;
mod registration;
mod shared;
mod timing;
mod watcher;

#[cfg(test)]
mod tests;

pub use fault::{UeFault, UnknownUeFault};

use pidf::Basic;
use publisher::{Action, Command, Publisher};
use registration::{Deregister, Registration};
use shared::Shared;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use watcher::{WatchEvent, Watcher};

/// The user actions [`ReferenceUe::act`] knows.
pub const ACTIONS: &[&str] = &["set-status open", "set-status closed", "stop"];

/// How the reference UE behaves.
#[derive(Debug, Clone)]
pub struct UeConfig {
    /// Its public identity, e.g. "sip:ue-alice@home1.net" (From/To of PUBLISH, the PIDF entity).
    pub aor: String,
    /// Its outbound proxy (the emulated P-CSCF): every request goes to this address, with
    /// `Route: <sip:ADDR;lr>` as its first route.
    pub outbound: SocketAddr,
    /// AoRs it subscribes to (Event: presence) when it starts.
    pub watches: Vec<String>,
    /// Whether it publishes its status (basic "open") when it starts.
    pub publish: bool,
    /// Whether it registers (REGISTER through the outbound proxy) before anything else, and
    /// de-registers when its user quits.
    pub register: bool,
    /// The lifetime it asks for its registration (seconds).
    pub register_expires: u64,
    /// Its Digest password (the username is the user part of its AoR), with which it answers
    /// a 401 or 407 to its REGISTER; `None`: it answers no challenge.
    pub password: Option<String>,
    /// The Expires it asks for in PUBLISH (seconds).
    pub publish_expires: u64,
    /// The Expires it asks for in SUBSCRIBE (seconds).
    pub subscribe_expires: u64,
    /// RFC 3261 T1 for its client transactions over UDP.
    pub t1: Duration,
    /// RFC 3261 T2 for its client transactions over UDP.
    pub t2: Duration,
    /// Requirements to break on purpose.
    pub faults: BTreeSet<UeFault>,
}

/// A running reference UE. Dropping it aborts its tasks; [`ReferenceUe::shutdown`] also waits
/// for them to end.
pub struct ReferenceUe {
    shared: Arc<Shared>,
    publisher: UnboundedSender<Command>,
    /// The registration task, when the UE registered.
    registration: Option<UnboundedSender<Deregister>>,
    tasks: JoinSet<()>,
}

impl ReferenceUe {
    /// Binds UDP 127.0.0.1:0, then publishes and subscribes as the config says; returns once
    /// the initial PUBLISH and SUBSCRIBEs are sent, or, when it registers, once the REGISTER
    /// is on its way (they follow its answer).
    pub async fn start(config: UeConfig) -> std::io::Result<ReferenceUe> {
        let socket = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = socket.local_addr()?;
        let (watchers, events): (Vec<_>, Vec<_>) =
            config.watches.iter().map(|_| unbounded_channel()).unzip();
        let (publisher, commands) = unbounded_channel();
        let (publish, register) = (config.publish, config.register);
        let shared = Arc::new(Shared::new(config, socket, addr, watchers));
        let mut tasks = JoinSet::new();
        tasks.spawn(inbound::receive_loop(shared.clone()));
        tasks.spawn(Publisher::new(shared.clone(), commands).run());
        for (watch, events) in events.into_iter().enumerate() {
            tasks.spawn(Watcher::new(shared.clone(), watch, events).run());
        }
        let (registration, orders) = match register {
            true => {
                let (told, orders) = unbounded_channel();
                (Some(told), Some(orders))
            }
            false => (None, None),
        };
        let ue = ReferenceUe {
            shared: shared.clone(),
            publisher: publisher.clone(),
            registration,
            tasks,
        };
        let first = Beginning {
            shared,
            publisher,
            publish,
        };
        match orders {
            // Registered first (the answer may take a while: the network answers when it
            // will), then what it sends follows the Service-Route.
            Some(orders) => {
                let mut registration = Registration::new(first.shared.clone());
                let mut ue = ue;
                ue.tasks.spawn(async move {
                    registration.register().await;
                    first.run().await;
                    registration.run(orders).await;
                });
                Ok(ue)
            }
            None => {
                first.run().await;
                Ok(ue)
            }
        }
    }

    /// Its SIP address (UDP).
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Performs a user action: "set-status open", "set-status closed", "stop" (stop = what a
    /// client does when the user quits: remove its publication with Expires 0 and end each
    /// subscription with SUBSCRIBE Expires 0, then it stays alive answering requests until
    /// `shutdown`). Unknown action -> Err(message naming it and listing the known ones).
    /// Returns once the action's first request is sent, or queued behind a PUBLISH or
    /// SUBSCRIBE still waiting for its final response (it goes out when that one is answered).
    pub async fn act(&self, action: &str) -> Result<(), String> {
        let words: Vec<&str> = action.split_whitespace().collect();
        match words.as_slice() {
            ["set-status", "open"] => give(&self.publisher, Action::Set(Basic::Open)).await,
            ["set-status", "closed"] => give(&self.publisher, Action::Set(Basic::Closed)).await,
            ["stop"] => {
                give(&self.publisher, Action::Stop).await;
                tell_watchers(&self.shared, WatchEvent::Stop).await;
                if let Some(registration) = &self.registration {
                    let (done, taken) = oneshot::channel();
                    if registration.send(Deregister(done)).is_ok() {
                        let _ = taken.await;
                    }
                }
            }
            _ => {
                return Err(format!(
                    "unknown UE action '{}'; known actions: {}",
                    action.trim(),
                    ACTIONS.join(", ")
                ))
            }
        }
        Ok(())
    }

    /// Ends its tasks (sends nothing).
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }
}

/// What the UE sends first (after its registration, when it registers): its initial
/// PUBLISH, when it publishes, then one SUBSCRIBE per watched address-of-record.
struct Beginning {
    shared: Arc<Shared>,
    publisher: UnboundedSender<Command>,
    publish: bool,
}

impl Beginning {
    async fn run(self) {
        if self.publish {
            give(&self.publisher, Action::Set(Basic::Open)).await;
        }
        tell_watchers(&self.shared, WatchEvent::Subscribe).await;
    }
}

/// Gives the publisher `action` and waits until it is taken.
async fn give(publisher: &UnboundedSender<Command>, action: Action) {
    let (done, taken) = oneshot::channel();
    if publisher.send(Command { action, done }).is_ok() {
        let _ = taken.await;
    }
}

/// Tells each watcher in turn the event `event` makes, waiting until each took it.
async fn tell_watchers(shared: &Shared, event: fn(oneshot::Sender<()>) -> WatchEvent) {
    for watch in 0..shared.config.watches.len() {
        let (done, taken) = oneshot::channel();
        shared.tell(watch, event(done));
        let _ = taken.await;
    }
}

impl std::fmt::Debug for ReferenceUe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReferenceUe")
            .field("addr", &self.shared.addr)
            .field("aor", &self.shared.config.aor)
            .field("faults", &self.shared.config.faults)
            .finish()
    }
}
