//! A NOTIFY may reach the subscriber before the 200 to its SUBSCRIBE (RFC 6665 §4.1.2.4).
//! A scripted notifier that always sends the NOTIFY first must still pass the subscription
//! flows, and the trace must show that order really happened.

use presence_harness::check::verdict::Verdict;
use presence_harness::flow::load_dir;
use presence_harness::net::Direction;
use presence_harness::runner::{play, settings_for};
use presence_harness::sip::typed::{uri_of, uri_socket_addr};
use presence_harness::sip::{MessageBuilder, SipMessage};
use presence_harness::sut::Profile;
use pretty_assertions::assert_eq;
use std::path::Path;
use tokio::net::UdpSocket;

/// Answers OPTIONS; answers each SUBSCRIBE by first sending its NOTIFY, then the 200.
async fn notify_first_notifier(socket: UdpSocket) {
    let mut buf = vec![0u8; 65_535];
    let mut cseq = 0u32;
    // Route sets by Call-ID: the initial SUBSCRIBE's Record-Route, in order (RFC 3261 §12.1.1).
    let mut route_sets = std::collections::HashMap::new();
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
            let routes: Vec<String> = route_sets
                .entry(request.call_id().unwrap_or_default().to_string())
                .or_insert_with(|| request.header_values("Record-Route"))
                .clone();
            let target = uri_of(request.header("Contact").unwrap_or_default());
            let next = routes.first().map_or(target.clone(), |r| uri_of(r));
            let state = if expires == 0 {
                "terminated;reason=timeout".to_string()
            } else {
                format!("active;expires={expires}")
            };
            cseq += 1;
            let mut notify = MessageBuilder::request("NOTIFY", &target)
                .header(
                    "Via",
                    format!(
                        "SIP/2.0/UDP {};branch=z9hG4bKfake{cseq}",
                        socket.local_addr().unwrap()
                    ),
                )
                .header("Max-Forwards", "70");
            for route in &routes {
                notify.push_header("Route", route.clone());
            }
            let notify = notify
                .header("From", to.clone())
                .header("To", request.header("From").unwrap_or_default())
                .header("Call-ID", request.call_id().unwrap_or_default())
                .header("CSeq", format!("{cseq} NOTIFY"))
                .header("Contact", format!("<sip:{}>", socket.local_addr().unwrap()))
                .header("Event", "presence")
                .header("Subscription-State", state)
                .build();
            if let Some(dest) = uri_socket_addr(&next) {
                let _ = socket.send_to(&notify, dest).await;
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
            ok.push_header("Contact", format!("<sip:{}>", socket.local_addr().unwrap()));
            ok.push_header("Expires", request.header("Expires").unwrap_or("600"));
        }
        let _ = socket.send_to(&ok.build(), from).await;
    }
}

#[tokio::test]
async fn notify_before_the_200_is_accepted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let server = tokio::spawn(notify_first_notifier(socket));
    let mut profile = Profile::load(&root.join("fixtures/suts/reference.yaml")).unwrap();
    profile.embedded = None;
    profile.address = Some(addr);
    profile.name = "notify-first-test".into();
    let mut settings = settings_for(&profile, addr, &root);
    settings.skip_snapshots = Some("not compared: a scripted test server".into());
    let flows = load_dir(&root.join("flows"), &root).unwrap();
    let flow = flows
        .iter()
        .find(|f| f.flow.id == "rfc6665-unsubscribe")
        .unwrap();
    let outcome = play(flow, &profile, &settings).await;
    server.abort();

    let received: Vec<&str> = outcome
        .trace
        .iter()
        .filter(|e| e.direction == Direction::Received)
        .map(|e| e.summary.as_str())
        .collect();
    assert!(received.len() >= 4, "{received:?}");
    assert!(
        received[0].starts_with("NOTIFY") && received[1].starts_with("200"),
        "order was {received:?}"
    );
    let failures: Vec<String> = outcome
        .checks
        .iter()
        .filter(|c| c.verdict() != Verdict::Pass)
        .map(|c| format!("{}: {} ({})", c.check, c.actual, c.requirement.key))
        .collect();
    assert_eq!(outcome.verdict, Verdict::Pass, "{failures:#?}");
}
