//! Legal notifier behaviour the flows must accept: a NOTIFY before the 200 to its SUBSCRIBE
//! (RFC 6665 §4.1.2.4), and extra NOTIFYs at any time. A scripted notifier does both; the
//! subscription flows must still pass, and the trace must show the order really happened.

use presence_harness::check::verdict::{Outcome, Verdict};
use presence_harness::flow::interp::FlowOutcome;
use presence_harness::flow::load_dir;
use presence_harness::net::Direction;
use presence_harness::runner::{play, settings_for};
use presence_harness::sip::typed::{uri_of, uri_socket_addr};
use presence_harness::sip::{MessageBuilder, SipMessage};
use presence_harness::sut::Profile;
use pretty_assertions::assert_eq;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::UdpSocket;

/// A NOTIFY in the dialog of `request` (a SUBSCRIBE), routed along `routes`.
fn notify(
    request: &SipMessage,
    to: &str,
    routes: &[String],
    local: SocketAddr,
    cseq: u32,
    state: &str,
) -> Vec<u8> {
    let target = uri_of(request.header("Contact").unwrap_or_default());
    let mut builder = MessageBuilder::request("NOTIFY", &target)
        .header(
            "Via",
            format!("SIP/2.0/UDP {local};branch=z9hG4bKfake{cseq}"),
        )
        .header("Max-Forwards", "70");
    for route in routes {
        builder.push_header("Route", route.clone());
    }
    builder
        .header("From", to)
        .header("To", request.header("From").unwrap_or_default())
        .header("Call-ID", request.call_id().unwrap_or_default())
        .header("CSeq", format!("{cseq} NOTIFY"))
        .header("Contact", format!("<sip:{local};gr>"))
        .header("Event", "presence")
        .header("Subscription-State", state)
        .build()
}

/// Answers OPTIONS; answers each SUBSCRIBE by first sending its NOTIFY, then the 200. With
/// `extra`, an active NOTIFY goes before each of those NOTIFYs.
async fn notify_first_notifier(socket: UdpSocket, extra: bool) {
    let local = socket.local_addr().expect("bound");
    let mut buf = vec![0u8; 65_535];
    let mut cseq = 0u32;
    // Route sets by Call-ID: the initial SUBSCRIBE's Record-Route, in order (RFC 3261 §12.1.1).
    let mut route_sets: HashMap<String, Vec<String>> = HashMap::new();
    loop {
        let Ok((len, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let Ok(request) = SipMessage::parse(&buf[..len]) else {
            continue;
        };
        let method = request.method().unwrap_or_default();
        if !request.is_request() || !["OPTIONS", "SUBSCRIBE"].contains(&method.as_str()) {
            continue;
        }
        let to = request.header("To").unwrap_or_default();
        let to = if request.to_tag().is_some() {
            to.to_string()
        } else {
            format!("{to};tag=fake1")
        };
        if method == "SUBSCRIBE" {
            let expires = request.header_u64("Expires").unwrap_or(600);
            let routes = route_sets
                .entry(request.call_id().unwrap_or_default().to_string())
                .or_insert_with(|| request.header_values("Record-Route"))
                .clone();
            let target = uri_of(request.header("Contact").unwrap_or_default());
            let next = routes.first().map_or(target, |r| uri_of(r));
            let mut states = Vec::new();
            if extra {
                states.push("active;expires=60".to_string());
            }
            states.push(if expires == 0 {
                "terminated;reason=timeout".into()
            } else {
                format!("active;expires={expires}")
            });
            for state in states {
                cseq += 1;
                if let Some(dest) = uri_socket_addr(&next) {
                    let _ = socket
                        .send_to(&notify(&request, &to, &routes, local, cseq, &state), dest)
                        .await;
                }
            }
        }
        let mut ok = MessageBuilder::response(200, "OK");
        for via in request.header_lines("Via") {
            ok.push_header("Via", via);
        }
        let mut ok = ok
            .header("From", request.header("From").unwrap_or_default())
            .header("To", to)
            .header("Call-ID", request.call_id().unwrap_or_default())
            .header("CSeq", request.header("CSeq").unwrap_or_default());
        if method == "SUBSCRIBE" {
            for rr in request.header_lines("Record-Route") {
                ok.push_header("Record-Route", rr);
            }
            ok.push_header("Contact", format!("<sip:{local};gr>"));
            ok.push_header("Expires", request.header("Expires").unwrap_or("600"));
        }
        let _ = socket.send_to(&ok.build(), from).await;
    }
}

/// Plays `rfc6665-unsubscribe` against the scripted notifier.
async fn play_against_script(extra: bool) -> FlowOutcome {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf();
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("bound");
    let server = tokio::spawn(notify_first_notifier(socket, extra));
    let mut profile = Profile::load(&root.join("fixtures/suts/reference.yaml")).expect("profile");
    profile.embedded = None;
    profile.address = Some(addr);
    profile.name = "scripted-notifier".into();
    let mut settings = settings_for(&profile, addr, &root);
    settings.skip_snapshots = Some("not compared: a scripted test server".into());
    let flows = load_dir(&root.join("flows"), &root).expect("flows");
    let flow = flows
        .iter()
        .find(|f| f.flow.id == "rfc6665-unsubscribe")
        .expect("flow");
    let outcome = play(flow, &profile, &settings).await;
    server.abort();
    outcome
}

fn failures(outcome: &FlowOutcome) -> Vec<String> {
    outcome
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| format!("{}: {} ({})", c.check, c.actual, c.requirement.key))
        .collect()
}

fn received(outcome: &FlowOutcome) -> Vec<String> {
    outcome
        .trace
        .iter()
        .filter(|e| e.direction == Direction::Received)
        .map(|e| e.summary.clone())
        .collect()
}

#[tokio::test]
async fn notify_before_the_200_is_accepted() {
    let outcome = play_against_script(false).await;
    let received = received(&outcome);
    assert!(received.len() >= 4, "{received:?}");
    assert!(
        received[0].starts_with("NOTIFY") && received[1].starts_with("200"),
        "order was {received:?}"
    );
    assert_eq!(outcome.verdict, Verdict::Pass, "{:#?}", failures(&outcome));
}

#[tokio::test]
async fn extra_notifies_are_answered_and_the_final_one_is_chosen_by_its_state() {
    let outcome = play_against_script(true).await;
    assert_eq!(outcome.verdict, Verdict::Pass, "{:#?}", failures(&outcome));
    let answered = outcome
        .trace
        .iter()
        .filter(|e| {
            e.note
                .as_deref()
                .is_some_and(|n| n.starts_with("intermediate"))
        })
        .count();
    assert!(
        answered >= 1,
        "no NOTIFY was passed over as intermediate: {:#?}",
        received(&outcome)
    );
    let final_checked = outcome.checks.iter().any(|c| {
        c.check.contains("Subscription-State equals \"terminated\"") && c.outcome == Outcome::Pass
    });
    assert!(
        final_checked,
        "the terminated NOTIFY was not the one checked"
    );
}
