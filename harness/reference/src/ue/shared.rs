//! What the UE's tasks share: its configuration, socket and address, the identifiers it makes,
//! the client transactions waiting for responses, its subscription dialogs, the way to reach
//! each subscription's watcher, and how every request it sends starts (RFC 3261 §8.1.1: Via,
//! Max-Forwards, the outbound proxy as first Route, §8.1.2).

use super::client::Waiting;
use super::dialog::Dialogs;
use super::watcher::WatchEvent;
use super::{UeConfig, UeFault};
use crate::sip::MessageBuilder;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedSender;

/// Everything the UE's tasks share.
pub(super) struct Shared {
    /// The configuration the UE was started with.
    pub config: UeConfig,
    /// Its UDP socket: every request and response goes out and comes in here.
    pub socket: UdpSocket,
    /// The socket's address (Via sent-by, Contact).
    pub addr: SocketAddr,
    /// Client transactions waiting for responses.
    pub waiting: Mutex<Waiting>,
    /// Its subscription dialogs.
    pub dialogs: Mutex<Dialogs>,
    /// The Service-Route of its registration's 2xx, in order (empty when it did not register).
    pub service_route: Mutex<Vec<String>>,
    /// One watcher per watched address-of-record, in the order of `config.watches`.
    watchers: Vec<UnboundedSender<WatchEvent>>,
    /// The user part of its Contact: the address-of-record's.
    user: String,
    random: RandomState,
    counter: AtomicU64,
}

impl Shared {
    /// The shared state of a UE bound at `addr`.
    pub fn new(
        config: UeConfig,
        socket: UdpSocket,
        addr: SocketAddr,
        watchers: Vec<UnboundedSender<WatchEvent>>,
    ) -> Shared {
        let user = user_of(&config.aor);
        Shared {
            config,
            socket,
            addr,
            waiting: Mutex::default(),
            dialogs: Mutex::default(),
            service_route: Mutex::default(),
            watchers,
            user,
            random: RandomState::new(),
            counter: AtomicU64::new(0),
        }
    }

    /// Is this fault switched on?
    pub fn fault(&self, fault: UeFault) -> bool {
        self.config.faults.contains(&fault)
    }

    /// A random token never returned before by this UE (tags, branches, Call-IDs).
    pub fn token(&self) -> String {
        let mut hasher = self.random.build_hasher();
        hasher.write_u64(self.counter.fetch_add(1, Ordering::Relaxed));
        format!("{:016x}", hasher.finish())
    }

    /// A new Call-ID.
    pub fn call_id(&self) -> String {
        format!("{}@{}", self.token(), self.addr.ip())
    }

    /// The user part of its address-of-record (also its Digest username).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Its contact URI, `sip:user@addr`.
    pub fn contact_uri(&self) -> String {
        format!("sip:{}@{}", self.user, self.addr)
    }

    /// Its Contact header value, `<sip:user@addr>`.
    pub fn contact(&self) -> String {
        format!("<{}>", self.contact_uri())
    }

    /// A request to `uri` outside a dialog as it starts: Via with a new branch, Max-Forwards
    /// 70 and the preloaded Route: the outbound proxy first (RFC 3261 §8.1.2), then the
    /// registration's Service-Route. Returns the builder and the branch.
    pub fn request(&self, method: &str, uri: &str) -> (MessageBuilder, String) {
        let (mut request, branch) = self.in_dialog_request(method, uri);
        for route in self.preloaded_route() {
            request.push_header("Route", route);
        }
        (request, branch)
    }

    /// A request to `uri` inside a dialog as it starts: Via with a new branch and Max-Forwards
    /// 70; its Route headers are the dialog's route set alone (RFC 3261 §12.2.1.1: none when
    /// the route set is empty).
    pub fn in_dialog_request(&self, method: &str, uri: &str) -> (MessageBuilder, String) {
        let branch = format!("z9hG4bK{}", self.token());
        let request = MessageBuilder::request(method, uri)
            .header("Via", format!("SIP/2.0/UDP {};branch={branch}", self.addr))
            .header("Max-Forwards", "70");
        (request, branch)
    }

    /// Sends a datagram; a lost one is as if the network lost it (timers resend requests).
    pub async fn send_to(&self, bytes: &[u8], to: SocketAddr) {
        let _ = self.socket.send_to(bytes, to).await;
    }

    /// Passes `event` to the watcher of `config.watches[watch]`.
    pub fn tell(&self, watch: usize, event: WatchEvent) {
        if let Some(watcher) = self.watchers.get(watch) {
            let _ = watcher.send(event);
        }
    }
}

/// The user part of a SIP URI (`ue` when it has none).
fn user_of(aor: &str) -> String {
    let rest = aor.split_once(':').map_or(aor, |(_, rest)| rest);
    match rest.split_once('@') {
        Some((user, _)) if !user.is_empty() => user.to_string(),
        _ => "ue".to_string(),
    }
}

/// Locks a mutex, taking the value even if a task panicked while holding it.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::user_of;

    #[test]
    fn the_contact_user_is_the_aor_user() {
        assert_eq!(user_of("sip:ue-alice@home1.net"), "ue-alice");
        assert_eq!(user_of("sips:bob@home1.net;transport=tcp"), "bob");
        assert_eq!(user_of("sip:home1.net"), "ue");
        assert_eq!(user_of("sip:@home1.net"), "ue");
    }
}
