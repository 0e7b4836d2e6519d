//! Transactions (RFC 3261 §17): the server side remembers the last response per request so a
//! retransmission is answered again instead of processed again (§17.2.3 matching); the client
//! side routes responses to the request waiting for them (a NOTIFY, or the PNA's SUBSCRIBE) and
//! runs the retransmission timers (Timer E and F, §17.1.2.2).

use super::esc::after;
use super::shared::{lock, Shared};
use super::transport::{self, Transport};
use super::Fault;
use crate::sip::text::parse_params;
use crate::sip::{MessageBuilder, SipMessage};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::{sleep_until, Instant};

/// How many answered server transactions are remembered at most.
const MAX_REMEMBERED: usize = 10_000;
/// Shortest time an answered server transaction is remembered (Timer J with T1 = 500 ms).
const MIN_REMEMBER: Duration = Duration::from_secs(32);

/// A server transaction: top Via branch, top Via sent-by, method (RFC 3261 §17.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ServerKey {
    branch: String,
    sent_by: String,
    method: String,
}

impl ServerKey {
    /// The key of a request, if its top Via has a branch.
    pub fn of(request: &SipMessage) -> Option<ServerKey> {
        Some(ServerKey {
            branch: request.top_branch()?.into_owned(),
            sent_by: top_sent_by(request)?.to_ascii_lowercase(),
            method: request.method()?,
        })
    }
}

/// The sent-by (host and port, as written) of a message's top Via.
pub(super) fn top_sent_by(message: &SipMessage) -> Option<String> {
    let via = message.header_values("Via").into_iter().next()?;
    let value = parse_params(&via).value;
    Some(
        value
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Server transactions answered recently and client transactions waiting for responses.
#[derive(Default)]
pub(super) struct Transactions {
    answered: HashMap<ServerKey, Vec<u8>>,
    order: VecDeque<(Instant, ServerKey)>,
    waiting: HashMap<String, UnboundedSender<SipMessage>>,
}

impl Transactions {
    /// The response already sent for this request, if it is a retransmission.
    pub fn answered(&self, key: &ServerKey) -> Option<Vec<u8>> {
        self.answered.get(key).cloned()
    }

    /// True when a CANCEL with this key matches a request answered here: the same top Via
    /// branch and sent-by, a method other than CANCEL (RFC 3261 §9.2 with §17.2.3).
    pub fn cancel_matches(&self, cancel: &ServerKey) -> bool {
        self.answered.keys().any(|k| {
            k.branch == cancel.branch && k.sent_by == cancel.sent_by && k.method != "CANCEL"
        })
    }

    /// Remembers the response sent for a request; forgets old ones.
    pub fn remember(&mut self, key: ServerKey, response: Vec<u8>, keep: Duration) {
        let now = Instant::now();
        while let Some((at, old)) = self.order.front() {
            if now.duration_since(*at) < keep.max(MIN_REMEMBER) && self.order.len() < MAX_REMEMBERED
            {
                break;
            }
            self.answered.remove(old);
            self.order.pop_front();
        }
        if self.answered.insert(key.clone(), response).is_none() {
            self.order.push_back((now, key));
        }
    }

    /// Passes a response to the client transaction with its branch.
    pub fn on_response(&self, response: &SipMessage) {
        let (Some(_), Some(branch)) = (response.status(), response.top_branch()) else {
            return;
        };
        if let Some(waiter) = self.waiting.get(&*branch) {
            let _ = waiter.send(response.clone());
        }
    }

    fn wait_for(&mut self, branch: &str) -> UnboundedReceiver<SipMessage> {
        let (tx, rx) = unbounded_channel();
        self.waiting.insert(branch.to_string(), tx);
        rx
    }

    fn forget(&mut self, branch: &str) {
        self.waiting.remove(branch);
    }
}

/// Runs a non-INVITE client transaction: sends `request` (whose top Via has `branch`) and waits
/// for a final response. Over UDP the request is retransmitted at T1, 2*T1, ... capped at T2;
/// after a provisional response (Proceeding) timer E still fires when it was due, and each time
/// it fires it is reset to T2 (RFC 3261 §17.1.2.2). Returns the final status code, or `None` when Timer F
/// (64*T1) fires or the request cannot be sent.
pub(super) async fn run_client(
    shared: &Arc<Shared>,
    transport: Transport,
    to: SocketAddr,
    branch: &str,
    request: Vec<u8>,
) -> Option<u16> {
    run_client_response(shared, transport, to, branch, request)
        .await
        .and_then(|response| response.status())
}

/// Like [`run_client`], but returns the whole final response (e.g. a 2xx that establishes a
/// dialog, RFC 3261 §12.1.2).
pub(super) async fn run_client_response(
    shared: &Arc<Shared>,
    transport: Transport,
    to: SocketAddr,
    branch: &str,
    request: Vec<u8>,
) -> Option<SipMessage> {
    let mut responses = lock(&shared.transactions).wait_for(branch);
    let outcome = client_timers(shared, transport, to, request, &mut responses).await;
    lock(&shared.transactions).forget(branch);
    outcome
}

/// A CANCEL for a NOTIFY still unanswered (fault CancelUnansweredNotify): the NOTIFY's
/// Request-URI, top Via, Route, From, To and Call-ID, and its CSeq number (RFC 3261 §9.1).
fn cancel_of_notify(request: &[u8]) -> Option<Vec<u8>> {
    let notify = SipMessage::parse(request).ok()?;
    if notify.method().as_deref() != Some("NOTIFY") {
        return None;
    }
    let mut cancel = MessageBuilder::request("CANCEL", notify.request_uri()?);
    cancel.push_header("Via", notify.header_lines("Via").next()?);
    for route in notify.header_lines("Route") {
        cancel.push_header("Route", route);
    }
    for name in ["From", "To", "Call-ID"] {
        cancel.push_header(name, notify.header(name)?);
    }
    let (number, _) = notify.cseq()?;
    cancel.push_header("CSeq", format!("{number} CANCEL"));
    cancel.push_header("Max-Forwards", "70");
    Some(cancel.build())
}

/// Fault RetransmitAfterFinal: sends `request` on at `next`, the interval doubling up to T2
/// (`schedule`: next firing, interval, T2), until `give_up`, as a client transaction that never
/// took in its final response would.
async fn retransmit_until(
    shared: Arc<Shared>,
    transport: Transport,
    to: SocketAddr,
    request: Vec<u8>,
    schedule: (Instant, Duration, Duration),
    give_up: Instant,
) {
    let (mut next, mut interval, t2) = schedule;
    while next < give_up {
        sleep_until(next).await;
        let _ = transport::send(&shared, transport, to, request.clone()).await;
        interval = interval.saturating_mul(2).min(t2);
        next += interval;
    }
}

async fn client_timers(
    shared: &Arc<Shared>,
    transport: Transport,
    to: SocketAddr,
    request: Vec<u8>,
    responses: &mut UnboundedReceiver<SipMessage>,
) -> Option<SipMessage> {
    let t1 = shared.config.t1.max(Duration::from_millis(1));
    let t2 = shared.config.t2.max(t1);
    let timer_f = if shared.fault(Fault::RetransmitPastTimerF) {
        t1.saturating_mul(64) + t2.saturating_mul(2)
    } else {
        t1.saturating_mul(64)
    };
    let give_up = after(timer_f);
    let retransmit = transport == Transport::Udp && !shared.fault(Fault::NoRetransmissions);
    transport::send(shared, transport, to, request.clone())
        .await
        .ok()?;
    let mut interval = t1;
    let mut next = after(interval);
    loop {
        tokio::select! {
            response = responses.recv() => match response {
                Some(response) if response.status().is_some_and(|code| code >= 200) => {
                    if retransmit && shared.fault(Fault::RetransmitAfterFinal) {
                        tokio::spawn(retransmit_until(shared.clone(), transport, to, request, (next, interval, t2), give_up));
                    }
                    return Some(response)
                }
                Some(_) => {
                    interval = t2;
                    if shared.fault(Fault::ProvisionalResetsTimerE) {
                        next = after(interval);
                    }
                }
                None => return None,
            },
            _ = sleep_until(next), if retransmit => {
                if interval == t1 && shared.fault(Fault::CancelUnansweredNotify) {
                    if let Some(cancel) = cancel_of_notify(&request) {
                        let _ = transport::send(shared, transport, to, cancel).await;
                    }
                }
                let _ = transport::send(shared, transport, to, request.clone()).await;
                interval = interval.saturating_mul(2).min(t2);
                next = after(interval);
            }
            _ = sleep_until(give_up) => return None,
        }
    }
}
