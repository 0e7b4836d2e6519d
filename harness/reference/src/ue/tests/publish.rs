//! The UE as a publication agent (RFC 3903 §4, §5).

use super::*;

/// The basic status in a PIDF body.
fn basic(request: &SipMessage) -> &'static str {
    let body = request.body_text();
    match (
        body.contains("<basic>open</basic>"),
        body.contains("<basic>closed</basic>"),
    ) {
        (true, false) => "open",
        (false, true) => "closed",
        _ => panic!("one basic status expected in {body}"),
    }
}

#[tokio::test]
async fn the_initial_publish_carries_the_document_and_no_entity_tag() {
    let (mut pcscf, ue) = start(true, &[], &[]).await;
    // `start` returned after the PUBLISH went out: it is there already.
    let publish = pcscf
        .take(Instant::now(), |m| m.is_request())
        .await
        .expect("the PUBLISH is sent when start returns");
    assert_eq!(publish.method().as_deref(), Some("PUBLISH"));
    assert_eq!(publish.request_uri(), Some(AOR));
    let via = publish.header("Via").expect("Via");
    assert!(
        via.starts_with(&format!("SIP/2.0/UDP {};branch=z9hG4bK", ue.addr())),
        "{via}"
    );
    assert_eq!(publish.header_u64("Max-Forwards"), Some(70));
    assert_eq!(
        publish.header_values("Route")[0],
        format!("<sip:{};lr>", pcscf.addr())
    );
    let from = &publish.name_addrs("From")[0];
    assert_eq!((from.uri.as_str(), from.tag().is_some()), (AOR, true));
    let to = &publish.name_addrs("To")[0];
    assert_eq!((to.uri.as_str(), to.tag()), (AOR, None));
    assert!(publish.call_id().is_some());
    assert_eq!(publish.cseq().map(|(_, m)| m), Some("PUBLISH"));
    assert_eq!(
        publish.event().map(|e| e.package),
        Some("presence".to_string())
    );
    assert_eq!(publish.header_u64("Expires"), Some(600));
    assert_eq!(publish.header("SIP-If-Match"), None);
    assert_eq!(publish.header("Content-Type"), Some("application/pidf+xml"));
    assert_eq!(
        publish.header_u64("Content-Length"),
        Some(publish.body.len() as u64)
    );
    let body = publish.body_text();
    assert!(
        body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{body}"
    );
    assert!(body.contains(&format!("entity=\"{AOR}\"")), "{body}");
    assert!(
        body.contains(&format!("<contact>sip:ue-alice@{}</contact>", ue.addr())),
        "{body}"
    );
    assert_eq!(basic(&publish), "open");
}

#[tokio::test]
async fn a_refresh_carries_the_entity_tag_and_no_body_before_the_granted_interval_ends() {
    let (mut pcscf, _ue) = start(true, &[], &[]).await;
    let initial = pcscf.accept_publish("e1", "2").await;
    let accepted = Instant::now();
    let refresh = pcscf.next("PUBLISH").await;
    let after = accepted.elapsed();
    // Granted 2 s: the refresh goes 1 s before the end.
    assert!(
        after >= Duration::from_millis(850) && after < Duration::from_millis(1_500),
        "{after:?}"
    );
    assert_eq!(refresh.header("SIP-If-Match"), Some("e1"));
    assert_eq!(
        refresh.header_u64("Expires"),
        Some(600),
        "the Expires asked for"
    );
    assert!(refresh.body.is_empty());
    assert_eq!(refresh.header("Content-Type"), None);
    assert_eq!(refresh.header_u64("Content-Length"), Some(0));
    assert_eq!(refresh.call_id(), initial.call_id());
    assert_eq!(refresh.from_tag(), initial.from_tag());
    let cseq = |m: &SipMessage| m.cseq().expect("CSeq").0;
    assert_eq!(cseq(&refresh), cseq(&initial) + 1);
    // The next entity-tag is the one the refresh's 2xx gave.
    pcscf
        .answer(&refresh, 200, &[("SIP-ETag", "e2"), ("Expires", "1")])
        .await;
    let again = pcscf.next("PUBLISH").await;
    assert_eq!(again.header("SIP-If-Match"), Some("e2"));
}

#[tokio::test]
async fn a_status_change_modifies_the_publication_with_its_entity_tag() {
    let (mut pcscf, ue) = start(true, &[], &[]).await;
    pcscf.accept_publish("e1", "600").await;
    ue.act("set-status closed").await.expect("an action");
    let modify = pcscf.next("PUBLISH").await;
    assert_eq!(modify.header("SIP-If-Match"), Some("e1"));
    assert_eq!(modify.header("Content-Type"), Some("application/pidf+xml"));
    assert_eq!(basic(&modify), "closed");
    assert_eq!(modify.header_u64("Expires"), Some(600));
}

#[tokio::test]
async fn a_status_change_without_a_publication_publishes_anew() {
    let (mut pcscf, ue) = start(false, &[], &[]).await;
    pcscf.none("PUBLISH", QUIET).await;
    ue.act("set-status closed").await.expect("an action");
    let publish = pcscf.next("PUBLISH").await;
    assert_eq!(publish.header("SIP-If-Match"), None);
    assert_eq!(basic(&publish), "closed");
    // A refused publication is forgotten: the next change is an initial PUBLISH again.
    pcscf.answer(&publish, 403, &[]).await;
    ue.act("set-status open").await.expect("an action");
    let publish = pcscf.next("PUBLISH").await;
    assert_eq!(publish.header("SIP-If-Match"), None);
    assert_eq!(basic(&publish), "open");
}

#[tokio::test]
async fn after_412_the_publication_starts_anew_with_the_current_status() {
    let (mut pcscf, ue) = start(true, &[], &[]).await;
    pcscf.accept_publish("e1", "600").await;
    ue.act("set-status closed").await.expect("an action");
    let modify = pcscf.next("PUBLISH").await;
    assert_eq!(modify.header("SIP-If-Match"), Some("e1"));
    pcscf.answer(&modify, 412, &[]).await;
    let initial = pcscf.next("PUBLISH").await;
    assert_eq!(initial.header("SIP-If-Match"), None);
    assert_eq!(basic(&initial), "closed");
    assert_eq!(initial.header_u64("Expires"), Some(600));
}

#[tokio::test]
async fn after_423_it_asks_for_the_min_expires() {
    let (mut pcscf, _ue) = start(true, &[], &[]).await;
    let publish = pcscf.next("PUBLISH").await;
    pcscf
        .answer(&publish, 423, &[("Min-Expires", "1200")])
        .await;
    let retry = pcscf.next("PUBLISH").await;
    assert_ne!(
        retry.top_branch(),
        publish.top_branch(),
        "a new transaction"
    );
    assert_eq!(retry.header_u64("Expires"), Some(1200));
    assert_eq!(retry.header("SIP-If-Match"), None);
    assert_eq!(basic(&retry), "open");
    // A Min-Expires that is not longer: it gives up.
    pcscf.answer(&retry, 423, &[("Min-Expires", "1200")]).await;
    pcscf.none("PUBLISH", QUIET).await;
}

#[tokio::test]
async fn stopping_removes_the_publication() {
    let (mut pcscf, ue) = start(true, &[], &[]).await;
    pcscf.accept_publish("e1", "600").await;
    ue.act("stop").await.expect("an action");
    let remove = pcscf.next("PUBLISH").await;
    assert_eq!(remove.header_u64("Expires"), Some(0));
    assert_eq!(remove.header("SIP-If-Match"), Some("e1"));
    assert!(remove.body.is_empty());
    assert_eq!(remove.header("Content-Type"), None);
    pcscf
        .answer(&remove, 200, &[("SIP-ETag", "e2"), ("Expires", "0")])
        .await;
    // It stays alive and answers.
    let options = head(&pcscf, "sip:ue-alice@127.0.0.1", "alive");
    let ok = pcscf.request("OPTIONS", &options, "", WAIT).await;
    assert_eq!(ok.and_then(|r| r.status()), Some(200));
    pcscf.none("PUBLISH", QUIET).await;
}

#[tokio::test]
async fn one_publish_is_in_flight_at_a_time() {
    let (mut pcscf, ue) = start(true, &[], &[]).await;
    let initial = pcscf.next("PUBLISH").await;
    // The action is taken at once, but its PUBLISH waits for the answer to the first.
    timeout(QUIET, ue.act("set-status closed"))
        .await
        .expect("act returns while a PUBLISH is in flight")
        .expect("an action");
    pcscf.none("PUBLISH", QUIET).await;
    pcscf
        .answer(&initial, 200, &[("SIP-ETag", "e1"), ("Expires", "600")])
        .await;
    let modify = pcscf.next("PUBLISH").await;
    assert_eq!(modify.header("SIP-If-Match"), Some("e1"));
    assert_eq!(basic(&modify), "closed");
}
