//! Hostile and broken servers: a scripted SUT on 127.0.0.1 (UDP and TCP on one port) answers
//! the harness's SUBSCRIBE and then misbehaves in one way per trial. Each trial asserts that
//! the run ends within a bound, that its verdict is fail or error, that a check or the reason
//! names what happened, and (by finishing) that nothing panicked.

use presence_harness::check::verdict::{Outcome, Verdict};
use presence_harness::flow::catalogue;
use presence_harness::flow::interp::FlowOutcome;
use presence_harness::flow::loader::load_str;
use presence_harness::net::Transport;
use presence_harness::report::{FlowRecord, RunRecord};
use presence_harness::runner::{play, settings_for};
use presence_harness::sip::framing::{next_frame, Frame};
use presence_harness::sip::typed::{uri_of, uri_socket_addr};
use presence_harness::sip::{MessageBuilder, SipMessage};
use presence_harness::sut::Profile;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// Step timeouts of the hostile flow are 1 s; no run may take longer than this.
const RUN_BOUND: Duration = Duration::from_secs(20);

/// One way of misbehaving after the SUBSCRIBE arrives.
#[derive(Debug, Clone, Copy)]
enum Misbehaviour {
    /// Bytes that are not SIP instead of the 200.
    Garbage,
    /// A 200 whose Content-Length promises more than the datagram holds.
    ContentLengthLarger,
    /// A NOTIFY whose Content-Length is shorter than its PIDF body.
    ContentLengthSmaller,
    /// Half of the 200, then the connection closes (TCP).
    Truncated,
    /// A 200 with a 100 kB header (TCP).
    HugeHeaders,
    /// A 200 announcing and sending a 10 MB body (TCP).
    HugeBody,
    /// A NOTIFY whose body is not UTF-8.
    InvalidUtf8,
    /// A NOTIFY whose body declares exponentially expanding entities.
    EntityBomb,
    /// A NOTIFY whose body nests 5 000 elements (as deep as a datagram holds).
    DeepNesting,
    /// A multipart NOTIFY whose boundary never closes.
    UnclosedBoundary,
    /// NOTIFYs for a dialog that does not exist, instead of the real one.
    StrayNotify,
    /// 10 000 NOTIFYs for dialogs that do not exist.
    Flood,
    /// Never answers anything.
    Silent,
}

/// The flow every trial plays: SUBSCRIBE, its 200, one NOTIFY with a PIDF body (or, with
/// `multipart`, a multipart/related body with an RLMI root).
fn flow_text(multipart: bool) -> String {
    let body_checks = if multipart {
        "multipart: { root_type: application/rlmi+xml, req: rfc4662-multipart-related, \
         cid_req: rfc4662-cid-names-part }"
    } else {
        "xml:\n      - { path: \"/pidf:presence/@entity\", \
         equals: \"sip:hostile-presentity@home1.net\", req: rfc3863-entity }"
    };
    format!(
        r#"id: hostile
title: A subscription whose notifier misbehaves
spec:
  - {{ doc: RFC 6665, clause: "4.1.3", level: must }}
requires: [subscribe]
namespaces: {{ pidf: "urn:ietf:params:xml:ns:pidf" }}
roles:
  watcher: {{ kind: ue, user: hostile-watcher, domain: home1.net, path: [] }}
  ps: {{ kind: sut, service: presence }}
steps:
  - send: SUBSCRIBE
    as: subscribe
    dialog: sub
    from: watcher
    to: ps
    uri: sip:hostile-presentity@home1.net
    headers: {{ Event: presence, Expires: 600, Accept: application/pidf+xml }}
  - expect: response
    of: subscribe
    timeout: 1
    status: {{ one_of: [200], req: rfc6665-200-not-202 }}
  - expect: NOTIFY
    as: notify
    dialog: sub
    timeout: 1
    req: rfc6665-immediate-notify
    {body_checks}
  - reply: 200
    of: notify
"#
    )
}

/// Where the script answers: the datagram's sender or the connection the harness opened.
enum Peer {
    Udp(UdpSocket, SocketAddr),
    Tcp(TcpStream),
}

impl Peer {
    /// Sends bytes; a peer that went away is no concern of a hostile server.
    async fn send(&mut self, bytes: &[u8]) {
        let _ = match self {
            Peer::Udp(socket, to) => socket.send_to(bytes, *to).await.map(|_| ()),
            Peer::Tcp(stream) => stream.write_all(bytes).await,
        };
    }
}

/// The first request, over UDP or on the first TCP connection.
async fn first_request(udp: UdpSocket, tcp: TcpListener) -> Option<(SipMessage, Peer)> {
    let mut buf = vec![0u8; 65_535];
    tokio::select! {
        received = udp.recv_from(&mut buf) => {
            let (len, from) = received.ok()?;
            let request = SipMessage::parse(&buf[..len]).ok()?;
            Some((request, Peer::Udp(udp, from)))
        }
        accepted = tcp.accept() => {
            let (mut stream, _) = accepted.ok()?;
            let mut bytes = Vec::new();
            loop {
                if let Frame::Complete(len) = next_frame(&bytes) {
                    let request = SipMessage::parse(&bytes[..len]).ok()?;
                    return Some((request, Peer::Tcp(stream)));
                }
                let n = stream.read(&mut buf).await.ok()?;
                if n == 0 {
                    return None;
                }
                bytes.extend_from_slice(&buf[..n]);
            }
        }
    }
}

/// The 200 to the SUBSCRIBE, with `extra` headers and `body`.
fn ok(request: &SipMessage, local: SocketAddr, extra: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut builder = MessageBuilder::response(200, "OK");
    for via in request.header_lines("Via") {
        builder.push_header("Via", via);
    }
    let to = format!("{};tag=hostile1", request.header("To").unwrap_or_default());
    let mut builder = builder
        .header("From", request.header("From").unwrap_or_default())
        .header("To", to)
        .header("Call-ID", request.call_id().unwrap_or_default())
        .header("CSeq", request.header("CSeq").unwrap_or_default())
        .header("Contact", format!("<sip:{local}>"))
        .header("Expires", "600");
    for (name, value) in extra {
        builder.push_header(name, value.clone());
    }
    builder.body(body.to_vec()).build()
}

/// A NOTIFY in the SUBSCRIBE's dialog (or, with `call_id`, in a dialog that does not exist).
fn notify(
    request: &SipMessage,
    local: SocketAddr,
    cseq: u32,
    call_id: Option<&str>,
    headers: &[(&str, String)],
    body: &[u8],
) -> Vec<u8> {
    let target = uri_of(request.header("Contact").unwrap_or_default());
    let mut builder = MessageBuilder::request("NOTIFY", &target)
        .header(
            "Via",
            format!("SIP/2.0/UDP {local};branch=z9hG4bKhostile{cseq}"),
        )
        .header("Max-Forwards", "70")
        .header(
            "From",
            format!("{};tag=hostile1", request.header("To").unwrap_or_default()),
        )
        .header("To", request.header("From").unwrap_or_default())
        .header(
            "Call-ID",
            call_id.unwrap_or(request.call_id().unwrap_or_default()),
        )
        .header("CSeq", format!("{cseq} NOTIFY"))
        .header("Contact", format!("<sip:{local}>"))
        .header("Event", "presence")
        .header("Subscription-State", "active;expires=600");
    for (name, value) in headers {
        builder.push_header(name, value.clone());
    }
    builder.body(body.to_vec()).build()
}

fn pidf(body: &str) -> (Vec<(&'static str, String)>, Vec<u8>) {
    (
        vec![("Content-Type", "application/pidf+xml".to_string())],
        body.as_bytes().to_vec(),
    )
}

const OPEN_PIDF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:hostile-presentity@home1.net"><tuple id="t1"><status><basic>open</basic></status></tuple></presence>"#;

/// Answers the first request, then misbehaves as told.
async fn hostile_server(udp: UdpSocket, tcp: TcpListener, how: Misbehaviour) {
    let local = udp.local_addr().expect("bound");
    let Some((request, mut peer)) = first_request(udp, tcp).await else {
        return;
    };
    let notify_with =
        |headers: &[(&str, String)], body: &[u8]| notify(&request, local, 1, None, headers, body);
    let to_ue = uri_socket_addr(&uri_of(request.header("Contact").unwrap_or_default()));
    match how {
        Misbehaviour::Silent => std::future::pending().await,
        Misbehaviour::Garbage => {
            peer.send(b"\xde\xad\xbe\xef GARBAGE \xff\xfe\r\n\r\n")
                .await
        }
        Misbehaviour::ContentLengthLarger => {
            let mut bytes = ok(&request, local, &[("Content-Length", "100".into())], b"");
            bytes.extend_from_slice(b"only ten b");
            peer.send(&bytes).await;
        }
        Misbehaviour::Truncated => {
            let bytes = ok(&request, local, &[], b"");
            peer.send(&bytes[..bytes.len() / 2]).await;
            // Closing the connection in the middle of the message.
            drop(peer);
        }
        Misbehaviour::HugeHeaders => {
            let bytes = ok(&request, local, &[("X-Huge", "h".repeat(100_000))], b"");
            peer.send(&bytes).await;
        }
        Misbehaviour::HugeBody => {
            let bytes = ok(&request, local, &[], &vec![b'x'; 10_000_000]);
            // The harness closes its side; the write may never finish.
            let _ = tokio::time::timeout(Duration::from_secs(5), peer.send(&bytes)).await;
        }
        _ => {
            peer.send(&ok(&request, local, &[], b"")).await;
            let (headers, body) = match how {
                Misbehaviour::ContentLengthSmaller => {
                    let (mut headers, body) = pidf(OPEN_PIDF);
                    headers.push(("Content-Length", (body.len() / 2).to_string()));
                    (headers, body)
                }
                Misbehaviour::InvalidUtf8 => {
                    let (headers, mut body) =
                        pidf(&OPEN_PIDF.replace("open", "<script>alert(1)</script>"));
                    body.splice(60..60, *b"\xff\xfe\xc3\x28");
                    (headers, body)
                }
                Misbehaviour::EntityBomb => {
                    let mut doctype = String::from("<!DOCTYPE presence [<!ENTITY l0 \"lol\">");
                    for i in 1..10 {
                        let refs = format!("&l{};", i - 1).repeat(10);
                        doctype.push_str(&format!("<!ENTITY l{i} \"{refs}\">"));
                    }
                    doctype.push(']');
                    doctype.push('>');
                    pidf(&format!(
                        "<?xml version=\"1.0\"?>{doctype}<presence xmlns=\"urn:ietf:params:xml:ns:pidf\">&l9;</presence>"
                    ))
                }
                Misbehaviour::DeepNesting => pidf(&format!(
                    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\">{}{}</presence>",
                    "<a>".repeat(5_000),
                    "</a>".repeat(5_000)
                )),
                Misbehaviour::UnclosedBoundary => (
                    vec![(
                        "Content-Type",
                        "multipart/related;type=\"application/rlmi+xml\";boundary=never".into(),
                    )],
                    b"--never\r\nContent-Type: application/rlmi+xml\r\n\r\n<list/>\r\n--never\r\n\
                      Content-Type: application/pidf+xml\r\n\r\n<presence/>\r\n"
                        .to_vec(),
                ),
                Misbehaviour::StrayNotify | Misbehaviour::Flood => {
                    let count = if matches!(how, Misbehaviour::Flood) {
                        10_000
                    } else {
                        3
                    };
                    let (headers, body) = pidf(OPEN_PIDF);
                    for cseq in 1..=count {
                        let call_id = format!("no-such-dialog-{cseq}");
                        let bytes = notify(&request, local, cseq, Some(&call_id), &headers, &body);
                        match (&mut peer, to_ue) {
                            (Peer::Udp(socket, _), Some(dest)) => {
                                let _ = socket.send_to(&bytes, dest).await;
                            }
                            _ => peer.send(&bytes).await,
                        }
                    }
                    // Never the real NOTIFY; keep the socket open until the trial ends.
                    std::future::pending::<()>().await;
                    return;
                }
                _ => unreachable!("handled above"),
            };
            let bytes = notify_with(&headers, &body);
            match (&mut peer, to_ue) {
                (Peer::Udp(socket, _), Some(dest)) => {
                    let _ = socket.send_to(&bytes, dest).await;
                }
                _ => peer.send(&bytes).await,
            }
        }
    }
    // Keep the socket open (a UDP peer that vanished draws ICMP errors) until aborted.
    std::future::pending::<()>().await
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf()
}

/// A UDP socket and a TCP listener on one free loopback port.
async fn bind_both() -> (UdpSocket, TcpListener) {
    for _ in 0..20 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
        let addr = udp.local_addr().expect("bound");
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("no loopback port free for both UDP and TCP")
}

/// Plays the hostile flow against a server misbehaving as told; panics (fails the trial) when
/// the run does not end within [`RUN_BOUND`].
async fn play_against(how: Misbehaviour, transport: Transport, multipart: bool) -> FlowOutcome {
    let root = root();
    let (udp, tcp) = bind_both().await;
    let addr = udp.local_addr().expect("bound");
    let server = tokio::spawn(hostile_server(udp, tcp, how));
    let mut profile = Profile::load(&root.join("fixtures/suts/reference.yaml")).expect("profile");
    profile.embedded = None;
    profile.address = Some(addr);
    profile.name = "hostile".into();
    let mut settings = settings_for(&profile, addr, &root).over(transport, addr);
    settings.skip_snapshots = Some("not compared: a scripted hostile server".into());
    let catalogue = catalogue::load(&root).expect("catalogue");
    let flow = load_str(
        &flow_text(multipart),
        Path::new("hostile.yaml"),
        &root,
        &catalogue,
    )
    .expect("the hostile flow loads");
    let outcome = tokio::time::timeout(RUN_BOUND, play(&flow, &profile, &settings))
        .await
        .unwrap_or_else(|_| panic!("{how:?}: the run did not end within {RUN_BOUND:?}"));
    server.abort();
    outcome
}

/// The reason and every failed check, as one text to search.
fn explanation(outcome: &FlowOutcome) -> String {
    let mut text = outcome.reason.clone().unwrap_or_default();
    for check in outcome.checks.iter().filter(|c| c.outcome == Outcome::Fail) {
        text.push_str(&format!(
            "\n{}: expected {}; actual {}",
            check.check, check.expected, check.actual
        ));
    }
    for entry in &outcome.trace {
        if let Some(note) = &entry.note {
            text.push_str(&format!("\nnote #{}: {note}", entry.seq));
        }
    }
    text
}

/// Plays one misbehaviour and asserts a fail or error verdict that names `words` (each of
/// them, case-insensitively, in the reason, a failed check or a trace note).
async fn trial(
    how: Misbehaviour,
    transport: Transport,
    multipart: bool,
    words: &[&str],
) -> FlowOutcome {
    let outcome = play_against(how, transport, multipart).await;
    let text = explanation(&outcome);
    assert!(
        matches!(outcome.verdict, Verdict::Fail | Verdict::Error),
        "{how:?}: verdict {} ({text})",
        outcome.verdict.name()
    );
    for word in words {
        assert!(
            text.to_lowercase().contains(&word.to_lowercase()),
            "{how:?}: {word:?} is not named in:\n{text}"
        );
    }
    outcome
}

#[tokio::test]
async fn garbage_datagram_is_malformed() {
    trial(
        Misbehaviour::Garbage,
        Transport::Udp,
        false,
        &["well-formed SIP", "malformed"],
    )
    .await;
}

#[tokio::test]
async fn content_length_larger_than_the_datagram() {
    trial(
        Misbehaviour::ContentLengthLarger,
        Transport::Udp,
        false,
        &["Content-Length 100 but only 10 body bytes arrived"],
    )
    .await;
}

#[tokio::test]
async fn content_length_smaller_than_the_body() {
    trial(
        Misbehaviour::ContentLengthSmaller,
        Transport::Udp,
        false,
        &["after the body (Content-Length", "well-formed XML"],
    )
    .await;
}

#[tokio::test]
async fn message_cut_off_by_a_closed_connection() {
    trial(
        Misbehaviour::Truncated,
        Transport::Tcp,
        false,
        &["connection closed after", "incomplete message"],
    )
    .await;
}

#[tokio::test]
async fn header_section_of_100_kb_over_tcp() {
    trial(
        Misbehaviour::HugeHeaders,
        Transport::Tcp,
        false,
        &["no end of headers within 65536 bytes"],
    )
    .await;
}

#[tokio::test]
async fn body_of_10_mb_over_tcp() {
    trial(
        Misbehaviour::HugeBody,
        Transport::Tcp,
        false,
        &["Content-Length 10000000 exceeds the limit"],
    )
    .await;
}

#[tokio::test]
async fn body_that_is_not_utf8_and_its_report_escapes_the_markup() {
    let outcome = trial(Misbehaviour::InvalidUtf8, Transport::Udp, false, &["UTF-8"]).await;
    let flows = vec![FlowRecord {
        file: "hostile.yaml".into(),
        spec: Vec::new(),
        figure: None,
        outcome,
    }];
    let record = RunRecord {
        schema: presence_harness::report::record::SCHEMA.into(),
        run_id: "hostile".into(),
        started: "now".into(),
        harness_version: "0".into(),
        profile: serde_json::json!({ "name": "hostile" }),
        probe: "not probed".into(),
        duration_us: 0,
        summary: RunRecord::summarise(&flows),
        deviations: Default::default(),
        flows,
    };
    let html = presence_harness::report::html::render(&record).expect("the report renders");
    assert!(
        html.contains("&#60;script&#62;alert(1)"),
        "the markup is shown"
    );
    assert!(!html.contains("<script>alert(1)"), "the markup is not run");
    assert!(
        html.contains('\u{fffd}'),
        "invalid bytes are shown replaced"
    );
}

#[tokio::test]
async fn entity_expansion_bomb_is_refused() {
    trial(
        Misbehaviour::EntityBomb,
        Transport::Udp,
        false,
        &["DOCTYPE declarations are not allowed"],
    )
    .await;
}

#[tokio::test]
async fn deep_nesting_is_refused() {
    trial(
        Misbehaviour::DeepNesting,
        Transport::Udp,
        false,
        &["nested deeper than"],
    )
    .await;
}

#[tokio::test]
async fn multipart_boundary_that_never_closes() {
    trial(
        Misbehaviour::UnclosedBoundary,
        Transport::Udp,
        true,
        &["no closing boundary --never--"],
    )
    .await;
}

#[tokio::test]
async fn notify_for_a_dialog_that_does_not_exist() {
    trial(
        Misbehaviour::StrayNotify,
        Transport::Udp,
        false,
        &["3 stray requests in no dialog of ours (answered 481)"],
    )
    .await;
}

#[tokio::test]
async fn flood_of_10k_stray_notifies() {
    let outcome = play_against(Misbehaviour::Flood, Transport::Udp, false).await;
    let text = explanation(&outcome);
    assert!(
        matches!(outcome.verdict, Verdict::Fail | Verdict::Error),
        "verdict {} ({text})",
        outcome.verdict.name()
    );
    // Whatever the kernel and the inbox let through is answered and counted, or the run is
    // an error naming what it lost; the trace stays within its limit.
    assert!(
        text.contains("stray requests") || text.contains("dropped") || text.contains("trace"),
        "{text}"
    );
    assert!(outcome.trace.len() <= presence_harness::net::trace::MAX_TRACE_ENTRIES);
}

#[tokio::test]
async fn server_that_never_answers() {
    let outcome = play_against(Misbehaviour::Silent, Transport::Udp, false).await;
    let text = explanation(&outcome);
    // The harness cannot judge a SUT it cannot hear: an error naming the unanswered request
    // (and the steps that waited for nothing).
    assert_eq!(outcome.verdict, Verdict::Error, "{text}");
    assert!(
        text.contains("no final response") && text.contains("nothing arrived"),
        "{text}"
    );
    // Two expect steps of 1 s each, then the reply step is skipped.
    assert!(
        outcome.duration_us < 5_000_000,
        "took {} µs",
        outcome.duration_us
    );
}
