//! Message rules: requirements that hold for every message of a kind, whatever flow or
//! workload made the SUT send it. Each rule enforces one requirement of the catalogue
//! (`fixtures/requirements.yaml`), named by key, and reports to a [`RuleSink`] whether it
//! held, so a caller can count checks and failures per requirement.

use crate::sip::text::parse_params;
use crate::sip::typed::uri_of;
use crate::sip::SipMessage;

/// The keys of the catalogue entries these rules cite.
pub const KEYS: &[&str] = &[
    REQUEST_HEADERS,
    RESPONSE_COPIES,
    "rfc3261-totag",
    "rfc3903-etag-in-2xx",
    "rfc3903-expires-in-2xx",
    "rfc6665-2xx-expires",
    "rfc3261-contact-in-2xx",
    "rfc6665-event-match",
    "rfc6665-substate-present",
    "rfc6665-substate-expires",
    NOTIFY_ACCEPT,
    TARGET_REFRESH_CONTACT,
];

const REQUEST_HEADERS: &str = "rfc3261-request-headers";
const RESPONSE_COPIES: &str = "rfc3261-response-copies";
const NOTIFY_ACCEPT: &str = "rfc6665-notify-accept";
const TARGET_REFRESH_CONTACT: &str = "rfc3261-target-refresh-contact";

/// How a rule that did not hold failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFailure {
    /// What the requirement asks for.
    pub expected: String,
    /// What the message had.
    pub actual: String,
}

/// Receives the outcome of every rule applied.
pub trait RuleSink {
    /// Rule `key` was applied; `failure` is `None` when it held.
    fn outcome(&mut self, key: &'static str, failure: Option<RuleFailure>);
}

/// A request the harness sent, against which the SUT's response is checked.
#[derive(Debug, Clone, Copy)]
pub struct SentRequest<'a> {
    /// Method.
    pub method: &'a str,
    /// The addr-spec of its From.
    pub from_uri: &'a str,
    /// Its From tag.
    pub from_tag: &'a str,
    /// Its Call-ID.
    pub call_id: &'a str,
    /// Its CSeq number.
    pub cseq: u32,
    /// The branch of its one Via.
    pub branch: &'a str,
    /// It is sent outside a dialog and its 2xx creates one (an initial SUBSCRIBE).
    pub creates_dialog: bool,
}

/// What a subscription asked for, against which its NOTIFYs are checked.
#[derive(Debug, Clone, Copy)]
pub struct Subscribed<'a> {
    /// The event package of the SUBSCRIBE.
    pub event: &'a str,
    /// The media types its Accept listed.
    pub accept: &'a [&'a str],
}

/// Reports one rule; what it expected and what it saw are only worked out when it failed.
fn check(
    sink: &mut impl RuleSink,
    key: &'static str,
    held: bool,
    expected: impl FnOnce() -> String,
    actual: impl FnOnce() -> String,
) {
    let failure = (!held).then(|| RuleFailure {
        expected: expected(),
        actual: actual(),
    });
    sink.outcome(key, failure);
}

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "absent".to_string(), |v| format!("{v:?}"))
}

/// Rules on a response to `sent` (RFC 3261 §8.2.6.2, §12.1.1; RFC 3903 §6; RFC 6665 §3.1.1).
pub fn check_response(sent: &SentRequest, response: &SipMessage, sink: &mut impl RuleSink) {
    let code = response.status().unwrap_or(0);
    let from = response.header("From");
    let vias = response.header_lines("Via");
    let copies_held = from.is_some_and(|f| uri_of(f) == sent.from_uri)
        && response.from_tag().as_deref() == Some(sent.from_tag)
        && response.call_id() == Some(sent.call_id)
        && response.cseq() == Some((sent.cseq, sent.method.to_string()))
        && vias.len() == 1
        && !vias[0].contains(',')
        && response.top_branch().as_deref() == Some(sent.branch);
    check(
        sink,
        RESPONSE_COPIES,
        copies_held,
        || {
            format!(
                "From <{}>;tag={}, Call-ID {}, CSeq {} {}, one Via with branch {}",
                sent.from_uri, sent.from_tag, sent.call_id, sent.cseq, sent.method, sent.branch
            )
        },
        || {
            format!(
                "From {}, Call-ID {}, CSeq {}, Via {:?}",
                shown(from),
                shown(response.call_id()),
                shown(response.header("CSeq")),
                vias
            )
        },
    );
    if code > 100 {
        let to = response.header("To");
        check(
            sink,
            "rfc3261-totag",
            response.to_tag().is_some(),
            || "a To header with a tag".to_string(),
            || shown(to),
        );
    }
    if !(200..300).contains(&code) {
        return;
    }
    match sent.method {
        "PUBLISH" => {
            let etags = response.header_values("SIP-ETag");
            check(
                sink,
                "rfc3903-etag-in-2xx",
                etags.len() == 1 && !etags[0].is_empty(),
                || "one SIP-ETag with a single entity-tag".to_string(),
                || format!("{etags:?}"),
            );
            check_expires(response, "rfc3903-expires-in-2xx", sink);
        }
        "SUBSCRIBE" => {
            check_expires(response, "rfc6665-2xx-expires", sink);
            if !sent.creates_dialog {
                return;
            }
            let contact = response.header("Contact");
            check(
                sink,
                "rfc3261-contact-in-2xx",
                contact.is_some_and(|c| !c.trim().is_empty()),
                || "a Contact header".to_string(),
                || shown(contact),
            );
        }
        _ => {}
    }
}

/// A 2xx carries Expires with delta-seconds (the rule `key` names which RFC asks it).
fn check_expires(response: &SipMessage, key: &'static str, sink: &mut impl RuleSink) {
    check(
        sink,
        key,
        response.header_u64("Expires").is_some(),
        || "an Expires header (delta-seconds)".to_string(),
        || shown(response.header("Expires")),
    );
}

/// Rules on a NOTIFY of a subscription (RFC 3261 §8.1.1, §12.2.1.1; RFC 6665 §3.2.1, §4.2.2).
pub fn check_notify(subscribed: &Subscribed, notify: &SipMessage, sink: &mut impl RuleSink) {
    let missing: Vec<&str> = ["To", "From", "CSeq", "Call-ID", "Max-Forwards", "Via"]
        .into_iter()
        .filter(|name| notify.header(name).is_none())
        .collect();
    check(
        sink,
        REQUEST_HEADERS,
        missing.is_empty(),
        || "To, From, CSeq, Call-ID, Max-Forwards and Via".to_string(),
        || format!("missing {}", missing.join(", ")),
    );
    let contact = notify.header("Contact");
    check(
        sink,
        TARGET_REFRESH_CONTACT,
        contact.is_some(),
        || "a Contact header (NOTIFY is a target refresh request)".to_string(),
        || shown(contact),
    );
    let event = notify.header("Event");
    check(
        sink,
        "rfc6665-event-match",
        notify
            .event()
            .is_some_and(|e| e.package == subscribed.event),
        || format!("Event {}", subscribed.event),
        || shown(event),
    );
    let state = notify.header("Subscription-State");
    let parsed = notify.subscription_state();
    let value = parsed.as_ref().map(|p| p.state.as_str());
    check(
        sink,
        "rfc6665-substate-present",
        matches!(value, Some("active" | "pending" | "terminated")),
        || "Subscription-State active, pending or terminated".to_string(),
        || shown(state),
    );
    if matches!(value, Some("active" | "pending")) {
        check(
            sink,
            "rfc6665-substate-expires",
            parsed.as_ref().is_some_and(|p| p.expires.is_some()),
            || "an expires parameter on an active or pending Subscription-State".to_string(),
            || shown(state),
        );
    }
    if !notify.body.is_empty() {
        let content_type = notify.header("Content-Type");
        let media = content_type.map(|c| parse_params(c).value.to_ascii_lowercase());
        check(
            sink,
            NOTIFY_ACCEPT,
            media
                .as_deref()
                .is_some_and(|m| subscribed.accept.iter().any(|a| a.eq_ignore_ascii_case(m))),
            || {
                format!(
                    "a body of a type the SUBSCRIBE accepted: {}",
                    subscribed.accept.join(", ")
                )
            },
            || format!("Content-Type {}", shown(content_type)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Failed(Vec<&'static str>, usize);

    impl RuleSink for Failed {
        fn outcome(&mut self, key: &'static str, failure: Option<RuleFailure>) {
            self.1 += 1;
            if failure.is_some() {
                self.0.push(key);
            }
        }
    }

    const SENT: SentRequest = SentRequest {
        method: "PUBLISH",
        from_uri: "sip:a@example.com",
        from_tag: "f1",
        call_id: "c1",
        cseq: 7,
        branch: "z9hG4bKb1",
        creates_dialog: false,
    };

    fn response(extra: &str) -> SipMessage {
        response_to("PUBLISH", extra)
    }

    fn response_to(method: &str, extra: &str) -> SipMessage {
        SipMessage::parse(
            format!(
                "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKb1;received=127.0.0.1\r\nFrom: <sip:a@example.com>;tag=f1\r\nTo: <sip:a@example.com>;tag=t9\r\nCall-ID: c1\r\nCSeq: 7 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn a_good_publish_answer_breaks_no_rule() {
        let mut sink = Failed::default();
        check_response(
            &SENT,
            &response("SIP-ETag: e1\r\nExpires: 60\r\n"),
            &mut sink,
        );
        assert_eq!(sink.0, Vec::<&str>::new());
        assert_eq!(sink.1, 4);
    }

    #[test]
    fn each_missing_piece_breaks_its_rule() {
        let mut sink = Failed::default();
        check_response(&SENT, &response("Expires: 60\r\n"), &mut sink);
        assert_eq!(sink.0, ["rfc3903-etag-in-2xx"]);
        let wrong_cseq = SentRequest { cseq: 8, ..SENT };
        let mut sink = Failed::default();
        check_response(
            &wrong_cseq,
            &response("SIP-ETag: e\r\nExpires: 60\r\n"),
            &mut sink,
        );
        assert_eq!(sink.0, [RESPONSE_COPIES]);
    }

    #[test]
    fn contact_is_asked_of_the_2xx_that_creates_the_dialog_only() {
        let subscribe = SentRequest {
            method: "SUBSCRIBE",
            ..SENT
        };
        let ok = response_to("SUBSCRIBE", "Expires: 60\r\n");
        let mut sink = Failed::default();
        check_response(
            &SentRequest {
                creates_dialog: true,
                ..subscribe
            },
            &ok,
            &mut sink,
        );
        assert_eq!(sink.0, ["rfc3261-contact-in-2xx"]);
        let mut sink = Failed::default();
        check_response(&subscribe, &ok, &mut sink);
        assert_eq!(
            sink.0,
            Vec::<&str>::new(),
            "an unsubscribe's 2xx creates no dialog"
        );
    }

    #[test]
    fn a_notify_of_the_wrong_type_and_without_max_forwards_breaks_two_rules() {
        let notify = SipMessage::parse(b"NOTIFY sip:w@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn\r\nFrom: <sip:p@example.com>;tag=t9\r\nTo: <sip:w@example.com>;tag=f1\r\nCall-ID: c1\r\nCSeq: 2 NOTIFY\r\nContact: <sip:127.0.0.1:5060>\r\nEvent: presence\r\nSubscription-State: active;expires=60\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi").unwrap();
        let mut sink = Failed::default();
        let subscribed = Subscribed {
            event: "presence",
            accept: &["application/pidf+xml"],
        };
        check_notify(&subscribed, &notify, &mut sink);
        assert_eq!(sink.0, [REQUEST_HEADERS, NOTIFY_ACCEPT]);
    }
}
