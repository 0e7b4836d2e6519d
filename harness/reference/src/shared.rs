//! State shared by every task of one reference server: configuration, sockets, the presence
//! state behind one lock, the transaction tables, open TCP connections, the task set, and the
//! task that expires what outlived its lifetime.

use super::authz::Watcher;
use super::esc::{self, Store};
use super::notifier::{self, Subscriptions};
use super::pna::{self, Pna};
use super::presentity::Presentity;
use super::transaction::Transactions;
use super::transport::{Connections, Transport};
use super::xcap::XcapStore;
use super::{Fault, ReferenceConfig, Variation};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;
use tokio::task::{AbortHandle, JoinSet};

/// The user part of the server's Contact URI.
const CONTACT_USER: &str = "ps";
/// The user part of a Contact URI valid inside its dialog only (faults `*-contact-dialog-only`).
pub const DIALOG_ONLY_USER: &str = "dialog-only";

/// Presence state: publications (the ESC), subscriptions (the notifier), XCAP documents and
/// the PNA's registration state.
#[derive(Default)]
pub(super) struct State {
    /// Current publications per presentity.
    pub esc: Store,
    /// Current subscriptions.
    pub subs: Subscriptions,
    /// XCAP documents (resource lists, pres-rules, ...) with their entity-tags.
    pub xcap: XcapStore,
    /// The Digest challenges of the XCAP server (variation `xcap-digest`).
    pub xcap_digest: crate::xcap::DigestGate,
    /// The presence network agent: third-party registrations and reg subscriptions.
    pub pna: Pna,
    /// Arrival times of the PUBLISHes of the last second (kept for `NoSipEtagUnderLoad`).
    pub recent_publishes: std::collections::VecDeque<std::time::Instant>,
}

/// Every task the server started, so stop (or drop) can end them all.
#[derive(Default)]
pub(super) struct Tasks {
    set: JoinSet<()>,
    stopped: bool,
}

/// Everything the server's tasks share.
pub(super) struct Shared {
    /// The configuration the server was started with.
    pub config: ReferenceConfig,
    /// The UDP socket (requests in, responses and NOTIFYs out).
    pub udp: UdpSocket,
    /// Local address of the UDP socket.
    pub udp_addr: SocketAddr,
    /// Local address of the TCP listener.
    pub tcp_addr: SocketAddr,
    /// Local address of the TLS listener.
    pub tls_addr: SocketAddr,
    /// Opens TLS connections to peers, trusting the configured certificates.
    pub tls_connector: crate::tls::Connector,
    /// Publications and subscriptions.
    pub state: Mutex<State>,
    /// Server and client transactions.
    pub transactions: Mutex<Transactions>,
    /// Open TCP and TLS connections by transport and peer address.
    pub connections: Mutex<Connections>,
    /// Signalled whenever a NOTIFY goes out (for the `notify-before-200` variation).
    pub notify_sent: tokio::sync::Notify,
    /// Signalled when a deadline became the earliest of its store: the expiry task wakes to
    /// sleep again until it.
    pub deadline_moved: tokio::sync::Notify,
    /// Fault RlsBackendShared: the list subscriber each member was first decided for.
    pub first_watchers: Arc<Mutex<FirstWatchers>>,
    tasks: Mutex<Tasks>,
    counter: AtomicU64,
    salt: u64,
}

/// The server's SIP addresses, one per transport.
#[derive(Debug, Clone, Copy)]
pub(super) struct SipAddrs {
    /// SIP over UDP.
    pub udp: SocketAddr,
    /// SIP over TCP.
    pub tcp: SocketAddr,
    /// SIP over TLS.
    pub tls: SocketAddr,
}

/// Each list member, with the watcher its authorization was first decided for (fault
/// RlsBackendShared).
pub(super) type FirstWatchers = std::collections::HashMap<Presentity, Watcher>;

/// How often finished tasks are reaped when no new task starts (starting one reaps too).
const REAP_EVERY: Duration = Duration::from_secs(1);

/// Reaps finished tasks every [`REAP_EVERY`] until the server stops.
pub(super) async fn reap_loop(shared: Arc<Shared>) {
    let mut every = tokio::time::interval(REAP_EVERY);
    loop {
        every.tick().await;
        shared.reap();
    }
}

/// Expires publications, subscriptions and registrations when their deadlines come, until
/// the server stops: one task sleeping until the earliest deadline of the three stores.
pub(super) async fn expiry_loop(shared: Arc<Shared>) {
    loop {
        let next = {
            let state = lock(&shared.state);
            [
                state.esc.deadlines.first(),
                state.subs.deadlines.first(),
                state.pna.deadlines.first(),
            ]
            .into_iter()
            .flatten()
            .min()
        };
        let moved = shared.deadline_moved.notified();
        match next {
            Some(at) => tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                _ = moved => {}
            },
            None => moved.await,
        }
        let now = tokio::time::Instant::now();
        let (publications, subscriptions, registrations) = {
            let mut state = lock(&shared.state);
            (
                state.esc.deadlines.take_due(now),
                state.subs.deadlines.take_due(now),
                state.pna.deadlines.take_due(now),
            )
        };
        for (who, id) in publications {
            esc::expire(&shared, &who, id);
        }
        for id in subscriptions {
            notifier::expire(&shared, id);
        }
        for who in registrations {
            pna::expire(&shared, &who);
        }
    }
}

/// Locks a mutex, carrying on with the data if another task panicked while holding it.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// Shared state for a server bound to these sockets.
    pub fn new(
        config: ReferenceConfig,
        udp: UdpSocket,
        addrs: SipAddrs,
        tls_connector: crate::tls::Connector,
    ) -> Shared {
        let SipAddrs {
            udp: udp_addr,
            tcp: tcp_addr,
            tls: tls_addr,
        } = addrs;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let salt = (nanos ^ (u64::from(udp_addr.port()) << 48) ^ u64::from(tcp_addr.port()))
            & 0xffff_ffff_ffff;
        Shared {
            config,
            udp,
            udp_addr,
            tcp_addr,
            tls_addr,
            tls_connector,
            state: Mutex::new(State::default()),
            transactions: Mutex::new(Transactions::default()),
            connections: Mutex::new(Connections::default()),
            notify_sent: tokio::sync::Notify::new(),
            deadline_moved: tokio::sync::Notify::new(),
            first_watchers: Arc::default(),
            tasks: Mutex::new(Tasks::default()),
            counter: AtomicU64::new(1),
            salt,
        }
    }

    /// Is this fault switched on?
    pub fn fault(&self, fault: Fault) -> bool {
        self.config.faults.contains(&fault)
    }

    /// Whether the user of `who` is one the server has provisioned (an AoR without a user
    /// part, a domain, is).
    pub fn provisioned(&self, who: &Presentity) -> bool {
        who.user()
            .is_none_or(|user| !self.config.unknown_users.contains(user))
    }

    /// Is this variation switched on?
    pub fn variation(&self, variation: Variation) -> bool {
        self.config.variations.contains(&variation)
    }

    /// A token never returned before by this server (tags, entity-tags, branches).
    pub fn token(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{:x}{n:x}", self.salt)
    }

    /// The local address used for `transport`.
    pub fn local_addr(&self, transport: Transport) -> SocketAddr {
        match transport {
            Transport::Udp => self.udp_addr,
            Transport::Tcp => self.tcp_addr,
            Transport::Tls => self.tls_addr,
        }
    }

    /// The server's own Contact for `transport`, e.g. `<sip:ps@127.0.0.1:5060;transport=udp>`;
    /// over TLS a `sips:` URI (RFC 3261 §12.1.1: a dialog begun with a SIPS URI needs a SIPS
    /// Contact), unless fault SipsContactPlain has it say `sip:`.
    pub fn contact(&self, transport: Transport) -> String {
        self.contact_of(CONTACT_USER, transport)
    }

    /// The Contact of a dialog under a fault that makes it valid inside the dialog only: an
    /// OPTIONS outside any dialog to it gets 404.
    pub fn dialog_only_contact(&self, transport: Transport) -> String {
        self.contact_of(DIALOG_ONLY_USER, transport)
    }

    /// A self-made GRUU (RFC 5627 §4.3): the server's address as its host, and the `gr` URI
    /// parameter, as RFC 6665 §4.5.1 asks of a notifier's local target (fault ContactNotGruu:
    /// without it).
    fn contact_of(&self, user: &str, transport: Transport) -> String {
        let gruu = if self.fault(Fault::ContactNotGruu) {
            ""
        } else {
            ";gr"
        };
        let address = self.local_addr(transport);
        match transport {
            Transport::Tls if self.fault(Fault::SipsContactPlain) => {
                format!("<sip:{user}@{address};transport=tls{gruu}>")
            }
            Transport::Tls => format!("<sips:{user}@{address}{gruu}>"),
            _ => format!(
                "<sip:{user}@{address};transport={}{gruu}>",
                transport.uri_param()
            ),
        }
    }

    /// Starts a task that stop (or drop) will end; `None` once the server is stopping.
    pub fn spawn<F>(&self, future: F) -> Option<AbortHandle>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut tasks = lock(&self.tasks);
        if tasks.stopped {
            return None;
        }
        while tasks.set.try_join_next().is_some() {}
        Some(tasks.set.spawn(future))
    }

    /// Drops the finished tasks: until then each keeps its allocation, as large as its
    /// future, so without a new task a burst of finished NOTIFY deliveries would stay.
    pub fn reap(&self) {
        let mut tasks = lock(&self.tasks);
        while tasks.set.try_join_next().is_some() {}
    }

    /// How many tasks are kept (running, or finished and not yet reaped).
    #[cfg(test)]
    pub fn task_count(&self) -> usize {
        lock(&self.tasks).set.len()
    }

    /// Refuses new tasks and hands over the running ones.
    pub fn take_tasks(&self) -> JoinSet<()> {
        let mut tasks = lock(&self.tasks);
        tasks.stopped = true;
        std::mem::take(&mut tasks.set)
    }

    /// Refuses new tasks and aborts the running ones without waiting.
    pub fn abort_tasks(&self) {
        let mut set = self.take_tasks();
        set.abort_all();
    }
}
