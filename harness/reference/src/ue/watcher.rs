//! One watched address-of-record, as a subscriber (RFC 6665 §4.1, RFC 3856): the SUBSCRIBE that
//! creates the subscription, refreshes in its dialog before the granted interval ends
//! (§4.1.2.2), a shorter interval when a NOTIFY's Subscription-State gives one, a retry with
//! the Min-Expires after 423, the unsubscribe when the user quits (§4.1.2.3), and a new
//! subscription after a NOTIFY ended one when its reason asks for it (§4.1.3). One SUBSCRIBE is
//! in flight at a time; what is due meanwhile waits for its answer.

use super::client::{outcome_of, ClientTransaction};
use super::dialog::Dialog;
use super::shared::{lock, Shared};
use super::timing::{
    after, after_423, at, earliest, refresh_delay, resubscribe_after, MAX_RETRIES,
};
use super::UeFault;
use crate::sip::{SipMessage, SubscriptionState};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// What a watcher is told.
pub(super) enum WatchEvent {
    /// Subscribe: the first event a watcher gets, at start-up; `done` once the SUBSCRIBE is
    /// sent.
    Subscribe(oneshot::Sender<()>),
    /// A NOTIFY of dialog `dialog` was accepted, with this Subscription-State.
    Notified {
        /// The dialog's number.
        dialog: u64,
        /// The NOTIFY's Subscription-State.
        state: SubscriptionState,
    },
    /// The user quits: unsubscribe; `done` once the SUBSCRIBE is sent or queued.
    Stop(oneshot::Sender<()>),
}

/// The SUBSCRIBE in flight.
struct Pending {
    transaction: ClientTransaction,
    dialog: u64,
    expires: u64,
    /// The SUBSCRIBE that creates the subscription (or its retry after 423).
    initial: bool,
    /// How many times in a row it was retried after 423.
    retries: u32,
}

/// The subscription to one watched address-of-record and the task that keeps it.
pub(super) struct Watcher {
    shared: Arc<Shared>,
    /// Its index in the config's `watches`.
    watch: usize,
    events: UnboundedReceiver<WatchEvent>,
    /// The Expires it asks for (raised by a 423).
    expires: u64,
    /// The dialog of the current subscription.
    current: Option<u64>,
    refresh_at: Option<Instant>,
    resubscribe_at: Option<Instant>,
    pending: Option<Pending>,
    /// The user quit: no refresh, no new subscription.
    stopped: bool,
}

impl Watcher {
    /// The watcher of `config.watches[watch]`, told what happens through `events`.
    pub fn new(
        shared: Arc<Shared>,
        watch: usize,
        events: UnboundedReceiver<WatchEvent>,
    ) -> Watcher {
        Watcher {
            expires: shared.config.subscribe_expires,
            shared,
            watch,
            events,
            current: None,
            refresh_at: None,
            resubscribe_at: None,
            pending: None,
            stopped: false,
        }
    }

    /// Runs until the UE's tasks are ended.
    pub async fn run(mut self) {
        loop {
            tokio::select! {
                event = self.events.recv() => match event {
                    None => return,
                    Some(WatchEvent::Subscribe(done)) => {
                        self.subscribe_anew().await;
                        let _ = done.send(());
                    }
                    Some(WatchEvent::Notified { dialog, state }) => self.notified(dialog, &state),
                    Some(WatchEvent::Stop(done)) => {
                        self.stop().await;
                        let _ = done.send(());
                    }
                },
                response = outcome_of(self.pending.as_mut().map(|p| &mut p.transaction)) => {
                    if let Some(pending) = self.pending.take() {
                        self.settle(pending, response).await;
                    }
                }
                () = at(self.refresh_at), if self.pending.is_none() => {
                    self.refresh_at = None;
                    if let Some(id) = self.current {
                        self.send(id, self.expires, 0, false).await;
                    }
                }
                () = at(self.resubscribe_at), if self.pending.is_none() => {
                    self.resubscribe_at = None;
                    self.subscribe_anew().await;
                }
            }
        }
    }

    /// A new subscription: a new dialog (Call-ID, tag) and its initial SUBSCRIBE.
    async fn subscribe_anew(&mut self) {
        if self.stopped {
            return;
        }
        let aor = &self.shared.config.watches[self.watch];
        let dialog = Dialog::new(&self.shared, self.watch, aor);
        let id = lock(&self.shared.dialogs).insert(dialog);
        self.current = Some(id);
        self.refresh_at = None;
        self.send(id, self.expires, 0, true).await;
    }

    /// What a NOTIFY of the current subscription says: `terminated` ends it and maybe starts a
    /// new one after a while (RFC 6665 §4.1.3); an `expires` shorter than the time left brings
    /// the refresh forward.
    fn notified(&mut self, dialog: u64, state: &SubscriptionState) {
        if self.current != Some(dialog) || self.stopped {
            return;
        }
        let faults = &self.shared.config.faults;
        if state.state == "terminated" {
            self.current = None;
            self.refresh_at = None;
            let wait = resubscribe_after(state.reason.as_deref(), state.retry_after, faults);
            self.resubscribe_at = wait.map(after);
        } else {
            let due = state
                .expires
                .and_then(|expires| refresh_delay(expires, faults));
            self.refresh_at = earliest(self.refresh_at, due.map(after));
        }
    }

    /// The user quits: no more refreshes or new subscriptions, and the subscription ends with
    /// Expires 0 (RFC 6665 §4.1.2.3), at once or when the SUBSCRIBE in flight is answered.
    async fn stop(&mut self) {
        self.stopped = true;
        self.refresh_at = None;
        self.resubscribe_at = None;
        if self.pending.is_none() {
            self.unsubscribe().await;
        }
    }

    /// Sends SUBSCRIBE with Expires 0 in the current dialog.
    async fn unsubscribe(&mut self) {
        if let Some(id) = self
            .current
            .filter(|_| !self.shared.fault(UeFault::NoUnsubscribe))
        {
            self.send(id, 0, 0, false).await;
        }
    }

    /// What the final response to a SUBSCRIBE (`None`: timer F fired) means.
    async fn settle(&mut self, pending: Pending, response: Option<SipMessage>) {
        let Pending {
            dialog: id,
            expires,
            initial,
            retries,
            ..
        } = pending;
        let status = response.as_ref().and_then(SipMessage::status);
        match (status, response) {
            (Some(200..=299), Some(ok)) => self.accepted(id, expires, &ok).await,
            (Some(423), Some(response)) if expires > 0 && retries < MAX_RETRIES => {
                let min = response.header_u64("Min-Expires");
                match after_423(expires, min, &self.shared.config.faults) {
                    Some(longer) => {
                        self.expires = longer;
                        self.send(id, longer, retries + 1, initial).await;
                    }
                    None => self.failed(id, initial, status),
                }
            }
            _ => self.failed(id, initial, status),
        }
    }

    /// A 2xx: the dialog is established (unless a NOTIFY ended it meanwhile) and the refresh
    /// set from the interval granted (the response's Expires, else the one asked for), or
    /// earlier if a NOTIFY asked for that. If the
    /// user quit while it was in flight, the unsubscribe goes now.
    async fn accepted(&mut self, id: u64, expires: u64, ok: &SipMessage) {
        match lock(&self.shared.dialogs).get_mut(id) {
            Some(dialog) => dialog.on_success(ok, self.shared.fault(UeFault::IgnoresRecordRoute)),
            None => return,
        }
        if expires == 0 || self.current != Some(id) {
            return;
        }
        if self.stopped {
            return self.unsubscribe().await;
        }
        // A NOTIFY handled while the SUBSCRIBE was in flight may have asked for an earlier one.
        let granted = ok.header_u64("Expires").unwrap_or(expires);
        let due = refresh_delay(granted, &self.shared.config.faults);
        self.refresh_at = earliest(self.refresh_at, due.map(after));
    }

    /// A SUBSCRIBE failed with `status` (`None`: timer F fired). A failed initial SUBSCRIBE
    /// leaves no subscription (RFC 6665 §4.1.2.1); a 481, a 408 or no answer at all ends the
    /// dialog (§4.1.2.2, RFC 3261 §12.2.1.2); after another failure of a refresh the
    /// subscription lasts what was last granted, without further refreshes.
    fn failed(&mut self, id: u64, initial: bool, status: Option<u16>) {
        let ended = initial || matches!(status, None | Some(408) | Some(481));
        if ended {
            lock(&self.shared.dialogs).remove(id);
        }
        if self.current == Some(id) {
            self.refresh_at = None;
            if ended {
                self.current = None;
            }
        }
    }

    /// Sends the next SUBSCRIBE of dialog `id` (if it still exists) as a new transaction.
    async fn send(&mut self, id: u64, expires: u64, retries: u32, initial: bool) {
        let shared = self.shared.clone();
        let built = lock(&shared.dialogs)
            .get_mut(id)
            .map(|dialog| dialog.subscribe(&shared, expires));
        let Some((request, branch)) = built else {
            return;
        };
        let transaction = ClientTransaction::start(&shared, branch, "SUBSCRIBE", request).await;
        self.pending = Some(Pending {
            transaction,
            dialog: id,
            expires,
            initial,
            retries,
        });
    }
}
