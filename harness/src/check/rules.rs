//! Message rules: requirements that hold for every message of a kind, whatever flow or
//! workload made the SUT send it. Each rule enforces one requirement of the catalogue
//! (`fixtures/requirements.yaml`), named by key, and reports to a [`RuleSink`] whether it
//! held, so a caller can count checks and failures per requirement.

use crate::check::{multipart, xml};
use crate::sip::text::{leading_value, list_items, param_of, parse_params};
use crate::sip::typed::{is_sips, uri_equivalent, uri_of};
use crate::sip::SipMessage;
use std::borrow::Cow;
use std::collections::BTreeSet;

/// The catalogue entries these rules cite, each with what it asks in a few words.
pub const RULES: &[(&str, &str)] = &[
    (
        REQUEST_HEADERS,
        "a request carries To, From, CSeq, Call-ID, Max-Forwards and Via",
    ),
    (
        RESPONSE_COPIES,
        "a response copies From, Call-ID, CSeq and the Vias of its request",
    ),
    ("rfc3261-totag", "a non-100 response carries a To tag"),
    (
        "rfc3903-etag-in-2xx",
        "a 2xx to PUBLISH carries one SIP-ETag",
    ),
    ("rfc3903-expires-in-2xx", "a 2xx to PUBLISH carries Expires"),
    ("rfc6665-2xx-expires", "a 2xx to SUBSCRIBE carries Expires"),
    (
        "rfc3261-contact-in-2xx",
        "the 2xx that creates a dialog carries Contact, a SIP or SIPS URI",
    ),
    (
        "rfc6665-event-match",
        "a NOTIFY's Event matches its SUBSCRIBE's",
    ),
    (
        "rfc6665-substate-present",
        "a NOTIFY carries Subscription-State",
    ),
    (
        "rfc6665-substate-expires",
        "an active or pending Subscription-State has expires",
    ),
    (
        NOTIFY_ACCEPT,
        "a NOTIFY body is of a type its SUBSCRIBE accepted",
    ),
    (
        TARGET_REFRESH_CONTACT,
        "a later NOTIFY or an in-dialog SUBSCRIBE carries Contact",
    ),
    (CSEQ_METHOD, "a request's CSeq method is its method"),
    (
        BRANCH_COOKIE,
        "a request's top Via branch begins with z9hG4bK",
    ),
    (VIA_BRANCH, "a request's top Via carries a branch parameter"),
    (
        BRANCH_UNIQUE,
        "two requests with one top Via branch are copies (Call-ID and CSeq alike)",
    ),
    (VIA_PROTOCOL, "a request's top Via names SIP/2.0"),
    (CONTENT_TYPE, "a message with a body carries Content-Type"),
    (FROM_TAG, "a request's From carries a tag"),
    (
        FINALS_PROMPTED,
        "the SUT sends a final response to a non-INVITE request once per copy of the request it got",
    ),
    (
        CODING_ACCEPTED,
        "a response's content codings are ones its request's Accept-Encoding listed",
    ),
    (
        CODING_ORDER,
        "a body's content codings (gzip, deflate) undo in the reverse of their listed order",
    ),
    (
        SIP_SCHEME,
        "a request to a sip: URI gets no 416 (Unsupported URI Scheme)",
    ),
    (
        TRYING_TIMESTAMP,
        "a 100 (Trying) copies the request's Timestamp, with no delay longer than the harness waited",
    ),
    (
        GRUU_CONTACT,
        "the Contact of a NOTIFY or of a 2xx to SUBSCRIBE is a GRUU (gr URI parameter)",
    ),
    (
        NOTIFY_NEEDS_SUBSCRIBE,
        "a NOTIFY belongs to a SUBSCRIBE (or REFER) the harness sent: its Call-ID",
    ),
    (
        REQUEST_COMPLETED,
        "the SUT sends no copy of a request after it got the harness's final response to it",
    ),
    (
        RESPONSE_CONNECTION,
        "a response to a request the harness sent over TCP or TLS comes on the connection the request went on, unless the SUT closed it first",
    ),
    (
        PROCEEDING_ANSWERS_COPIES,
        "once the SUT sent a provisional response to a request over UDP, each copy of the request gets a response, besides the final one",
    ),
    (
        NULL_TAG_OMITTED,
        "a NOTIFY's To carries no tag when its SUBSCRIBE's From carried none",
    ),
    (
        PUBLISH_489_ALLOW_EVENTS,
        "a 489 to PUBLISH carries Allow-Events",
    ),
    (
        SUBSCRIBE_489_ALLOW_EVENTS,
        "a 489 to SUBSCRIBE carries Allow-Events",
    ),
    (
        DIALOG_REQUEST_CONTACT,
        "a SUBSCRIBE outside a dialog, and a subscription's first NOTIFY unless it ends it, carry Contact",
    ),
    (
        XCAP_ETAG,
        "a 200 or 201 to an XCAP PUT, GET or DELETE carries ETag (unless the document was deleted)",
    ),
    (XCAP_PUT_200_EMPTY, "a 200 to an XCAP PUT has no content"),
    (HTTP_405_ALLOW, "an XCAP 405 carries Allow"),
    (
        OPTION_TAGS_STANDARD,
        "every option tag in Supported, Require and Proxy-Require is a registered (standards-track) one",
    ),
    (
        UDP_CONTENT_LENGTH,
        "a message sent over UDP carries Content-Length",
    ),
    (
        NO_CANCEL,
        "the SUT sends no CANCEL for a SUBSCRIBE or NOTIFY",
    ),
    (
        NO_PROVISIONAL,
        "a non-INVITE request gets no provisional response",
    ),
    (
        SAME_RESPONSE_TAG,
        "every response to one request but a 100 carries the same To tag",
    ),
    (
        ALLOW_COMPLETE,
        "an Allow lists every method the SUT answered with a 2xx in the run",
    ),
    (
        XCAP_ERROR_URIS_ENCODED,
        "an XCAP error report's <ancestor> and <exists field> give node selectors percent-encoded",
    ),
    (
        XCAP_ERROR_FIELD_QUERY,
        "an XCAP <exists field> whose node selector has prefixes carries an xmlns() query",
    ),
    (
        XCAP_NO_BASIC,
        "an XCAP response over plain HTTP offers no Basic authentication",
    ),
    (
        XCAP_NO_CACHE,
        "a 200 to an XCAP GET of a client-written usage says no-cache",
    ),
    (
        HTTP_CONTENT_TYPE,
        "an XCAP response with a body carries Content-Type",
    ),
    (
        XCAP_GET_CONTENT_TYPE,
        "a 200 to an XCAP GET has the MIME type of what it selects",
    ),
    (
        RR_COPY,
        "the 2xx that creates a dialog copies the request's Record-Route values in order",
    ),
    (
        PIDF_TUPLE_ID,
        "every tuple of a NOTIFY's PIDF document has an id, unique in the document",
    ),
    (
        PUBLISH_NOT_APPLICABLE,
        "a response to PUBLISH carries no header field RFC 3903's tables mark not applicable for its status",
    ),
    (
        EVENT_PLACEMENT,
        "Event appears only in SUBSCRIBE, NOTIFY and PUBLISH requests, never in a response",
    ),
    (
        SUBSTATE_PLACEMENT,
        "Subscription-State appears only in NOTIFY requests",
    ),
    (
        RLMI_LANGUAGE_TAG,
        "every xml:lang in a list NOTIFY's RLMI holds a language tag",
    ),
    (
        RLMI_TERMINATED_REASON,
        "every terminated instance in a list NOTIFY's RLMI has a reason",
    ),
    (
        EVENTLIST_SUPPORTED_PLACEMENT,
        "Supported: eventlist appears only in SUBSCRIBE requests",
    ),
    (
        TERMINATED_REASON,
        "a terminated Subscription-State carries a reason",
    ),
    (
        TERMINATED_NO_EXPIRES,
        "a terminated Subscription-State carries no expires",
    ),
    (
        ALLOW_EVENTS_SYNTAX,
        "an Allow-Events is a comma list of event types",
    ),
    (
        URI_BRACKETS,
        "a From, To or Contact URI holding a comma or question mark is in angle brackets",
    ),
    (
        NOTIFY_IDENTITY,
        "a NOTIFY is To its SUBSCRIBE's From URI and From its To URI",
    ),
    (
        VIA_SENT_BY,
        "a request's top Via carries a sent-by: a host and an optional port",
    ),
    (
        VIA_TRANSPORT,
        "a request's top Via names the transport it was sent over",
    ),
    (
        TO_COPY,
        "a response's To has its request's URI, and its tag when the request had one",
    ),
    (
        CSEQ_RANGE,
        "a CSeq number fits in 32 bits, and is below 2**31 in a request outside a dialog and a subscription's first NOTIFY",
    ),
    (
        PUBLISH_ONE_OUTSTANDING,
        "a PUBLISH goes out only once the previous one for its Request-URI has its final response",
    ),
    (
        SIPS_CONTACT_REQUEST,
        "a request outside a dialog to a SIPS Request-URI or top Route carries a SIPS Contact",
    ),
];

/// The keys of [`RULES`].
pub fn keys() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|(key, _)| *key)
}

/// What rule `key` asks, in a few words (the key itself for an unknown one).
pub fn summary(key: &str) -> &str {
    RULES
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(key, |(_, words)| words)
}

const REQUEST_HEADERS: &str = "rfc3261-request-headers";
const RESPONSE_COPIES: &str = "rfc3261-response-copies";
const NOTIFY_ACCEPT: &str = "rfc6665-notify-accept";
const PUBLISH_ONE_OUTSTANDING: &str = "rfc3903-pua-one-outstanding";
const TARGET_REFRESH_CONTACT: &str = "rfc3261-target-refresh-contact";
const CSEQ_METHOD: &str = "rfc3261-cseq-method";
const BRANCH_COOKIE: &str = "rfc3261-branch-cookie";
const VIA_BRANCH: &str = "rfc3261-via-branch";
const BRANCH_UNIQUE: &str = "rfc3261-branch-unique";
const VIA_PROTOCOL: &str = "rfc3261-via-protocol";
/// The protocol name and version a Via's sent-protocol begins with (§8.1.1.7).
const SIP_2_0: &str = "SIP/2.0/";
const CONTENT_TYPE: &str = "rfc3261-content-type";
const FROM_TAG: &str = "rfc3261-from-tag";
const PUBLISH_489_ALLOW_EVENTS: &str = "rfc3903-489-allow-events";
const SUBSCRIBE_489_ALLOW_EVENTS: &str = "rfc6665-allow-events";
const DIALOG_REQUEST_CONTACT: &str = "rfc3261-dialog-request-contact";
const SIPS_CONTACT_REQUEST: &str = "rfc3261-sips-contact-request";
const XCAP_ETAG: &str = "rfc4825-etag-every-2xx";
const XCAP_PUT_200_EMPTY: &str = "rfc4825-put-200-no-content";
const HTTP_405_ALLOW: &str = "rfc7231-405-allow";
const XCAP_NO_BASIC: &str = "rfc4825-no-basic-without-tls";
const XCAP_ERROR_URIS_ENCODED: &str = "rfc4825-error-uris-encoded";
const XCAP_ERROR_FIELD_QUERY: &str = "rfc4825-error-field-query";
const ALLOW_COMPLETE: &str = "rfc3261-allow-complete";
const NO_PROVISIONAL: &str = "rfc3261-no-provisional-non-invite";
const NO_CANCEL: &str = "rfc6665-no-cancel";
const UDP_CONTENT_LENGTH: &str = "rfc3261-content-length-udp";
const OPTION_TAGS_STANDARD: &str = "rfc3261-option-tags-standard";
/// The IANA registry of SIP option tags, whose registration needs a standards-track RFC (RFC
/// 3261 §27.1; RFC 5727 §4): the tags up to RFC 7433 as SIP.js lists them with the registry's
/// address, and those of RFC 7866 and RFC 8840.
const STANDARD_OPTION_TAGS: &[&str] = &[
    "100rel",
    "199",
    "answermode",
    "early-session",
    "eventlist",
    "explicitsub",
    "from-change",
    "geolocation-http",
    "geolocation-sip",
    "gin",
    "gruu",
    "histinfo",
    "ice",
    "join",
    "multiple-refer",
    "norefersub",
    "nosub",
    "outbound",
    "path",
    "policy",
    "precondition",
    "pref",
    "privacy",
    "recipient-list-invite",
    "recipient-list-message",
    "recipient-list-subscribe",
    "record-aware",
    "replaces",
    "resource-priority",
    "sdp-anat",
    "sec-agree",
    "siprec",
    "tdialog",
    "timer",
    "trickle-ice",
    "uui",
];
const SAME_RESPONSE_TAG: &str = "rfc3261-same-response-tag";
const XCAP_ERROR_NS: &str = "urn:ietf:params:xml:ns:xcap-error";
/// Characters a URI may not hold as they are (RFC 3986 §2: outside the reserved and
/// unreserved sets; brackets only delimit an IP literal host, which no node selector holds).
const NOT_IN_URI: &[char] = &['"', '<', '>', '[', ']', ' ', '{', '}', '|', '\\', '^', '`'];
const XCAP_NO_CACHE: &str = "rfc4825-no-cache";
const XCAP_GET_CONTENT_TYPE: &str = "rfc4825-get-content-type";
const HTTP_CONTENT_TYPE: &str = "rfc7231-content-type";
const PIDF_TUPLE_ID: &str = "rfc3863-tuple-id";
const RR_COPY: &str = "rfc3261-rr-copy";
const PUBLISH_NOT_APPLICABLE: &str = "rfc3903-response-not-applicable";
const EVENT_PLACEMENT: &str = "rfc6665-event-placement";
const SUBSTATE_PLACEMENT: &str = "rfc6665-substate-placement";
const EVENTLIST_SUPPORTED_PLACEMENT: &str = "rfc4662-supported-eventlist-subscribe-only";
const TERMINATED_REASON: &str = "rfc6665-terminated-reason";
const TERMINATED_NO_EXPIRES: &str = "rfc6665-terminated-no-expires";
const ALLOW_EVENTS_SYNTAX: &str = "rfc6665-allow-events-syntax";
const URI_BRACKETS: &str = "rfc3261-uri-brackets";
const NOTIFY_IDENTITY: &str = "rfc3261-notify-identity";
const NULL_TAG_OMITTED: &str = "rfc3261-null-tag-omitted";
/// The rule on final responses sent again unprompted, which a path that duplicates datagrams
/// would break on the SUT's behalf.
pub const FINALS_PROMPTED: &str = "rfc3261-response-prompted";
const GRUU_CONTACT: &str = "rfc6665-gruu-contact";
const TRYING_TIMESTAMP: &str = "rfc3261-trying-timestamp";
const SIP_SCHEME: &str = "rfc3261-sip-scheme";
const CODING_ACCEPTED: &str = "rfc3261-coding-accepted";
const CODING_ORDER: &str = "rfc3261-coding-order";
/// How much longer than the harness waited for a 100 its Timestamp delay may be: the SUT's
/// clock granularity.
const TIMESTAMP_SLACK_S: f64 = 0.1;
const NOTIFY_NEEDS_SUBSCRIBE: &str = "rfc6665-notify-needs-subscribe";
/// The key of the rule on copies of a request after its final response (left out on a lossy path).
pub const REQUEST_COMPLETED: &str = "rfc3261-client-completed";
/// The key of the rule on copies of a request in the SUT's Proceeding state (left out on a
/// lossy path).
pub const PROCEEDING_ANSWERS_COPIES: &str = "rfc3261-server-proceeding";
const CSEQ_RANGE: &str = "rfc3261-cseq-range";
const RESPONSE_CONNECTION: &str = "rfc3261-response-connection";
const TO_COPY: &str = "rfc3261-to-copy";
const VIA_SENT_BY: &str = "rfc3261-via-sent-by";
const VIA_TRANSPORT: &str = "rfc3261-via-transport";
/// Initial sequence numbers are below 2**31 (RFC 3261 §8.1.1.5).
const INITIAL_CSEQ_LIMIT: u64 = 1 << 31;

/// The header fields RFC 3903's Tables 2 and 3 mark not applicable ("-") in responses to
/// PUBLISH, each with the status classes the mark is given for (1 for 1xx and so on; every
/// class where the table names no status).
const PUBLISH_RESPONSE_NOT_APPLICABLE: &[(&str, &[u16])] = &[
    ("Accept", &[2]),
    ("Accept-Encoding", &[2]),
    ("Accept-Language", &[2]),
    ("Alert-Info", EVERY_CLASS),
    ("Contact", &[1, 2]),
    ("Record-Route", EVERY_CLASS),
    ("Reply-To", EVERY_CLASS),
];
const EVERY_CLASS: &[u16] = &[1, 2, 3, 4, 5, 6];
/// The requests that may carry Event: SUBSCRIBE and NOTIFY (RFC 6665 §8.2.1) and PUBLISH,
/// whose definition calls for it (RFC 3903 §4).
const EVENT_METHODS: &[&str] = &["SUBSCRIBE", "NOTIFY", "PUBLISH"];
/// The PIDF namespace and media type (RFC 3863 §4.1, §7).
const PIDF_NS: &str = "urn:ietf:params:xml:ns:pidf";
const PIDF_MEDIA_TYPE: &str = "application/pidf+xml";
const RLMI_MEDIA_TYPE: &str = "application/rlmi+xml";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
const RLMI_LANGUAGE_TAG: &str = "rfc4662-name-lang";
const RLMI_TERMINATED_REASON: &str = "rfc4662-terminated-reason";
const RLMI_NS: &str = "urn:ietf:params:xml:ns:rlmi";
/// Where an XCAP URI's node selector begins (RFC 4825 §6).
const NODE_SELECTOR_SEPARATOR: &str = "/~~/";
/// The magic cookie an RFC 3261 branch begins with (§8.1.1.7).
const MAGIC_COOKIE: &str = "z9hG4bK";

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
    /// Its From tag; empty when it carried none (a null tag, RFC 3261 §12.1.1).
    pub from_tag: &'a str,
    /// Its Call-ID.
    pub call_id: &'a str,
    /// Its CSeq number.
    pub cseq: u32,
    /// The branches of its Vias, top first.
    pub branches: &'a [&'a str],
    /// It is sent outside a dialog and its 2xx creates one (an initial SUBSCRIBE).
    pub creates_dialog: bool,
    /// Its Record-Route values as the SUT received them, in order.
    pub record_routes: &'a [&'a str],
    /// The URI of its To.
    pub to_uri: &'a str,
    /// Its To tag, when it was sent inside a dialog.
    pub to_tag: Option<&'a str>,
}

/// What a subscription asked for, against which its NOTIFYs are checked.
#[derive(Debug, Clone, Copy)]
pub struct Subscribed<'a> {
    /// The event package of the SUBSCRIBE.
    pub event: &'a str,
    /// The media types its Accept listed.
    pub accept: &'a [&'a str],
    /// This NOTIFY is the subscription's first: unless it ends the subscription, it creates
    /// the dialog (RFC 6665 §4.4.1), so its Contact is a MUST (RFC 3261 §8.1.1.8).
    pub first_notify: bool,
    /// The SUBSCRIBE's From URI, the subscriber: every NOTIFY's To (RFC 3261 §12.2.1.1).
    pub subscriber: &'a str,
    /// The SUBSCRIBE's To URI, the resource: every NOTIFY's From.
    pub resource: &'a str,
    /// The SUBSCRIBE's From carried a tag; when it did not, the dialog's remote tag is null
    /// and every NOTIFY's To must carry none (RFC 3261 §12.2.1.1).
    pub subscriber_tagged: bool,
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

/// Reports `key`: `msg` (`what` names it) carries none of the header fields `names`.
fn check_absent<'n>(
    sink: &mut impl RuleSink,
    key: &'static str,
    msg: &SipMessage,
    names: impl IntoIterator<Item = &'n str>,
    what: impl FnOnce() -> String,
) {
    let present: Vec<String> = names
        .into_iter()
        .filter_map(|name| msg.header(name).map(|value| format!("{name}: {value}")))
        .collect();
    check(
        sink,
        key,
        present.is_empty(),
        || format!("none of these header fields in {}", what()),
        || present.join("; "),
    );
}

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "absent".to_string(), |v| format!("{v:?}"))
}

/// Rules on a response to `sent` (RFC 3261 §8.2.6.2, §12.1.1; RFC 3903 §6, §11.1.1; RFC 6665
/// §3.1.1, §8.2.1, §8.2.3).
pub fn check_response(sent: &SentRequest, response: &SipMessage, sink: &mut impl RuleSink) {
    let code = response.status().unwrap_or(0);
    let from = response.header("From");
    let branches = via_branches(response);
    let copies_held = from.is_some_and(|f| uri_of(f) == sent.from_uri)
        && response.from_tag().unwrap_or_default() == sent.from_tag
        && response.call_id() == Some(sent.call_id)
        && response.cseq() == Some((sent.cseq, sent.method))
        && branches.len() == sent.branches.len()
        && branches
            .iter()
            .zip(sent.branches)
            .all(|(got, sent)| got.as_deref() == Some(*sent));
    check(
        sink,
        RESPONSE_COPIES,
        copies_held,
        || {
            let tag = match sent.from_tag {
                "" => String::new(),
                tag => format!(";tag={tag}"),
            };
            format!(
                "From <{}>{tag}, Call-ID {}, CSeq {} {}, Vias with branches {}",
                sent.from_uri,
                sent.call_id,
                sent.cseq,
                sent.method,
                sent.branches.join(", ")
            )
        },
        || {
            format!(
                "From {}, Call-ID {}, CSeq {}, Via {:?}",
                shown(from),
                shown(response.call_id()),
                shown(response.header("CSeq")),
                response.header_values("Via")
            )
        },
    );
    let to = response.header("To");
    let to_copied = to.is_some_and(|t| uri_equivalent(&uri_of(t), sent.to_uri))
        && sent
            .to_tag
            .is_none_or(|tag| response.to_tag().as_deref() == Some(tag));
    check(
        sink,
        TO_COPY,
        to_copied,
        || match sent.to_tag {
            Some(tag) => format!("To <{}>;tag={tag}", sent.to_uri),
            None => format!("To <{}>", sent.to_uri),
        },
        || shown(to),
    );
    if code > 100 {
        check(
            sink,
            "rfc3261-totag",
            response.to_tag().is_some(),
            || "a To header with a tag".to_string(),
            || shown(to),
        );
    }
    let allow_events_key = match sent.method {
        "PUBLISH" => Some(PUBLISH_489_ALLOW_EVENTS),
        "SUBSCRIBE" => Some(SUBSCRIBE_489_ALLOW_EVENTS),
        _ => None,
    };
    if let (489, Some(key)) = (code, allow_events_key) {
        let allow = response.header("Allow-Events");
        check(
            sink,
            key,
            allow.is_some_and(|a| !a.trim().is_empty()),
            || format!("Allow-Events in the 489 to {}", sent.method),
            || shown(allow),
        );
    }
    check_content_type(response, CONTENT_TYPE, sink);
    check_syntax(response, sink);
    check_absent(sink, EVENT_PLACEMENT, response, ["Event"], || {
        format!("a {code} to {}", sent.method)
    });
    check_absent(
        sink,
        SUBSTATE_PLACEMENT,
        response,
        ["Subscription-State"],
        || format!("a {code} to {}", sent.method),
    );
    if sent.method == "PUBLISH" {
        let class = code / 100;
        let not_applicable = PUBLISH_RESPONSE_NOT_APPLICABLE
            .iter()
            .filter(|(_, classes)| classes.contains(&class))
            .map(|(name, _)| *name);
        check_absent(
            sink,
            PUBLISH_NOT_APPLICABLE,
            response,
            not_applicable,
            || format!("a {code} to PUBLISH"),
        );
    }
    if !(200..300).contains(&code) {
        return;
    }
    match sent.method {
        "PUBLISH" => {
            let mut etags = response.header_items("SIP-ETag");
            let single = matches!((etags.next(), etags.next()), (Some(e), None) if !e.is_empty());
            check(
                sink,
                "rfc3903-etag-in-2xx",
                single,
                || "one SIP-ETag with a single entity-tag".to_string(),
                || format!("{:?}", response.header_values("SIP-ETag")),
            );
            check_expires(response, "rfc3903-expires-in-2xx", sink);
        }
        "SUBSCRIBE" => {
            check_expires(response, "rfc6665-2xx-expires", sink);
            check_gruu_contact(response.header("Contact"), sink);
            if !sent.creates_dialog {
                return;
            }
            let contact = response.header("Contact");
            let sip_uri = |c: &str| {
                let scheme = uri_of(c).split(':').next().unwrap_or_default().to_string();
                scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips")
            };
            check(
                sink,
                "rfc3261-contact-in-2xx",
                contact.is_some_and(sip_uri),
                || "a Contact header with a SIP or SIPS URI".to_string(),
                || shown(contact),
            );
            check_record_route_copy(sent, response, sink);
        }
        _ => {}
    }
}

/// The content codings a message's Content-Encoding lists, in order, lower-cased.
fn content_codings(msg: &SipMessage) -> Vec<String> {
    msg.header_lines("Content-Encoding")
        .flat_map(list_items)
        .map(|coding| coding.trim().to_ascii_lowercase())
        .filter(|coding| !coding.is_empty())
        .collect()
}

/// RFC 3261 §20.12 on a response of the SUT: "The server MUST only use encodings listed in the
/// Accept-Encoding header field in the request". `accepted` is the request's Accept-Encoding
/// (`None`: it had none, so no coding but identity was listed); a coding with q=0 is refused, `*`
/// takes any other.
pub fn check_coding_accepted(
    accepted: Option<&str>,
    response: &SipMessage,
    sink: &mut impl RuleSink,
) {
    let used: Vec<String> = content_codings(response)
        .into_iter()
        .filter(|coding| coding != "identity")
        .collect();
    if used.is_empty() {
        return;
    }
    let listed: Vec<(String, bool)> = accepted
        .into_iter()
        .flat_map(list_items)
        .map(|item| {
            let params = parse_params(item);
            let refused = params
                .param("q")
                .flatten()
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q == 0.0);
            (params.value.trim().to_ascii_lowercase(), !refused)
        })
        .collect();
    let takes = |coding: &str| match listed.iter().find(|(name, _)| name == coding) {
        Some((_, taken)) => *taken,
        None => listed.iter().any(|(name, taken)| name == "*" && *taken),
    };
    check(
        sink,
        CODING_ACCEPTED,
        used.iter().all(|coding| takes(coding)),
        || match accepted {
            Some(list) => format!("codings from the request's Accept-Encoding: {list}"),
            None => "no content coding: the request had no Accept-Encoding".to_string(),
        },
        || format!("Content-Encoding: {}", used.join(", ")),
    );
}

/// `body` with one content coding undone; `None` for a coding the harness does not know.
fn undo_coding(coding: &str, body: &[u8]) -> Option<std::io::Result<Vec<u8>>> {
    use std::io::Read;
    let mut out = Vec::new();
    let read = match coding {
        "identity" => return Some(Ok(body.to_vec())),
        "gzip" | "x-gzip" => flate2::read::GzDecoder::new(body).read_to_end(&mut out),
        "deflate" => flate2::read::ZlibDecoder::new(body).read_to_end(&mut out),
        _ => return None,
    };
    Some(read.map(|_| out))
}

/// RFC 3261 §20.12 on a message of the SUT with a body: "If multiple encodings have been applied
/// to an entity-body, the content codings MUST be listed in the order in which they were
/// applied", so undoing them from the last listed to the first gives the body back. Judged when
/// the harness knows every coding listed (gzip, x-gzip, deflate, identity).
pub fn check_coding_order(msg: &SipMessage, sink: &mut impl RuleSink) {
    let codings = content_codings(msg);
    if codings.is_empty() || msg.body.is_empty() {
        return;
    }
    let mut body = msg.body.clone();
    let mut failed = None;
    for coding in codings.iter().rev() {
        match undo_coding(coding, &body) {
            None => return,
            Some(Ok(decoded)) => body = decoded,
            Some(Err(e)) => {
                failed = Some(format!("undoing {coding} failed: {e}"));
                break;
            }
        }
    }
    check(
        sink,
        CODING_ORDER,
        failed.is_none(),
        || format!("a body that {} undo, last listed first", codings.join(", ")),
        || failed.clone().unwrap_or_default(),
    );
}

/// RFC 3261 §8.1.1.2 on a response with `status` to a request for `request_uri`: every
/// implementation supports the SIP URI scheme, so a sip: URI never gets 416. Responses to
/// requests for other schemes are not judged.
pub fn check_sip_scheme(request_uri: &str, status: u16, sink: &mut impl RuleSink) {
    let sip = request_uri
        .split_once(':')
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("sip"));
    if sip {
        check(
            sink,
            SIP_SCHEME,
            status != 416,
            || format!("any response but 416 to a request for {request_uri}"),
            || format!("{status}"),
        );
    }
}

/// RFC 3261 §8.2.6.1 on a 100 (Trying) to a request whose Timestamp was `sent`: the 100 copies
/// its value, and a delay after it, if any, is the time the SUT held the request, so no longer
/// than the `waited` seconds between the request going out and the 100 coming in.
pub fn check_trying_timestamp(
    sent: &str,
    got: Option<&str>,
    waited: f64,
    sink: &mut impl RuleSink,
) {
    let mut parts = got.unwrap_or_default().split_ascii_whitespace();
    let (value, delay) = (parts.next(), parts.next());
    let delay_ok = delay.is_none_or(|d| {
        d.parse::<f64>()
            .is_ok_and(|d| (0.0..=waited + TIMESTAMP_SLACK_S).contains(&d))
    });
    check(
        sink,
        TRYING_TIMESTAMP,
        value == Some(sent.trim()) && parts.next().is_none() && delay_ok,
        || {
            format!(
                "Timestamp: {} with no delay, or a delay of at most {:.3} s",
                sent.trim(),
                waited + TIMESTAMP_SLACK_S
            )
        },
        || shown(got),
    );
}

/// RFC 6665 §4.5.1 on the Contact of a NOTIFY or of a 2xx to SUBSCRIBE, the notifier's local
/// target: a GRUU, which carries the `gr` URI parameter (RFC 5627 §3.1). A message without
/// Contact is left to the rules that ask for one.
fn check_gruu_contact(contact: Option<&str>, sink: &mut impl RuleSink) {
    let Some(contact) = contact.filter(|c| !c.trim().is_empty()) else {
        return;
    };
    let uri = uri_of(contact);
    check(
        sink,
        GRUU_CONTACT,
        param_of(&uri, "gr").is_some(),
        || "a Contact URI with the gr parameter (a GRUU)".to_string(),
        || format!("Contact URI {uri}"),
    );
}

/// The 2xx that creates a dialog copies every Record-Route value of its request, in order
/// (RFC 3261 §12.1.1); a request without Record-Route leaves nothing to copy.
fn check_record_route_copy(sent: &SentRequest, response: &SipMessage, sink: &mut impl RuleSink) {
    if sent.record_routes.is_empty() {
        return;
    }
    let copied: Vec<&str> = response.header_items("Record-Route").collect();
    check(
        sink,
        RR_COPY,
        copied == sent.record_routes,
        || format!("Record-Route {:?}", sent.record_routes),
        || format!("Record-Route {copied:?}"),
    );
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

/// The branch of each Via of `msg`, top first (`None` for a Via without one).
pub fn via_branches(msg: &SipMessage) -> Vec<Option<Cow<'_, str>>> {
    msg.header_items("Via")
        .map(|via| param_of(via, "branch").flatten())
        .collect()
}

/// The MIME type of a document of each application usage, as its RFC defines it: RFC 4826
/// §3.4.2 and §4.4.2, RFC 5025 §9.2 (OMA's pres-rules usage takes the same), RFC 4825 §12.2.
const XCAP_DOCUMENT_TYPES: &[(&str, &str)] = &[
    ("resource-lists", "application/resource-lists+xml"),
    ("rls-services", "application/rls-services+xml"),
    ("pres-rules", "application/auth-policy+xml"),
    (
        "org.openmobilealliance.pres-rules",
        "application/auth-policy+xml",
    ),
    ("xcap-caps", "application/xcap-caps+xml"),
];

/// The application usages whose documents clients write: RFC 4825 §9 asks their servers for a
/// no-cache directive (xcap-caps, which the server writes, is left out).
const CLIENT_WRITTEN_USAGES: &[&str] = &[
    "resource-lists",
    "rls-services",
    "pres-rules",
    "org.openmobilealliance.pres-rules",
];

/// The AUID of an XCAP URI's path: the segment before the `users` or `global` tree (RFC 4825
/// §6.2) in its document selector.
fn xcap_auid(target: &str) -> Option<&str> {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let document = path
        .split_once(NODE_SELECTOR_SEPARATOR)
        .map_or(path, |(document, _)| document);
    let segments: Vec<&str> = document.split('/').collect();
    let tree = segments
        .iter()
        .position(|s| *s == "users" || *s == "global")?;
    segments.get(tree.checked_sub(1)?).copied()
}

/// True when a Cache-Control value holds the no-cache directive (RFC 7234 §5.2.2.2), alone or
/// with a field list.
fn says_no_cache(cache_control: &str) -> bool {
    list_items(cache_control).any(|directive| {
        let name = directive.split('=').next().unwrap_or_default();
        name.trim().eq_ignore_ascii_case("no-cache")
    })
}

/// The MIME type a 200 to a GET of `target` (an XCAP URI's path) must have (RFC 4825 §8.3):
/// the usage's for a document, `application/xcap-el+xml` for an element,
/// `application/xcap-att+xml` for an attribute. `None` for a usage not in
/// [`XCAP_DOCUMENT_TYPES`] and for a namespace selector.
fn xcap_media_type(target: &str) -> Option<&'static str> {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    match path.split_once(NODE_SELECTOR_SEPARATOR) {
        Some((_, selector)) => {
            let last = selector.rsplit('/').next().unwrap_or_default();
            match last {
                _ if last.starts_with("namespace::") => None,
                _ if last.starts_with('@') || last.starts_with("%40") => {
                    Some("application/xcap-att+xml")
                }
                _ => Some("application/xcap-el+xml"),
            }
        }
        None => {
            let auid = xcap_auid(path)?;
            XCAP_DOCUMENT_TYPES
                .iter()
                .find(|(usage, _)| *usage == auid)
                .map(|(_, media)| *media)
        }
    }
}

/// Rules on an XCAP server's response to a request of `method` for `target` (the request's
/// path): RFC 4825 §8.5 (ETag), §8.3 (the MIME type of a 200 to GET) and §8.2.7 (no content
/// in a 200 to PUT), §9 (no-cache), §14 (no Basic challenge unless `over_tls`); RFC 7231 §6.5.5
/// (Allow in a 405).
pub fn check_xcap_response(
    method: &str,
    target: &str,
    response: &SipMessage,
    over_tls: bool,
    sink: &mut impl RuleSink,
) {
    let code = response.status().unwrap_or(0);
    check_content_type(response, HTTP_CONTENT_TYPE, sink);
    // A DELETE of a whole document (no node selector) leaves no document to tag.
    let document_gone = method == "DELETE" && !target.contains(NODE_SELECTOR_SEPARATOR);
    if matches!(code, 200 | 201) && matches!(method, "PUT" | "GET" | "DELETE") && !document_gone {
        let etag = response.header("ETag");
        check(
            sink,
            XCAP_ETAG,
            etag.is_some_and(|e| !e.trim().is_empty()),
            || format!("an ETag header in the {code} to {method}"),
            || shown(etag),
        );
    }
    if code == 200 && method == "GET" {
        if let Some(expected) = xcap_media_type(target) {
            let content_type = response.header("Content-Type");
            let media = content_type.map(|c| parse_params(c).value.to_ascii_lowercase());
            check(
                sink,
                XCAP_GET_CONTENT_TYPE,
                media.as_deref() == Some(expected),
                || format!("Content-Type {expected}"),
                || shown(content_type),
            );
        }
    }
    if code == 200
        && method == "GET"
        && xcap_auid(target).is_some_and(|auid| CLIENT_WRITTEN_USAGES.contains(&auid))
    {
        let directives: Vec<&str> = response.header_lines("Cache-Control").collect();
        check(
            sink,
            XCAP_NO_CACHE,
            directives.iter().any(|value| says_no_cache(value)),
            || "Cache-Control with the no-cache directive".to_string(),
            || match directives.as_slice() {
                [] => "no Cache-Control".to_string(),
                values => format!("Cache-Control: {}", values.join(", ")),
            },
        );
    }
    check_error_report_uris(response, sink);
    // Over plain HTTP no challenge may offer Basic (RFC 4825 §14); over TLS it may.
    let challenges: Vec<&str> = response.header_lines("WWW-Authenticate").collect();
    if !challenges.is_empty() && !over_tls {
        check(
            sink,
            XCAP_NO_BASIC,
            !challenges.iter().any(|c| offers_basic(c)),
            || "challenges of schemes other than Basic (no TLS on this connection)".to_string(),
            || format!("WWW-Authenticate: {}", challenges.join(", ")),
        );
    }
    if code == 405 {
        let allow = response.header("Allow");
        check(
            sink,
            HTTP_405_ALLOW,
            allow.is_some(),
            || "an Allow header listing the resource's methods".to_string(),
            || shown(allow),
        );
    }
    if code == 200 && method == "PUT" {
        check(
            sink,
            XCAP_PUT_200_EMPTY,
            response.body.is_empty(),
            || "no content".to_string(),
            || {
                format!(
                    "{} bytes of {}",
                    response.body.len(),
                    shown(response.header("Content-Type"))
                )
            },
        );
    }
}

/// RFC 4825 §11.1: the node selectors in an error report's URIs (an `<ancestor>` of
/// `<no-parent>`, the `field` of each `<exists>`) are percent-encoded.
fn check_error_report_uris(response: &SipMessage, sink: &mut impl RuleSink) {
    let is_report = response.header("Content-Type").is_some_and(|t| {
        parse_params(t)
            .value
            .eq_ignore_ascii_case("application/xcap-error+xml")
    });
    let Some(root) = is_report.then(|| xml::parse(&response.body).ok()).flatten() else {
        return;
    };
    let mut judge = |what: &str, selector: &str| {
        check(
            sink,
            XCAP_ERROR_URIS_ENCODED,
            !selector.contains(NOT_IN_URI),
            || format!("{what} with its node selector percent-encoded"),
            || selector.to_string(),
        );
    };
    let mut fields = Vec::new();
    for condition in root.elements().filter(|e| e.ns == XCAP_ERROR_NS) {
        for child in condition.elements() {
            match (condition.name.as_str(), child.name.as_str()) {
                ("no-parent", "ancestor") => {
                    if let Some((_, selector)) = child.direct_text().split_once("~~") {
                        judge("<ancestor>", selector);
                    }
                }
                ("uniqueness-failure", "exists") => {
                    if let Some(field) = child.attr("", "field") {
                        judge("<exists field>", field);
                        fields.push(field);
                    }
                }
                _ => {}
            }
        }
    }
    for field in fields {
        check_field_query(field, sink);
    }
}

/// RFC 4825 §11.1 on an `<exists field>`: "The query component of the URI MUST be present if
/// the node selector portion of the URI contains namespace prefixes." A prefix is a `name:` in an
/// element or attribute step (outside predicates' quoted values).
fn check_field_query(field: &str, sink: &mut impl RuleSink) {
    let (selector, query) = match field.split_once('?') {
        Some((selector, query)) => (selector, Some(query)),
        None => (field, None),
    };
    let decoded = multipart::percent_decode(selector);
    let prefixed = decoded.split('/').any(|step| {
        let name = step.split('[').next().unwrap_or_default();
        let name = name.strip_prefix('@').unwrap_or(name);
        name.contains(':')
    });
    if prefixed {
        check(
            sink,
            XCAP_ERROR_FIELD_QUERY,
            query.is_some_and(|q| q.contains("xmlns(")),
            || "a field whose prefixed node selector comes with an xmlns() query".to_string(),
            || field.to_string(),
        );
    }
}

/// The WWW-Authenticate value holds a Basic challenge: a challenge begins with its scheme,
/// and one header line may hold several challenges, comma-separated (RFC 7235 §4.1).
fn offers_basic(value: &str) -> bool {
    list_items(value).any(|part| {
        part.split_ascii_whitespace()
            .next()
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("Basic"))
    })
}

/// Checks a request of the SUT whose top Via branch an earlier request of the run had
/// (`earlier`: that request's Call-ID and CSeq): only a retransmission, a copy, may reuse a
/// branch, which is unique across space and time (RFC 3261 §8.1.1.7); CANCEL and ACK are the
/// exceptions the RFC names.
pub fn check_branch_reuse(earlier: (&str, &str), request: &SipMessage, sink: &mut impl RuleSink) {
    let call_id = request.call_id().unwrap_or_default();
    let cseq = request.header("CSeq").unwrap_or_default();
    let (earlier_call_id, earlier_cseq) = earlier;
    let exempt = matches!(request.method().as_deref(), Some("CANCEL" | "ACK"));
    check(
        sink,
        BRANCH_UNIQUE,
        exempt || (call_id == earlier_call_id && cseq.trim() == earlier_cseq.trim()),
        || {
            format!("a new branch, or a copy of the request with Call-ID {earlier_call_id} and CSeq {earlier_cseq}")
        },
        || format!("the same branch on Call-ID {call_id}, CSeq {cseq}"),
    );
}

/// Rules on every request the SUT sends (RFC 3261 §8.1.1, §8.1.1.3, §8.1.1.5, §8.1.1.7,
/// §20.15; RFC 6665 §8.2.1, §8.2.3).
pub fn check_request(request: &SipMessage, sink: &mut impl RuleSink) {
    let missing: Vec<&str> = ["To", "From", "CSeq", "Call-ID", "Max-Forwards", "Via"]
        .into_iter()
        .filter(|name| request.header(name).is_none())
        .collect();
    check(
        sink,
        REQUEST_HEADERS,
        missing.is_empty(),
        || "To, From, CSeq, Call-ID, Max-Forwards and Via".to_string(),
        || format!("missing {}", missing.join(", ")),
    );
    check_sips_contact(request, sink);
    let method = request.method().unwrap_or_default();
    if let Some(cseq) = request.header("CSeq") {
        let number = cseq.split_ascii_whitespace().next().unwrap_or_default();
        let in_range = match (number.parse::<u64>(), request.to_tag()) {
            (Ok(n), None) => n < INITIAL_CSEQ_LIMIT,
            (Ok(n), Some(_)) => u32::try_from(n).is_ok(),
            (Err(_), _) => false,
        };
        check(
            sink,
            CSEQ_RANGE,
            in_range,
            || match request.to_tag() {
                None => "a CSeq number below 2**31 (a request outside a dialog)".to_string(),
                Some(_) => "a CSeq number of 32 bits".to_string(),
            },
            || format!("CSeq {cseq}"),
        );
    }
    if let Some((_, cseq_method)) = request.cseq() {
        check(
            sink,
            CSEQ_METHOD,
            cseq_method == method,
            || format!("CSeq method {method}"),
            || shown(request.header("CSeq")),
        );
    }
    if let Some(top) = request.header_items("Via").next() {
        // White space may stand around the slashes (RFC 3261 §25.1: SLASH = SWS "/" SWS).
        let (protocol, sent_by) = top_via(top);
        check(
            sink,
            VIA_PROTOCOL,
            protocol
                .get(..SIP_2_0.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(SIP_2_0)),
            || format!("a top Via whose sent-protocol begins with {SIP_2_0}"),
            || format!("Via {top:?}"),
        );
        check(
            sink,
            VIA_SENT_BY,
            sent_by.is_some_and(is_sent_by),
            || "a sent-by (host, optional port) after the sent-protocol".to_string(),
            || format!("Via {top:?}"),
        );
        let branch = param_of(top, "branch").flatten();
        check(
            sink,
            VIA_BRANCH,
            branch.as_deref().is_some_and(|b| !b.is_empty()),
            || "a branch parameter in the top Via".to_string(),
            || format!("Via {top:?}"),
        );
        if let Some(branch) = branch {
            check(
                sink,
                BRANCH_COOKIE,
                branch.starts_with(MAGIC_COOKIE),
                || format!("a top Via branch beginning with {MAGIC_COOKIE}"),
                || format!("branch {branch}"),
            );
        }
    }
    if request.header("From").is_some() {
        check(
            sink,
            FROM_TAG,
            request.from_tag().is_some(),
            || "a From tag".to_string(),
            || shown(request.header("From")),
        );
    }
    check_content_type(request, CONTENT_TYPE, sink);
    check_syntax(request, sink);
    if !EVENT_METHODS.contains(&method.as_str()) {
        check_absent(sink, EVENT_PLACEMENT, request, ["Event"], || {
            format!("a {method} request")
        });
    }
    if method != "NOTIFY" {
        check_absent(
            sink,
            SUBSTATE_PLACEMENT,
            request,
            ["Subscription-State"],
            || format!("a {method} request"),
        );
    }
    if method != "SUBSCRIBE" {
        check(
            sink,
            EVENTLIST_SUPPORTED_PLACEMENT,
            !request
                .header_items("Supported")
                .any(|tag| leading_value(tag).eq_ignore_ascii_case("eventlist")),
            || format!("no eventlist in the Supported of a {method} request"),
            || {
                let supported: Vec<&str> = request.header_lines("Supported").collect();
                format!("Supported: {}", supported.join(", "))
            },
        );
    }
}

/// Rules on the form of header values of any message the SUT sends: every Allow-Events is a
/// comma list of event types (RFC 6665 §8.4), and a From, To or Contact URI holding a comma or
/// a question mark is enclosed in angle brackets (RFC 3261 §20, §20.10, §20.20).
fn check_syntax(msg: &SipMessage, sink: &mut impl RuleSink) {
    let allow_events = msg.header_values("Allow-Events");
    if !allow_events.is_empty() {
        let bad: Vec<&str> = allow_events
            .iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|item| !is_event_type(item))
            .collect();
        check(
            sink,
            ALLOW_EVENTS_SYNTAX,
            bad.is_empty(),
            || "event types (token-nodot, dot-separated) separated by commas".to_string(),
            || format!("Allow-Events {allow_events:?}: not an event type: {bad:?}"),
        );
    }
    let (mut looked, mut unbracketed) = (false, Vec::new());
    for name in ["From", "To"] {
        if let Some(value) = msg.header(name) {
            looked = true;
            if needs_brackets(value, &[',', '?']) {
                unbracketed.push(format!("{name}: {value}"));
            }
        }
    }
    // A Contact list is split on its commas first: only a question mark gives an addr-spec away.
    for contact in msg.header_items("Contact") {
        looked = true;
        if contact.trim() != "*" && needs_brackets(contact, &['?']) {
            unbracketed.push(format!("Contact: {contact}"));
        }
    }
    if looked {
        check(
            sink,
            URI_BRACKETS,
            unbracketed.is_empty(),
            || "URIs with a comma or question mark inside < and >".to_string(),
            || unbracketed.join("; "),
        );
    }
}

/// True when `value` is an addr-spec (no angle brackets) whose URI, up to the first semicolon
/// (after which come header parameters), holds one of `marks`.
fn needs_brackets(value: &str, marks: &[char]) -> bool {
    if value.contains('<') {
        return false;
    }
    let uri = value.split(';').next().unwrap_or_default();
    uri.contains(marks)
}

/// `event-type = event-package *( "." event-template )`, each a token-nodot (RFC 6665 §8.4).
fn is_event_type(item: &str) -> bool {
    let token_nodot = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-!%*_+`'~".contains(&b))
    };
    item.split('.').all(token_nodot)
}

/// The rule on a request the SUT sent over `transport` (`UDP`, `TCP` or `TLS`, any case): its top
/// Via names that transport (RFC 3261 §18.1.1).
pub fn check_request_transport(request: &SipMessage, transport: &str, sink: &mut impl RuleSink) {
    let Some(top) = request.header_items("Via").next() else {
        return;
    };
    let protocol = top_via(top).0;
    check(
        sink,
        VIA_TRANSPORT,
        protocol
            .rsplit('/')
            .next()
            .is_some_and(|t| t.eq_ignore_ascii_case(transport)),
        || format!("a top Via naming {}", transport.to_ascii_uppercase()),
        || format!("Via {top:?}"),
    );
}

/// A Via value's sent-protocol (white space around its slashes removed) and sent-by.
fn top_via(via: &str) -> (String, Option<&str>) {
    let before_params = via.split(';').next().unwrap_or_default();
    let mut tokens: Vec<&str> = before_params.split_ascii_whitespace().collect();
    let sent_by = (tokens.len() > 1).then(|| tokens.pop()).flatten();
    (tokens.concat(), sent_by)
}

/// `sent-by = host [ COLON port ]`: a host name, an IPv4 address or a bracketed IPv6
/// reference, and a port of digits.
fn is_sent_by(sent_by: &str) -> bool {
    let port_ok = |p: &str| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = sent_by.strip_prefix('[') {
        return rest.split_once(']').is_some_and(|(v6, after)| {
            v6.parse::<std::net::Ipv6Addr>().is_ok()
                && (after.is_empty() || after.strip_prefix(':').is_some_and(port_ok))
        });
    }
    let (host, port) = match sent_by.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (sent_by, None),
    };
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && port.is_none_or(port_ok)
}

/// A message with a body carries Content-Type: SIP's (RFC 3261 §20.15, `CONTENT_TYPE`) or
/// HTTP's (RFC 7231 §3.1.1.5, `HTTP_CONTENT_TYPE`), as `key` says.
fn check_content_type(msg: &SipMessage, key: &'static str, sink: &mut impl RuleSink) {
    if msg.body.is_empty() {
        return;
    }
    let content_type = msg.header("Content-Type");
    check(
        sink,
        key,
        content_type.is_some_and(|c| !c.trim().is_empty()),
        || format!("a Content-Type for the {}-byte body", msg.body.len()),
        || shown(content_type),
    );
}

/// RFC 3261 §8.1.1.8 on a request outside a dialog: "If the Request-URI or top Route header
/// field value contains a SIPS URI, the Contact header field MUST contain a SIPS URI as well."
/// (Inside a dialog the dialog's secure flag decides, RFC 3261 §12.2.1.1; flows check that.)
fn check_sips_contact(request: &SipMessage, sink: &mut impl RuleSink) {
    let top_route = request.header_items("Route").next().map(uri_of);
    let sips_target =
        request.request_uri().is_some_and(is_sips) || top_route.as_deref().is_some_and(is_sips);
    let Some(contact) = request.header("Contact") else {
        return;
    };
    if request.to_tag().is_none() && sips_target {
        check(
            sink,
            SIPS_CONTACT_REQUEST,
            is_sips(&uri_of(contact)),
            || "a SIPS URI in Contact".to_string(),
            || format!("Contact: {contact}"),
        );
    }
}

/// Rules on a SUBSCRIBE the SUT sends (a PNA's reg subscription): outside a dialog it can
/// establish one, and Contact is a MUST (RFC 3261 §8.1.1.8); inside, it is a target refresh
/// request (RFC 6665 §3.1), and Contact a SHOULD (RFC 3261 §12.2.1.1).
pub fn check_subscribe(subscribe: &SipMessage, sink: &mut impl RuleSink) {
    let contact = subscribe.header("Contact");
    let key = match subscribe.to_tag() {
        None => DIALOG_REQUEST_CONTACT,
        Some(_) => TARGET_REFRESH_CONTACT,
    };
    check(
        sink,
        key,
        contact.is_some_and(|c| !c.trim().is_empty()),
        || "a Contact header".to_string(),
        || shown(contact),
    );
}

/// RFC 3903 §4: a new PUBLISH (not a retransmission) of the SUT for a Request-URI whose
/// previous PUBLISH, of the transaction with branch `earlier`, has no final response yet and
/// has not timed out.
pub fn check_publish_outstanding(earlier: Option<&str>, sink: &mut impl RuleSink) {
    check(
        sink,
        PUBLISH_ONE_OUTSTANDING,
        earlier.is_none(),
        || "the final response to the previous PUBLISH first".to_string(),
        || {
            format!(
                "sent while the PUBLISH with branch {} had none",
                earlier.unwrap_or_default()
            )
        },
    );
}

/// RFC 3261 §8.1.1.9, §20.32, §20.37: the option tags a SIP message of the SUT lists in
/// Supported, Require and Proxy-Require refer to standards-track extensions (option tags are
/// compared case-insensitively, §19.2).
pub fn check_option_tags(msg: &SipMessage, sink: &mut impl RuleSink) {
    let listed: Vec<String> = ["Supported", "Require", "Proxy-Require"]
        .iter()
        .flat_map(|name| msg.tokens(name))
        .collect();
    if listed.is_empty() {
        return;
    }
    let unknown: Vec<&str> = listed
        .iter()
        .map(String::as_str)
        .filter(|tag| !STANDARD_OPTION_TAGS.contains(tag))
        .collect();
    check(
        sink,
        OPTION_TAGS_STANDARD,
        unknown.is_empty(),
        || "option tags of the IANA registry (standards-track extensions) only".to_string(),
        || format!("{} (not registered)", unknown.join(", ")),
    );
}

/// RFC 3261 §20.14: a message the SUT sent over UDP carries Content-Length (over a stream a
/// message without one cannot be framed: the syntax check's, rfc3261-message-syntax).
pub fn check_datagram_length(msg: &SipMessage, sink: &mut impl RuleSink) {
    let length = msg.header("Content-Length");
    check(
        sink,
        UDP_CONTENT_LENGTH,
        length.is_some(),
        || "a Content-Length header field".to_string(),
        || "none: the body is the rest of the datagram".to_string(),
    );
}

/// RFC 6665 §4.6: a CANCEL of the SUT, whose top Via branch is that of its request with
/// CSeq `cancelled` (e.g. `3 NOTIFY`), cancels neither a SUBSCRIBE nor a NOTIFY.
pub fn check_cancel_target(cancelled: &str, sink: &mut impl RuleSink) {
    let method = cancelled
        .split_ascii_whitespace()
        .nth(1)
        .unwrap_or_default();
    check(
        sink,
        NO_CANCEL,
        !matches!(method, "SUBSCRIBE" | "NOTIFY"),
        || "no CANCEL for a SUBSCRIBE or NOTIFY transaction".to_string(),
        || format!("a CANCEL of the {method} with CSeq {cancelled}"),
    );
}

/// RFC 3261 §8.2.6.1: a response (`status`) the SUT sent to a non-INVITE request is final.
pub fn check_no_provisional(status: u16, sink: &mut impl RuleSink) {
    check(
        sink,
        NO_PROVISIONAL,
        status >= 200,
        || "a final response only".to_string(),
        || format!("a {status} first"),
    );
}

/// RFC 3261 §8.2.6.2: a response (not a 100) to a request whose first such response had To
/// tag `first` carries `tag`.
pub fn check_same_response_tag(first: Option<&str>, tag: Option<&str>, sink: &mut impl RuleSink) {
    check(
        sink,
        SAME_RESPONSE_TAG,
        first == tag,
        || {
            format!(
                "To tag {} (that of the first response)",
                first.unwrap_or("(none)")
            )
        },
        || format!("To tag {}", tag.unwrap_or("(none)")),
    );
}

/// RFC 3261 §20.5: an Allow header field of the SUT listing `allowed` names every method of
/// `understood` (those it answered with a 2xx).
pub fn check_allow_complete(
    allowed: &[String],
    understood: &BTreeSet<String>,
    sink: &mut impl RuleSink,
) {
    let missing: Vec<&str> = understood
        .iter()
        .filter(|method| !allowed.iter().any(|a| a == *method))
        .map(String::as_str)
        .collect();
    check(
        sink,
        ALLOW_COMPLETE,
        missing.is_empty(),
        || {
            let all: Vec<&str> = understood.iter().map(String::as_str).collect();
            format!(
                "an Allow listing {} (answered with a 2xx in this run)",
                all.join(", ")
            )
        },
        || {
            format!(
                "Allow: {} (without {})",
                allowed.join(", "),
                missing.join(", ")
            )
        },
    );
}

/// RFC 3261 §8.2.7, §17.2.2: the SUT's `finals`-th final response to a non-INVITE request the
/// harness sent `copies` times. A server sends its final response again only for a copy of
/// the request; more final responses than copies is a retransmission nothing prompted.
pub fn check_finals_prompted(finals: u32, copies: u32, sink: &mut impl RuleSink) {
    check(
        sink,
        FINALS_PROMPTED,
        finals <= copies,
        || format!("at most {copies} final response(s), one per copy of the request sent"),
        || format!("final response number {finals}"),
    );
}

/// RFC 3261 §18.2.2 on a response to a request the harness sent over TCP or TLS to the SUT at `peer`:
/// `kept` when it came on that connection (from `peer`, to the sending node), or on another
/// after the SUT closed that one. `from` is the address it came from. (A new connection the SUT
/// opens from the very address of the first cannot be told apart here.)
pub fn check_response_connection(kept: bool, peer: &str, from: &str, sink: &mut impl RuleSink) {
    check(
        sink,
        RESPONSE_CONNECTION,
        kept,
        || format!("the response on the request's connection, from {peer}"),
        || format!("on another connection, from {from}, while the request's was open"),
    );
}

/// RFC 3261 §17.2.2 on a non-INVITE request of the harness over UDP that the SUT answered with
/// a provisional response: `copies` is how often the harness sent it after that response came,
/// `responses` how many responses the SUT sent after it, `finished` whether a final one was
/// among them. In Proceeding each copy gets the latest provisional response again, and in
/// Completed the final one: every copy is answered, and the final response goes once besides.
pub fn check_proceeding_answers_copies(
    copies: u32,
    responses: u32,
    finished: bool,
    sink: &mut impl RuleSink,
) {
    let owed = copies + u32::from(finished);
    check(
        sink,
        PROCEEDING_ANSWERS_COPIES,
        responses >= owed,
        || {
            format!(
                "at least {owed} response(s) after the provisional one: {copies} for the \
                 copies of the request sent since{}",
                if finished {
                    ", and the final response"
                } else {
                    ""
                }
            )
        },
        || format!("{responses} response(s)"),
    );
}

/// RFC 6665 §4.2.1 on a NOTIFY: `subscribed` when its Call-ID is that of a SUBSCRIBE the harness
/// sent (or a REFER, whose implicit subscription §4.2.1 still permits). A NOTIFY in any other
/// dialog is a subscription the notifier made up.
pub fn check_notify_subscribed(call_id: &str, subscribed: bool, sink: &mut impl RuleSink) {
    check(
        sink,
        NOTIFY_NEEDS_SUBSCRIBE,
        subscribed,
        || "the Call-ID of a SUBSCRIBE or REFER the harness sent".to_string(),
        || format!("Call-ID {call_id:?}, which no SUBSCRIBE or REFER of the harness had"),
    );
}

/// RFC 3261 §17.1.2.2, §18.1.1 on a request of the SUT the harness answered with a final
/// response: `late` is the first copy of it that came more than the grace after that response
/// (its arrival, in milliseconds after the response), if one did. A client transaction that got
/// the final response is Completed and retransmits no more.
pub fn check_request_completed(late: Option<u64>, grace_ms: u64, sink: &mut impl RuleSink) {
    check(
        sink,
        REQUEST_COMPLETED,
        late.is_none(),
        || {
            format!(
                "no copy of the request more than {grace_ms} ms after the final response to it \
                 (sent to the source address and the Via's sent-by port)"
            )
        },
        || format!("a copy {} ms after it", late.unwrap_or_default()),
    );
}

/// Rules on a NOTIFY of a subscription (RFC 3261 §12.2.1.1; RFC 6665 §3.2.1, §4.1.3, §4.2.2), besides
/// those of [`check_request`].
pub fn check_notify(subscribed: &Subscribed, notify: &SipMessage, sink: &mut impl RuleSink) {
    let state = notify.header("Subscription-State");
    let parsed = notify.subscription_state();
    let value = parsed.as_ref().map(|p| p.state.as_str());
    let contact = notify.header("Contact");
    let (key, why) = if subscribed.first_notify && value != Some("terminated") {
        (
            DIALOG_REQUEST_CONTACT,
            "the first NOTIFY creates the dialog",
        )
    } else {
        (TARGET_REFRESH_CONTACT, "NOTIFY is a target refresh request")
    };
    check(
        sink,
        key,
        contact.is_some_and(|c| !c.trim().is_empty()),
        || format!("a Contact header ({why})"),
        || shown(contact),
    );
    check_gruu_contact(contact, sink);
    if subscribed.first_notify {
        // Its dialog's local sequence number starts here (RFC 3261 §12.2.1.1, §8.1.1.5).
        if let Some((number, _)) = notify.cseq() {
            check(
                sink,
                CSEQ_RANGE,
                u64::from(number) < INITIAL_CSEQ_LIMIT,
                || "a first NOTIFY's CSeq number below 2**31".to_string(),
                || format!("CSeq {number}"),
            );
        }
    }
    let (to, from) = (notify.header("To"), notify.header("From"));
    check(
        sink,
        NOTIFY_IDENTITY,
        to.is_some_and(|t| uri_equivalent(&uri_of(t), subscribed.subscriber))
            && from.is_some_and(|f| uri_equivalent(&uri_of(f), subscribed.resource)),
        || {
            format!(
                "To <{}> (the SUBSCRIBE's From), From <{}> (its To)",
                subscribed.subscriber, subscribed.resource
            )
        },
        || format!("To {}, From {}", shown(to), shown(from)),
    );
    if !subscribed.subscriber_tagged {
        check(
            sink,
            NULL_TAG_OMITTED,
            notify.to_tag().is_none(),
            || {
                "a To without a tag (the SUBSCRIBE's From had none: the remote tag is null)"
                    .to_string()
            },
            || shown(to),
        );
    }
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
    if let (Some("terminated"), Some(state)) = (value, state) {
        check(
            sink,
            TERMINATED_REASON,
            param_of(state, "reason")
                .flatten()
                .is_some_and(|r| !r.is_empty()),
            || "a reason parameter on a terminated Subscription-State".to_string(),
            || format!("{state:?}"),
        );
        check(
            sink,
            TERMINATED_NO_EXPIRES,
            param_of(state, "expires").is_none(),
            || "no expires parameter on a terminated Subscription-State".to_string(),
            || format!("{state:?}"),
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
        if let Some(media) = &media {
            let content_type = content_type.unwrap_or_default();
            let documents = typed_documents(media, content_type, &notify.body);
            check_pidf_tuple_ids(&documents, sink);
            check_rlmi(&documents, sink);
        }
    }
}

/// A NOTIFY's documents with their media types (lower case): the body itself (of type `media`,
/// the whole header being `content_type`), or the parts of a multipart one (an RLS's, RFC 4662
/// §5.3), split once for every rule that reads them. A body that does not split yields none:
/// the flows' own checks report it.
fn typed_documents<'a>(
    media: &str,
    content_type: &str,
    body: &'a [u8],
) -> Vec<(String, Cow<'a, [u8]>)> {
    if !media.starts_with("multipart/") {
        return vec![(media.to_string(), Cow::Borrowed(body))];
    }
    let Ok(split) = multipart::split(content_type, body) else {
        return Vec::new();
    };
    split
        .parts
        .into_iter()
        .filter_map(|part| {
            let part_media = parse_params(part.content_type()?)
                .value
                .to_ascii_lowercase();
            Some((part_media, Cow::Owned(part.body)))
        })
        .collect()
}

/// The documents of `documents` whose type is `wanted`.
fn of_type<'d, 'a>(
    documents: &'d [(String, Cow<'a, [u8]>)],
    wanted: &'d str,
) -> impl Iterator<Item = &'d [u8]> {
    documents
        .iter()
        .filter(move |(media, _)| media == wanted)
        .map(|(_, document)| document.as_ref())
}

/// Every `<tuple>` of each PIDF document carries an `id`, unique among the document's tuples
/// (RFC 3863 §4.1.2). A document that is not well-formed XML is left to the flows' checks.
fn check_pidf_tuple_ids(documents: &[(String, Cow<'_, [u8]>)], sink: &mut impl RuleSink) {
    for document in of_type(documents, PIDF_MEDIA_TYPE) {
        let Ok(root) = xml::parse(document) else {
            continue;
        };
        let mut seen: Vec<&str> = Vec::new();
        let mut broken: Option<String> = None;
        let tuples = root
            .elements()
            .filter(|e| e.ns == PIDF_NS && e.name == "tuple");
        for (n, tuple) in tuples.enumerate() {
            match tuple.attr("", "id").filter(|id| !id.is_empty()) {
                None => broken = Some(format!("tuple {} has no id", n + 1)),
                Some(id) if seen.contains(&id) => {
                    broken = Some(format!("id {id:?} on more than one tuple"));
                }
                Some(id) => seen.push(id),
            }
            if broken.is_some() {
                break;
            }
        }
        check(
            sink,
            PIDF_TUPLE_ID,
            broken.is_none(),
            || "every <tuple> with an id attribute, unique among the document's tuples".to_string(),
            move || broken.unwrap_or_default(),
        );
    }
}

/// Rules on each RLMI document of a list NOTIFY: every `xml:lang` (the names of a list and its
/// resources) holds a language tag (RFC 4662 §5.4), and every terminated instance carries a
/// reason (§5.5). Each is reported only for a document that has such an attribute or instance.
fn check_rlmi(documents: &[(String, Cow<'_, [u8]>)], sink: &mut impl RuleSink) {
    for document in of_type(documents, RLMI_MEDIA_TYPE) {
        let Ok(root) = xml::parse(document) else {
            continue;
        };
        let terminated: Vec<&xml::XmlElement> = root
            .elements()
            .filter(|e| e.ns == RLMI_NS && e.name == "resource")
            .flat_map(|resource| resource.elements())
            .filter(|e| e.ns == RLMI_NS && e.name == "instance")
            .filter(|instance| instance.attr("", "state") == Some("terminated"))
            .collect();
        if !terminated.is_empty() {
            let unexplained: Vec<&str> = terminated
                .iter()
                .filter(|i| i.attr("", "reason").is_none_or(str::is_empty))
                .map(|i| i.attr("", "id").unwrap_or("(no id)"))
                .collect();
            check(
                sink,
                RLMI_TERMINATED_REASON,
                unexplained.is_empty(),
                || "a reason on every instance whose state is terminated".to_string(),
                || {
                    format!(
                        "terminated without a reason: instance {}",
                        unexplained.join(", ")
                    )
                },
            );
        }
        let mut tags = Vec::new();
        collect_language_tags(&root, &mut tags);
        if tags.is_empty() {
            continue;
        }
        let bad: Vec<&str> = tags
            .into_iter()
            .filter(|tag| !is_language_tag(tag))
            .collect();
        check(
            sink,
            RLMI_LANGUAGE_TAG,
            bad.is_empty(),
            || {
                "language tags (RFC 3066: 1 to 8 letters, then subtags of 1 to 8 letters or digits after hyphens)".to_string()
            },
            || format!("xml:lang {}", bad.join(", ")),
        );
    }
}

/// The `xml:lang` values of `element` and the elements below it.
fn collect_language_tags<'e>(element: &'e xml::XmlElement, tags: &mut Vec<&'e str>) {
    tags.extend(element.attr(XML_NS, "lang"));
    for child in element.elements() {
        collect_language_tags(child, tags);
    }
}

/// RFC 3066 §2.1: `Language-Tag = Primary-subtag *( "-" Subtag )`, a primary subtag of 1 to 8
/// letters and subtags of 1 to 8 letters or digits.
fn is_language_tag(tag: &str) -> bool {
    let mut subtags = tag.split('-');
    let primary = subtags.next().unwrap_or_default();
    let fits =
        |s: &str, ok: fn(&u8) -> bool| (1..=8).contains(&s.len()) && s.bytes().all(|b| ok(&b));
    fits(primary, u8::is_ascii_alphabetic) && subtags.all(|s| fits(s, u8::is_ascii_alphanumeric))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_follow_rfc_3066() {
        for good in [
            "en",
            "en-GB",
            "zh-Hant-TW",
            "de-CH-1901",
            "x-private",
            "i-klingon",
        ] {
            assert!(is_language_tag(good), "{good}");
        }
        for bad in [
            "",
            "en_GB",
            "en-",
            "-en",
            "englishes",
            "1en",
            "en-GB-toolongsubtag",
            "é",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
        let rlmi = |name: &str| {
            let body = format!("<list xmlns=\"urn:ietf:params:xml:ns:rlmi\" uri=\"sip:l@x\" version=\"0\" fullState=\"true\">{name}<resource uri=\"sip:a@x\"><name xml:lang=\"fr\">A</name></resource></list>");
            let mut sink = Failed::default();
            let documents = typed_documents(RLMI_MEDIA_TYPE, RLMI_MEDIA_TYPE, body.as_bytes());
            check_rlmi(&documents, &mut sink);
            (sink.0, sink.1)
        };
        assert_eq!(rlmi("<name xml:lang=\"en\">L</name>"), (vec![], 1));
        assert_eq!(
            rlmi("<name xml:lang=\"en_GB\">L</name>"),
            (vec![RLMI_LANGUAGE_TAG], 1)
        );
        let instance = |attributes: &str| {
            rlmi(&format!(
                "<resource uri=\"sip:b@x\"><instance id=\"i9\" {attributes}/></resource>"
            ))
        };
        assert_eq!(instance("state=\"active\" cid=\"c\""), (vec![], 1));
        assert_eq!(
            instance("state=\"terminated\" reason=\"rejected\""),
            (vec![], 2)
        );
        assert_eq!(
            instance("state=\"terminated\""),
            (vec![RLMI_TERMINATED_REASON], 2)
        );
    }

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
        branches: &["z9hG4bKb1"],
        creates_dialog: false,
        record_routes: &[],
        to_uri: "sip:a@example.com",
        to_tag: None,
    };

    fn response(extra: &str) -> SipMessage {
        response_to("PUBLISH", extra)
    }

    fn response_to(method: &str, extra: &str) -> SipMessage {
        answer("200 OK", method, extra, "")
    }

    #[test]
    fn a_prefixed_field_needs_an_xmlns_query() {
        let judged = |field: &str| {
            let mut sink = Failed::default();
            check_field_query(field, &mut sink);
            (sink.0, sink.1)
        };
        // No prefix (a predicate's quoted value may hold a colon): nothing to judge.
        assert_eq!(
            judged("resource-lists/list%5B@name=%22a:b%22%5D/@name"),
            (vec![], 0)
        );
        assert_eq!(
            judged("rl:resource-lists/rl:list%5B2%5D/@name?xmlns(rl=urn:ietf:params:xml:ns:resource-lists)"),
            (vec![], 1)
        );
        assert_eq!(
            judged("rl:resource-lists/rl:list%5B2%5D/@name"),
            (vec![XCAP_ERROR_FIELD_QUERY], 1)
        );
    }

    #[test]
    fn a_trying_copies_the_timestamp_with_a_delay_no_longer_than_the_wait() {
        let judged = |got: Option<&str>| {
            let mut sink = Failed::default();
            check_trying_timestamp("54", got, 0.5, &mut sink);
            sink.0.is_empty()
        };
        assert!(judged(Some("54")));
        assert!(judged(Some("54 0.2")));
        assert!(!judged(None));
        assert!(!judged(Some("55")));
        assert!(!judged(Some("54 0.9")));
        assert!(!judged(Some("54 soon")));
        assert!(!judged(Some("54 0.1 0.2")));
    }

    /// The rules `response` to [`SENT`] breaks.
    #[test]
    fn only_a_copy_may_reuse_a_branch() {
        let request = |method: &str, cseq: &str| {
            SipMessage::parse(
                format!("{method} sip:w@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn\r\nCall-ID: c1\r\nCSeq: {cseq}\r\nContent-Length: 0\r\n\r\n").as_bytes(),
            )
            .unwrap()
        };
        let judged = |msg: &SipMessage| {
            let mut sink = Failed::default();
            check_branch_reuse(("c1", "2 NOTIFY"), msg, &mut sink);
            sink.0
        };
        assert!(judged(&request("NOTIFY", "2 NOTIFY")).is_empty());
        assert_eq!(judged(&request("NOTIFY", "3 NOTIFY")), [BRANCH_UNIQUE]);
        assert!(judged(&request("CANCEL", "2 CANCEL")).is_empty());
    }

    fn broken(response: &SipMessage) -> Vec<&'static str> {
        let mut sink = Failed::default();
        check_response(&SENT, response, &mut sink);
        sink.0
    }

    /// An answer to [`SENT`]'s transaction with `status`, the `extra` header lines and `body`.
    fn answer(status: &str, method: &str, extra: &str, body: &str) -> SipMessage {
        SipMessage::parse(
            format!(
                "SIP/2.0 {status}\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKb1;received=127.0.0.1\r\nFrom: <sip:a@example.com>;tag=f1\r\nTo: <sip:a@example.com>;tag=t9\r\nCall-ID: c1\r\nCSeq: 7 {method}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
                body.len()
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
        assert_eq!(sink.1, 9);
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
    fn the_2xx_that_creates_a_dialog_copies_the_record_routes_in_order() {
        let initial = SentRequest {
            method: "SUBSCRIBE",
            creates_dialog: true,
            record_routes: &["<sip:p1;lr>", "<sip:p2;lr>"],
            ..SENT
        };
        let broken = |record_route: &str| {
            let extra = format!("Expires: 60\r\nContact: <sip:ps@127.0.0.1;gr>\r\n{record_route}");
            let mut sink = Failed::default();
            check_response(&initial, &response_to("SUBSCRIBE", &extra), &mut sink);
            sink.0
        };
        assert_eq!(
            broken("Record-Route: <sip:p1;lr>\r\nRecord-Route: <sip:p2;lr>\r\n"),
            Vec::<&str>::new()
        );
        assert_eq!(
            broken("Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\n"),
            Vec::<&str>::new(),
            "one header line or several"
        );
        assert_eq!(broken(""), [RR_COPY]);
        assert_eq!(
            broken("Record-Route: <sip:p2;lr>, <sip:p1;lr>\r\n"),
            [RR_COPY]
        );
    }

    #[test]
    fn a_notify_of_the_wrong_type_and_without_max_forwards_breaks_two_rules() {
        let notify = SipMessage::parse(b"NOTIFY sip:w@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn\r\nFrom: <sip:p@example.com>;tag=t9\r\nTo: <sip:w@example.com>;tag=f1\r\nCall-ID: c1\r\nCSeq: 2 NOTIFY\r\nContact: <sip:127.0.0.1:5060;gr>\r\nEvent: presence\r\nSubscription-State: active;expires=60\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi").unwrap();
        let mut sink = Failed::default();
        let subscribed = Subscribed {
            event: "presence",
            accept: &["application/pidf+xml"],
            first_notify: false,
            subscriber: "sip:w@example.com",
            resource: "sip:p@example.com",
            subscriber_tagged: true,
        };
        check_request(&notify, &mut sink);
        check_notify(&subscribed, &notify, &mut sink);
        assert_eq!(sink.0, [REQUEST_HEADERS, NOTIFY_ACCEPT]);
    }

    /// A NOTIFY from `from` to `to` (name-addrs) with CSeq `cseq`, Subscription-State
    /// `state` and the `extra` header lines.
    fn notify_with(from: &str, to: &str, cseq: &str, state: &str, extra: &str) -> SipMessage {
        let text = format!("NOTIFY sip:w@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn\r\nMax-Forwards: 70\r\nFrom: {from};tag=t9\r\nTo: {to};tag=f1\r\nCall-ID: c1\r\nCSeq: {cseq} NOTIFY\r\n{extra}Event: presence\r\nSubscription-State: {state}\r\nContent-Length: 0\r\n\r\n");
        SipMessage::parse(text.as_bytes()).unwrap()
    }

    /// The rules a NOTIFY of a presence subscription of sip:w@example.com to sip:p@example.com
    /// breaks, [`check_request`]'s with [`check_notify`]'s.
    fn notify_breaks(notify: &SipMessage, first_notify: bool) -> Vec<&'static str> {
        let subscribed = Subscribed {
            event: "presence",
            accept: &["application/pidf+xml"],
            first_notify,
            subscriber: "sip:w@example.com",
            resource: "sip:p@example.com",
            subscriber_tagged: true,
        };
        let mut sink = Failed::default();
        check_request(notify, &mut sink);
        check_notify(&subscribed, notify, &mut sink);
        sink.0
    }

    #[test]
    fn a_null_remote_tag_leaves_the_notifys_to_without_a_tag() {
        let breaks = |notify: &SipMessage| {
            let subscribed = Subscribed {
                event: "presence",
                accept: &["application/pidf+xml"],
                first_notify: false,
                subscriber: "sip:w@example.com",
                resource: "sip:p@example.com",
                subscriber_tagged: false,
            };
            let mut sink = Failed::default();
            check_notify(&subscribed, notify, &mut sink);
            sink.0
        };
        let tagged = notify_with(RESOURCE, SUBSCRIBER, "2", "active;expires=60", CONTACT);
        assert_eq!(breaks(&tagged), [NULL_TAG_OMITTED]);
        let untagged = SipMessage::parse(b"NOTIFY sip:w@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn\r\nMax-Forwards: 70\r\nFrom: <sip:p@example.com>;tag=t9\r\nTo: <sip:w@example.com>\r\nCall-ID: c1\r\nCSeq: 2 NOTIFY\r\nContact: <sip:127.0.0.1:5060;gr>\r\nEvent: presence\r\nSubscription-State: active;expires=60\r\nContent-Length: 0\r\n\r\n").unwrap();
        assert!(breaks(&untagged).is_empty());
    }

    /// The XCAP rules an HTTP response (`status_line`, `headers`, `body`) to `method` on a
    /// resource-lists document breaks.
    fn xcap_breaks(
        method: &str,
        status_line: &str,
        headers: &str,
        body: &str,
    ) -> Vec<&'static str> {
        let head = format!(
            "{status_line}\r\n{headers}Content-Length: {}\r\n\r\n",
            body.len()
        );
        let response =
            SipMessage::parse_http_response(head.as_bytes(), body.as_bytes().to_vec()).unwrap();
        let mut sink = Failed::default();
        let target = "/xcap/resource-lists/users/sip:a@b/index";
        check_xcap_response(method, target, &response, false, &mut sink);
        sink.0
    }

    #[test]
    fn an_xcap_challenge_over_plain_http_offers_no_basic() {
        let breaks = |challenge: &str| {
            let header = format!("WWW-Authenticate: {challenge}\r\n");
            xcap_breaks("GET", "HTTP/1.1 401 Unauthorized", &header, "")
        };
        assert!(breaks("Digest realm=\"a, Basic b\", nonce=\"n\"").is_empty());
        assert_eq!(breaks("Basic realm=\"xcap\""), [XCAP_NO_BASIC]);
        assert_eq!(
            breaks("Digest realm=\"x\", nonce=\"n\", basic realm=\"x\""),
            [XCAP_NO_BASIC]
        );
        // Over TLS a Basic challenge is allowed.
        let response = SipMessage::parse_http_response(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n",
            Vec::new(),
        )
        .unwrap();
        let mut sink = Failed::default();
        check_xcap_response("GET", "/xcap/x", &response, true, &mut sink);
        assert!(sink.0.is_empty(), "{:?}", sink.0);
    }

    #[test]
    fn node_selectors_in_xcap_error_reports_are_percent_encoded() {
        let breaks = |report: &str| {
            let body = format!(
                "<xcap-error xmlns=\"urn:ietf:params:xml:ns:xcap-error\">{report}</xcap-error>"
            );
            let header = "Content-Type: application/xcap-error+xml\r\n";
            xcap_breaks("PUT", "HTTP/1.1 409 Conflict", header, &body)
        };
        let ancestor = |uri: &str| format!("<no-parent><ancestor>{uri}</ancestor></no-parent>");
        assert!(breaks(&ancestor("http://[::1]:80/xcap/resource-lists/users/sip:a@b/index/~~/resource-lists/list%5b@name=%22a%22%5d")).is_empty());
        assert_eq!(
            breaks(&ancestor("index/~~/resource-lists/list[@name=\"a\"]")),
            [XCAP_ERROR_URIS_ENCODED]
        );
        let field =
            |f: &str| format!("<uniqueness-failure><exists field=\"{f}\"/></uniqueness-failure>");
        assert!(breaks(&field("resource-lists/list%5B1%5D/entry%5B2%5D/@uri")).is_empty());
        assert_eq!(
            breaks(&field("resource-lists/list[1]/entry[2]/@uri")),
            [XCAP_ERROR_URIS_ENCODED]
        );
    }

    const SUBSCRIBER: &str = "<sip:w@example.com>";
    const RESOURCE: &str = "<sip:p@example.com>";
    const CONTACT: &str = "Contact: <sip:127.0.0.1:5060;gr>\r\n";

    #[test]
    fn a_notify_without_contact_breaks_the_must_when_it_creates_the_dialog() {
        let broken = |state: &str, first_notify: bool| {
            notify_breaks(
                &notify_with(RESOURCE, SUBSCRIBER, "2", state, ""),
                first_notify,
            )
        };
        assert_eq!(broken("active;expires=60", true), [DIALOG_REQUEST_CONTACT]);
        assert_eq!(broken("active;expires=60", false), [TARGET_REFRESH_CONTACT]);
        assert_eq!(
            broken("terminated;reason=timeout", true),
            [TARGET_REFRESH_CONTACT],
            "a first NOTIFY that ends the subscription creates no dialog"
        );
    }

    #[test]
    fn a_terminated_state_has_a_reason_and_no_expires() {
        let ending = |state: &str| {
            notify_breaks(
                &notify_with(RESOURCE, SUBSCRIBER, "2", state, CONTACT),
                false,
            )
        };
        assert!(ending("terminated;reason=deactivated").is_empty());
        assert_eq!(ending("terminated"), [TERMINATED_REASON]);
        assert_eq!(ending("terminated;reason="), [TERMINATED_REASON]);
        assert_eq!(
            ending("terminated;reason=timeout;expires=0"),
            [TERMINATED_NO_EXPIRES]
        );
    }

    #[test]
    fn a_notify_keeps_its_dialog_identity_and_cseq_range() {
        let identity = |from: &str, to: &str, cseq: &str, first_notify: bool| {
            let notify = notify_with(from, to, cseq, "active;expires=60", CONTACT);
            notify_breaks(&notify, first_notify)
        };
        let (w, p) = (SUBSCRIBER, "<sip:p@EXAMPLE.com>");
        assert!(identity(p, w, "1", true).is_empty());
        assert_eq!(identity(w, p, "1", false), [NOTIFY_IDENTITY]);
        assert_eq!(
            identity("<sip:q@example.com>", w, "1", false),
            [NOTIFY_IDENTITY]
        );
        assert_eq!(identity(p, w, "2147483649", true), [CSEQ_RANGE]);
        assert!(
            identity(p, w, "2147483649", false).is_empty(),
            "later NOTIFYs may go on past 2**31"
        );
        assert_eq!(identity(p, w, "4294967296", false), [CSEQ_RANGE]);
    }

    #[test]
    fn every_tuple_of_each_pidf_document_needs_its_own_id() {
        let notify = |content_type: &str, body: &str| {
            let text = format!("NOTIFY sip:w@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn\r\nMax-Forwards: 70\r\nFrom: <sip:p@example.com>;tag=t9\r\nTo: <sip:w@example.com>;tag=f1\r\nCall-ID: c1\r\nCSeq: 2 NOTIFY\r\nContact: <sip:127.0.0.1:5060;gr>\r\nEvent: presence\r\nSubscription-State: active;expires=60\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            SipMessage::parse(text.as_bytes()).unwrap()
        };
        let outcomes = |content_type: &str, body: &str| {
            let subscribed = Subscribed {
                event: "presence",
                accept: &["application/pidf+xml", "multipart/related"],
                first_notify: false,
                subscriber: "sip:w@example.com",
                resource: "sip:p@example.com",
                subscriber_tagged: true,
            };
            let mut sink = Failed::default();
            check_notify(&subscribed, &notify(content_type, body), &mut sink);
            (sink.0, sink.1)
        };
        let pidf = |tuples: &str| {
            format!("<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='pres:p@example.com'>{tuples}</presence>")
        };
        let pidf_type = "application/pidf+xml";
        assert_eq!(
            outcomes(pidf_type, &pidf("<tuple id='a'/><tuple id='b'/>")),
            (vec![], 8)
        );
        for tuples in [
            "<tuple/>",
            "<tuple id=''/>",
            "<tuple id='a'/><tuple id='a'/>",
        ] {
            assert_eq!(
                outcomes(pidf_type, &pidf(tuples)).0,
                [PIDF_TUPLE_ID],
                "{tuples}"
            );
        }
        let part = |tuples: &str| {
            format!(
                "--b\r\nContent-Type: application/pidf+xml\r\n\r\n{}\r\n",
                pidf(tuples)
            )
        };
        let related = "multipart/related;type=\"application/pidf+xml\";boundary=b";
        let both = format!(
            "{}{}--b--\r\n",
            part("<tuple id='a'/>"),
            part("<tuple id='a'/>")
        );
        assert_eq!(
            outcomes(related, &both),
            (vec![], 9),
            "the same id in two members' documents is no clash"
        );
        let clash = format!("{}{}--b--\r\n", part("<tuple id='a'/>"), part("<tuple/>"));
        assert_eq!(outcomes(related, &clash).0, [PIDF_TUPLE_ID]);
    }

    #[test]
    fn a_request_with_the_wrong_cseq_method_old_branch_and_untyped_body_breaks_each_rule() {
        let request = SipMessage::parse(b"NOTIFY sip:w@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=old1\r\nMax-Forwards: 70\r\nFrom: <sip:p@example.com>\r\nTo: <sip:w@example.com>;tag=f1\r\nCall-ID: c1\r\nCSeq: 2 SUBSCRIBE\r\nContent-Length: 2\r\n\r\nhi").unwrap();
        let mut sink = Failed::default();
        check_request(&request, &mut sink);
        assert_eq!(sink.0, [CSEQ_METHOD, BRANCH_COOKIE, FROM_TAG, CONTENT_TYPE]);
    }

    #[test]
    fn a_request_outside_a_dialog_to_a_sips_target_carries_a_sips_contact() {
        let subscribe = |uri: &str, route: &str, to_tag: &str, contact: &str| {
            let text = format!("SUBSCRIBE {uri} SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK1\r\n{route}Max-Forwards: 70\r\nFrom: <sip:pna@example.com>;tag=p1\r\nTo: <{uri}>{to_tag}\r\nCall-ID: c1\r\nCSeq: 1 SUBSCRIBE\r\nContact: {contact}\r\nContent-Length: 0\r\n\r\n");
            let mut sink = Failed::default();
            check_request(&SipMessage::parse(text.as_bytes()).unwrap(), &mut sink);
            sink.0
        };
        let plain = "<sip:pna@127.0.0.1:5061;transport=tls>";
        assert!(subscribe("sips:u@example.com", "", "", "<sips:pna@127.0.0.1:5061>").is_empty());
        assert_eq!(
            subscribe("sips:u@example.com", "", "", plain),
            [SIPS_CONTACT_REQUEST]
        );
        let route = "Route: <sips:127.0.0.1:5061;lr>\r\n";
        assert_eq!(
            subscribe("sip:u@example.com", route, "", plain),
            [SIPS_CONTACT_REQUEST]
        );
        assert!(subscribe("sip:u@example.com", "", "", plain).is_empty());
        // Inside a dialog the secure flag decides; the rule leaves it to the flows.
        assert!(subscribe("sips:u@example.com", "", ";tag=t1", plain).is_empty());
    }

    #[test]
    fn a_top_via_names_sip_2_0_and_carries_a_branch() {
        let notify = |via: &str| {
            let text = format!("NOTIFY sip:w@127.0.0.1 SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: <sip:p@example.com>;tag=p1\r\nTo: <sip:w@example.com>;tag=f1\r\nCall-ID: c1\r\nCSeq: 2 NOTIFY\r\nContent-Length: 0\r\n\r\n");
            let mut sink = Failed::default();
            check_request(&SipMessage::parse(text.as_bytes()).unwrap(), &mut sink);
            sink.0
        };
        assert!(notify("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1").is_empty());
        assert!(notify("sip/2.0/udp 127.0.0.1:5060;branch=z9hG4bK1").is_empty());
        assert_eq!(notify("SIP/2.0/UDP 127.0.0.1:5060"), [VIA_BRANCH]);
        assert_eq!(
            notify("SIP/2.0/UDP 127.0.0.1:5060;branch="),
            [VIA_BRANCH, BRANCH_COOKIE]
        );
        assert_eq!(
            notify("SIP/3.0/UDP 127.0.0.1:5060;branch=z9hG4bK1"),
            [VIA_PROTOCOL]
        );
    }

    #[test]
    fn a_489_names_the_events_it_allows() {
        let bad_event = |extra: &str| answer("489 Bad Event", "PUBLISH", extra, "");
        assert_eq!(broken(&bad_event("")), [PUBLISH_489_ALLOW_EVENTS]);
        assert!(broken(&bad_event("Allow-Events: presence\r\n")).is_empty());
    }

    #[test]
    fn a_response_must_copy_every_via() {
        let two = SentRequest {
            branches: &["z9hG4bKb1", "z9hG4bKue"],
            ..SENT
        };
        let mut sink = Failed::default();
        check_response(
            &two,
            &response("SIP-ETag: e1\r\nExpires: 60\r\n"),
            &mut sink,
        );
        assert_eq!(sink.0, [RESPONSE_COPIES]);
    }

    #[test]
    fn xcap_answers_carry_an_etag_while_the_document_exists_and_a_200_to_put_no_content() {
        let http = |head: &str, body: &[u8]| {
            SipMessage::parse_http_response(head.as_bytes(), body.to_vec()).unwrap()
        };
        let tagged = http(
            "HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nContent-Length: 0\r\n\r\n",
            b"",
        );
        let untagged = http("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", b"");
        let document = "/xcap-root/resource-lists/users/sip:a@x/index";
        let element = "/xcap-root/resource-lists/users/sip:a@x/index/~~/resource-lists/list";
        let failed = |method, target, response: &SipMessage| {
            let mut sink = Failed::default();
            check_xcap_response(method, target, response, false, &mut sink);
            sink.0
        };
        assert_eq!(failed("PUT", document, &tagged), Vec::<&str>::new());
        assert_eq!(
            failed("GET", element, &untagged),
            [XCAP_ETAG, XCAP_GET_CONTENT_TYPE, XCAP_NO_CACHE]
        );
        assert_eq!(failed("DELETE", element, &untagged), [XCAP_ETAG]);
        // The document itself is gone: no entity-tag is owed.
        assert_eq!(failed("DELETE", document, &untagged), Vec::<&str>::new());
        let with_content = http(
            "HTTP/1.1 200 OK\r\nETag: \"e2\"\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
            b"ok",
        );
        assert_eq!(failed("PUT", document, &with_content), [XCAP_PUT_200_EMPTY]);
        assert_eq!(
            failed("GET", document, &with_content),
            [XCAP_GET_CONTENT_TYPE, XCAP_NO_CACHE]
        );
        let not_found = http("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", b"");
        assert_eq!(failed("GET", document, &not_found), Vec::<&str>::new());
        let cached = |directives: &str| {
            http(
                &format!("HTTP/1.1 200 OK\r\nETag: \"e3\"\r\nContent-Type: application/resource-lists+xml\r\nCache-Control: {directives}\r\nContent-Length: 0\r\n\r\n"),
                b"",
            )
        };
        assert_eq!(
            failed("GET", document, &cached("max-age=60")),
            [XCAP_NO_CACHE]
        );
        let field_list = cached("private, no-cache=\"Set-Cookie, X\"");
        assert_eq!(failed("GET", document, &field_list), Vec::<&str>::new());
        // The server writes the capabilities document itself: no directive is asked for.
        assert_eq!(
            failed("GET", "/xcap-root/xcap-caps/global/index", &untagged),
            [XCAP_ETAG, XCAP_GET_CONTENT_TYPE]
        );
        let not_allowed = http(
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n",
            b"",
        );
        assert_eq!(failed("POST", document, &not_allowed), [HTTP_405_ALLOW]);
        let listed = http(
            "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, PUT, DELETE\r\nContent-Length: 0\r\n\r\n",
            b"",
        );
        assert_eq!(failed("POST", document, &listed), Vec::<&str>::new());
        let report = b"<xcap-error xmlns=\"urn:ietf:params:xml:ns:xcap-error\"/>";
        let untyped = http(
            "HTTP/1.1 409 Conflict\r\nContent-Length: 55\r\n\r\n",
            report,
        );
        assert_eq!(failed("PUT", document, &untyped), [HTTP_CONTENT_TYPE]);
        let typed = http(
            "HTTP/1.1 409 Conflict\r\nContent-Type: application/xcap-error+xml\r\nContent-Length: 55\r\n\r\n",
            report,
        );
        assert_eq!(failed("PUT", document, &typed), Vec::<&str>::new());
    }

    #[test]
    fn a_response_with_a_body_names_its_type() {
        let with_body = |extra: &str| {
            let extra = format!("SIP-ETag: e1\r\nExpires: 60\r\n{extra}");
            answer("200 OK", "PUBLISH", &extra, "ok")
        };
        assert_eq!(broken(&with_body("")), [CONTENT_TYPE]);
        assert!(broken(&with_body("Content-Type: text/plain\r\n")).is_empty());
    }

    #[test]
    fn a_get_answer_has_the_type_of_what_the_uri_selects() {
        let root = "/xcap-root";
        let cases = [
            (
                "/resource-lists/users/sip:a@x/index",
                Some("application/resource-lists+xml"),
            ),
            (
                "/pres-rules/users/sip:a@x/index",
                Some("application/auth-policy+xml"),
            ),
            (
                "/rls-services/global/index",
                Some("application/rls-services+xml"),
            ),
            ("/xcap-caps/global/index", Some("application/xcap-caps+xml")),
            (
                "/resource-lists/users/sip:a@x/index/~~/resource-lists/list%5b@name=%22f%22%5d",
                Some("application/xcap-el+xml"),
            ),
            (
                "/resource-lists/users/sip:a@x/index/~~/resource-lists/list/entry/@uri",
                Some("application/xcap-att+xml"),
            ),
            (
                "/resource-lists/users/sip:a@x/index/~~/resource-lists/namespace::*",
                None,
            ),
            ("/unknown-usage/users/sip:a@x/index", None),
            ("/no-tree-here", None),
        ];
        for (path, expected) in cases {
            assert_eq!(
                xcap_media_type(&format!("{root}{path}")),
                expected,
                "{path}"
            );
        }
    }

    #[test]
    fn a_publish_answer_carries_no_header_its_table_marks_not_applicable() {
        let ok = |extra: &str| {
            answer(
                "200 OK",
                "PUBLISH",
                &format!("SIP-ETag: e1\r\nExpires: 60\r\n{extra}"),
                "",
            )
        };
        for extra in [
            "Contact: <sip:ps@127.0.0.1>\r\n",
            "Accept: application/pidf+xml\r\n",
            "Record-Route: <sip:p@127.0.0.1;lr>\r\n",
            "Reply-To: <sip:a@example.com>\r\n",
        ] {
            assert_eq!(broken(&ok(extra)), [PUBLISH_NOT_APPLICABLE], "{extra}");
        }
        // The marks are per status: Accept belongs in a 415, Contact is not marked for a 3xx.
        let unsupported = answer(
            "415 Unsupported Media Type",
            "PUBLISH",
            "Accept: application/pidf+xml\r\n",
            "",
        );
        assert!(broken(&unsupported).is_empty());
        let trying = answer(
            "100 Trying",
            "PUBLISH",
            "Contact: <sip:ps@127.0.0.1>\r\n",
            "",
        );
        assert_eq!(broken(&trying), [PUBLISH_NOT_APPLICABLE]);
    }

    #[test]
    fn event_and_subscription_state_stay_in_their_requests() {
        let subscribe = SentRequest {
            method: "SUBSCRIBE",
            ..SENT
        };
        let broken_by = |extra: &str| {
            let mut sink = Failed::default();
            check_response(
                &subscribe,
                &response_to("SUBSCRIBE", &format!("Expires: 60\r\n{extra}")),
                &mut sink,
            );
            sink.0
        };
        assert!(broken_by("").is_empty());
        assert_eq!(broken_by("Event: presence\r\n"), [EVENT_PLACEMENT]);
        assert_eq!(
            broken_by("o: presence\r\n"),
            [EVENT_PLACEMENT],
            "the compact form"
        );
        assert_eq!(
            broken_by("Subscription-State: active;expires=60\r\n"),
            [SUBSTATE_PLACEMENT]
        );
        let request = |method: &str, extra: &str| {
            let msg = SipMessage::parse(format!(
                "{method} sip:w@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn1\r\nMax-Forwards: 70\r\nFrom: <sip:p@example.com>;tag=a\r\nTo: <sip:w@example.com>;tag=b\r\nCall-ID: c2\r\nCSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
            ).as_bytes()).unwrap();
            let mut sink = Failed::default();
            check_request(&msg, &mut sink);
            sink.0
        };
        let both = "Event: presence\r\nSubscription-State: active;expires=60\r\n";
        assert!(request("NOTIFY", both).is_empty());
        assert_eq!(request("SUBSCRIBE", both), [SUBSTATE_PLACEMENT]);
        assert_eq!(
            request("OPTIONS", both),
            [EVENT_PLACEMENT, SUBSTATE_PLACEMENT]
        );
        let eventlist =
            "Event: presence\r\nSubscription-State: active;expires=60\r\nk: 100rel, EventList\r\n";
        assert_eq!(
            request("NOTIFY", eventlist),
            [EVENTLIST_SUPPORTED_PLACEMENT],
            "the compact form, any case"
        );
        let subscribe = "Event: presence\r\nSupported: eventlist\r\n";
        assert!(request("SUBSCRIBE", subscribe).is_empty());
    }

    #[test]
    fn allow_events_and_unbracketed_uris_keep_their_grammar() {
        let with = |extra: &str| answer("489 Bad Event", "PUBLISH", extra, "");
        assert!(broken(&with("Allow-Events: presence, presence.winfo\r\n")).is_empty());
        assert!(broken(&with("u: presence,dialog\r\n")).is_empty());
        assert_eq!(
            broken(&with("Allow-Events: presence presence.winfo\r\n")),
            [ALLOW_EVENTS_SYNTAX]
        );
        assert_eq!(
            broken(&with("Allow-Events: presence;id=1\r\n")),
            [ALLOW_EVENTS_SYNTAX]
        );
        let to = |to: &str| {
            SipMessage::parse(format!(
                "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKb1\r\nFrom: <sip:a@example.com>;tag=f1\r\nTo: {to}\r\nCall-ID: c1\r\nCSeq: 7 PUBLISH\r\nSIP-ETag: e1\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n"
            ).as_bytes()).unwrap()
        };
        assert!(broken(&to("sip:a@example.com;tag=t9")).is_empty());
        assert!(broken(&to("<sip:a@example.com?subject=x>;tag=t9")).is_empty());
        assert_eq!(
            broken(&to("sip:a@example.com?subject=x;tag=t9")),
            [URI_BRACKETS]
        );
        assert_eq!(
            broken(&to("sip:a,b@example.com;tag=t9")),
            [TO_COPY, URI_BRACKETS],
            "another URI than the request's, and unbracketed"
        );
        let contact = |value: &str| {
            let mut sink = Failed::default();
            check_syntax(
                &answer("200 OK", "SUBSCRIBE", &format!("Contact: {value}\r\n"), ""),
                &mut sink,
            );
            sink.0
        };
        assert!(contact("sip:ps@127.0.0.1:5060, sip:ps@127.0.0.1:5061").is_empty());
        assert!(contact("*").is_empty());
        assert_eq!(contact("sip:ps@127.0.0.1:5060?x=1"), [URI_BRACKETS]);
    }

    #[test]
    fn a_response_keeps_its_requests_to() {
        let ok = response("SIP-ETag: e1\r\nExpires: 60\r\n");
        assert!(broken(&ok).is_empty(), "a tag added to a To without one");
        let other = SentRequest {
            to_uri: "sip:b@example.com",
            ..SENT
        };
        let mut sink = Failed::default();
        check_response(&other, &ok, &mut sink);
        assert_eq!(sink.0, [TO_COPY], "another URI");
        for (tag, held) in [("t9", true), ("t8", false)] {
            let in_dialog = SentRequest {
                to_tag: Some(tag),
                ..SENT
            };
            let mut sink = Failed::default();
            check_response(&in_dialog, &ok, &mut sink);
            assert_eq!(sink.0.is_empty(), held, "the request's tag {tag}");
        }
    }

    #[test]
    fn a_request_via_has_a_sent_by_and_its_transport() {
        let via_breaks = |via: &str, transport: &str| {
            let msg = notify_with(RESOURCE, SUBSCRIBER, "2", "active;expires=60", CONTACT);
            let text = String::from_utf8_lossy(&msg.raw).replace(
                "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn",
                &format!("Via: {via}"),
            );
            let msg = SipMessage::parse(text.as_bytes()).unwrap();
            let mut sink = Failed::default();
            check_request(&msg, &mut sink);
            check_request_transport(&msg, transport, &mut sink);
            sink.0
        };
        for via in [
            "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn",
            "SIP / 2.0 / UDP ps.example.com;branch=z9hG4bKn",
            "SIP/2.0/UDP [::1]:5060;branch=z9hG4bKn",
        ] {
            assert!(via_breaks(via, "udp").is_empty(), "{via}");
        }
        assert_eq!(
            via_breaks("SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKn", "UDP"),
            [VIA_TRANSPORT]
        );
        for via in [
            "SIP/2.0/UDP ;branch=z9hG4bKn",
            "SIP/2.0/UDP 127.0.0.1:50600x;branch=z9hG4bKn",
            "SIP/2.0/UDP [::1;branch=z9hG4bKn",
        ] {
            assert_eq!(via_breaks(via, "udp"), [VIA_SENT_BY], "{via}");
        }
    }
}
