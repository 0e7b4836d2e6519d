//! Tests of the reference UE over real sockets on 127.0.0.1: a UDP socket plays its P-CSCF and
//! the presence server behind it, with hand-written SIP text.

mod faults;
mod publish;
mod subscribe;

use super::{ReferenceUe, UeConfig, UeFault, ACTIONS};
use crate::sip::{MessageBuilder, SipMessage};
use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::{timeout, timeout_at, Instant};

/// The longest wait for something that should come.
const WAIT: Duration = Duration::from_secs(5);
/// How long a test watches to show that nothing comes.
const QUIET: Duration = Duration::from_millis(400);
/// The UE's address-of-record.
const AOR: &str = "sip:ue-alice@home1.net";
/// An address-of-record it watches.
const BOB: &str = "sip:bob@home1.net";
/// The tag the presence server puts in its responses and NOTIFYs.
const PS_TAG: &str = "ps1";

/// A UE's configuration for the tests: short timers, Expires 600 asked for.
fn config(outbound: SocketAddr, publish: bool, watches: &[&str], faults: &[UeFault]) -> UeConfig {
    UeConfig {
        aor: AOR.to_string(),
        outbound,
        watches: watches.iter().map(|w| w.to_string()).collect(),
        publish,
        register: false,
        register_expires: 600,
        password: None,
        publish_expires: 600,
        subscribe_expires: 600,
        t1: Duration::from_millis(20),
        t2: Duration::from_millis(80),
        faults: faults.iter().copied().collect(),
    }
}

/// Starts a UE whose outbound proxy is a new [`Pcscf`].
async fn start(publish: bool, watches: &[&str], faults: &[UeFault]) -> (Pcscf, ReferenceUe) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let outbound = socket.local_addr().expect("local addr");
    let ue = ReferenceUe::start(config(outbound, publish, watches, faults))
        .await
        .expect("start");
    let pcscf = Pcscf {
        socket,
        ue: ue.addr(),
        backlog: VecDeque::new(),
        seen: HashSet::new(),
        counter: 0,
        sent: 0,
    };
    (pcscf, ue)
}

/// The P-CSCF (and the presence server behind it), as the UE sees them.
struct Pcscf {
    socket: UdpSocket,
    ue: SocketAddr,
    /// Messages received but not asked for yet.
    backlog: VecDeque<SipMessage>,
    /// The requests received, by branch and method: their retransmissions are dropped.
    seen: HashSet<(String, String)>,
    /// The CSeq number of its last request.
    counter: u32,
    /// How many requests it sent (its branches' suffix).
    sent: u32,
}

impl Pcscf {
    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("local addr")
    }

    /// The first message `wanted` takes, from the backlog or arriving before `deadline`;
    /// others are kept; retransmitted requests are dropped.
    async fn take(
        &mut self,
        deadline: Instant,
        wanted: impl Fn(&SipMessage) -> bool,
    ) -> Option<SipMessage> {
        if let Some(at) = self.backlog.iter().position(&wanted) {
            return self.backlog.remove(at);
        }
        let mut buffer = vec![0u8; 65_535];
        loop {
            let (length, _) = timeout_at(deadline, self.socket.recv_from(&mut buffer))
                .await
                .ok()?
                .expect("recv");
            let message = SipMessage::parse(&buffer[..length]).expect("the UE sends SIP");
            if message.is_request() {
                let key = (
                    message.top_branch().expect("a branch").into_owned(),
                    message.method().expect("a method"),
                );
                if !self.seen.insert(key) {
                    continue;
                }
            }
            if wanted(&message) {
                return Some(message);
            }
            self.backlog.push_back(message);
        }
    }

    /// The next new request of `method`.
    async fn next(&mut self, method: &str) -> SipMessage {
        let wanted = |m: &SipMessage| m.is_request() && m.method().as_deref() == Some(method);
        self.take(Instant::now() + WAIT, wanted)
            .await
            .unwrap_or_else(|| panic!("a {method} within {WAIT:?}"))
    }

    /// Asserts that no new request of `method` comes within `window`.
    async fn none(&mut self, method: &str, window: Duration) {
        let wanted = |m: &SipMessage| m.is_request() && m.method().as_deref() == Some(method);
        if let Some(request) = self.take(Instant::now() + window, wanted).await {
            panic!(
                "no {method} expected, got:\n{}",
                String::from_utf8_lossy(&request.raw)
            );
        }
    }

    /// Answers a request of the UE with `code`, a To tag and `extra` headers.
    async fn answer(&self, request: &SipMessage, code: u16, extra: &[(&str, &str)]) {
        let tag = request.to_tag().is_none().then_some(PS_TAG);
        let mut response = MessageBuilder::response_to(request, code, tag);
        for (name, value) in extra {
            response.push_header(name, *value);
        }
        self.to_ue(&response.build()).await;
    }

    async fn to_ue(&self, bytes: &[u8]) {
        self.socket.send_to(bytes, self.ue).await.expect("send");
    }

    /// Sends a request of the P-CSCF's to the UE: `head` is its start line and headers up to
    /// the Call-ID; Via, CSeq and Content-Length are added. Returns the UE's response, if one
    /// comes within `window`.
    async fn request(
        &mut self,
        method: &str,
        head: &str,
        body: &str,
        window: Duration,
    ) -> Option<SipMessage> {
        self.counter += 1;
        self.sent += 1;
        let n = self.counter;
        let branch = format!("z9hG4bKpcscf{}", self.sent);
        let text = format!(
            "{method} {head}\r\nVia: SIP/2.0/UDP {};branch={branch}\r\nCSeq: {n} {method}\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr(),
            body.len()
        );
        self.to_ue(text.as_bytes()).await;
        let wanted =
            |m: &SipMessage| m.status().is_some() && m.top_branch().as_deref() == Some(&branch);
        self.take(Instant::now() + window, wanted).await
    }

    /// Sends a NOTIFY in the dialog `subscribe` opened (Call-ID, tags swapped, the presence
    /// server's tag `tag`) with this Subscription-State; returns the UE's status code, if it
    /// answers within [`QUIET`].
    async fn notify_tagged(
        &mut self,
        subscribe: &SipMessage,
        tag: &str,
        state: &str,
    ) -> Option<u16> {
        let target = subscribe.name_addrs("Contact")[0].uri.clone();
        let watched = &subscribe.name_addrs("To")[0].uri;
        let head = format!(
            "{target} SIP/2.0\r\nMax-Forwards: 70\r\nFrom: <{watched}>;tag={tag}\r\nTo: {}\r\nCall-ID: {}\r\nContact: <sip:ps@{}>\r\nEvent: presence\r\nSubscription-State: {state}\r\nContent-Type: application/pidf+xml",
            subscribe.header("From").expect("From"),
            subscribe.call_id().expect("Call-ID"),
            self.addr(),
        );
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"{watched}\"/>"
        );
        let response = self.request("NOTIFY", &head, &body, QUIET).await;
        response.and_then(|r| r.status())
    }

    /// [`Pcscf::notify_tagged`] with the presence server's usual tag.
    async fn notify(&mut self, subscribe: &SipMessage, state: &str) -> Option<u16> {
        self.notify_tagged(subscribe, PS_TAG, state).await
    }

    /// Takes the UE's SUBSCRIBE and accepts it (Expires `granted`); returns the SUBSCRIBE.
    async fn accept_subscribe(&mut self, granted: &str) -> SipMessage {
        let subscribe = self.next("SUBSCRIBE").await;
        let contact = format!("<sip:ps@{}>", self.addr());
        self.answer(
            &subscribe,
            200,
            &[("Expires", granted), ("Contact", &contact)],
        )
        .await;
        subscribe
    }

    /// Takes the UE's PUBLISH and accepts it with entity-tag `etag` (Expires `granted`).
    async fn accept_publish(&mut self, etag: &str, granted: &str) -> SipMessage {
        let publish = self.next("PUBLISH").await;
        self.answer(&publish, 200, &[("SIP-ETag", etag), ("Expires", granted)])
            .await;
        publish
    }
}

/// An OPTIONS-like request head from the P-CSCF to the UE (start line to Call-ID).
fn head(pcscf: &Pcscf, method_uri: &str, call_id: &str) -> String {
    format!(
        "{method_uri} SIP/2.0\r\nMax-Forwards: 70\r\nFrom: <sip:ps@{}>;tag=x\r\nTo: <{AOR}>\r\nCall-ID: {call_id}",
        pcscf.addr()
    )
}

#[tokio::test]
async fn an_unknown_action_is_refused_with_the_known_ones() {
    let (_pcscf, ue) = start(false, &[], &[]).await;
    let err = ue.act(" dance  now ").await.unwrap_err();
    assert!(err.contains("'dance  now'"), "{err}");
    for action in ACTIONS {
        assert!(err.contains(action), "{err}");
    }
    assert!(ue.act("set-status   open").await.is_ok());
}

#[tokio::test]
async fn options_gets_200_other_methods_405_ack_and_noise_nothing() {
    let (mut pcscf, _ue) = start(false, &[], &[]).await;
    let uri = format!("sip:ue-alice@{}", pcscf.ue);
    let options = head(&pcscf, &uri, "o1");
    let ok = pcscf
        .request("OPTIONS", &options, "", WAIT)
        .await
        .expect("an answer to OPTIONS");
    assert_eq!(ok.status(), Some(200));
    assert_eq!(ok.tokens("Allow"), vec!["notify", "options"]);
    assert!(ok.to_tag().is_some(), "a To tag is added");
    let message = head(&pcscf, &uri, "m1");
    let refused = pcscf
        .request("MESSAGE", &message, "hi", WAIT)
        .await
        .expect("an answer to MESSAGE");
    assert_eq!(refused.status(), Some(405));
    assert_eq!(refused.tokens("Allow"), vec!["notify", "options"]);
    assert!(pcscf.request("ACK", &message, "", QUIET).await.is_none());
    // Bytes that are not SIP, a body shorter than its Content-Length, a request without
    // Call-ID: dropped without an answer, and the UE goes on.
    pcscf.to_ue(b"\x00\xffnot sip at all\r\n\r\n").await;
    pcscf
        .to_ue(b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKs\r\nContent-Length: 900\r\n\r\nshort")
        .await;
    let without_call_id = format!("sip:x SIP/2.0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <{AOR}>");
    assert!(pcscf
        .request("OPTIONS", &without_call_id, "", QUIET)
        .await
        .is_none());
    let again = head(&pcscf, &uri, "o2");
    let ok = pcscf.request("OPTIONS", &again, "", WAIT).await;
    assert_eq!(ok.and_then(|r| r.status()), Some(200));
}

#[tokio::test]
async fn a_retransmitted_request_gets_the_first_answer_again() {
    let (mut pcscf, _ue) = start(false, &[], &[]).await;
    let text = format!(
        "OPTIONS sip:ue-alice@{} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKsame\r\nFrom: <sip:ps@x>;tag=x\r\nTo: <{AOR}>\r\nCall-ID: r1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        pcscf.ue,
        pcscf.addr()
    );
    let mut answers = Vec::new();
    for _ in 0..2 {
        pcscf.to_ue(text.as_bytes()).await;
        let answer = pcscf
            .take(Instant::now() + WAIT, |m| m.status().is_some())
            .await
            .expect("an answer");
        answers.push(answer.raw);
    }
    assert_eq!(answers[0], answers[1], "the same response, To tag included");
}

#[tokio::test]
async fn retransmits_at_t1_doubling_to_t2_until_timer_f() {
    let (pcscf, _ue) = start(true, &[], &[]).await;
    let started = Instant::now();
    let mut arrivals = Vec::new();
    let mut buffer = vec![0u8; 65_535];
    // Timer F is 64 * 20 ms = 1.28 s; watch a while longer.
    while let Ok(received) = timeout(
        Duration::from_millis(600),
        pcscf.socket.recv_from(&mut buffer),
    )
    .await
    {
        let (length, _) = received.expect("recv");
        let message = SipMessage::parse(&buffer[..length]).expect("SIP");
        assert_eq!(message.method().as_deref(), Some("PUBLISH"));
        arrivals.push(started.elapsed());
    }
    let gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    assert!((12..=20).contains(&arrivals.len()), "{arrivals:?}");
    assert!(gaps[0] < Duration::from_millis(60), "first at T1: {gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(30), "then 2*T1: {gaps:?}");
    assert!(
        gaps.iter().all(|g| *g < Duration::from_millis(200)),
        "capped at T2: {gaps:?}"
    );
    let last = *arrivals.last().expect("copies");
    assert!(
        last < Duration::from_millis(1_400),
        "none after timer F: {last:?}"
    );
}

#[tokio::test]
async fn a_provisional_response_stops_nothing_and_foreign_responses_are_ignored() {
    let (mut pcscf, ue) = start(true, &[], &[]).await;
    let publish = pcscf.next("PUBLISH").await;
    pcscf.answer(&publish, 100, &[]).await;
    // A 200 for another branch, and one whose top Via names another sender.
    let raw = String::from_utf8(publish.raw.clone()).expect("text");
    let accept = [("SIP-ETag", "e0"), ("Expires", "1")];
    let other_branch = raw.replace(";branch=z9hG4bK", ";branch=z9hG4bKx");
    let via = format!("SIP/2.0/UDP {};", ue.addr());
    let other_sender = raw.replace(&via, "SIP/2.0/UDP 127.0.0.1:9;");
    for text in [other_branch, other_sender] {
        let request = SipMessage::parse(text.as_bytes()).expect("SIP");
        pcscf.answer(&request, 200, &accept).await;
    }
    // Still retransmitting (at T2 = 80 ms): copies of the same branch keep coming.
    let mut buffer = vec![0u8; 65_535];
    let mut copies = 0;
    let until = Instant::now() + QUIET;
    while let Ok(received) = timeout_at(until, pcscf.socket.recv_from(&mut buffer)).await {
        let (length, _) = received.expect("recv");
        let copy = SipMessage::parse(&buffer[..length]).expect("SIP");
        assert_eq!(copy.top_branch(), publish.top_branch());
        copies += 1;
    }
    assert!(copies >= 3, "{copies} copies in {QUIET:?}");
}

#[tokio::test]
async fn dropping_or_shutting_down_ends_its_tasks() {
    for shut_down in [false, true] {
        let (mut pcscf, ue) = start(true, &[], &[]).await;
        pcscf.accept_publish("e1", "1").await;
        match shut_down {
            true => ue.shutdown().await,
            false => drop(ue),
        }
        // The refresh would come at 0.8 s; the socket is closed and nobody answers.
        pcscf.none("PUBLISH", Duration::from_millis(1_200)).await;
        let options = head(&pcscf, "sip:ue-alice@127.0.0.1", "gone");
        assert!(pcscf
            .request("OPTIONS", &options, "", QUIET)
            .await
            .is_none());
    }
}
