//! The UE as a subscriber (RFC 6665 §4.1, RFC 3856).

use super::*;

/// The URIs of a request's Route headers, in order.
fn routes(request: &SipMessage) -> Vec<String> {
    request
        .name_addrs("Route")
        .into_iter()
        .map(|r| r.uri)
        .collect()
}

#[tokio::test]
async fn the_subscribe_asks_for_presence_in_pidf() {
    let (mut pcscf, ue) = start(false, &[BOB], &[]).await;
    let subscribe = pcscf
        .take(Instant::now(), |m| m.is_request())
        .await
        .expect("the SUBSCRIBE is sent when start returns");
    assert_eq!(subscribe.method().as_deref(), Some("SUBSCRIBE"));
    assert_eq!(subscribe.request_uri(), Some(BOB));
    let via = subscribe.header("Via").expect("Via");
    assert!(
        via.starts_with(&format!("SIP/2.0/UDP {};branch=z9hG4bK", ue.addr())),
        "{via}"
    );
    assert_eq!(subscribe.header_u64("Max-Forwards"), Some(70));
    assert_eq!(routes(&subscribe), vec![format!("sip:{};lr", pcscf.addr())]);
    let from = &subscribe.name_addrs("From")[0];
    assert_eq!((from.uri.as_str(), from.tag().is_some()), (AOR, true));
    let to = &subscribe.name_addrs("To")[0];
    assert_eq!((to.uri.as_str(), to.tag()), (BOB, None));
    assert_eq!(subscribe.cseq().map(|(_, m)| m), Some("SUBSCRIBE"));
    assert_eq!(
        subscribe.name_addrs("Contact")[0].uri,
        format!("sip:ue-alice@{}", ue.addr())
    );
    assert_eq!(
        subscribe.event().map(|e| e.package),
        Some("presence".to_string())
    );
    assert_eq!(subscribe.tokens("Accept"), vec!["application/pidf+xml"]);
    assert_eq!(subscribe.header_u64("Expires"), Some(600));
    assert_eq!(subscribe.header_u64("Content-Length"), Some(0));
}

#[tokio::test]
async fn subscriptions_to_several_resources_go_out_in_order() {
    let carol = "sip:carol@home1.net";
    let (mut pcscf, _ue) = start(true, &[BOB, carol], &[]).await;
    let now = Instant::now();
    let mut order = Vec::new();
    for _ in 0..3 {
        let request = pcscf
            .take(now, |m| m.is_request())
            .await
            .expect("sent by start");
        order.push(request.request_uri().map(str::to_string));
    }
    let expected = [AOR, BOB, carol].map(|uri| Some(uri.to_string()));
    assert_eq!(order, expected, "PUBLISH first, then the watches in order");
}

#[tokio::test]
async fn the_dialog_refresh_follows_the_route_set_to_the_remote_target() {
    let (mut pcscf, _ue) = start(false, &[BOB], &[]).await;
    let subscribe = pcscf.next("SUBSCRIBE").await;
    // The 2xx as the P-CSCF passes it on: the S-CSCF's Record-Route first, its own last.
    let record_route = format!("<sip:scscf.home1.net;lr>, <sip:{};lr>", pcscf.addr());
    let extra = [
        ("Expires", "2"),
        ("Contact", "<sip:ps@192.0.2.1:5070>"),
        ("Record-Route", record_route.as_str()),
    ];
    pcscf.answer(&subscribe, 200, &extra).await;
    let accepted = Instant::now();
    let refresh = pcscf.next("SUBSCRIBE").await;
    let after = accepted.elapsed();
    assert!(
        after >= Duration::from_millis(850) && after < Duration::from_millis(1_500),
        "{after:?}"
    );
    assert_eq!(refresh.request_uri(), Some("sip:ps@192.0.2.1:5070"));
    assert_eq!(
        routes(&refresh),
        vec![
            format!("sip:{};lr", pcscf.addr()),
            "sip:scscf.home1.net;lr".to_string()
        ],
        "the outbound proxy first, not repeated, then the rest of the route set"
    );
    assert_eq!(refresh.call_id(), subscribe.call_id());
    assert_eq!(refresh.from_tag(), subscribe.from_tag());
    assert_eq!(refresh.to_tag().as_deref(), Some(PS_TAG));
    let cseq = |m: &SipMessage| m.cseq().expect("CSeq").0;
    assert_eq!(cseq(&refresh), cseq(&subscribe) + 1);
    assert_eq!(refresh.header_u64("Expires"), Some(600));
    assert_eq!(refresh.tokens("Accept"), vec!["application/pidf+xml"]);
}

#[tokio::test]
async fn notifies_in_the_dialog_get_200_and_others_481() {
    let (mut pcscf, _ue) = start(false, &[BOB], &[]).await;
    let subscribe = pcscf.accept_subscribe("600").await;
    assert_eq!(
        pcscf.notify(&subscribe, "active;expires=600").await,
        Some(200)
    );
    assert_eq!(pcscf.notify(&subscribe, "pending").await, Some(200));
    // Another notifier's tag, another Call-ID: no such subscription.
    assert_eq!(
        pcscf.notify_tagged(&subscribe, "other", "active").await,
        Some(481)
    );
    let raw = String::from_utf8(subscribe.raw.clone()).expect("text");
    let call_id = subscribe.call_id().expect("Call-ID");
    let elsewhere = raw.replace(call_id, "unknown-call");
    let elsewhere = SipMessage::parse(elsewhere.as_bytes()).expect("SIP");
    assert_eq!(pcscf.notify(&elsewhere, "active").await, Some(481));
    // In the dialog still, after those.
    assert_eq!(
        pcscf.notify(&subscribe, "active;expires=500").await,
        Some(200)
    );
}

#[tokio::test]
async fn a_notify_before_the_2xx_establishes_the_dialog() {
    let (mut pcscf, _ue) = start(false, &[BOB], &[]).await;
    let subscribe = pcscf.next("SUBSCRIBE").await;
    assert_eq!(
        pcscf.notify(&subscribe, "active;expires=600").await,
        Some(200)
    );
    // A second notifier's NOTIFY is now of another dialog.
    assert_eq!(
        pcscf.notify_tagged(&subscribe, "late", "active").await,
        Some(481)
    );
    pcscf.answer(&subscribe, 200, &[("Expires", "1")]).await;
    let refresh = pcscf.next("SUBSCRIBE").await;
    assert_eq!(refresh.to_tag().as_deref(), Some(PS_TAG));
    assert_eq!(refresh.call_id(), subscribe.call_id());
    assert_eq!(
        refresh.request_uri().map(str::to_string),
        Some(format!("sip:ps@{}", pcscf.addr())),
        "the NOTIFY's Contact"
    );
}

#[tokio::test]
async fn a_shorter_expires_in_a_notify_brings_the_refresh_forward() {
    let (mut pcscf, _ue) = start(false, &[BOB], &[]).await;
    let subscribe = pcscf.accept_subscribe("600").await;
    assert_eq!(
        pcscf.notify(&subscribe, "active;expires=1").await,
        Some(200)
    );
    let refresh = pcscf.next("SUBSCRIBE").await;
    assert_eq!(refresh.call_id(), subscribe.call_id());
}

#[tokio::test]
async fn after_deactivated_or_timeout_a_new_subscription_starts_at_once() {
    for reason in ["deactivated", "timeout"] {
        let (mut pcscf, _ue) = start(false, &[BOB], &[]).await;
        let subscribe = pcscf.accept_subscribe("600").await;
        let state = format!("terminated;reason={reason}");
        assert_eq!(pcscf.notify(&subscribe, &state).await, Some(200));
        let again = pcscf.next("SUBSCRIBE").await;
        assert_ne!(
            again.call_id(),
            subscribe.call_id(),
            "{reason}: a new dialog"
        );
        assert_ne!(again.from_tag(), subscribe.from_tag());
        assert_eq!(again.to_tag(), None);
        assert_eq!(again.request_uri(), Some(BOB));
        // The old dialog is gone.
        assert_eq!(pcscf.notify(&subscribe, "active").await, Some(481));
    }
}

#[tokio::test]
async fn after_rejected_noresource_invariant_or_no_reason_it_does_not_subscribe_again() {
    for state in [
        "terminated;reason=rejected",
        "terminated;reason=noresource",
        "terminated;reason=invariant",
        "terminated",
    ] {
        let (mut pcscf, _ue) = start(false, &[BOB], &[]).await;
        let subscribe = pcscf.accept_subscribe("600").await;
        assert_eq!(pcscf.notify(&subscribe, state).await, Some(200));
        pcscf.none("SUBSCRIBE", QUIET).await;
    }
}

#[tokio::test]
async fn after_probation_it_waits_for_the_retry_after() {
    let (mut pcscf, _ue) = start(false, &[BOB], &[]).await;
    let subscribe = pcscf.accept_subscribe("600").await;
    let state = "terminated;reason=probation;retry-after=1";
    assert_eq!(pcscf.notify(&subscribe, state).await, Some(200));
    let ended = Instant::now();
    let again = pcscf.next("SUBSCRIBE").await;
    assert!(
        ended.elapsed() >= Duration::from_millis(900),
        "{:?}",
        ended.elapsed()
    );
    assert_ne!(again.call_id(), subscribe.call_id());
}

#[tokio::test]
async fn after_423_it_asks_for_the_min_expires() {
    let (mut pcscf, _ue) = start(false, &[BOB], &[]).await;
    let subscribe = pcscf.next("SUBSCRIBE").await;
    pcscf
        .answer(&subscribe, 423, &[("Min-Expires", "1800")])
        .await;
    let retry = pcscf.next("SUBSCRIBE").await;
    assert_eq!(retry.header_u64("Expires"), Some(1800));
    assert_eq!(retry.call_id(), subscribe.call_id());
    assert_eq!(retry.to_tag(), None);
}

#[tokio::test]
async fn stopping_ends_each_subscription_and_the_final_notify_is_answered() {
    let (mut pcscf, ue) = start(true, &[BOB], &[]).await;
    pcscf.accept_publish("e1", "600").await;
    let subscribe = pcscf.accept_subscribe("600").await;
    ue.act("stop").await.expect("an action");
    let remove = pcscf.next("PUBLISH").await;
    assert_eq!(remove.header_u64("Expires"), Some(0));
    let unsubscribe = pcscf.next("SUBSCRIBE").await;
    assert_eq!(unsubscribe.header_u64("Expires"), Some(0));
    assert_eq!(unsubscribe.call_id(), subscribe.call_id());
    assert_eq!(unsubscribe.to_tag().as_deref(), Some(PS_TAG));
    pcscf.answer(&unsubscribe, 200, &[("Expires", "0")]).await;
    let state = "terminated;reason=timeout";
    assert_eq!(pcscf.notify(&subscribe, state).await, Some(200));
    pcscf.none("SUBSCRIBE", QUIET).await;
}

#[tokio::test]
async fn stopping_while_the_subscribe_is_in_flight_unsubscribes_after_its_2xx() {
    let (mut pcscf, ue) = start(false, &[BOB], &[]).await;
    let subscribe = pcscf.next("SUBSCRIBE").await;
    ue.act("stop").await.expect("an action");
    pcscf.none("SUBSCRIBE", QUIET).await;
    pcscf.answer(&subscribe, 200, &[("Expires", "600")]).await;
    let unsubscribe = pcscf.next("SUBSCRIBE").await;
    assert_eq!(unsubscribe.header_u64("Expires"), Some(0));
    assert_eq!(unsubscribe.to_tag().as_deref(), Some(PS_TAG));
}

#[tokio::test]
async fn a_refused_subscribe_leaves_no_subscription() {
    let (mut pcscf, _ue) = start(false, &[BOB], &[]).await;
    let subscribe = pcscf.next("SUBSCRIBE").await;
    pcscf.answer(&subscribe, 403, &[]).await;
    pcscf.none("SUBSCRIBE", QUIET).await;
    assert_eq!(pcscf.notify(&subscribe, "active").await, Some(481));
}

#[tokio::test]
async fn extreme_values_from_the_network_are_taken_without_harm() {
    let (mut pcscf, _ue) = start(false, &[BOB], &[]).await;
    let subscribe = pcscf.next("SUBSCRIBE").await;
    let huge = u64::MAX.to_string();
    pcscf.answer(&subscribe, 200, &[("Expires", &huge)]).await;
    let states = [
        format!("active;expires={huge}"),
        "active;expires=99999999999999999999999".to_string(),
        "active;expires=-5".to_string(),
        "pending;expires=0".to_string(),
        "weird-state;reason=\"x;y\"".to_string(),
        format!("terminated;reason=probation;retry-after={huge}"),
    ];
    for state in &states {
        assert_eq!(pcscf.notify(&subscribe, state).await, Some(200), "{state}");
    }
    pcscf.none("SUBSCRIBE", QUIET).await;
    let options = head(&pcscf, "sip:ue-alice@127.0.0.1", "still-there");
    let ok = pcscf.request("OPTIONS", &options, "", WAIT).await;
    assert_eq!(ok.and_then(|r| r.status()), Some(200));
}

#[tokio::test]
async fn a_notify_without_subscription_state_or_out_of_order_is_refused() {
    let (mut pcscf, _ue) = start(false, &[BOB], &[]).await;
    let subscribe = pcscf.accept_subscribe("600").await;
    assert_eq!(pcscf.notify(&subscribe, "active").await, Some(200));
    assert_eq!(pcscf.notify(&subscribe, "active").await, Some(200));
    // The helper's CSeq numbers go up; one below the last is out of order (RFC 3261 §12.2.2).
    pcscf.counter = 0;
    assert_eq!(pcscf.notify(&subscribe, "active").await, Some(500));
    pcscf.counter = 10;
    let target = subscribe.name_addrs("Contact")[0].uri.clone();
    let head = format!(
        "{target} SIP/2.0\r\nFrom: <{BOB}>;tag={PS_TAG}\r\nTo: {}\r\nCall-ID: {}\r\nEvent: presence",
        subscribe.header("From").expect("From"),
        subscribe.call_id().expect("Call-ID"),
    );
    let refused = pcscf.request("NOTIFY", &head, "", WAIT).await;
    assert_eq!(refused.and_then(|r| r.status()), Some(400));
    let other_event =
        head.replace("Event: presence", "Event: reg") + "\r\nSubscription-State: active";
    let refused = pcscf.request("NOTIFY", &other_event, "", WAIT).await;
    assert_eq!(refused.and_then(|r| r.status()), Some(481));
}
