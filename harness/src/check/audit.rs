//! The message rules ([`rules`]) on a whole flow run: every SIP message and XCAP response the
//! SUT sent (the trace's received entries) is checked, whatever the flow's steps ask. The harness's own
//! requests in the trace give the rules their context: the request a response answers, the
//! Event and Accept of the SUBSCRIBE a NOTIFY belongs to.

use super::rules::{self, RuleFailure, RuleSink, SentRequest, Subscribed};
use crate::net::http;
use crate::net::trace::{Direction, TraceEntry};
use crate::net::Transport;
use crate::sip::text::list_items;
use crate::sip::typed::uri_of;
use crate::sip::SipMessage;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Failures of one rule shown one by one in a run; more are counted.
pub const FAILURES_SHOWN: usize = 5;

/// One message that broke a rule.
#[derive(Debug, Clone)]
pub struct Broken {
    /// Trace sequence number of the message.
    pub message: usize,
    /// Its one-line summary.
    pub summary: String,
    /// What the rule expected and what the message had.
    pub failure: RuleFailure,
}

/// What one rule found over a run.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Messages the rule held on.
    pub held: usize,
    /// The first [`FAILURES_SHOWN`] messages that broke it.
    pub broken: Vec<Broken>,
    /// How many broke it in all.
    pub broken_count: usize,
}

/// A request the harness sent, kept to judge the SUT's answers to it.
#[derive(Debug)]
struct Sent {
    method: String,
    from_uri: String,
    from_tag: String,
    call_id: String,
    cseq: u32,
    branches: Vec<String>,
    creates_dialog: bool,
    record_routes: Vec<String>,
    to_uri: String,
    to_tag: Option<String>,
    /// How often the harness sent it (a retransmission or a `resend` adds one).
    copies: u32,
    /// How many final responses the SUT sent to it.
    finals: u32,
    /// The To tag of the SUT's first response to it other than a 100 (`Some(None)`: no tag).
    answer_tag: Option<Option<String>>,
    /// Its Request-URI.
    request_uri: String,
    /// Its Accept-Encoding, if it had one.
    accept_encoding: Option<String>,
    /// Its Timestamp value, and when it went (microseconds into the run).
    timestamp: Option<String>,
    sent_at_us: u64,
    /// It went over UDP, where the harness retransmits it (RFC 3261 §17.1.2).
    over_udp: bool,
    /// Over TCP or TLS: the node it left from, the SUT address its connection goes to, the transport.
    connection: Option<(String, String, Transport)>,
    /// What followed the SUT's first provisional response to it, if one came.
    proceeding: Option<Proceeding>,
}

/// A request of the harness after the SUT's first provisional response to it (the SUT's server
/// transaction is then in Proceeding, RFC 3261 §17.2.2).
#[derive(Debug)]
struct Proceeding {
    /// The provisional response: its sequence number and summary.
    message: usize,
    summary: String,
    /// When the harness sent each copy of the request since (microseconds into the run).
    copies: Vec<u64>,
    /// Responses the SUT sent since.
    responses: u32,
    /// When the first final response among them came.
    finished_at: Option<u64>,
}

/// How long before the final response a copy of the request may have left without being owed
/// an answer in the trace: it crossed the final response, and the SUT's answer to it (the
/// final again, from Completed) may come after the run ends.
const CROSSING_US: u64 = 100_000;

/// The media types a subscription accepts and its event package.
#[derive(Debug)]
struct Subscription {
    event: String,
    accept: Vec<String>,
    /// The SUBSCRIBE's From and To URIs.
    subscriber: String,
    resource: String,
    /// The SUBSCRIBE's From carried a tag.
    subscriber_tagged: bool,
    /// A NOTIFY of it came already, or it was made in an existing dialog: the next NOTIFY
    /// creates no dialog.
    in_dialog: bool,
}

/// The types a SUBSCRIBE without Accept asks for, by package (RFC 3856 §6.7, RFC 3857 §4.7,
/// RFC 3680 §5.7, RFC 6665 §4.1.2: the package's default).
fn default_accept(event: &str) -> Option<&'static str> {
    match event {
        "presence" => Some("application/pidf+xml"),
        "presence.winfo" => Some("application/watcherinfo+xml"),
        "reg" => Some("application/reginfo+xml"),
        _ => None,
    }
}

/// How long after the harness's final response to a request of the SUT a copy of it may still
/// come: one the SUT sent before it took in the response. A copy later than this shows a client
/// transaction that did not enter Completed (RFC 3261 §17.1.2.2).
pub const COMPLETED_GRACE_MS: u64 = 1000;

/// Runs the rules over `trace`; rules named in `exempt` are left out. Keyed by rule.
pub fn audit(
    trace: &[TraceEntry],
    exempt: &[String],
    closed: &[ClosedConnection],
) -> BTreeMap<&'static str, Tally> {
    let mut auditor = Auditor {
        closed,
        ..Auditor::default()
    };
    for entry in trace {
        let raw = entry.raw();
        let Ok(msg) = SipMessage::parse(&raw) else {
            // Not SIP: an XCAP exchange, or an unreadable message (the syntax check's,
            // rfc3261-message-syntax).
            auditor.xcap(entry, &raw);
            continue;
        };
        match entry.direction {
            Direction::Sent if msg.is_request() => auditor.remember(&msg, entry),
            Direction::Sent => auditor.answered(&msg, entry),
            Direction::Received => auditor.judge(&msg, entry),
            Direction::Internal => {}
        }
    }
    auditor.judge_allows();
    auditor.judge_completed();
    auditor.judge_proceeding();
    auditor
        .tallies
        .retain(|key, _| !exempt.iter().any(|e| e == key));
    auditor.tallies
}

/// A TCP connection a node of the harness opened and the SUT closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedConnection {
    /// The node's name.
    pub node: String,
    /// The SUT's address at the other end.
    pub peer: String,
    /// When the node saw it close (microseconds into the run).
    pub at_us: u64,
}

#[derive(Default)]
struct Auditor<'a> {
    /// The connections of the harness's nodes that the SUT closed.
    closed: &'a [ClosedConnection],
    sent: HashMap<(String, String), Sent>,
    /// The method and target of the XCAP request last sent on each connection (local and
    /// remote address): the next response on it answers that request.
    xcap_sent: HashMap<(String, String), (String, String)>,
    subscriptions: HashMap<String, Subscription>,
    /// The Call-IDs of every SUBSCRIBE and REFER the harness sent, with or without Event.
    subscribing_call_ids: BTreeSet<String>,
    /// The Call-ID and CSeq of the first request of the SUT with each top Via branch, and
    /// what it carried.
    branches: HashMap<String, ((String, String), Content)>,
    tallies: BTreeMap<&'static str, Tally>,
    /// The SUT's PUBLISH awaiting its final response, by Request-URI: its top Via branch and
    /// when it came (microseconds into the run).
    publishing: HashMap<String, (String, u64)>,
    /// The methods the SUT answered with a 2xx in the run: methods it understands.
    understood: BTreeSet<String>,
    /// Each SUT message with an Allow: its sequence number, summary and the methods listed.
    allows: Vec<(usize, String, Vec<String>)>,
    /// The SUT's requests the harness gave a final response (RFC 3261 §17.1.2.2).
    completed: Completed,
}

/// The SUT's requests the harness answered with a final response, by top Via branch and method:
/// when that response went (microseconds into the run), and the first copy of the request that
/// came later than [`COMPLETED_GRACE_MS`] after it (sequence number, summary, milliseconds after
/// the response).
type Completed = BTreeMap<(String, String), (u64, Option<(usize, String, u64)>)>;

/// How much later than a response on another connection the closure of the request's
/// connection may be noted: two reader tasks see the two events.
const CLOSURE_SLACK_US: u64 = 100_000;

/// How long after a PUBLISH without a final response the SUT may send the next one: its
/// transaction has timed out (timer F, 64*T1, with RFC 3261's default T1 of 500 ms).
const PUBLISH_TIMEOUT_US: u64 = 64 * 500_000;

impl Auditor<'_> {
    /// A final response of the harness to a request of the SUT completes its transaction, and
    /// for a PUBLISH ends the wait for it.
    fn answered(&mut self, response: &SipMessage, entry: &TraceEntry) {
        let is_final = response.status().is_some_and(|s| s >= 200);
        let (Some(branch), Some((_, method))) = (response.top_branch(), response.cseq()) else {
            return;
        };
        if !is_final {
            return;
        }
        if method == "PUBLISH" {
            self.publishing.retain(|_, (b, _)| *b != branch);
        }
        self.completed
            .entry((branch.into_owned(), method.to_string()))
            .or_insert((entry.at_us, None));
    }

    /// RFC 3261 §17.1.2.2 once the run is over: no request the harness answered came again
    /// later than the grace.
    fn judge_completed(&mut self) {
        for (_, (_, late)) in std::mem::take(&mut self.completed) {
            let (message, summary, after) = match late {
                Some((seq, summary, after)) => (seq, summary, Some(after)),
                None => (0, String::new(), None),
            };
            let mut sink = TallySink {
                tallies: &mut self.tallies,
                message,
                summary,
            };
            rules::check_request_completed(after, COMPLETED_GRACE_MS, &mut sink);
        }
    }

    /// RFC 3261 §17.2.2 once the run is over: every copy of a request the SUT answered with a
    /// provisional response got a response.
    fn judge_proceeding(&mut self) {
        let mut answered: Vec<Proceeding> = self
            .sent
            .values_mut()
            .filter_map(|sent| sent.proceeding.take())
            .collect();
        answered.sort_by_key(|proceeding| proceeding.message);
        for proceeding in answered {
            let mut sink = TallySink {
                tallies: &mut self.tallies,
                message: proceeding.message,
                summary: proceeding.summary,
            };
            // Copies that crossed the final response are not counted.
            let owed = proceeding
                .copies
                .iter()
                .filter(|&&at| {
                    proceeding
                        .finished_at
                        .is_none_or(|end| at + CROSSING_US <= end || at > end)
                })
                .count();
            rules::check_proceeding_answers_copies(
                u32::try_from(owed).unwrap_or(u32::MAX),
                proceeding.responses,
                proceeding.finished_at.is_some(),
                &mut sink,
            );
        }
    }

    /// Keeps what the SUT's answers to a request of the harness are judged against.
    fn remember(&mut self, msg: &SipMessage, entry: &TraceEntry) {
        let (Some(method), Some(top)) = (msg.method(), msg.top_branch()) else {
            return;
        };
        if !msg.is_request() {
            return;
        }
        let key = (top.into_owned(), method.clone());
        if let Some(earlier) = self.sent.get_mut(&key) {
            // A copy: a retransmission, or a `resend`.
            earlier.copies += 1;
            if let Some(proceeding) = &mut earlier.proceeding {
                proceeding.copies.push(entry.at_us);
            }
            return;
        }
        let branches = rules::via_branches(msg)
            .into_iter()
            .flatten()
            .map(Cow::into_owned)
            .collect();
        let creates_dialog = method == "SUBSCRIBE" && msg.to_tag().is_none();
        if let ("SUBSCRIBE" | "REFER", Some(call_id)) = (method.as_str(), msg.call_id()) {
            self.subscribing_call_ids.insert(call_id.to_string());
        }
        if method == "SUBSCRIBE" {
            if let (Some(call_id), Some(event)) = (msg.call_id(), msg.event()) {
                let accept: Vec<String> = match msg.header("Accept") {
                    Some(_) => msg.tokens("Accept"),
                    None => default_accept(&event.package)
                        .map(str::to_string)
                        .into_iter()
                        .collect(),
                };
                self.subscriptions.insert(
                    call_id.to_string(),
                    Subscription {
                        event: event.package,
                        accept,
                        subscriber: msg.header("From").map(uri_of).unwrap_or_default(),
                        resource: msg.header("To").map(uri_of).unwrap_or_default(),
                        subscriber_tagged: msg.from_tag().is_some(),
                        in_dialog: msg.to_tag().is_some(),
                    },
                );
            }
        }
        let sent = Sent {
            from_uri: msg.header("From").map(uri_of).unwrap_or_default(),
            from_tag: msg.from_tag().unwrap_or_default().into_owned(),
            call_id: msg.call_id().unwrap_or_default().to_string(),
            cseq: msg.cseq().map_or(0, |(n, _)| n),
            method: method.clone(),
            branches,
            creates_dialog,
            record_routes: msg.header_values("Record-Route"),
            to_uri: msg.header("To").map(uri_of).unwrap_or_default(),
            to_tag: msg.to_tag().map(Cow::into_owned),
            copies: 1,
            finals: 0,
            answer_tag: None,
            request_uri: msg.request_uri().unwrap_or_default().to_string(),
            accept_encoding: (msg.header("Accept-Encoding").is_some())
                .then(|| msg.header_values("Accept-Encoding").join(", ")),
            timestamp: msg.header("Timestamp").map(str::to_string),
            sent_at_us: entry.at_us,
            over_udp: entry.transport == Transport::Udp,
            connection: entry.transport.is_stream().then(|| {
                (
                    entry.from_node.clone(),
                    entry.to_addr.clone(),
                    entry.transport,
                )
            }),
            proceeding: None,
        };
        self.sent.insert(key, sent);
    }

    /// An XCAP request of the harness is kept by connection; the SUT's response on that
    /// connection is judged against it.
    fn xcap(&mut self, entry: &TraceEntry, raw: &[u8]) {
        match entry.direction {
            Direction::Sent => {
                if let Some(request) = http::recorded_request_line(raw) {
                    let connection = (entry.from_addr.clone(), entry.to_addr.clone());
                    self.xcap_sent.insert(connection, request);
                }
            }
            Direction::Received => {
                let connection = (entry.to_addr.clone(), entry.from_addr.clone());
                let Some((method, target)) = self.xcap_sent.remove(&connection) else {
                    return;
                };
                let Some(response) = http::recorded_response(raw) else {
                    return;
                };
                let mut sink = TallySink {
                    tallies: &mut self.tallies,
                    message: entry.seq,
                    summary: format!("{} (XCAP {method})", response.summary()),
                };
                let over_tls = entry.transport == Transport::Tls;
                rules::check_xcap_response(&method, &target, &response, over_tls, &mut sink);
            }
            Direction::Internal => {}
        }
    }

    /// RFC 3261 §20.5 once the run is over: each Allow the SUT sent lists every method it
    /// answered with a 2xx, wherever in the run.
    fn judge_allows(&mut self) {
        for (message, summary, allowed) in std::mem::take(&mut self.allows) {
            let mut sink = TallySink {
                tallies: &mut self.tallies,
                message,
                summary,
            };
            rules::check_allow_complete(&allowed, &self.understood, &mut sink);
        }
    }

    /// Applies the rules to one message from the SUT (`entry` says how it came).
    fn judge(&mut self, msg: &SipMessage, entry: &TraceEntry) {
        let seq = entry.seq;
        let summary = msg.summary();
        if msg.header("Allow").is_some() {
            // Method names are case-sensitive (RFC 3261 §7.1): taken as written.
            let allowed = msg
                .header_lines("Allow")
                .flat_map(list_items)
                .map(str::to_string)
                .collect();
            self.allows.push((seq, summary.clone(), allowed));
        }
        let mut sink = TallySink {
            tallies: &mut self.tallies,
            message: seq,
            summary,
        };
        rules::check_option_tags(msg, &mut sink);
        rules::check_coding_order(msg, &mut sink);
        if entry.transport == Transport::Udp {
            rules::check_datagram_length(msg, &mut sink);
        }
        if msg.is_request() {
            rules::check_request(msg, &mut sink);
            // A request of an earlier request's transaction (its branch, Call-ID and CSeq, as
            // RFC 3261 §17.2.3 matches a server transaction) with the same body and
            // Content-Type is a retransmission, even when a header such as Date differs: it was
            // judged against the subscription as it was when the original came.
            let mut retransmission = false;
            if let Some(branch) = msg.top_branch() {
                let identity = || {
                    let call_id = msg.call_id().unwrap_or_default().to_string();
                    (call_id, msg.header("CSeq").unwrap_or_default().to_string())
                };
                let content = || Content::of(msg);
                match self.branches.get(branch.as_ref()) {
                    Some(((call_id, cseq), original)) => {
                        retransmission =
                            (call_id.clone(), cseq.clone()) == identity() && *original == content();
                        if retransmission {
                            note_copy(&mut self.completed, msg, entry, &sink.summary);
                        }
                        if msg.method().as_deref() == Some("CANCEL") {
                            rules::check_cancel_target(cseq, &mut sink);
                        }
                        rules::check_branch_reuse((call_id, cseq), msg, &mut sink)
                    }
                    None => {
                        self.branches
                            .insert(branch.into_owned(), (identity(), content()));
                    }
                }
            }
            rules::check_request_transport(msg, entry.transport.name(), &mut sink);
            match msg.method().as_deref() {
                Some("NOTIFY") if retransmission => {}
                Some("NOTIFY") => {
                    let call_id = msg.call_id().unwrap_or_default();
                    let subscribed = self.subscribing_call_ids.contains(call_id);
                    rules::check_notify_subscribed(call_id, subscribed, &mut sink);
                    let subscription = msg.call_id().and_then(|c| self.subscriptions.get_mut(c));
                    if let Some(subscription) = subscription {
                        let accept: Vec<&str> =
                            subscription.accept.iter().map(String::as_str).collect();
                        let subscribed = Subscribed {
                            event: &subscription.event,
                            accept: &accept,
                            first_notify: !subscription.in_dialog,
                            subscriber: &subscription.subscriber,
                            resource: &subscription.resource,
                            subscriber_tagged: subscription.subscriber_tagged,
                        };
                        rules::check_notify(&subscribed, msg, &mut sink);
                        subscription.in_dialog = true;
                    }
                }
                Some("SUBSCRIBE") => rules::check_subscribe(msg, &mut sink),
                Some("PUBLISH") if !retransmission => {
                    publish_after_answer(&mut self.publishing, msg, entry.at_us, &mut sink)
                }
                _ => {}
            }
            return;
        }
        let key = msg.top_branch().map(Cow::into_owned).zip(msg.method());
        let Some(sent) = key.and_then(|key| self.sent.get_mut(&key)) else {
            // A response to no request of ours: nothing to compare it with.
            return;
        };
        let status = msg.status().unwrap_or(0);
        if (200..300).contains(&status) {
            self.understood.insert(sent.method.clone());
        }
        if status != 100 {
            let tag = msg.to_tag().map(Cow::into_owned);
            let first = sent.answer_tag.get_or_insert_with(|| tag.clone());
            rules::check_same_response_tag(first.as_deref(), tag.as_deref(), &mut sink);
        }
        if let Some((node, peer, transport)) = &sent.connection {
            let same =
                entry.transport == *transport && entry.to_node == *node && entry.from_addr == *peer;
            // Closed after the request went and (give or take the slack between the two
            // readers that saw it) before the response came.
            let closed_before = self.closed.iter().any(|c| {
                c.node == *node
                    && c.peer == *peer
                    && c.at_us >= sent.sent_at_us
                    && c.at_us <= entry.at_us + CLOSURE_SLACK_US
            });
            rules::check_response_connection(
                same || closed_before,
                peer,
                &entry.from_addr,
                &mut sink,
            );
        }
        rules::check_sip_scheme(&sent.request_uri, status, &mut sink);
        rules::check_coding_accepted(sent.accept_encoding.as_deref(), msg, &mut sink);
        if let (100, Some(timestamp)) = (status, &sent.timestamp) {
            let waited = entry.at_us.saturating_sub(sent.sent_at_us) as f64 / 1e6;
            rules::check_trying_timestamp(timestamp, msg.header("Timestamp"), waited, &mut sink);
        }
        if sent.method != "INVITE" {
            match &mut sent.proceeding {
                Some(proceeding) => {
                    proceeding.responses += 1;
                    if status >= 200 && proceeding.finished_at.is_none() {
                        proceeding.finished_at = Some(entry.at_us);
                    }
                }
                None if sent.over_udp && (100..200).contains(&status) => {
                    sent.proceeding = Some(Proceeding {
                        message: seq,
                        summary: sink.summary.clone(),
                        copies: Vec::new(),
                        responses: 0,
                        finished_at: None,
                    });
                }
                None => {}
            }
            rules::check_no_provisional(status, &mut sink);
            if status >= 200 {
                sent.finals += 1;
                rules::check_finals_prompted(sent.finals, sent.copies, &mut sink);
            }
        }
        let branches: Vec<&str> = sent.branches.iter().map(String::as_str).collect();
        let record_routes: Vec<&str> = sent.record_routes.iter().map(String::as_str).collect();
        let request = SentRequest {
            method: &sent.method,
            from_uri: &sent.from_uri,
            from_tag: &sent.from_tag,
            call_id: &sent.call_id,
            cseq: sent.cseq,
            branches: &branches,
            creates_dialog: sent.creates_dialog,
            record_routes: &record_routes,
            to_uri: &sent.to_uri,
            to_tag: sent.to_tag.as_deref(),
        };
        rules::check_response(&request, msg, &mut sink);
    }
}

/// A copy of a request of the SUT: late when it came more than the grace after the
/// harness's final response to it.
fn note_copy(completed: &mut Completed, msg: &SipMessage, entry: &TraceEntry, summary: &str) {
    let (Some(branch), Some(method)) = (msg.top_branch(), msg.method()) else {
        return;
    };
    let Some((answered_at, late)) = completed.get_mut(&(branch.into_owned(), method)) else {
        return;
    };
    let after_ms = entry.at_us.saturating_sub(*answered_at) / 1000;
    if late.is_none() && after_ms > COMPLETED_GRACE_MS {
        *late = Some((entry.seq, summary.to_string(), after_ms));
    }
}

/// RFC 3903 §4 on a new PUBLISH of the SUT: the previous one for its Request-URI (in
/// `publishing`) must have its final response, or have timed out.
fn publish_after_answer(
    publishing: &mut HashMap<String, (String, u64)>,
    msg: &SipMessage,
    at_us: u64,
    sink: &mut TallySink<'_>,
) {
    let (Some(uri), Some(branch)) = (msg.request_uri(), msg.top_branch()) else {
        return;
    };
    let earlier = publishing
        .get(uri)
        .filter(|(b, since)| *b != branch && at_us < since + PUBLISH_TIMEOUT_US)
        .map(|(b, _)| b.clone());
    rules::check_publish_outstanding(earlier.as_deref(), sink);
    publishing.insert(uri.to_string(), (branch.into_owned(), at_us));
}

/// What a request carries, to tell a retransmission from another request with the same
/// branch: its Content-Type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Content {
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Content {
    fn of(msg: &SipMessage) -> Content {
        Content {
            content_type: msg.header("Content-Type").map(str::to_string),
            body: msg.body.clone(),
        }
    }
}

/// Counts the outcomes of the rules applied to one message.
struct TallySink<'a> {
    tallies: &'a mut BTreeMap<&'static str, Tally>,
    message: usize,
    summary: String,
}

impl RuleSink for TallySink<'_> {
    fn outcome(&mut self, key: &'static str, failure: Option<RuleFailure>) {
        let tally = self.tallies.entry(key).or_default();
        match failure {
            None => tally.held += 1,
            Some(failure) => {
                tally.broken_count += 1;
                if tally.broken.len() < FAILURES_SHOWN {
                    tally.broken.push(Broken {
                        message: self.message,
                        summary: self.summary.clone(),
                        failure,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Transport;

    fn entry(seq: usize, direction: Direction, text: &str) -> TraceEntry {
        TraceEntry {
            seq,
            at_us: 0,
            direction,
            from_node: String::new(),
            to_node: String::new(),
            from_addr: String::new(),
            to_addr: String::new(),
            transport: Transport::Udp,
            summary: String::new(),
            text: text.to_string(),
            raw_base64: None,
            note: None,
            spec_step: None,
        }
    }

    const SUBSCRIBE: &str = "SUBSCRIBE sip:p@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKs1\r\nMax-Forwards: 70\r\nFrom: <sip:w@example.com>;tag=w1\r\nTo: <sip:p@example.com>\r\nCall-ID: c1\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:w@127.0.0.1:5070>\r\nEvent: presence\r\nAccept: application/pidf+xml\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n";

    fn notify(content_type: &str) -> String {
        format!("NOTIFY sip:w@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn1\r\nMax-Forwards: 70\r\nFrom: <sip:p@example.com>;tag=p1\r\nTo: <sip:w@example.com>;tag=w1\r\nCall-ID: c1\r\nCSeq: 1 NOTIFY\r\nContact: <sip:127.0.0.1:5060>\r\nEvent: presence\r\nSubscription-State: active;expires=60\r\nContent-Type: {content_type}\r\nContent-Length: 2\r\n\r\nhi")
    }

    const OK: &str = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKs1\r\nFrom: <sip:w@example.com>;tag=w1\r\nTo: <sip:p@example.com>;tag=p1\r\nCall-ID: c1\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:127.0.0.1:5060>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn a_notify_is_judged_against_its_subscribe() {
        let trace = [
            entry(0, Direction::Sent, SUBSCRIBE),
            entry(1, Direction::Received, OK),
            entry(2, Direction::Received, &notify("application/pidf+xml")),
            entry(3, Direction::Received, &notify("text/plain")),
        ];
        let tallies = audit(&trace, &[], &[]);
        let accept = &tallies["rfc6665-notify-accept"];
        assert_eq!((accept.held, accept.broken_count), (1, 1));
        assert_eq!(accept.broken[0].message, 3);
        let copies = &tallies["rfc3261-response-copies"];
        assert_eq!((copies.held, copies.broken_count), (1, 0));
        assert_eq!(tallies["rfc3261-request-headers"].held, 2);
    }

    #[test]
    fn a_retransmitted_notify_is_judged_as_its_original() {
        let offered = SUBSCRIBE.replace(
            "Accept: application/pidf+xml",
            "Accept: application/pidf+xml, application/pidf-diff+xml",
        );
        let narrowed = SUBSCRIBE
            .replace("branch=z9hG4bKs1", "branch=z9hG4bKs2")
            .replace("To: <sip:p@example.com>", "To: <sip:p@example.com>;tag=p1")
            .replace("CSeq: 1 SUBSCRIBE", "CSeq: 2 SUBSCRIBE");
        let diff = notify("application/pidf-diff+xml");
        let later = diff
            .replace("branch=z9hG4bKn1", "branch=z9hG4bKn2")
            .replace("CSeq: 1 NOTIFY", "CSeq: 2 NOTIFY");
        // A copy whose Date differs is still of the original's transaction (RFC 3261 §17.2.3).
        let dated = diff.replace(
            "Max-Forwards: 70\r\n",
            "Max-Forwards: 70\r\nDate: Mon, 07 Dec 2026 05:00:01 GMT\r\n",
        );
        let trace = [
            entry(0, Direction::Sent, &offered),
            entry(1, Direction::Received, OK),
            entry(2, Direction::Received, &diff),
            entry(3, Direction::Sent, &narrowed),
            entry(4, Direction::Received, &diff),
            entry(5, Direction::Received, &dated),
            entry(6, Direction::Received, &later),
        ];
        let tallies = audit(&trace, &[], &[]);
        let accept = &tallies["rfc6665-notify-accept"];
        assert_eq!((accept.held, accept.broken_count), (1, 1));
        assert_eq!(accept.broken[0].message, 6);
    }

    #[test]
    fn a_notify_needs_a_subscribe_and_a_late_copy_breaks_the_completed_transaction() {
        let at = |mut e: TraceEntry, ms: u64| {
            e.at_us = ms * 1000;
            e
        };
        let answer = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn1\r\nFrom: <sip:p@example.com>;tag=p1\r\nTo: <sip:w@example.com>;tag=w1\r\nCall-ID: c1\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n";
        let notify = notify("application/pidf+xml");
        let stray = notify.replace("Call-ID: c1", "Call-ID: made-up");
        let trace = [
            at(entry(0, Direction::Sent, SUBSCRIBE), 0),
            at(entry(1, Direction::Received, &notify), 10),
            at(entry(2, Direction::Sent, answer), 11),
            // A copy sent before the answer was taken in, then one long after.
            at(entry(3, Direction::Received, &notify), 300),
            at(entry(4, Direction::Received, &notify), 2000),
            at(entry(5, Direction::Received, &stray), 2100),
        ];
        let tallies = audit(&trace, &[], &[]);
        let subscribed = &tallies["rfc6665-notify-needs-subscribe"];
        assert_eq!((subscribed.held, subscribed.broken_count), (1, 1));
        assert_eq!(subscribed.broken[0].message, 5);
        let completed = &tallies["rfc3261-client-completed"];
        assert_eq!((completed.held, completed.broken_count), (0, 1));
        assert_eq!(completed.broken[0].message, 4);
    }

    #[test]
    fn each_copy_of_a_request_in_proceeding_is_answered() {
        let trying = OK.replace("200 OK", "100 Trying").replace(";tag=p1", "");
        let at = |seq, direction, text: &str, ms: u64| {
            let mut e = entry(seq, direction, text);
            e.at_us = ms * 1000;
            e
        };
        let held = [
            at(0, Direction::Sent, SUBSCRIBE, 0),
            at(1, Direction::Received, &trying, 1),
            at(2, Direction::Sent, SUBSCRIBE, 100),
            at(3, Direction::Received, &trying, 101),
            at(4, Direction::Received, OK, 800),
        ];
        let proceeding = &audit(&held, &[], &[])["rfc3261-server-proceeding"];
        assert_eq!((proceeding.held, proceeding.broken_count), (1, 0));
        // The copy went unanswered: the final response alone came.
        let unanswered = [
            at(0, Direction::Sent, SUBSCRIBE, 0),
            at(1, Direction::Received, &trying, 1),
            at(2, Direction::Sent, SUBSCRIBE, 100),
            at(3, Direction::Received, OK, 800),
        ];
        let proceeding = &audit(&unanswered, &[], &[])["rfc3261-server-proceeding"];
        assert_eq!((proceeding.held, proceeding.broken_count), (0, 1));
        assert_eq!(proceeding.broken[0].message, 1);
        // A copy that left just before the final response came crossed it: not owed here.
        let crossed = [
            at(0, Direction::Sent, SUBSCRIBE, 0),
            at(1, Direction::Received, &trying, 1),
            at(2, Direction::Sent, SUBSCRIBE, 790),
            at(3, Direction::Received, OK, 800),
        ];
        let proceeding = &audit(&crossed, &[], &[])["rfc3261-server-proceeding"];
        assert_eq!((proceeding.held, proceeding.broken_count), (1, 0));
        // Over TCP the harness does not retransmit: the rule does not apply.
        let over_tcp = unanswered.map(|mut e| {
            e.transport = Transport::Tcp;
            e
        });
        assert!(!audit(&over_tcp, &[], &[]).contains_key("rfc3261-server-proceeding"));
    }

    #[test]
    fn a_response_over_tcp_comes_on_the_request_connection_while_it_is_open() {
        let over_tcp = |seq, direction, text: &str, node: &str, from: &str, to: &str, ms: u64| {
            let mut e = entry(seq, direction, text);
            e.transport = Transport::Tcp;
            e.at_us = ms * 1000;
            (e.from_addr, e.to_addr) = (from.to_string(), to.to_string());
            match direction {
                Direction::Sent => (e.from_node, e.to_node) = (node.into(), "sut".into()),
                _ => (e.from_node, e.to_node) = ("sut".into(), node.into()),
            }
            e
        };
        let (node, sut, other) = ("ue", "127.0.0.1:5060", "127.0.0.1:40001");
        let trace = |answer_from: &str| {
            [
                over_tcp(
                    0,
                    Direction::Sent,
                    SUBSCRIBE,
                    node,
                    "127.0.0.1:5070",
                    sut,
                    0,
                ),
                over_tcp(
                    1,
                    Direction::Received,
                    OK,
                    node,
                    answer_from,
                    "127.0.0.1:5070",
                    5,
                ),
            ]
        };
        let kept = &audit(&trace(sut), &[], &[])["rfc3261-response-connection"];
        assert_eq!((kept.held, kept.broken_count), (1, 0));
        let moved = &audit(&trace(other), &[], &[])["rfc3261-response-connection"];
        assert_eq!((moved.held, moved.broken_count), (0, 1));
        // The same address over UDP is no connection at all.
        let mut over_udp = trace(sut);
        over_udp[1].transport = Transport::Udp;
        let datagram = &audit(&over_udp, &[], &[])["rfc3261-response-connection"];
        assert_eq!((datagram.held, datagram.broken_count), (0, 1));
        // Once the SUT closed the request's connection, another one is its way back.
        let closed = [ClosedConnection {
            node: node.into(),
            peer: sut.into(),
            at_us: 1000,
        }];
        let reopened = &audit(&trace(other), &[], &closed)["rfc3261-response-connection"];
        assert_eq!((reopened.held, reopened.broken_count), (1, 0));
    }

    #[test]
    fn an_exempt_rule_is_left_out() {
        let trace = [
            entry(0, Direction::Sent, SUBSCRIBE),
            entry(1, Direction::Received, &notify("text/plain")),
        ];
        let tallies = audit(&trace, &["rfc6665-notify-accept".to_string()], &[]);
        assert!(!tallies.contains_key("rfc6665-notify-accept"));
        assert!(tallies.contains_key("rfc3261-request-headers"));
    }
}
