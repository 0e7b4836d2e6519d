//! Non-INVITE client transactions over UDP (RFC 3261 §17.1.2): a request goes to the outbound
//! proxy, and again at T1, 2*T1, 4*T1, ... capped at T2 (at T2 once a provisional response came)
//! until a final response arrives or timer F (64*T1) fires. Responses are matched by their top
//! Via branch and CSeq method (§17.1.3) after their top Via was checked to be the UE's own
//! (§18.1.2); a response no transaction waits for, such as a retransmitted final one, is dropped.

use super::shared::{lock, Shared};
use crate::sip::text::leading_value;
use crate::sip::SipMessage;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::{sleep_until, Instant};

/// What identifies a client transaction: the branch of its top Via and its method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ClientKey {
    branch: String,
    method: String,
}

/// The client transactions waiting for responses.
pub(super) type Waiting = HashMap<ClientKey, UnboundedSender<SipMessage>>;

/// One request waiting for its final response. Dropping it ends the transaction.
pub(super) struct ClientTransaction {
    shared: Arc<Shared>,
    key: ClientKey,
    request: Vec<u8>,
    responses: UnboundedReceiver<SipMessage>,
    /// Timer E: the last wait between two sends, and when the next retransmission is due.
    interval: Duration,
    next: Instant,
    t2: Duration,
    /// Timer F.
    give_up: Instant,
}

impl ClientTransaction {
    /// Starts a transaction: `request`, whose top Via has `branch`, goes to the outbound proxy.
    pub async fn start(
        shared: &Arc<Shared>,
        branch: String,
        method: &str,
        request: Vec<u8>,
    ) -> ClientTransaction {
        let key = ClientKey {
            branch,
            method: method.to_string(),
        };
        let (sender, responses) = unbounded_channel();
        lock(&shared.waiting).insert(key.clone(), sender);
        let t1 = shared.config.t1.max(Duration::from_millis(1));
        shared.send_to(&request, shared.config.outbound).await;
        let now = Instant::now();
        ClientTransaction {
            shared: shared.clone(),
            key,
            request,
            responses,
            interval: t1,
            next: now + t1,
            t2: shared.config.t2.max(t1),
            give_up: now + t1.saturating_mul(64),
        }
    }

    /// The final response, or `None` when timer F fires first. Cancel-safe: a `select!` may
    /// drop it and call it again without losing a response or a timer.
    pub async fn outcome(&mut self) -> Option<SipMessage> {
        loop {
            tokio::select! {
                response = self.responses.recv() => match response {
                    Some(response) if response.status().is_some_and(|code| code >= 200) => {
                        return Some(response);
                    }
                    // Proceeding: timer E goes on, at T2 (§17.1.2.2).
                    Some(_) => self.interval = self.t2,
                    None => return None,
                },
                () = sleep_until(self.next) => {
                    self.interval = self.interval.saturating_mul(2).min(self.t2);
                    self.next = Instant::now() + self.interval;
                    self.shared.send_to(&self.request, self.shared.config.outbound).await;
                }
                () = sleep_until(self.give_up) => return None,
            }
        }
    }
}

impl Drop for ClientTransaction {
    fn drop(&mut self) {
        lock(&self.shared.waiting).remove(&self.key);
    }
}

/// The outcome of `transaction` ([`ClientTransaction::outcome`]), or never when there is none:
/// a `select!` branch for an actor that has a transaction in flight only at times.
pub(super) async fn outcome_of(transaction: Option<&mut ClientTransaction>) -> Option<SipMessage> {
    match transaction {
        Some(transaction) => transaction.outcome().await,
        None => std::future::pending().await,
    }
}

/// Passes a response to the transaction waiting for it; drops it when its top Via was not
/// sent by this UE or no transaction waits for it.
pub(super) fn deliver(shared: &Shared, response: SipMessage) {
    let ours = response.header_items("Via").next().is_some_and(|via| {
        leading_value(via)
            .split_ascii_whitespace()
            .last()
            .is_some_and(|sent_by| sent_by.eq_ignore_ascii_case(&shared.addr.to_string()))
    });
    let (Some(branch), Some((_, method))) = (response.top_branch(), response.cseq()) else {
        return;
    };
    let key = ClientKey {
        branch: branch.into_owned(),
        method: method.to_string(),
    };
    if let Some(waiter) = lock(&shared.waiting).get(&key).filter(|_| ours) {
        let _ = waiter.send(response);
    }
}
