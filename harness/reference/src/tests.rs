//! Tests of the reference server over real sockets on 127.0.0.1, with hand-written SIP text.

use super::{Fault, ReferenceConfig, ReferenceServer};
use crate::sip::SipMessage;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

const PIDF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:user1@home1.net">
  <tuple id="t1"><status><basic>open</basic></status></tuple>
</presence>"#;

const PIDF_CLOSED: &str = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:user1@home1.net"><tuple id="t1"><status><basic>closed</basic></status></tuple></presence>"#;

/// A UDP endpoint playing a UA or proxy.
struct Peer {
    socket: UdpSocket,
    server: SocketAddr,
    counter: std::cell::Cell<u32>,
}

impl Peer {
    async fn new(server: SocketAddr) -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        Peer {
            socket,
            server,
            counter: std::cell::Cell::new(0),
        }
    }

    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("local addr")
    }

    fn branch(&self) -> String {
        self.counter.set(self.counter.get() + 1);
        format!("z9hG4bKtest{}x{}", self.addr().port(), self.counter.get())
    }

    async fn send(&self, text: &str) {
        self.socket
            .send_to(text.as_bytes(), self.server)
            .await
            .expect("send");
    }

    async fn recv_within(&self, limit: Duration) -> Option<(SipMessage, SocketAddr)> {
        let mut buf = vec![0u8; 65_535];
        let (n, from) = timeout(limit, self.socket.recv_from(&mut buf))
            .await
            .ok()?
            .ok()?;
        Some((
            SipMessage::parse(&buf[..n]).expect("server sends parseable SIP"),
            from,
        ))
    }

    async fn recv(&self) -> SipMessage {
        self.recv_within(WAIT)
            .await
            .expect("a message within the timeout")
            .0
    }

    /// Sends a request and returns its response.
    async fn request(&self, text: &str) -> SipMessage {
        self.send(text).await;
        let response = self.recv().await;
        assert!(
            !response.is_request(),
            "expected a response, got {}",
            response.summary()
        );
        response
    }

    /// Answers a request received from the server with `code`.
    async fn answer(&self, request: &SipMessage, code: u16, to: SocketAddr) {
        let mut text = format!("SIP/2.0 {code} Whatever\r\n");
        for via in request.header_lines("Via") {
            text.push_str(&format!("Via: {via}\r\n"));
        }
        for name in ["From", "To", "Call-ID", "CSeq"] {
            text.push_str(&format!(
                "{name}: {}\r\n",
                request.header(name).unwrap_or_default()
            ));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        self.socket
            .send_to(text.as_bytes(), to)
            .await
            .expect("send");
    }

    fn publish(&self, headers: &str, body: &str) -> String {
        let content_type = if body.is_empty() {
            ""
        } else {
            "Content-Type: application/pidf+xml\r\n"
        };
        format!(
            "PUBLISH sip:user1@home1.net SIP/2.0\r\n\
Via: SIP/2.0/UDP {addr};branch={branch}\r\n\
Max-Forwards: 70\r\n\
From: <sip:user1@home1.net>;tag=pub{port}\r\n\
To: <sip:user1@home1.net>\r\n\
Call-ID: publish-{branch}\r\n\
CSeq: 1 PUBLISH\r\n\
{headers}{content_type}Content-Length: {len}\r\n\r\n{body}",
            addr = self.addr(),
            branch = self.branch(),
            port = self.addr().port(),
            len = body.len(),
        )
    }

    /// A SUBSCRIBE from this peer with the given dialog state and extra headers.
    fn subscribe(&self, call_id: &str, cseq: u32, to_tag: Option<&str>, headers: &str) -> String {
        let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
        format!(
            "SUBSCRIBE sip:user1@home1.net SIP/2.0\r\n\
Via: SIP/2.0/UDP {addr};branch={branch}\r\n\
Max-Forwards: 70\r\n\
From: <sip:watcher@home2.net>;tag=w{port}\r\n\
To: <sip:user1@home1.net>{to_tag}\r\n\
Call-ID: {call_id}\r\n\
CSeq: {cseq} SUBSCRIBE\r\n\
Contact: <sip:watcher@{addr}>\r\n\
Event: presence\r\n\
Accept: application/pidf+xml\r\n\
{headers}Content-Length: 0\r\n\r\n",
            addr = self.addr(),
            branch = self.branch(),
            port = self.addr().port(),
        )
    }
}

async fn server(faults: &[Fault]) -> ReferenceServer {
    let config = ReferenceConfig {
        faults: faults.iter().copied().collect(),
        t1: Duration::from_millis(50),
        ..ReferenceConfig::default()
    };
    ReferenceServer::start(config).await.expect("server starts")
}

/// Publishes PIDF and returns the entity-tag.
async fn publish(ua: &Peer, body: &str) -> String {
    let ok = ua
        .request(&ua.publish("Event: presence\r\nExpires: 600\r\n", body))
        .await;
    assert_eq!(ok.status(), Some(200));
    ok.header("SIP-ETag").expect("SIP-ETag").to_string()
}

/// Subscribes (no routes) and answers the first NOTIFY; returns (to-tag, that NOTIFY).
async fn subscribe(ua: &Peer, call_id: &str) -> (String, SipMessage) {
    let ok = ua
        .request(&ua.subscribe(call_id, 1, None, "Expires: 600\r\n"))
        .await;
    assert_eq!(ok.status(), Some(200));
    let tag = ok.to_tag().expect("To-tag").into_owned();
    let (notify, from) = ua.recv_within(WAIT).await.expect("first NOTIFY");
    assert_eq!(notify.method().as_deref(), Some("NOTIFY"));
    ua.answer(&notify, 200, from).await;
    (tag, notify)
}

#[tokio::test]
async fn publish_gets_etag_and_capped_expires() {
    let server = server(&[]).await;
    let ua = Peer::new(server.udp_addr()).await;
    let ok = ua
        .request(&ua.publish("Event: presence\r\nExpires: 7200\r\n", PIDF))
        .await;
    assert_eq!(ok.status(), Some(200));
    assert!(ok.header("SIP-ETag").is_some_and(|e| !e.is_empty()));
    assert_eq!(ok.header_u64("Expires"), Some(3600));
    assert!(ok.to_tag().is_some());
    assert_eq!(
        ok.header("Call-ID").map(|c| c.starts_with("publish-")),
        Some(true)
    );
    server.stop().await;
}

#[tokio::test]
async fn refresh_gets_new_etag_and_the_old_one_is_stale() {
    let server = server(&[]).await;
    let ua = Peer::new(server.udp_addr()).await;
    let first = publish(&ua, PIDF).await;
    let refresh = ua
        .request(&ua.publish(
            &format!("Event: presence\r\nSIP-If-Match: {first}\r\nExpires: 600\r\n"),
            "",
        ))
        .await;
    assert_eq!(refresh.status(), Some(200));
    let second = refresh.header("SIP-ETag").expect("SIP-ETag").to_string();
    assert_ne!(first, second);
    assert_eq!(refresh.header_u64("Expires"), Some(600));
    let stale = ua
        .request(&ua.publish(&format!("Event: presence\r\nSIP-If-Match: {first}\r\n"), ""))
        .await;
    assert_eq!(stale.status(), Some(412));
    let two = ua
        .request(&ua.publish(
            &format!("Event: presence\r\nSIP-If-Match: {second}, {first}\r\n"),
            "",
        ))
        .await;
    assert_eq!(two.status(), Some(400));
    let removed = ua
        .request(&ua.publish(
            &format!("Event: presence\r\nSIP-If-Match: {second}\r\nExpires: 0\r\n"),
            "",
        ))
        .await;
    assert_eq!(
        (removed.status(), removed.header_u64("Expires")),
        (Some(200), Some(0))
    );
    assert!(removed.header("SIP-ETag").is_some());
    let gone = ua
        .request(&ua.publish(
            &format!("Event: presence\r\nSIP-If-Match: {second}\r\n"),
            "",
        ))
        .await;
    assert_eq!(gone.status(), Some(412));
    server.stop().await;
}

#[tokio::test]
async fn publish_errors() {
    let server = server(&[]).await;
    let ua = Peer::new(server.udp_addr()).await;
    let no_event = ua.request(&ua.publish("", PIDF)).await;
    assert_eq!(no_event.status(), Some(489));
    assert_eq!(no_event.tokens("Allow-Events"), vec!["presence"]);
    let bad_event = ua.request(&ua.publish("Event: dialog\r\n", PIDF)).await;
    assert_eq!(bad_event.status(), Some(489));
    let brief = ua
        .request(&ua.publish("Event: presence\r\nExpires: 30\r\n", PIDF))
        .await;
    assert_eq!(
        (brief.status(), brief.header_u64("Min-Expires")),
        (Some(423), Some(60))
    );
    let no_body = ua.request(&ua.publish("Event: presence\r\n", "")).await;
    assert_eq!(no_body.status(), Some(400));
    let not_xml = ua
        .request(&ua.publish("Event: presence\r\n", "<presence"))
        .await;
    assert_eq!(not_xml.status(), Some(400));
    let text = ua
        .publish("Event: presence\r\n", "hello")
        .replace("application/pidf+xml", "text/plain");
    let unsupported = ua.request(&text).await;
    assert_eq!(unsupported.status(), Some(415));
    assert_eq!(
        unsupported.header("Accept"),
        Some("application/pidf+xml, application/pidf-diff+xml")
    );
    server.stop().await;
}

#[tokio::test]
async fn retransmitted_request_gets_the_same_response() {
    let server = server(&[]).await;
    let ua = Peer::new(server.udp_addr()).await;
    let text = ua.publish("Event: presence\r\n", PIDF);
    let first = ua.request(&text).await;
    let again = ua.request(&text).await;
    assert_eq!(first.raw, again.raw);
    server.stop().await;
}

#[tokio::test]
async fn options_unknown_methods_and_garbage() {
    let server = server(&[]).await;
    let ua = Peer::new(server.udp_addr()).await;
    ua.send("\u{0}\u{1}garbage\r\n\r\n").await;
    ua.send("SUBSCRIBE sip:x SIP/2.0\r\nContent-Length: 99\r\n\r\n")
        .await;
    let options = format!(
        "OPTIONS sip:ps@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:ps@127.0.0.1>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        ua.addr(),
        ua.branch()
    );
    assert_eq!(ua.request(&options).await.status(), Some(200));
    let message = options
        .replace("OPTIONS", "MESSAGE")
        .replace("z9hG4bK", "z9hG4bKm");
    assert_eq!(ua.request(&message).await.status(), Some(501));
    server.stop().await;
}

#[tokio::test]
async fn notify_follows_the_record_route_in_order() {
    let server = server(&[]).await;
    let ua = Peer::new(server.udp_addr()).await;
    let proxy = Peer::new(server.udp_addr()).await;
    let routes = format!("Record-Route: <sip:{};lr>, <sip:127.0.0.1:9;lr>\r\nRecord-Route: <sip:p3.home2.net;lr>\r\n", proxy.addr());
    let subscribe = ua.subscribe(
        "rr-1",
        1,
        None,
        &format!("Expires: 7200\r\nEvent: presence;id=\"7\"\r\n{routes}"),
    );
    // Two Event lines would be odd: keep only the one with the id.
    let subscribe = subscribe.replacen("Event: presence\r\n", "", 1);
    let ok = ua.request(&subscribe).await;
    assert_eq!(ok.status(), Some(200));
    let tag = ok.to_tag().expect("To-tag").into_owned();
    assert_eq!(ok.header_u64("Expires"), Some(3600));
    assert!(ok
        .header("Contact")
        .is_some_and(|c| c.contains(&server.udp_addr().to_string())));
    let record_route = ok.header_values("Record-Route");
    assert_eq!(record_route.len(), 3);
    let (notify, from) = proxy
        .recv_within(WAIT)
        .await
        .expect("NOTIFY at the first route");
    assert_eq!(from, server.udp_addr());
    assert_eq!(
        notify.request_uri(),
        Some(format!("sip:watcher@{}", ua.addr()).as_str())
    );
    assert_eq!(notify.header_values("Route"), record_route);
    assert_eq!(notify.call_id(), Some("rr-1"));
    assert_eq!(notify.cseq(), Some((1, "NOTIFY")));
    assert_eq!(notify.from_tag().as_deref(), Some(tag.as_str()));
    assert_eq!(
        notify.to_tag().as_deref(),
        Some(format!("w{}", ua.addr().port()).as_str())
    );
    assert_eq!(notify.header("Event"), Some("presence;id=\"7\""));
    let event = notify.event().expect("Event");
    assert_eq!(
        (event.package.as_str(), event.id.as_deref()),
        ("presence", Some("7"))
    );
    let state = notify.subscription_state().expect("Subscription-State");
    assert_eq!(state.state, "active");
    assert!(
        state.expires.is_some_and(|e| e <= 3600 && e > 3500),
        "{state:?}"
    );
    assert_eq!(notify.header("Content-Type"), Some("application/pidf+xml"));
    assert_eq!(notify.header("Max-Forwards"), Some("70"));
    assert!(notify
        .top_branch()
        .is_some_and(|b| b.starts_with("z9hG4bK")));
    assert!(notify
        .body_text()
        .contains("entity=\"sip:user1@home1.net\""));
    proxy.answer(&notify, 200, from).await;
    assert!(
        ua.recv_within(Duration::from_millis(200)).await.is_none(),
        "nothing goes to the Contact directly"
    );
    server.stop().await;
}

#[tokio::test]
async fn state_changes_notify_and_unsubscribe_terminates() {
    let server = server(&[]).await;
    let ua = Peer::new(server.udp_addr()).await;
    let publisher = Peer::new(server.udp_addr()).await;
    let (tag, first) = subscribe(&ua, "sub-1").await;
    assert!(!first.body_text().contains("<tuple"), "no publication yet");
    let etag = publish(&publisher, PIDF).await;
    let (update, from) = ua.recv_within(WAIT).await.expect("NOTIFY after PUBLISH");
    assert_eq!(update.cseq(), Some((2, "NOTIFY")));
    assert!(update.body_text().contains("<basic>open</basic>"));
    let first_expires = first
        .subscription_state()
        .and_then(|s| s.expires)
        .expect("expires");
    let update_expires = update
        .subscription_state()
        .and_then(|s| s.expires)
        .expect("expires");
    assert!(update_expires <= first_expires);
    ua.answer(&update, 200, from).await;
    // Modify: the watcher sees the new document.
    let modify = publisher.publish(
        &format!("Event: presence\r\nSIP-If-Match: {etag}\r\n"),
        PIDF_CLOSED,
    );
    assert_eq!(publisher.request(&modify).await.status(), Some(200));
    let (modified, from) = ua.recv_within(WAIT).await.expect("NOTIFY after modify");
    assert!(modified.body_text().contains("<basic>closed</basic>"));
    ua.answer(&modified, 200, from).await;
    // Unsubscribe.
    let ok = ua
        .request(&ua.subscribe("sub-1", 2, Some(&tag), "Expires: 0\r\n"))
        .await;
    assert_eq!(
        (ok.status(), ok.header_u64("Expires")),
        (Some(200), Some(0))
    );
    let (last, from) = ua.recv_within(WAIT).await.expect("final NOTIFY");
    let state = last.subscription_state().expect("Subscription-State");
    assert_eq!(
        (state.state.as_str(), state.reason.as_deref()),
        ("terminated", Some("timeout"))
    );
    assert_eq!(last.cseq(), Some((4, "NOTIFY")));
    assert!(last.body_text().contains("<basic>closed</basic>"));
    ua.answer(&last, 200, from).await;
    let after = ua
        .request(&ua.subscribe("sub-1", 3, Some(&tag), "Expires: 600\r\n"))
        .await;
    assert_eq!(after.status(), Some(481));
    server.stop().await;
}

#[tokio::test]
async fn subscribe_errors() {
    let server = server(&[]).await;
    let ua = Peer::new(server.udp_addr()).await;
    let bad_event = ua
        .request(
            &ua.subscribe("e-1", 1, None, "")
                .replace("Event: presence", "Event: reg"),
        )
        .await;
    assert_eq!(bad_event.status(), Some(489));
    assert_eq!(
        bad_event.tokens("Allow-Events"),
        vec!["presence", "presence.winfo"]
    );
    let accept = ua
        .subscribe("e-2", 1, None, "")
        .replace("Accept: application/pidf+xml", "Accept: text/plain");
    assert_eq!(ua.request(&accept).await.status(), Some(406));
    let unknown = ua.request(&ua.subscribe("e-3", 1, Some("nope"), "")).await;
    assert_eq!(unknown.status(), Some(481));
    server.stop().await;
}

#[tokio::test]
async fn subscriptions_beyond_the_limit_get_503_until_one_ends() {
    let config = ReferenceConfig {
        t1: Duration::from_millis(50),
        max_subscriptions: 1,
        ..ReferenceConfig::default()
    };
    let server = ReferenceServer::start(config).await.expect("server starts");
    let ua = Peer::new(server.udp_addr()).await;
    let (tag, _) = subscribe(&ua, "full-1").await;
    let full = ua.request(&ua.subscribe("full-2", 1, None, "")).await;
    assert_eq!(full.status(), Some(503));
    assert_eq!(full.header("Retry-After"), Some("30"));
    // A refresh of the existing subscription still works.
    let refresh = ua
        .request(&ua.subscribe("full-1", 2, Some(&tag), "Expires: 600\r\n"))
        .await;
    assert_eq!(refresh.status(), Some(200));
    notified(&ua).await;
    let bye = ua
        .request(&ua.subscribe("full-1", 3, Some(&tag), "Expires: 0\r\n"))
        .await;
    assert_eq!(bye.status(), Some(200));
    let last = notified(&ua).await;
    assert!(last
        .header("Subscription-State")
        .is_some_and(|s| s.starts_with("terminated")));
    // The room is freed when the final NOTIFY's 200 is processed; until then 503 again.
    let mut status = None;
    for n in 3..50 {
        let again = ua
            .request(&ua.subscribe(&format!("full-{n}"), 1, None, ""))
            .await;
        status = again.status();
        if status == Some(200) {
            break;
        }
        assert_eq!(status, Some(503));
    }
    assert_eq!(status, Some(200));
    server.stop().await;
}

#[tokio::test]
async fn finished_tasks_are_reaped_without_a_new_task() {
    let server = server(&[]).await;
    let shared = server.shared.clone();
    let running = shared.task_count();
    let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..3 {
        let done = done.clone();
        shared.spawn(async move {
            let _ = done.send(());
        });
    }
    for _ in 0..3 {
        finished.recv().await.expect("the task ran");
    }
    // The reaper runs once a second; wait for it, bounded.
    let reaped = timeout(WAIT, async {
        while shared.task_count() > running {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(reaped.is_ok(), "{} tasks kept", shared.task_count());
    server.stop().await;
}

#[tokio::test]
async fn notify_retransmission_stops_after_the_200() {
    let server = server(&[]).await;
    let ua = Peer::new(server.udp_addr()).await;
    let ok = ua.request(&ua.subscribe("rt-1", 1, None, "")).await;
    assert_eq!(ok.status(), Some(200));
    let (first, from) = ua.recv_within(WAIT).await.expect("NOTIFY");
    let (again, _) = ua
        .recv_within(WAIT)
        .await
        .expect("retransmitted NOTIFY (Timer E)");
    assert_eq!(first.raw, again.raw);
    ua.answer(&again, 200, from).await;
    // Drain a retransmission that crossed the 200, then expect silence over several T1.
    let mut late = 0;
    while let Some((message, _)) = ua.recv_within(Duration::from_millis(600)).await {
        assert_eq!(message.raw, first.raw);
        late += 1;
        assert!(late < 2, "NOTIFY still retransmitted after the 200");
    }
    server.stop().await;
}

#[tokio::test]
async fn error_response_to_notify_deletes_the_subscription() {
    let server = server(&[]).await;
    let ua = Peer::new(server.udp_addr()).await;
    let ok = ua.request(&ua.subscribe("del-1", 1, None, "")).await;
    let tag = ok.to_tag().expect("To-tag").into_owned();
    let (notify, from) = ua.recv_within(WAIT).await.expect("NOTIFY");
    ua.answer(&notify, 481, from).await;
    // The deletion happens when the 481 is processed; until then a refresh may still be
    // accepted. Refresh until refused, answering any NOTIFY with 481 too.
    let mut status = None;
    for cseq in 2..50 {
        ua.send(&ua.subscribe("del-1", cseq, Some(&tag), "")).await;
        loop {
            let (message, from) = ua.recv_within(WAIT).await.expect("a response");
            if message.is_request() {
                ua.answer(&message, 481, from).await;
                continue;
            }
            status = message.status();
            break;
        }
        if status == Some(481) {
            break;
        }
    }
    assert_eq!(status, Some(481));
    server.stop().await;
}

#[tokio::test]
async fn fault_switches_change_behaviour() {
    let server = server(&[Fault::NoSipEtag, Fault::NoExpiresIn2xx]).await;
    let ua = Peer::new(server.udp_addr()).await;
    let ok = ua.request(&ua.publish("Event: presence\r\n", PIDF)).await;
    assert_eq!(ok.status(), Some(200));
    assert_eq!(ok.header("SIP-ETag"), None);
    assert_eq!(ok.header("Expires"), None);
    server.stop().await;

    let server = self::server(&[Fault::ReuseEtag, Fault::AcceptStaleEtag]).await;
    let ua = Peer::new(server.udp_addr()).await;
    let etag = publish(&ua, PIDF).await;
    let refresh = ua
        .request(&ua.publish(&format!("Event: presence\r\nSIP-If-Match: {etag}\r\n"), ""))
        .await;
    assert_eq!(refresh.header("SIP-ETag"), Some(etag.as_str()));
    let stale = ua
        .request(&ua.publish("Event: presence\r\nSIP-If-Match: nonsense\r\n", ""))
        .await;
    assert_eq!(stale.status(), Some(200));
    server.stop().await;

    let server = self::server(&[
        Fault::SubscriptionStateWithoutExpires,
        Fault::WrongPidfNamespace,
        Fault::NoFinalNotify,
    ])
    .await;
    let ua = Peer::new(server.udp_addr()).await;
    let (tag, notify) = subscribe(&ua, "f-1").await;
    assert_eq!(notify.header("Subscription-State"), Some("active"));
    assert!(notify
        .body_text()
        .contains("urn:ietf:params:xml:ns:pidf-wrong"));
    let ok = ua
        .request(&ua.subscribe("f-1", 2, Some(&tag), "Expires: 0\r\n"))
        .await;
    assert_eq!(ok.status(), Some(200));
    assert!(
        ua.recv_within(Duration::from_millis(300)).await.is_none(),
        "no final NOTIFY"
    );
    server.stop().await;
}

#[tokio::test]
async fn stale_notify_after_modify_fault() {
    let server = server(&[Fault::StaleNotifyAfterModify]).await;
    let ua = Peer::new(server.udp_addr()).await;
    let publisher = Peer::new(server.udp_addr()).await;
    let etag = publish(&publisher, PIDF).await;
    subscribe(&ua, "s-1").await;
    let modify = publisher.publish(
        &format!("Event: presence\r\nSIP-If-Match: {etag}\r\n"),
        PIDF_CLOSED,
    );
    assert_eq!(publisher.request(&modify).await.status(), Some(200));
    let (notify, from) = ua.recv_within(WAIT).await.expect("NOTIFY after modify");
    assert!(
        notify.body_text().contains("<basic>open</basic>"),
        "the previous document"
    );
    ua.answer(&notify, 200, from).await;
    server.stop().await;
}

#[tokio::test]
async fn publication_expiry_notifies_watchers() {
    let config = ReferenceConfig {
        publish_min_expires: 1,
        t1: Duration::from_millis(50),
        ..ReferenceConfig::default()
    };
    let server = ReferenceServer::start(config).await.expect("server starts");
    let ua = Peer::new(server.udp_addr()).await;
    let publisher = Peer::new(server.udp_addr()).await;
    let ok = publisher
        .request(&publisher.publish("Event: presence\r\nExpires: 1\r\n", PIDF))
        .await;
    assert_eq!(ok.header_u64("Expires"), Some(1));
    let (_, first) = subscribe(&ua, "x-1").await;
    assert!(first.body_text().contains("<tuple"));
    let (notify, from) = ua.recv_within(WAIT).await.expect("NOTIFY after expiry");
    assert!(
        !notify.body_text().contains("<tuple"),
        "{}",
        notify.body_text()
    );
    ua.answer(&notify, 200, from).await;
    server.stop().await;
}

#[tokio::test]
async fn subscribe_over_tcp_gets_notify_over_tcp() {
    let server = server(&[]).await;
    let watcher = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let contact = watcher.local_addr().expect("addr");
    let mut stream = TcpStream::connect(server.tcp_addr())
        .await
        .expect("connect");
    let subscribe = format!(
        "SUBSCRIBE sip:user1@home1.net SIP/2.0\r\nVia: SIP/2.0/TCP {contact};branch=z9hG4bKtcp1\r\nFrom: <sip:w@h>;tag=t1\r\nTo: <sip:user1@home1.net>\r\nCall-ID: tcp-1\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:w@{contact};transport=tcp>\r\nEvent: presence\r\nContent-Length: 0\r\n\r\n"
    );
    stream.write_all(subscribe.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = timeout(WAIT, stream.read(&mut buf))
        .await
        .expect("in time")
        .expect("read");
    let ok = SipMessage::parse(&buf[..n]).expect("response");
    assert_eq!(ok.status(), Some(200));
    assert!(ok
        .header("Contact")
        .is_some_and(|c| c.contains("transport=tcp")));
    let (mut incoming, _) = timeout(WAIT, watcher.accept())
        .await
        .expect("in time")
        .expect("accept");
    let mut data = Vec::new();
    let notify = loop {
        let n = timeout(WAIT, incoming.read(&mut buf))
            .await
            .expect("in time")
            .expect("read");
        assert!(n > 0, "connection closed");
        data.extend_from_slice(&buf[..n]);
        if let crate::sip::framing::Frame::Complete(len) = crate::sip::framing::next_frame(&data) {
            break SipMessage::parse(&data[..len]).expect("NOTIFY");
        }
    };
    assert_eq!(notify.method().as_deref(), Some("NOTIFY"));
    assert!(notify
        .header("Via")
        .is_some_and(|v| v.starts_with("SIP/2.0/TCP")));
    server.stop().await;
}

#[tokio::test]
async fn stop_releases_the_sockets() {
    let server = server(&[]).await;
    let ua = Peer::new(server.udp_addr()).await;
    subscribe(&ua, "stop-1").await;
    let (udp, tcp) = (server.udp_addr(), server.tcp_addr());
    server.stop().await;
    UdpSocket::bind(udp)
        .await
        .expect("UDP port free after stop");
    TcpListener::bind(tcp)
        .await
        .expect("TCP port free after stop");
}

/// PUTs (or, with no body, DELETEs) user1's pres-rules over the server's XCAP port; returns
/// the HTTP status.
async fn pres_rules(server: &ReferenceServer, body: Option<&str>) -> u16 {
    let root = server.xcap_root();
    let (host, path) = root
        .trim_start_matches("http://")
        .split_once('/')
        .expect("root has a path");
    let mut stream = TcpStream::connect(host).await.expect("connect XCAP");
    let target = format!("/{path}/pres-rules/users/sip:user1@home1.net/index");
    let request = match body {
        Some(body) => format!(
            "PUT {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/auth-policy+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        None => format!("DELETE {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    };
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    timeout(WAIT, stream.read_to_string(&mut answer))
        .await
        .expect("XCAP answers")
        .expect("read");
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// Rules giving `sip:watcher@home2.net` this sub-handling.
fn rules_for_watcher(handling: &str) -> String {
    format!(
        r#"<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"><rule id="w"><conditions><identity><one id="sip:watcher@home2.net"/></identity></conditions><actions><sub-handling xmlns="urn:ietf:params:xml:ns:pres-rules">{handling}</sub-handling></actions></rule></ruleset>"#
    )
}

/// Receives a NOTIFY, answers it 200 and returns it.
async fn notified(ua: &Peer) -> SipMessage {
    notify_answered(ua, 200).await
}

/// The rls-services document of `sip:watcher@home2.net` used by the list tests.
const RLS_SERVICES: &str = r#"<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists">
  <service uri="sip:friends@home2.net">
    <list><rl:entry uri="sip:user1@home1.net"/><rl:entry uri="sip:nobody@home1.net"/></list>
  </service>
</rls-services>"#;

/// Receives a NOTIFY, answers it with `code` and returns it.
async fn notify_answered(ua: &Peer, code: u16) -> SipMessage {
    let (notify, from) = ua.recv_within(WAIT).await.expect("a NOTIFY");
    assert_eq!(notify.method().as_deref(), Some("NOTIFY"));
    ua.answer(&notify, code, from).await;
    notify
}

#[tokio::test]
async fn pres_rules_changes_reauthorize_and_feed_watcher_info() {
    let server = server(&[]).await;
    let watcher = Peer::new(server.udp_addr()).await;
    let owner = Peer::new(server.udp_addr()).await;
    publish(&owner, PIDF).await;
    // Open policy: the watcher is active at once.
    let (_, first) = subscribe(&watcher, "authz-1").await;
    assert!(first.body_text().contains("<basic>open</basic>"));
    // Only the presentity may see its watchers.
    let winfo = |ua: &Peer, call_id: &str| {
        ua.subscribe(call_id, 1, None, "Expires: 600\r\n")
            .replace("Event: presence", "Event: presence.winfo")
            .replace(
                "Accept: application/pidf+xml",
                "Accept: application/watcherinfo+xml",
            )
    };
    let refused = watcher.request(&winfo(&watcher, "winfo-0")).await;
    assert_eq!(refused.status(), Some(403));
    let own = winfo(&owner, "winfo-1").replace(
        "From: <sip:watcher@home2.net>",
        "From: <sip:user1@home1.net>",
    );
    assert_eq!(owner.request(&own).await.status(), Some(200));
    let full = notified(&owner).await;
    assert_eq!(full.header("Event"), Some("presence.winfo"));
    let text = full.body_text();
    assert!(text.contains("version=\"0\" state=\"full\""), "{text}");
    assert!(text.contains("status=\"active\" event=\"subscribe\">sip:watcher@home2.net<"));
    // Polite block: the watcher sees the neutral document; the watcher list does not change.
    assert_eq!(
        pres_rules(&server, Some(&rules_for_watcher("polite-block"))).await,
        201
    );
    let polite = notified(&watcher).await;
    assert_eq!(
        polite.subscription_state().map(|s| s.state).as_deref(),
        Some("active")
    );
    assert!(polite.body_text().contains("<basic>closed</basic>"));
    // Block: the subscription ends as rejected, and the owner is told.
    assert_eq!(
        pres_rules(&server, Some(&rules_for_watcher("block"))).await,
        200
    );
    let ended = notified(&watcher).await;
    let state = ended.subscription_state().expect("Subscription-State");
    assert_eq!(
        (state.state.as_str(), state.reason.as_deref()),
        ("terminated", Some("rejected"))
    );
    let partial = notified(&owner).await.body_text();
    assert!(
        partial.contains("version=\"1\" state=\"partial\""),
        "{partial}"
    );
    assert!(partial.contains("status=\"terminated\" event=\"rejected\""));
    // A new SUBSCRIBE from the blocked watcher is refused.
    let again = watcher
        .request(&watcher.subscribe("authz-2", 1, None, "Expires: 600\r\n"))
        .await;
    assert_eq!(again.status(), Some(403));
    // Confirm, then approval by deleting the rules (open policy again).
    pres_rules(&server, Some(&rules_for_watcher("confirm"))).await;
    let ok = watcher
        .request(&watcher.subscribe("authz-3", 1, None, "Expires: 600\r\n"))
        .await;
    assert_eq!(ok.status(), Some(200));
    let pending = notified(&watcher).await;
    assert_eq!(
        pending.subscription_state().map(|s| s.state).as_deref(),
        Some("pending")
    );
    assert!(pending.body.is_empty());
    assert!(notified(&owner)
        .await
        .body_text()
        .contains("status=\"pending\" event=\"subscribe\""));
    assert_eq!(pres_rules(&server, None).await, 200);
    let active = notified(&watcher).await;
    assert!(active.body_text().contains("<basic>open</basic>"));
    let approved = notified(&owner).await.body_text();
    assert!(approved.contains("version=\"3\""), "{approved}");
    assert!(approved.contains("status=\"active\" event=\"approved\""));
    server.stop().await;
}

#[tokio::test]
async fn list_subscription_negotiates_eventlist_numbers_versions_and_follows_the_list() {
    let server = server(&[]).await;
    let key = super::xcap::DocumentKey {
        auid: "rls-services".into(),
        tree: super::xcap::Tree::Users("sip:watcher@home2.net".into()),
        name: "index".into(),
    };
    let store = |text: String| {
        super::shared::lock(&server.shared.state)
            .xcap
            .put(key.clone(), text);
        super::xcap::on_document_change(&server.shared, &key);
    };
    store(RLS_SERVICES.into());
    let ua = Peer::new(server.udp_addr()).await;
    let to_list = |text: String| {
        text.replace(
            "SUBSCRIBE sip:user1@home1.net",
            "SUBSCRIBE sip:friends@home2.net",
        )
    };
    // Without Supported: eventlist the list cannot be served (RFC 4662 §4.1).
    let refused = ua
        .request(&to_list(ua.subscribe("list-0", 1, None, "")))
        .await;
    assert_eq!(refused.status(), Some(421));
    assert_eq!(refused.tokens("Require"), vec!["eventlist".to_string()]);

    let eventlist = "Supported: eventlist\r\nExpires: 600\r\n";
    let ok = ua
        .request(&to_list(ua.subscribe("list-1", 1, None, eventlist)))
        .await;
    assert_eq!(ok.status(), Some(200));
    assert_eq!(ok.tokens("Require"), vec!["eventlist".to_string()]);
    let tag = ok.to_tag().expect("To-tag").into_owned();
    let first = notify_answered(&ua, 200).await;
    assert_eq!(first.tokens("Require"), vec!["eventlist".to_string()]);
    let content_type = first.header("Content-Type").unwrap_or_default();
    assert!(content_type.starts_with("multipart/related;type=\"application/rlmi+xml\""));
    let body = String::from_utf8_lossy(&first.body).to_string();
    assert!(body.contains("uri=\"sip:friends@home2.net\" version=\"0\" fullState=\"true\""));
    assert!(body.contains("<resource uri=\"sip:nobody@home1.net\">"));
    assert_eq!(
        body.matches("Content-Type: application/pidf+xml").count(),
        2
    );

    // One member changes: a partial notification with that member only.
    publish(&ua, PIDF).await;
    let change = notify_answered(&ua, 200).await;
    let body = String::from_utf8_lossy(&change.body).to_string();
    assert!(body.contains("version=\"1\" fullState=\"false\""), "{body}");
    assert!(body.contains("<resource uri=\"sip:user1@home1.net\">"));
    assert!(!body.contains("sip:nobody@home1.net"));
    assert!(body.contains("<basic>open</basic>"));

    // The list gains a member: full state with the new list; the instance ids stay.
    let instance = |body: &str, uri: &str| {
        let at = body.find(&format!("<resource uri=\"{uri}\">")).expect(uri);
        body[at..].split('"').nth(3).map(str::to_string)
    };
    let first_body = String::from_utf8_lossy(&first.body).to_string();
    store(RLS_SERVICES.replace("</list>", "<rl:entry uri=\"sip:carol@home1.net\"/></list>"));
    let grown = notify_answered(&ua, 200).await;
    let body = String::from_utf8_lossy(&grown.body).to_string();
    assert!(body.contains("version=\"2\" fullState=\"true\""), "{body}");
    assert_eq!(body.matches("<resource ").count(), 3);
    assert_eq!(
        instance(&body, "sip:user1@home1.net"),
        instance(&first_body, "sip:user1@home1.net")
    );

    // A refresh gets full state again; a 481 to its NOTIFY ends the subscription.
    let refreshed = ua
        .request(&to_list(ua.subscribe("list-1", 2, Some(&tag), eventlist)))
        .await;
    assert_eq!(refreshed.status(), Some(200));
    let full = notify_answered(&ua, 481).await;
    let body = String::from_utf8_lossy(&full.body).to_string();
    assert!(body.contains("version=\"3\" fullState=\"true\""), "{body}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    publish(&ua, PIDF_CLOSED).await;
    assert!(ua.recv_within(Duration::from_millis(300)).await.is_none());
    let gone = ua
        .request(&to_list(ua.subscribe("list-1", 3, Some(&tag), eventlist)))
        .await;
    assert_eq!(gone.status(), Some(481));
    server.stop().await;
}

#[tokio::test]
async fn list_members_are_shown_as_their_pres_rules_allow() {
    let server = server(&[]).await;
    let key = super::xcap::DocumentKey {
        auid: "rls-services".into(),
        tree: super::xcap::Tree::Users("sip:watcher@home2.net".into()),
        name: "index".into(),
    };
    super::shared::lock(&server.shared.state)
        .xcap
        .put(key.clone(), RLS_SERVICES.into());
    let owner = Peer::new(server.udp_addr()).await;
    publish(&owner, PIDF).await;
    // user1 asks to confirm the watcher; nobody@home1.net has no rules (open policy).
    assert_eq!(
        pres_rules(&server, Some(&rules_for_watcher("confirm"))).await,
        201
    );
    let ua = Peer::new(server.udp_addr()).await;
    let list_subscribe = |cseq: u32| {
        ua.subscribe(
            "rules-list",
            cseq,
            None,
            "Supported: eventlist\r\nExpires: 600\r\n",
        )
        .replace(
            "SUBSCRIBE sip:user1@home1.net",
            "SUBSCRIBE sip:friends@home2.net",
        )
    };
    assert_eq!(ua.request(&list_subscribe(1)).await.status(), Some(200));
    let body = notify_answered(&ua, 200).await.body_text();
    let user1 = |body: &str| {
        let at = body
            .find("<resource uri=\"sip:user1@home1.net\">")
            .expect("user1 listed");
        let end = at + body[at..].find("</resource>").expect("resource ends");
        body[at..end].to_string()
    };
    let instance_id = |resource: &str| resource.split('"').nth(3).map(str::to_string);
    let pending = user1(&body);
    assert!(pending.contains("state=\"pending\""), "{body}");
    assert!(!pending.contains("cid="), "{body}");
    assert!(!body.contains("<basic>open</basic>"), "{body}");
    assert_eq!(
        body.matches("Content-Type: application/pidf+xml").count(),
        1,
        "only the open member has a part: {body}"
    );

    // Polite block: the neutral document, as a partial notification of user1 alone.
    pres_rules(&server, Some(&rules_for_watcher("polite-block"))).await;
    let body = notify_answered(&ua, 200).await.body_text();
    assert!(body.contains("version=\"1\" fullState=\"false\""), "{body}");
    assert!(user1(&body).contains("state=\"active\""), "{body}");
    assert!(body.contains("<basic>closed</basic>"), "{body}");
    assert!(!body.contains("sip:nobody@home1.net"), "{body}");
    // A politely blocked member's changes are not told.
    publish(&owner, PIDF_CLOSED).await;
    assert!(ua.recv_within(Duration::from_millis(300)).await.is_none());

    // Block: the instance is terminated (rejected) and has no part.
    pres_rules(&server, Some(&rules_for_watcher("block"))).await;
    let body = notify_answered(&ua, 200).await.body_text();
    let blocked = user1(&body);
    assert!(
        blocked.contains("state=\"terminated\" reason=\"rejected\""),
        "{body}"
    );
    assert_eq!(body.matches("application/pidf+xml").count(), 0, "{body}");

    // Allow with the tuples provided: the real document again, in a new instance.
    let allow = rules_for_watcher("allow").replace(
        "</actions>",
        "</actions><transformations><provide-services xmlns=\"urn:ietf:params:xml:ns:pres-rules\"><all-services/></provide-services></transformations>",
    );
    pres_rules(&server, Some(&allow)).await;
    let body = notify_answered(&ua, 200).await.body_text();
    let allowed = user1(&body);
    assert!(allowed.contains("state=\"active\""), "{body}");
    assert_ne!(instance_id(&allowed), instance_id(&blocked));
    assert_eq!(instance_id(&pending), instance_id(&blocked));
    assert!(body.contains("<basic>closed</basic>"), "{body}");
    publish(&owner, PIDF).await;
    let body = notify_answered(&ua, 200).await.body_text();
    assert!(body.contains("<basic>open</basic>"), "{body}");
    server.stop().await;
}

/// user1's document: an open tuple and a person in sphere `value`, in a happy mood.
fn pidf_in_sphere(value: &str) -> String {
    format!(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:user1@home1.net"><tuple id="t1"><status><basic>open</basic></status></tuple><dm:person id="p1"><r:sphere><r:{value}/></r:sphere><r:mood><r:happy/></r:mood></dm:person></presence>"#
    )
}

#[tokio::test]
async fn the_published_sphere_selects_the_rules_that_apply() {
    let server = server(&[]).await;
    let watcher = Peer::new(server.udp_addr()).await;
    let owner = Peer::new(server.udp_addr()).await;
    // In the work sphere everyone sees the person and its sphere; otherwise the tuples only.
    let rules = r#"<cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><cr:rule id="work"><cr:conditions><cr:sphere value="work"/></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions><cr:transformations><pr:provide-persons><pr:all-persons/></pr:provide-persons><pr:provide-sphere>true</pr:provide-sphere></cr:transformations></cr:rule><cr:rule id="any"><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions><cr:transformations><pr:provide-services><pr:all-services/></pr:provide-services></cr:transformations></cr:rule></cr:ruleset>"#;
    assert_eq!(pres_rules(&server, Some(rules)).await, 201);
    let etag = publish(&owner, &pidf_in_sphere("work")).await;
    let (_, first) = subscribe(&watcher, "sphere-1").await;
    let body = first.body_text();
    assert!(body.contains("<r:sphere><r:work/></r:sphere>"), "{body}");
    assert!(
        body.contains("id=\"t1\"") && !body.contains("r:mood"),
        "{body}"
    );
    // Home: the work rule no longer applies; one NOTIFY tells it.
    let modify = |sphere: &str, etag: &str| {
        owner.publish(
            &format!("Event: presence\r\nExpires: 600\r\nSIP-If-Match: {etag}\r\n"),
            &pidf_in_sphere(sphere),
        )
    };
    let ok = owner.request(&modify("home", &etag)).await;
    assert_eq!(ok.status(), Some(200));
    let body = notified(&watcher).await.body_text();
    assert!(
        !body.contains("dm:person") && body.contains("<basic>open</basic>"),
        "{body}"
    );
    assert!(watcher
        .recv_within(Duration::from_millis(300))
        .await
        .is_none());
    // Back to work: the person is shown again.
    let etag = ok.header("SIP-ETag").expect("SIP-ETag").to_string();
    assert_eq!(
        owner.request(&modify("work", &etag)).await.status(),
        Some(200)
    );
    let body = notified(&watcher).await.body_text();
    assert!(body.contains("<r:sphere><r:work/></r:sphere>"), "{body}");
    assert!(watcher
        .recv_within(Duration::from_millis(300))
        .await
        .is_none());
    server.stop().await;
}
