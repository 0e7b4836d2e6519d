//! An XCAP server that asks for HTTP Digest: the flow's request is answered 401, the harness
//! answers the challenge with the profile's credentials (the user name made from the
//! requesting role), and the second response is the one the step checks. Without
//! credentials the 401 is what the step sees.

use presence_harness::check::verdict::Outcome;
use presence_harness::flow::catalogue;
use presence_harness::flow::loader::load_str;
use presence_harness::runner::{play, settings_for};
use presence_harness::sut::profile::CredentialsTemplate;
use presence_harness::sut::Profile;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const FLOW: &str = r#"
id: digest-put
title: a PUT to a server that asks for Digest
spec: [{ doc: RFC 4825, clause: "8", level: must }]
requires: [xcap]
roles:
  owner: { kind: ue, user: dg-owner, domain: home1.net }
  ps: { kind: sut, service: xcap }
steps:
  - http: PUT
    as: put
    from: owner
    to: ps
    url: ${ps.xcap_root}/resource-lists/users/${owner.aor}/index
    headers: { Content-Type: application/resource-lists+xml }
    body: { text: "<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"/>" }
  - expect: response
    of: put
    status: { one_of: [201], req: rfc4825-put-201 }
"#;

/// Answers requests without Authorization with a challenge, and the others with 201 when the
/// user name is the expected one (403 otherwise); stops after two requests.
async fn challenging_server(listener: TcpListener, user: &'static str) {
    let mut served = 0;
    while let Ok((mut stream, _)) = listener.accept().await {
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        served += 1;
        let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let reply: &[u8] = if !text.contains("\r\nauthorization: digest ") {
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"xcap\", nonce=\"n0nce\", qop=\"auth\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        } else if text.contains(&format!("username=\"{user}\"")) && text.contains("response=\"") {
            b"HTTP/1.1 201 Created\r\nETag: \"e1\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        } else {
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        };
        let _ = stream.write_all(reply).await;
        if served == 2 {
            break;
        }
    }
}

/// The outcome of the status check, and the trace.
async fn run(credentials: Option<CredentialsTemplate>) -> (Outcome, Vec<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(challenging_server(listener, "dg-owner@home1.net"));
    let catalogue = catalogue::load(&root).expect("catalogue");
    let flow = load_str(FLOW, Path::new("digest-put.yaml"), &root, &catalogue).expect("flow");
    let mut profile = Profile::load(&root.join("fixtures/suts/reference.yaml")).expect("profile");
    profile.embedded = None;
    profile.address = Some(addr);
    profile.xcap_credentials = credentials;
    let mut settings = settings_for(&profile, addr, &root);
    settings.xcap_root = Some(format!("http://{addr}/xcap-root"));
    let outcome = play(&flow, &profile, &settings).await;
    server.abort();
    let summaries = outcome.trace.iter().map(|t| t.summary.clone()).collect();
    let status = outcome
        .checks
        .iter()
        .find(|c| c.check.starts_with("status"))
        .map(|c| c.outcome)
        .expect("a status check");
    (status, summaries)
}

#[tokio::test]
async fn a_digest_challenge_is_answered_with_the_profile_credentials() {
    let credentials = CredentialsTemplate {
        username: "${user}@home1.net".into(),
        password: "secret".into(),
    };
    let (status, trace) = run(Some(credentials)).await;
    assert_eq!(status, Outcome::Pass, "{trace:?}");
    assert_eq!(
        trace.len(),
        4,
        "401 exchange and the answered one: {trace:?}"
    );
    assert!(trace[1].starts_with("401"), "{trace:?}");
    assert!(trace[3].starts_with("201"), "{trace:?}");
}

#[tokio::test]
async fn without_credentials_the_step_sees_the_401() {
    let (status, trace) = run(None).await;
    assert_eq!(status, Outcome::Fail, "{trace:?}");
    assert_eq!(trace.len(), 2, "{trace:?}");
}
