//! Non-INVITE client and server transactions (RFC 3261 §17.1.2, §17.2.2). Presence uses no INVITE.

use super::timers::Timers;
use crate::net::Transport;
use crate::sip::text::param_of;
use crate::sip::SipMessage;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// What a client transaction asks its owner to do, or tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// Send the request again (Timer E fired on an unreliable transport).
    Retransmit(Vec<u8>),
    /// Timer F fired: no final response arrived (RFC 3261 §17.1.2.2).
    TimedOut,
}

/// Outcome of giving a response to a client transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseDisposition {
    /// A 1xx: absorbed, the transaction goes on (Proceeding).
    Provisional,
    /// The first final response: deliver it.
    Final,
    /// A retransmitted final response: drop it.
    Duplicate,
}

/// One non-INVITE client transaction.
#[derive(Debug, Clone)]
pub struct ClientTransaction {
    /// Top Via branch of the request.
    pub branch: String,
    /// Request method (matched with the CSeq method of responses).
    pub method: String,
    request: Vec<u8>,
    reliable: bool,
    timers: Timers,
    interval: Duration,
    next_retransmit: Option<Instant>,
    deadline: Instant,
    completed: bool,
    proceeding: bool,
    answered: bool,
}

impl ClientTransaction {
    /// Starts a transaction for a request that was just sent at `now`.
    pub fn new(
        branch: &str,
        method: &str,
        request: Vec<u8>,
        reliable: bool,
        timers: Timers,
        now: Instant,
    ) -> Self {
        ClientTransaction {
            branch: branch.to_string(),
            method: method.to_string(),
            request,
            reliable,
            timers,
            interval: timers.t1,
            next_retransmit: (!reliable).then(|| now + timers.t1),
            deadline: now + timers.transaction_timeout(),
            completed: false,
            proceeding: false,
            answered: false,
        }
    }

    /// True when `response` belongs to this transaction (branch and CSeq method, RFC 3261 §17.1.3).
    pub fn matches(&self, response: &SipMessage) -> bool {
        response.top_branch().as_deref() == Some(self.branch.as_str())
            && response.cseq().map(|(_, m)| m) == Some(self.method.as_str())
    }

    /// Feeds a matching response.
    pub fn on_response(&mut self, response: &SipMessage) -> ResponseDisposition {
        let code = response.status().unwrap_or(0);
        if self.completed {
            return ResponseDisposition::Duplicate;
        }
        if code < 200 {
            self.proceeding = true;
            return ResponseDisposition::Provisional;
        }
        self.completed = true;
        self.answered = true;
        self.next_retransmit = None;
        ResponseDisposition::Final
    }

    /// The request as sent.
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// True once a final response arrived (false while waiting and after Timer F).
    pub fn answered(&self) -> bool {
        self.answered
    }

    /// When the transaction next needs attention, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.completed {
            return None;
        }
        Some(
            self.next_retransmit
                .map_or(self.deadline, |r| r.min(self.deadline)),
        )
    }

    /// Advances timers to `now`.
    pub fn on_timer(&mut self, now: Instant) -> Option<ClientEvent> {
        if self.completed {
            return None;
        }
        if now >= self.deadline {
            self.completed = true;
            self.next_retransmit = None;
            return Some(ClientEvent::TimedOut);
        }
        match self.next_retransmit {
            Some(at) if now >= at && !self.reliable => {
                // Timer E doubles up to T2; once a provisional arrived it stays at T2 (§17.1.2.2).
                self.interval = if self.proceeding {
                    self.timers.t2
                } else {
                    (self.interval * 2).min(self.timers.t2)
                };
                self.next_retransmit = Some(now + self.interval);
                Some(ClientEvent::Retransmit(self.request.clone()))
            }
            _ => None,
        }
    }
}

/// What to do with a request that arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A new request: hand it to the flow.
    New,
    /// A retransmission of a request already answered: send this response again.
    Resend(Vec<u8>),
    /// A retransmission of a request not yet answered: drop it.
    Absorbed,
}

/// The server transactions of one emulated node (RFC 3261 §17.2.2), keyed by branch and method.
#[derive(Debug, Default)]
pub struct ServerTransactions {
    answered: HashMap<(String, String), Option<Vec<u8>>>,
}

impl ServerTransactions {
    /// Classifies an incoming request. Without an RFC 3261 branch (magic cookie `z9hG4bK`)
    /// a request cannot be matched to a transaction, so it is always new.
    pub fn on_request(&mut self, request: &SipMessage) -> ServerEvent {
        let Some(key) = Self::key(request) else {
            return ServerEvent::New;
        };
        match self.answered.get(&key) {
            None => {
                self.answered.insert(key, None);
                ServerEvent::New
            }
            Some(Some(response)) => ServerEvent::Resend(response.clone()),
            Some(None) => ServerEvent::Absorbed,
        }
    }

    /// Records the final response sent for `request`, to be resent on retransmissions.
    pub fn on_response_sent(&mut self, request: &SipMessage, response: Vec<u8>) {
        if let Some(key) = Self::key(request) {
            self.answered.insert(key, Some(response));
        }
    }

    fn key(request: &SipMessage) -> Option<(String, String)> {
        let branch = request.top_branch().filter(|b| b.starts_with("z9hG4bK"))?;
        Some((branch.into_owned(), request.method().unwrap_or_default()))
    }
}

/// Where the response to `request`, which came from `source` over `transport`, goes (RFC 3261
/// §18.2.2): over a reliable transport back to the source, on its connection; over UDP to the
/// source address and the port of the top Via's sent-by ([`sent_by_address`]), or the source
/// port when the Via asks for it with `rport` (RFC 3581 §4). A top Via without a readable sent-by
/// gets the response at the source.
pub fn response_target(
    request: &SipMessage,
    source: SocketAddr,
    transport: Transport,
) -> SocketAddr {
    if transport != Transport::Udp {
        return source;
    }
    let Some(via) = request.header_items("Via").next() else {
        return source;
    };
    if param_of(via, "rport").is_some() {
        return source;
    }
    sent_by_address(request, source).unwrap_or(source)
}

/// The source address of `request` with the port of its top Via's sent-by, or when it names
/// none the default port of the Via's transport (5061 for TLS, 5060 otherwise, RFC 3261
/// §18.2.2 and §19.1.2): where §18.2.2 sends a response over UDP, and over TCP or TLS when the
/// request's connection is gone. `None` without a readable sent-by.
pub fn sent_by_address(request: &SipMessage, source: SocketAddr) -> Option<SocketAddr> {
    let via = request.header_items("Via").next()?;
    // sent-protocol may have whitespace around its slashes (SWS, RFC 3261 §25.1).
    let head: Vec<&str> = via.split(';').next()?.split('/').map(str::trim).collect();
    let head = head.join("/");
    let mut parts = head.split_ascii_whitespace();
    let (protocol, sent_by) = (parts.next()?, parts.next()?);
    let default = if protocol.to_ascii_uppercase().ends_with("/TLS") {
        5061
    } else {
        5060
    };
    sent_by_port(sent_by, default).map(|port| SocketAddr::new(source.ip(), port))
}

/// The port of a sent-by (`host [":" port]`, the host an IPv6 reference in brackets or not),
/// `default` when it names none; `None` when the port is unreadable.
fn sent_by_port(sent_by: &str, default: u16) -> Option<u16> {
    let after_host = match sent_by.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.1,
        None => sent_by.split_once(':').map_or("", |(_, port)| port),
    };
    match after_host.strip_prefix(':').unwrap_or(after_host) {
        "" if !sent_by.is_empty() => Some(default),
        port => port.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NOTIFY whose top Via is `via`.
    fn notify_via(via: &str) -> SipMessage {
        let raw = format!("NOTIFY sip:w@h SIP/2.0\r\nVia: {via}\r\nCSeq: 1 NOTIFY\r\n\r\n");
        SipMessage::parse(raw.as_bytes()).unwrap()
    }

    #[test]
    fn responses_over_udp_go_to_the_sent_by_port_unless_rport_asks() {
        let source: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let target =
            |via: &str| response_target(&notify_via(via), source, Transport::Udp).to_string();
        assert_eq!(
            target("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1"),
            "127.0.0.1:5070"
        );
        assert_eq!(
            target("SIP/2.0/UDP ps.home1.net;branch=z9hG4bK1"),
            "127.0.0.1:5060"
        );
        assert_eq!(
            target("SIP/2.0/UDP [::1]:5072;branch=z9hG4bK1"),
            "127.0.0.1:5072"
        );
        assert_eq!(
            target("SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bK1"),
            "127.0.0.1:40000"
        );
        // No sent-by, or an unreadable port: the source.
        assert_eq!(target("SIP/2.0/UDP ;branch=z9hG4bK1"), "127.0.0.1:40000");
        assert_eq!(
            target("SIP/2.0/UDP h:port;branch=z9hG4bK1"),
            "127.0.0.1:40000"
        );
        let request = notify_via("SIP/2.0/TCP h:5070");
        assert_eq!(response_target(&request, source, Transport::Tcp), source);
    }

    #[test]
    fn a_sent_by_without_port_names_the_transports_default_port() {
        let source: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let address = |via: &str| sent_by_address(&notify_via(via), source).map(|a| a.to_string());
        let at = |port: &str| Some(format!("127.0.0.1:{port}"));
        assert_eq!(
            address("SIP/2.0/TLS ps.home1.net;branch=z9hG4bK1"),
            at("5061")
        );
        assert_eq!(
            address("SIP / 2.0 / tls ps.home1.net;branch=z9hG4bK1"),
            at("5061")
        );
        assert_eq!(
            address("SIP/2.0/TCP ps.home1.net;branch=z9hG4bK1"),
            at("5060")
        );
        assert_eq!(address("SIP / 2.0 / UDP ps.home1.net:5070"), at("5070"));
        assert_eq!(address("SIP/2.0/TLS ps.home1.net:5062"), at("5062"));
    }

    fn response(code: u16) -> SipMessage {
        let raw = format!(
            "SIP/2.0 {code} X\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\nCSeq: 1 PUBLISH\r\n\r\n"
        );
        SipMessage::parse(raw.as_bytes()).unwrap()
    }

    #[test]
    fn retransmits_with_doubling_intervals_then_times_out() {
        let t0 = Instant::now();
        let timers = Timers::default();
        let mut tx =
            ClientTransaction::new("z9hG4bKa", "PUBLISH", b"x".to_vec(), false, timers, t0);
        let mut sends = Vec::new();
        let mut now = t0;
        while let Some(at) = tx.next_deadline() {
            now = at;
            match tx.on_timer(now) {
                Some(ClientEvent::Retransmit(_)) => sends.push(now - t0),
                Some(ClientEvent::TimedOut) => break,
                None => {}
            }
        }
        let ms: Vec<u128> = sends.iter().take(5).map(|d| d.as_millis()).collect();
        assert_eq!(ms, vec![500, 1500, 3500, 7500, 11500]);
        assert_eq!(now - t0, Duration::from_secs(32));
        assert!(!tx.answered());
    }

    #[test]
    fn absorbs_provisional_and_duplicate_finals() {
        let t0 = Instant::now();
        let mut tx =
            ClientTransaction::new("z9hG4bKa", "PUBLISH", vec![], true, Timers::default(), t0);
        assert!(tx.matches(&response(100)));
        assert_eq!(
            tx.on_response(&response(100)),
            ResponseDisposition::Provisional
        );
        assert!(!tx.answered());
        assert_eq!(tx.on_response(&response(200)), ResponseDisposition::Final);
        assert!(tx.answered());
        assert_eq!(
            tx.on_response(&response(200)),
            ResponseDisposition::Duplicate
        );
        assert_eq!(tx.next_deadline(), None);
    }

    #[test]
    fn server_resends_last_response_on_retransmission() {
        let req = SipMessage::parse(
            b"NOTIFY sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKn\r\nCSeq: 1 NOTIFY\r\n\r\n",
        )
        .unwrap();
        let mut st = ServerTransactions::default();
        assert_eq!(st.on_request(&req), ServerEvent::New);
        assert_eq!(st.on_request(&req), ServerEvent::Absorbed);
        st.on_response_sent(&req, b"SIP/2.0 200 OK".to_vec());
        assert_eq!(
            st.on_request(&req),
            ServerEvent::Resend(b"SIP/2.0 200 OK".to_vec())
        );
    }
}
