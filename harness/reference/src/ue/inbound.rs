//! What comes in on the UE's socket. Responses go to their client transactions; requests are
//! answered as a UAS (RFC 3261 §8.2), to the address they came from: NOTIFY as a subscriber
//! (RFC 6665 §4.1.3), OPTIONS with 200 (§11.2), CANCEL with 481 (it has no INVITE to cancel,
//! §9.2), ACK with nothing, any other method with 405. A retransmitted request gets the first
//! answer again without being handled twice (§17.2.3). Datagrams that do not read as SIP, and
//! requests without the headers a response copies, are dropped.

use super::client;
use super::notify;
use super::shared::{lock, Shared};
use super::UeFault;
use crate::sip::text::leading_value;
use crate::sip::{MessageBuilder, SipMessage};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

/// The methods the UE handles as a UAS, for Allow.
const ALLOW: &str = "NOTIFY, OPTIONS";
/// How long the UE waits before it answers a NOTIFY under fault `ue-notify-late`.
const NOTIFY_LATE: std::time::Duration = std::time::Duration::from_secs(3);
/// How many answered requests are remembered for their retransmissions.
const REMEMBERED: usize = 256;

/// Reads datagrams until the UE's tasks are ended.
pub(super) async fn receive_loop(shared: Arc<Shared>) {
    let mut buffer = vec![0u8; 65_535];
    let mut answered = Answered::default();
    loop {
        let Ok((length, from)) = shared.socket.recv_from(&mut buffer).await else {
            continue;
        };
        let Ok(message) = SipMessage::parse(&buffer[..length]) else {
            continue;
        };
        if message.is_request() {
            serve(&shared, &mut answered, &message, from).await;
        } else {
            let ignore = shared.fault(UeFault::IgnoresRecordRoute);
            lock(&shared.dialogs).on_response(&message, ignore);
            client::deliver(&shared, message);
        }
    }
}

/// A server transaction: top Via branch, top Via sent-by, method (RFC 3261 §17.2.3).
type ServerKey = (String, String, String);

/// The key of a request that can be answered: one with a top Via branch, From, To, Call-ID
/// and CSeq.
fn server_key(request: &SipMessage) -> Option<ServerKey> {
    let via = request.header_items("Via").next()?;
    let sent_by = leading_value(via).split_ascii_whitespace().last()?;
    let complete = ["From", "To", "Call-ID", "CSeq"]
        .iter()
        .all(|name| request.header(name).is_some());
    if !complete {
        return None;
    }
    Some((
        request.top_branch()?.into_owned(),
        sent_by.to_ascii_lowercase(),
        request.method()?,
    ))
}

/// Requests answered lately, with the response sent (`None`: left unanswered on purpose).
#[derive(Default)]
struct Answered {
    responses: HashMap<ServerKey, Option<Vec<u8>>>,
    order: VecDeque<ServerKey>,
}

impl Answered {
    fn remember(&mut self, key: ServerKey, response: Option<Vec<u8>>) {
        if self.order.len() >= REMEMBERED {
            if let Some(oldest) = self.order.pop_front() {
                self.responses.remove(&oldest);
            }
        }
        self.order.push_back(key.clone());
        self.responses.insert(key, response);
    }
}

/// Answers one request from `from`.
async fn serve(shared: &Shared, answered: &mut Answered, request: &SipMessage, from: SocketAddr) {
    let Some(key) = server_key(request) else {
        return;
    };
    if let Some(previous) = answered.responses.get(&key) {
        if let Some(response) = previous {
            shared.send_to(response, from).await;
        }
        return;
    }
    let method = key.2.as_str();
    let (response, news) = match method {
        "ACK" => return,
        "NOTIFY" => {
            let answer = notify::answer(shared, request);
            let mut response = reply(shared, request, answer.code);
            if answer.code == 200 {
                response.push_header("Contact", shared.contact());
            }
            (response, answer.news)
        }
        "OPTIONS" => {
            let response = reply(shared, request, 200)
                .header("Allow", ALLOW)
                .header("Accept", super::pidf::PIDF_TYPE);
            (response, None)
        }
        "CANCEL" => (reply(shared, request, 481), None),
        _ => (reply(shared, request, 405).header("Allow", ALLOW), None),
    };
    let silent = method == "NOTIFY" && shared.fault(UeFault::NotifyUnanswered);
    if method == "NOTIFY" && shared.fault(UeFault::NotifyLate) {
        // As a UE that asks its user first: nothing else is read meanwhile.
        tokio::time::sleep(NOTIFY_LATE).await;
    }
    let response = (!silent).then(|| response.build());
    if let Some(response) = &response {
        shared.send_to(response, from).await;
    }
    answered.remember(key, response);
    if let Some((watch, event)) = news {
        shared.tell(watch, event);
    }
}

/// A response to `request`, with a To tag of the UE's when the request's To has none
/// (RFC 3261 §8.2.6.2).
fn reply(shared: &Shared, request: &SipMessage, code: u16) -> MessageBuilder {
    let tag = request.to_tag().is_none().then(|| shared.token());
    MessageBuilder::response_to(request, code, tag.as_deref())
}
