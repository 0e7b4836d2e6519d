//! The PNA over real sockets: a UDP socket plays the S-CSCF.

use crate::pidf::ComposeFaults;
use crate::presentity::Presentity;
use crate::shared::lock;
use crate::sip::SipMessage;
use crate::{ReferenceConfig, ReferenceServer};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);
const AOR: &str = "sip:pna-user@home1.net";

fn reginfo(version: u64, full: bool, reg: &str, contact: &str) -> String {
    let state = if full { "full" } else { "partial" };
    format!(
        r#"<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="{version}" state="{state}"><registration aor="{AOR}" id="r1" state="{reg}"><contact id="c1" state="{contact}" event="registered"><uri>sip:pna-user@127.0.0.1:5999</uri></contact></registration></reginfo>"#
    )
}

/// The S-CSCF's socket.
struct Scscf {
    socket: UdpSocket,
    server: SocketAddr,
}

impl Scscf {
    async fn new(server: SocketAddr) -> Scscf {
        Scscf {
            socket: UdpSocket::bind("127.0.0.1:0").await.expect("bind"),
            server,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("local addr")
    }

    async fn send(&self, text: String) {
        self.socket
            .send_to(text.as_bytes(), self.server)
            .await
            .expect("send");
    }

    async fn recv(&self) -> SipMessage {
        let mut buf = vec![0u8; 65_535];
        let (n, _) = timeout(WAIT, self.socket.recv_from(&mut buf))
            .await
            .expect("a message within the timeout")
            .expect("recv");
        SipMessage::parse(&buf[..n]).expect("parseable SIP")
    }

    async fn register(&self, n: u32, contact_params: &str, expires: u64) -> SipMessage {
        self.send(format!(
            "REGISTER sip:{server} SIP/2.0\r\n\
Via: SIP/2.0/UDP {addr};branch=z9hG4bKreg{n}\r\n\
Max-Forwards: 70\r\n\
From: <sip:scscf1.home1.net>;tag=reg\r\n\
To: <{AOR}>\r\n\
Call-ID: register-{port}\r\n\
CSeq: {n} REGISTER\r\n\
Contact: <sip:{addr}>{contact_params}\r\n\
Expires: {expires}\r\n\
Content-Length: 0\r\n\r\n",
            server = self.server,
            addr = self.addr(),
            port = self.addr().port(),
        ))
        .await;
        self.recv().await
    }

    /// Answers a request from the PNA, adding To tag `s1` and our Contact.
    async fn answer(&self, request: &SipMessage, code: u16) {
        let mut text = format!("SIP/2.0 {code} Whatever\r\n");
        for via in request.header_lines("Via") {
            text.push_str(&format!("Via: {via}\r\n"));
        }
        let to = request.header("To").unwrap_or_default();
        let to = if to.contains("tag=") {
            to.to_string()
        } else {
            format!("{to};tag=s1")
        };
        text.push_str(&format!("To: {to}\r\n"));
        for name in ["From", "Call-ID", "CSeq"] {
            text.push_str(&format!(
                "{name}: {}\r\n",
                request.header(name).unwrap_or_default()
            ));
        }
        text.push_str(&format!(
            "Contact: <sip:{}>\r\nExpires: 600000\r\nContent-Length: 0\r\n\r\n",
            self.addr()
        ));
        self.socket
            .send_to(text.as_bytes(), self.server)
            .await
            .expect("send");
    }

    /// Sends a NOTIFY in the dialog the SUBSCRIBE `subscribe` opened; returns the status.
    async fn notify(
        &self,
        subscribe: &SipMessage,
        call_id: Option<&str>,
        cseq: u32,
        state: &str,
        content_type: &str,
        body: &str,
    ) -> u16 {
        let pna_from = subscribe.header("From").unwrap_or_default();
        self.send(format!(
            "NOTIFY sip:pna@{server} SIP/2.0\r\n\
Via: SIP/2.0/UDP {addr};branch=z9hG4bKnotify{cseq}\r\n\
Max-Forwards: 70\r\n\
From: <{AOR}>;tag=s1\r\n\
To: {pna_from}\r\n\
Call-ID: {call_id}\r\n\
CSeq: {cseq} NOTIFY\r\n\
Event: reg\r\n\
Subscription-State: {state}\r\n\
Content-Type: {content_type}\r\n\
Content-Length: {len}\r\n\r\n{body}",
            server = self.server,
            addr = self.addr(),
            call_id = call_id.or(subscribe.call_id()).unwrap_or_default(),
            len = body.len(),
        ))
        .await;
        let response = self.recv().await;
        assert!(!response.is_request(), "{}", response.summary());
        response.status().unwrap_or(0)
    }
}

fn composed(server: &ReferenceServer) -> String {
    let who = Presentity::from_uri(AOR).expect("presentity");
    lock(&server.shared.state)
        .esc
        .compose(&who, ComposeFaults::default())
}

async fn server() -> ReferenceServer {
    ReferenceServer::start(ReferenceConfig {
        t1: Duration::from_millis(50),
        ..ReferenceConfig::default()
    })
    .await
    .expect("start")
}

#[tokio::test]
async fn third_party_register_subscribes_and_publishes() {
    let server = server().await;
    let scscf = Scscf::new(server.udp_addr()).await;

    // The Contact's expires parameter wins over Expires, and is capped.
    let ok = scscf.register(1, ";expires=900000", 5).await;
    assert_eq!(ok.status(), Some(200));
    assert!(ok.to_tag().is_some());
    let contact = ok.header("Contact").unwrap_or_default();
    assert!(contact.ends_with(";expires=600000"), "{contact}");

    let subscribe = scscf.recv().await;
    assert_eq!(subscribe.method().as_deref(), Some("SUBSCRIBE"));
    assert_eq!(subscribe.request_uri(), Some(AOR));
    assert_eq!(subscribe.header("Event"), Some("reg"));
    assert_eq!(subscribe.header("Accept"), Some("application/reginfo+xml"));
    assert_eq!(subscribe.header("Expires"), Some("600000"));
    assert_eq!(subscribe.header("To"), Some(format!("<{AOR}>").as_str()));
    assert!(subscribe.from_tag().is_some());
    // Unanswered over UDP: retransmitted with the same branch (Timer E).
    let again = scscf.recv().await;
    assert_eq!(again.top_branch(), subscribe.top_branch());
    scscf.answer(&subscribe, 200).await;

    // NOTIFYs: another dialog gets 481; bad bodies are refused; good ones applied.
    assert_eq!(
        scscf
            .notify(
                &subscribe,
                Some("stranger"),
                100,
                "active",
                "application/reginfo+xml",
                ""
            )
            .await,
        481
    );
    let full = reginfo(0, true, "active", "active");
    assert_eq!(
        scscf
            .notify(
                &subscribe,
                None,
                1,
                "active;expires=600000",
                "text/plain",
                &full
            )
            .await,
        415
    );
    assert_eq!(
        scscf
            .notify(
                &subscribe,
                None,
                2,
                "active;expires=600000",
                "application/reginfo+xml",
                "<reginfo"
            )
            .await,
        400
    );
    assert!(!composed(&server).contains("open"));
    assert_eq!(
        scscf
            .notify(
                &subscribe,
                None,
                3,
                "active;expires=600000",
                "application/reginfo+xml",
                &full
            )
            .await,
        200
    );
    let doc = composed(&server);
    assert!(
        doc.contains("id=\"pna-reg\"") && doc.contains("<basic>open</basic>"),
        "{doc}"
    );

    // Deregistration reported and the subscription ended: the publication goes.
    let gone = reginfo(1, false, "terminated", "terminated");
    assert_eq!(
        scscf
            .notify(
                &subscribe,
                None,
                4,
                "terminated;reason=noresource",
                "application/reginfo+xml",
                &gone
            )
            .await,
        200
    );
    assert!(!composed(&server).contains("open"));
    assert_eq!(
        scscf
            .notify(
                &subscribe,
                None,
                5,
                "active",
                "application/reginfo+xml",
                &full
            )
            .await,
        481,
        "the dialog ended"
    );
    server.stop().await;
}

#[tokio::test]
async fn deregistration_ends_the_reg_subscription() {
    let server = server().await;
    let scscf = Scscf::new(server.udp_addr()).await;
    // The user's own publication, which the PNA's must compose with, not replace.
    let pidf = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:pna-user@home1.net"><tuple id="t1"><status><basic>closed</basic></status></tuple></presence>"#;
    scscf
        .send(format!(
            "PUBLISH {AOR} SIP/2.0\r\n\
Via: SIP/2.0/UDP {addr};branch=z9hG4bKpublish\r\n\
Max-Forwards: 70\r\n\
From: <{AOR}>;tag=pub\r\n\
To: <{AOR}>\r\n\
Call-ID: publish-{port}\r\n\
CSeq: 1 PUBLISH\r\n\
Event: presence\r\n\
Expires: 3600\r\n\
Content-Type: application/pidf+xml\r\n\
Content-Length: {len}\r\n\r\n{pidf}",
            addr = scscf.addr(),
            port = scscf.addr().port(),
            len = pidf.len(),
        ))
        .await;
    assert_eq!(scscf.recv().await.status(), Some(200));
    assert_eq!(scscf.register(1, "", 3600).await.status(), Some(200));
    let subscribe = scscf.recv().await;
    assert_eq!(subscribe.header("Expires"), Some("3600"));
    scscf.answer(&subscribe, 200).await;
    let full = reginfo(0, true, "active", "active");
    assert_eq!(
        scscf
            .notify(
                &subscribe,
                None,
                1,
                "active;expires=3600",
                "application/reginfo+xml",
                &full
            )
            .await,
        200
    );
    let doc = composed(&server);
    assert!(
        doc.contains("<basic>open</basic>") && doc.contains("<basic>closed</basic>"),
        "{doc}"
    );

    // A refresh does not subscribe again.
    assert_eq!(scscf.register(2, "", 3600).await.status(), Some(200));
    let ok = scscf.register(3, "", 0).await;
    assert_eq!(ok.status(), Some(200));
    let doc = composed(&server);
    assert!(
        !doc.contains("open") && doc.contains("<basic>closed</basic>"),
        "{doc}"
    );
    let unsubscribe = scscf.recv().await;
    assert_eq!(unsubscribe.method().as_deref(), Some("SUBSCRIBE"));
    assert_eq!(unsubscribe.header("Expires"), Some("0"));
    assert_eq!(unsubscribe.to_tag().as_deref(), Some("s1"));
    assert_eq!(unsubscribe.cseq().map(|c| c.0), Some(2));
    assert_eq!(unsubscribe.call_id(), subscribe.call_id());
    scscf.answer(&unsubscribe, 200).await;
    // The final NOTIFY is still accepted.
    assert_eq!(
        scscf
            .notify(
                &subscribe,
                None,
                2,
                "terminated;reason=timeout",
                "application/reginfo+xml",
                ""
            )
            .await,
        200
    );
    server.stop().await;
}
