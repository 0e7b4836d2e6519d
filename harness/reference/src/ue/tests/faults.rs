//! Each fault breaks what the conformant UE does in the tests beside this one.

use super::*;

#[tokio::test]
async fn no_refresh_lets_publication_and_subscription_lapse() {
    let (mut pcscf, _ue) = start(true, &[BOB], &[UeFault::NoRefresh]).await;
    pcscf.accept_publish("e1", "1").await;
    pcscf.accept_subscribe("1").await;
    // Granted 1 s: a conformant UE refreshes both at 0.8 s.
    let window = Duration::from_millis(1_300);
    pcscf.none("PUBLISH", window).await;
    pcscf.none("SUBSCRIBE", Duration::ZERO).await;
}

#[tokio::test]
async fn refresh_with_body_sends_the_document_again() {
    let (mut pcscf, _ue) = start(true, &[], &[UeFault::RefreshWithBody]).await;
    pcscf.accept_publish("e1", "1").await;
    let refresh = pcscf.next("PUBLISH").await;
    assert_eq!(refresh.header("SIP-If-Match"), Some("e1"));
    assert_eq!(refresh.header("Content-Type"), Some("application/pidf+xml"));
    assert!(refresh.body_text().contains("<basic>open</basic>"));
}

#[tokio::test]
async fn refresh_late_refreshes_after_the_interval_ended() {
    let (mut pcscf, _ue) = start(true, &[], &[UeFault::RefreshLate]).await;
    pcscf.accept_publish("e1", "1").await;
    let accepted = Instant::now();
    let refresh = pcscf.next("PUBLISH").await;
    assert!(
        accepted.elapsed() >= Duration::from_millis(1_100),
        "{:?}",
        accepted.elapsed()
    );
    assert_eq!(refresh.header("SIP-If-Match"), Some("e1"));
}

#[tokio::test]
async fn ignores_423_asks_for_the_same_expires_again() {
    let (mut pcscf, _ue) = start(true, &[BOB], &[UeFault::Ignores423]).await;
    let publish = pcscf.next("PUBLISH").await;
    pcscf
        .answer(&publish, 423, &[("Min-Expires", "1200")])
        .await;
    assert_eq!(pcscf.next("PUBLISH").await.header_u64("Expires"), Some(600));
    let subscribe = pcscf.next("SUBSCRIBE").await;
    pcscf
        .answer(&subscribe, 423, &[("Min-Expires", "1800")])
        .await;
    assert_eq!(
        pcscf.next("SUBSCRIBE").await.header_u64("Expires"),
        Some(600)
    );
}

#[tokio::test]
async fn ignores_412_repeats_the_stale_entity_tag() {
    let (mut pcscf, ue) = start(true, &[], &[UeFault::Ignores412]).await;
    pcscf.accept_publish("e1", "600").await;
    ue.act("set-status closed").await.expect("an action");
    let modify = pcscf.next("PUBLISH").await;
    let mut refused = modify;
    for _ in 0..3 {
        pcscf.answer(&refused, 412, &[]).await;
        refused = pcscf.next("PUBLISH").await;
        assert_eq!(refused.header("SIP-If-Match"), Some("e1"));
        assert!(refused.body_text().contains("<basic>closed</basic>"));
    }
    // Three retries, then it gives up.
    pcscf.answer(&refused, 412, &[]).await;
    pcscf.none("PUBLISH", QUIET).await;
}

#[tokio::test]
async fn modify_without_etag_publishes_anew() {
    let (mut pcscf, ue) = start(true, &[], &[UeFault::ModifyWithoutEtag]).await;
    pcscf.accept_publish("e1", "600").await;
    ue.act("set-status closed").await.expect("an action");
    let modify = pcscf.next("PUBLISH").await;
    assert_eq!(modify.header("SIP-If-Match"), None);
    assert!(modify.body_text().contains("<basic>closed</basic>"));
}

#[tokio::test]
async fn no_unpublish_leaves_the_publication_when_stopping() {
    let (mut pcscf, ue) = start(true, &[BOB], &[UeFault::NoUnpublish]).await;
    pcscf.accept_publish("e1", "600").await;
    pcscf.accept_subscribe("600").await;
    ue.act("stop").await.expect("an action");
    let unsubscribe = pcscf.next("SUBSCRIBE").await;
    assert_eq!(unsubscribe.header_u64("Expires"), Some(0));
    pcscf.none("PUBLISH", QUIET).await;
}

#[tokio::test]
async fn no_unsubscribe_leaves_the_subscription_when_stopping() {
    let (mut pcscf, ue) = start(true, &[BOB], &[UeFault::NoUnsubscribe]).await;
    pcscf.accept_publish("e1", "600").await;
    pcscf.accept_subscribe("600").await;
    ue.act("stop").await.expect("an action");
    let remove = pcscf.next("PUBLISH").await;
    assert_eq!(remove.header_u64("Expires"), Some(0));
    pcscf.none("SUBSCRIBE", QUIET).await;
}

#[tokio::test]
async fn wrong_entity_names_someone_else_in_the_document() {
    let (mut pcscf, _ue) = start(true, &[], &[UeFault::WrongEntity]).await;
    let publish = pcscf.next("PUBLISH").await;
    let body = publish.body_text();
    assert!(
        body.contains("entity=\"sip:someone-else@invalid\""),
        "{body}"
    );
    assert!(!body.contains(&format!("entity=\"{AOR}\"")), "{body}");
}

#[tokio::test]
async fn no_accept_pidf_accepts_only_xpidf() {
    let (mut pcscf, _ue) = start(false, &[BOB], &[UeFault::NoAcceptPidf]).await;
    let subscribe = pcscf.next("SUBSCRIBE").await;
    assert_eq!(subscribe.tokens("Accept"), vec!["application/xpidf+xml"]);
}

#[tokio::test]
async fn notify_unanswered_answers_no_notify() {
    let (mut pcscf, _ue) = start(false, &[BOB], &[UeFault::NotifyUnanswered]).await;
    let subscribe = pcscf.accept_subscribe("600").await;
    assert_eq!(pcscf.notify(&subscribe, "active;expires=600").await, None);
    assert_eq!(
        pcscf.notify_tagged(&subscribe, "other", "active").await,
        None
    );
    // The NOTIFY still counts: a deactivated subscription is renewed.
    assert_eq!(
        pcscf
            .notify(&subscribe, "terminated;reason=deactivated")
            .await,
        None
    );
    let again = pcscf.next("SUBSCRIBE").await;
    assert_ne!(again.call_id(), subscribe.call_id());
}

#[tokio::test]
async fn notify_200_unknown_accepts_a_notify_of_no_subscription() {
    let (mut pcscf, _ue) = start(false, &[BOB], &[UeFault::Notify200Unknown]).await;
    let subscribe = pcscf.accept_subscribe("600").await;
    assert_eq!(
        pcscf.notify_tagged(&subscribe, "other", "active").await,
        Some(200)
    );
}

#[tokio::test]
async fn resubscribe_after_rejected_subscribes_again_at_once() {
    for reason in ["rejected", "noresource"] {
        let (mut pcscf, _ue) = start(false, &[BOB], &[UeFault::ResubscribeAfterRejected]).await;
        let subscribe = pcscf.accept_subscribe("600").await;
        let state = format!("terminated;reason={reason}");
        assert_eq!(pcscf.notify(&subscribe, &state).await, Some(200));
        let again = pcscf.next("SUBSCRIBE").await;
        assert_ne!(again.call_id(), subscribe.call_id(), "{reason}");
    }
}

#[tokio::test]
async fn no_resubscribe_deactivated_does_not_subscribe_again() {
    let (mut pcscf, _ue) = start(false, &[BOB], &[UeFault::NoResubscribeDeactivated]).await;
    let subscribe = pcscf.accept_subscribe("600").await;
    let state = "terminated;reason=deactivated";
    assert_eq!(pcscf.notify(&subscribe, state).await, Some(200));
    pcscf.none("SUBSCRIBE", QUIET).await;
}

#[tokio::test]
async fn ignores_retry_after_subscribes_again_at_once() {
    for reason in ["probation", "giveup"] {
        let (mut pcscf, _ue) = start(false, &[BOB], &[UeFault::IgnoresRetryAfter]).await;
        let subscribe = pcscf.accept_subscribe("600").await;
        let state = format!("terminated;reason={reason};retry-after=30");
        assert_eq!(pcscf.notify(&subscribe, &state).await, Some(200));
        let ended = Instant::now();
        pcscf.next("SUBSCRIBE").await;
        assert!(
            ended.elapsed() < Duration::from_secs(2),
            "{reason}: {:?}",
            ended.elapsed()
        );
    }
}
