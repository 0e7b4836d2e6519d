//! Entry point for every received message: responses go to the client transactions, requests
//! are checked (RFC 3261 §8.2), matched against answered server transactions, and handed to the
//! ESC (PUBLISH), the notifier (SUBSCRIBE) or the PNA (REGISTER, NOTIFY). Also builds the common
//! part of every response.

use super::shared::{lock, Shared, DIALOG_ONLY_USER};
use super::transaction::{top_sent_by, ServerKey};
use super::transport::{self, ReplyPath, Transport};
use super::{esc, notifier, pidf, pna};
use super::{Fault, Variation};
use crate::sip::text::parse_params;
use crate::sip::typed::uri_of;
use crate::sip::{reason_phrase, MessageBuilder, SipMessage};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Methods this server implements, ACK and CANCEL included (RFC 3261 §20.5).
pub(super) const ALLOW: &str = "OPTIONS, PUBLISH, SUBSCRIBE, NOTIFY, REGISTER, ACK, CANCEL";

/// The result of handling a request: the response to send, then the subscriptions whose
/// NOTIFY queue needs a delivery task.
pub(super) struct Handled {
    /// The serialised response.
    pub response: Vec<u8>,
    /// Subscriptions to start delivering to (after the response is sent).
    pub pump: Vec<u64>,
}

impl Handled {
    /// A response that starts no NOTIFY.
    pub fn only(response: MessageBuilder) -> Handled {
        Handled {
            response: response.build(),
            pump: Vec::new(),
        }
    }
}

/// Reason phrase for a status code.
fn phrase(code: u16) -> &'static str {
    match (code, reason_phrase(code)) {
        (420, _) => "Bad Extension",
        (_, "Unknown") => "Response",
        (_, known) => known,
    }
}

/// Starts a response to `request`: status line, then Via (every value, in order), From, To (with
/// `tag` added when the request's To has none, RFC 3261 §8.2.6.2), Call-ID and CSeq.
pub(super) fn response(request: &SipMessage, code: u16, tag: &str) -> MessageBuilder {
    let mut builder = MessageBuilder::response(code, phrase(code));
    for via in request.header_lines("Via") {
        builder.push_header("Via", via);
    }
    if let Some(from) = request.header("From") {
        builder.push_header("From", from);
    }
    if let Some(to) = request.header("To") {
        if request.to_tag().is_some() || tag.is_empty() {
            builder.push_header("To", to);
        } else {
            builder.push_header("To", format!("{to};tag={tag}"));
        }
    }
    if let Some(call_id) = request.call_id() {
        builder.push_header("Call-ID", call_id);
    }
    if let Some(cseq) = request.header("CSeq") {
        builder.push_header("CSeq", cseq);
    }
    builder
}

/// CANCEL (RFC 3261 §9.2, RFC 6665 §4.6): 200 when it matches a request answered here, which
/// it leaves as it was; 481 when it matches none.
fn handle_cancel(shared: &Arc<Shared>, request: &SipMessage, tag: &str) -> Handled {
    let matched =
        ServerKey::of(request).is_some_and(|key| lock(&shared.transactions).cancel_matches(&key));
    if matched && shared.fault(Fault::CancelEndsSubscription) {
        if let Some(call_id) = request.call_id() {
            notifier::drop_dialog(shared, call_id);
        }
    }
    Handled::only(response(request, if matched { 200 } else { 481 }, tag))
}

/// A copy of `request` whose first `name` header has the value `edit` makes of it, for the
/// faults that have the response copy a wrong header (it copies the request's).
fn with_header(request: &SipMessage, name: &str, edit: impl FnOnce(&str) -> String) -> SipMessage {
    let mut copy = request.clone();
    if let Some(header) = copy.headers.iter_mut().find(|h| h.name == name) {
        header.value = edit(&header.value);
    }
    copy
}

/// `response` (serialised) with its To tag changed, for `ResponseOtherToTag`.
fn with_other_to_tag(response: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(response);
    let Some(to) = text.find("\r\nTo: ") else {
        return response.to_vec();
    };
    let line_end = text[to + 2..]
        .find("\r\n")
        .map_or(text.len(), |e| to + 2 + e);
    match text[to..line_end].find(";tag=") {
        Some(tag) => {
            let at = to + tag + ";tag=".len();
            format!("{}other-{}", &text[..at], &text[at..]).into_bytes()
        }
        None => response.to_vec(),
    }
}

/// `data` with its Content-Length set to the body that came (to answer a short request, and
/// under the fault AcceptShortResponse).
fn with_actual_length(data: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(data);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return data.to_vec();
    };
    let lines: Vec<String> = head
        .split("\r\n")
        .map(|line| match line.split_once(':') {
            Some((name, _)) if name.trim().eq_ignore_ascii_case("Content-Length") => {
                format!("Content-Length: {}", body.len())
            }
            _ => line.to_string(),
        })
        .collect();
    format!("{}\r\n\r\n{body}", lines.join("\r\n")).into_bytes()
}

/// True when the response's top Via sent-by is one this server puts in its requests (its UDP
/// or TCP address), or when a fault has it put another there (NotifyViaNoSentBy).
fn sent_by_is_ours(shared: &Arc<Shared>, response: &SipMessage) -> bool {
    if shared.fault(Fault::NotifyViaNoSentBy) {
        return true;
    }
    let sent_by = top_sent_by(response).and_then(|addr| addr.parse::<SocketAddr>().ok());
    sent_by.is_some_and(|addr| {
        [Transport::Udp, Transport::Tcp, Transport::Tls]
            .into_iter()
            .any(|t| addr == shared.local_addr(t))
    })
}

/// Adds `received` with the source address to the top Via when its sent-by host is a domain
/// name or another address (RFC 3261 §18.2.1); responses copy it.
fn stamp_received(request: &mut SipMessage, source: IpAddr) {
    let Some(via) = request
        .headers
        .iter_mut()
        .find(|h| h.name.eq_ignore_ascii_case("Via"))
    else {
        return;
    };
    let top_end = via.value.find(',').unwrap_or(via.value.len());
    let top = &via.value[..top_end];
    let Some((_, rest)) = top.trim_start().split_once(char::is_whitespace) else {
        return;
    };
    let sent_by = rest
        .trim_start()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    let host = match sent_by.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => sent_by.split(':').next().unwrap_or_default(),
    };
    if host.parse::<IpAddr>().ok() == Some(source) {
        return;
    }
    let top = top.trim_end();
    via.value = format!("{top};received={source}{}", &via.value[top_end..]);
}

/// Where a response over UDP goes (RFC 3261 §18.2.2): the address of the top Via's maddr
/// parameter when it is an IP address (unless `maddr_ignored`), else the source address (the
/// received parameter's, when the sent-by names another host); at the port of the sent-by, 5060
/// when it names none. Without maddr, the source port when the Via has rport (RFC 3581). An
/// unreadable sent-by port leaves the source.
fn udp_response_address(
    request: &SipMessage,
    source: SocketAddr,
    maddr_ignored: bool,
) -> SocketAddr {
    let Some(top) = request.header_items("Via").next() else {
        return source;
    };
    let params = parse_params(top);
    let maddr = params
        .param("maddr")
        .flatten()
        .and_then(|m| m.trim().parse::<IpAddr>().ok())
        .filter(|_| !maddr_ignored);
    if maddr.is_none() && params.param("rport").is_some() {
        return source;
    }
    sent_by_port(&params.value).map_or(source, |port| {
        SocketAddr::new(maddr.unwrap_or(source.ip()), port)
    })
}

/// The port of a Via value's sent-by (`SIP/2.0/UDP host:port`), 5060 when it names none;
/// `None` when it cannot be read.
fn sent_by_port(via_value: &str) -> Option<u16> {
    let sent_by = via_value.split_whitespace().last().unwrap_or_default();
    match sent_by.rsplit_once(':') {
        // A bracketed IPv6 reference without a port ends in `]`.
        Some((_, port)) if !port.ends_with(']') => port.parse().ok(),
        _ => Some(5060),
    }
}

/// Fault TcpResponseNewConnection: a new connection (of the request's transport) to the source
/// address at the top Via's sent-by port, for the responses to a request that came over TCP or
/// TLS.
async fn new_response_connection(
    shared: &Arc<Shared>,
    request: &SipMessage,
    source: SocketAddr,
    transport: Transport,
) -> Option<ReplyPath> {
    let top = request.header_items("Via").next()?;
    let port = sent_by_port(&parse_params(top).value)?;
    let tx = transport::open_connection(shared, transport, SocketAddr::new(source.ip(), port))
        .await
        .ok()?;
    Some(ReplyPath::Stream(tx))
}

/// A datagram that could not be read: a request that ends before the body its Content-Length
/// announces gets 400 (RFC 3261 §18.3: "If the message is a request, the element SHOULD
/// generate a 400 (Bad Request) response"); anything else is dropped.
async fn answer_short_request(shared: &Arc<Shared>, data: &[u8], source: SocketAddr) {
    if data.starts_with(b"SIP/2.0 ") {
        return;
    }
    let Ok(request) = SipMessage::parse(&with_actual_length(data)) else {
        return;
    };
    // ACK gets no response; without a Via there is nowhere to send one (RFC 3261 §8.2.6.2).
    let ack = request.method().as_deref() == Some("ACK");
    if !request.is_request() || ack || request.header("Via").is_none() {
        return;
    }
    let to = udp_response_address(&request, source, shared.fault(Fault::MaddrIgnored));
    let bad = response(&request, 400, &shared.token()).build();
    transport::reply(shared, &ReplyPath::Udp(to), bad).await;
}

/// Handles one message from the network; anything that cannot be read is dropped.
pub(super) async fn on_message(
    shared: &Arc<Shared>,
    data: &[u8],
    source: SocketAddr,
    transport: Transport,
    path: ReplyPath,
) {
    let parsed = match SipMessage::parse(data) {
        // A response shorter than its Content-Length is discarded (RFC 3261 §18.3), unless a
        // fault has it read with the bytes that came.
        Err(_) if data.starts_with(b"SIP/2.0 ") && shared.fault(Fault::AcceptShortResponse) => {
            SipMessage::parse(&with_actual_length(data))
        }
        parsed => parsed,
    };
    let Ok(mut message) = parsed else {
        if transport == Transport::Udp && !shared.fault(Fault::ShortRequestIgnored) {
            answer_short_request(shared, data, source).await;
        }
        return;
    };
    if transport == Transport::Udp && shared.fault(Fault::UdpTrailingBytesKept) {
        // The whole rest of the datagram taken as the body, whatever Content-Length says.
        if let Some(end) = memchr::memmem::find(data, b"\r\n\r\n") {
            message.body = data[end + 4..].to_vec();
        }
    }
    if !message.is_request() {
        // A response whose top Via names another sender is discarded (RFC 3261 §18.1.2).
        if sent_by_is_ours(shared, &message) || shared.fault(Fault::AcceptForeignSentBy) {
            lock(&shared.transactions).on_response(&message);
        }
        return;
    }
    let Some(method) = message.method() else {
        return;
    };
    // ACK never gets a response; without a Via there is nowhere to send one (RFC 3261 §8.2.6.2).
    if method == "ACK" || message.header("Via").is_none() {
        return;
    }
    if method == "CANCEL" && shared.fault(Fault::CancelUnanswered) {
        return;
    }
    if !shared.fault(Fault::NoReceived) {
        stamp_received(&mut message, source.ip());
    }
    let path = match path {
        ReplyPath::Udp(_) if !shared.fault(Fault::ResponseToSource) => ReplyPath::Udp(
            udp_response_address(&message, source, shared.fault(Fault::MaddrIgnored)),
        ),
        ReplyPath::Stream(_) if shared.fault(Fault::TcpResponseNewConnection) => {
            match new_response_connection(shared, &message, source, transport).await {
                Some(new) => new,
                None => path,
            }
        }
        path => path,
    };
    let key = ServerKey::of(&message);
    if let Some(previous) = key
        .as_ref()
        .filter(|_| !shared.fault(Fault::RetransmissionAsNewRequest))
        .and_then(|k| lock(&shared.transactions).answered(k))
    {
        // Empty: the final response is not ready yet (fault ProceedingCopiesUnanswered).
        if !previous.is_empty() {
            transport::reply(shared, &path, previous).await;
        }
        return;
    }
    let handled = if method == "SUBSCRIBE"
        && shared.config.untrusted.contains(&source.ip())
        && !shared.fault(Fault::UntrustedSubscribeAccepted)
    {
        // RFC 3856 §6.6.1: nothing authenticates a subscriber outside the trust domain (no
        // asserted identity to trust, and the reference asks for no credentials).
        Handled::only(response(&message, 403, &shared.token()))
    } else {
        handle(shared, &message, &method, transport)
    };
    let keep = shared.config.t1.saturating_mul(64);
    if method == "PUBLISH" && shared.fault(Fault::ProceedingCopiesUnanswered) {
        if let Some(key) = key {
            answer_after_trying(shared, &message, path, key, handled, keep).await;
        }
        return;
    }
    if let Some(key) = key {
        lock(&shared.transactions).remember(key, handled.response.clone(), keep);
    }
    if method == "SUBSCRIBE"
        && !handled.pump.is_empty()
        && shared.variation(Variation::NotifyBefore200)
    {
        // The first NOTIFY leaves first (RFC 6665 §4.1.2.4 allows it); the wait is bounded.
        let sent = shared.notify_sent.notified();
        tokio::pin!(sent);
        sent.as_mut().enable();
        notifier::pump(shared, handled.pump);
        let _ = tokio::time::timeout(shared.config.t1, sent).await;
        transport::reply(shared, &path, handled.response).await;
    } else {
        let trying_first = shared.fault(Fault::ProvisionalToPublish)
            || shared.fault(Fault::TryingWithoutTimestamp);
        if method == "PUBLISH" && trying_first {
            let mut trying = response(&message, 100, "");
            // RFC 3261 §8.2.6.1: a 100 copies the request's Timestamp (sent at once: no delay).
            match message.header("Timestamp") {
                Some(stamp) if !shared.fault(Fault::TryingWithoutTimestamp) => {
                    trying.push_header("Timestamp", stamp)
                }
                _ => {}
            }
            transport::reply(shared, &path, trying.build()).await;
        }
        if method == "PUBLISH" && shared.fault(Fault::ProvisionalOtherTag) {
            let other = shared.token();
            transport::reply(shared, &path, response(&message, 183, &other).build()).await;
        }
        if method == "PUBLISH" && shared.fault(Fault::PublishResponseTwice) {
            // The response goes out once more, with no copy of the request to prompt it.
            transport::reply(shared, &path, handled.response.clone()).await;
        }
        transport::reply(shared, &path, handled.response).await;
        notifier::pump(shared, handled.pump);
    }
    if method == "REGISTER" {
        pna::after_reply(shared, &message);
    }
}

/// Fault ProceedingCopiesUnanswered: a 100 (Trying) at once and the final response T2 later;
/// copies of the request meanwhile find an empty response and get nothing.
async fn answer_after_trying(
    shared: &Arc<Shared>,
    request: &SipMessage,
    path: ReplyPath,
    key: ServerKey,
    handled: Handled,
    keep: Duration,
) {
    lock(&shared.transactions).remember(key.clone(), Vec::new(), keep);
    transport::reply(shared, &path, response(request, 100, "").build()).await;
    let later = Arc::clone(shared);
    shared.spawn(async move {
        tokio::time::sleep(later.config.t2).await;
        lock(&later.transactions).remember(key, handled.response.clone(), keep);
        transport::reply(&later, &path, handled.response).await;
        notifier::pump(&later, handled.pump);
    });
}

/// Routes a request to its method's handler after the checks every request gets.
fn handle(
    shared: &Arc<Shared>,
    request: &SipMessage,
    method: &str,
    transport: Transport,
) -> Handled {
    let tag = shared.token();
    let complete = request.header("From").is_some()
        && request.header("To").is_some()
        && request.call_id().is_some()
        && request.cseq().is_some_and(|(_, m)| m == method);
    if !complete {
        return Handled::only(response(request, 400, &tag));
    }
    if request
        .header_lines("X-Unknown-Field")
        .next()
        .is_some_and(|_| shared.fault(Fault::RefuseUnknownHeader))
    {
        return Handled::only(response(request, 400, &tag));
    }
    // Date is never needed here; a malformed one is ignored (RFC 3261 §8.2.2).
    if request
        .header("Date")
        .is_some_and(|date| !date.trim_end().ends_with("GMT"))
        && shared.fault(Fault::RefuseMalformedDate)
    {
        return Handled::only(response(request, 400, &tag));
    }
    // Only sip: and sips: URIs are served (RFC 3261 §8.2.2.1).
    if request.request_uri().is_some_and(other_scheme) {
        let code = if shared.fault(Fault::UnsupportedScheme404) {
            404
        } else {
            416
        };
        return Handled::only(response(request, code, &tag));
    }
    let sips = request
        .request_uri()
        .is_some_and(crate::sip::typed::is_sips);
    if sips && shared.fault(Fault::SipsUriRefused) {
        return Handled::only(response(request, 416, &tag));
    }
    if method == "PUBLISH"
        && shared.fault(Fault::BodyBeforeRequire)
        && request
            .header("Content-Type")
            .is_some_and(|t| !t.to_ascii_lowercase().contains("xml"))
    {
        return Handled::only(response(request, 415, &tag));
    }
    if shared.fault(Fault::RefuseUnknownHeaderParam)
        && request
            .header("From")
            .is_some_and(|from| from.contains(";x-unknown="))
    {
        return Handled::only(response(request, 400, &tag));
    }
    let required = request.tokens("Require");
    if !required.is_empty() && method != "CANCEL" && !shared.fault(Fault::IgnoreRequire) {
        let refusal = response(request, 420, &tag);
        return Handled::only(if shared.fault(Fault::BadExtensionWithoutUnsupported) {
            refusal
        } else {
            refusal.header("Unsupported", required.join(", "))
        });
    }
    match method {
        // The Contact URI the `*-contact-dialog-only` faults give out, unknown outside its dialog.
        "OPTIONS" if request.to_tag().is_none() && is_dialog_only(request) => {
            Handled::only(response(request, 404, &tag))
        }
        "OPTIONS" if shared.fault(Fault::SipSchemeUnsupported) => {
            Handled::only(response(request, 416, &tag))
        }
        "OPTIONS" => {
            let mut ok = response(request, 200, &tag).header("Allow", allow(shared));
            if !shared.fault(Fault::OptionsNoAllowEvents) {
                ok.push_header("Allow-Events", notifier::ALLOW_EVENTS);
            }
            let ok = ok.header("Accept", pidf::PIDF_MEDIA_TYPE);
            Handled::only(encoded_options_body(shared, request, ok))
        }
        // An empty tag makes `response` leave the To header as it came (fault NoToTag).
        "PUBLISH" if shared.fault(Fault::NoToTag) => esc::handle_publish(shared, request, ""),
        "PUBLISH" if shared.fault(Fault::ResponseWrongCseq) => {
            // CSeq one higher (ResponseWrongCseq).
            let next = |cseq: &str| match request.cseq() {
                Some((number, method)) => format!("{} {method}", number.wrapping_add(1)),
                None => cseq.to_string(),
            };
            esc::handle_publish(shared, &with_header(request, "CSeq", next), &tag)
        }
        "PUBLISH" if shared.fault(Fault::ToUriUnbracketed) => {
            // The To's URI with a URI header, no angle brackets (ToUriUnbracketed).
            let unbracketed = |to: &str| format!("{}?subject=fault", uri_of(to));
            esc::handle_publish(shared, &with_header(request, "To", unbracketed), &tag)
        }
        "PUBLISH" => esc::handle_publish(shared, request, &tag),
        "SUBSCRIBE" if shared.fault(Fault::ResponseOtherToTag) && request.to_tag().is_some() => {
            let mut handled = notifier::handle_subscribe(shared, request, &tag, transport);
            handled.response = with_other_to_tag(&handled.response);
            handled
        }
        "SUBSCRIBE" => notifier::handle_subscribe(shared, request, &tag, transport),
        // The S-CSCF's third-party registration for the PNA (TS 24.141 §5.3.5).
        "REGISTER" => pna::handle_register(shared, request, &tag, transport),
        // The PNA's reg subscriptions; others get 481 (RFC 6665 §4.1.3).
        "NOTIFY" => pna::handle_notify(shared, request, &tag),
        "CANCEL" => handle_cancel(shared, request, &tag),
        // RFC 3261 methods it knows but does not serve: 405 with Allow (§8.2.1).
        "INVITE" | "BYE" if shared.fault(Fault::Invite501) => {
            Handled::only(response(request, 501, &tag).header("Allow", ALLOW))
        }
        "INVITE" | "BYE" if shared.fault(Fault::NoAllowIn405) => {
            Handled::only(response(request, 405, &tag))
        }
        "INVITE" | "BYE" => {
            Handled::only(response(request, 405, &tag).header("Allow", allow(shared)))
        }
        _ => Handled::only(response(request, 501, &tag).header("Allow", allow(shared))),
    }
}

/// The methods the server understands, for an Allow header field (RFC 3261 §20.5); without
/// SUBSCRIBE under fault AllowOmitsSubscribe, without PUBLISH under AllowOmitsPublish.
fn allow(shared: &Shared) -> &'static str {
    if shared.fault(Fault::AllowOmitsSubscribe) {
        "OPTIONS, PUBLISH, NOTIFY, REGISTER, ACK, CANCEL"
    } else if shared.fault(Fault::AllowOmitsPublish) {
        "OPTIONS, SUBSCRIBE, NOTIFY, REGISTER, ACK, CANCEL"
    } else {
        ALLOW
    }
}

/// The text the encoding faults put in a 200 to OPTIONS.
const OPTIONS_TEXT: &[u8] = b"reference presence server";

/// Faults ResponseCodingUnasked and CodingsOutOfOrder: the 200 to OPTIONS `ok` with a body in
/// content codings (RFC 3261 §20.12). Without either fault, `ok` as it is.
fn encoded_options_body(
    shared: &Shared,
    request: &SipMessage,
    ok: MessageBuilder,
) -> MessageBuilder {
    let accepts_both = request
        .header("Accept-Encoding")
        .is_some_and(|a| a.contains("gzip") && a.contains("deflate"));
    let (codings, body) = if shared.fault(Fault::CodingsOutOfOrder) && accepts_both {
        // Applied gzip first, then deflate, but listed the other way round.
        let gzipped = compress(OPTIONS_TEXT, Coding::Gzip);
        ("deflate, gzip", compress(&gzipped, Coding::Deflate))
    } else if shared.fault(Fault::ResponseCodingUnasked) {
        ("gzip", compress(OPTIONS_TEXT, Coding::Gzip))
    } else {
        return ok;
    };
    ok.header("Content-Type", "text/plain")
        .header("Content-Encoding", codings)
        .body(body)
}

/// A content coding the encoding faults apply.
enum Coding {
    Gzip,
    Deflate,
}

fn compress(data: &[u8], coding: Coding) -> Vec<u8> {
    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;
    let written = match coding {
        Coding::Gzip => {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(data).and_then(|_| encoder.finish())
        }
        Coding::Deflate => {
            let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(data).and_then(|_| encoder.finish())
        }
    };
    // Writing to a Vec cannot fail.
    written.unwrap_or_default()
}

/// The URI has a scheme other than sip and sips (compared case-insensitively, RFC 3261
/// §19.1.4), e.g. tel: or mailto:.
pub(super) fn other_scheme(uri: &str) -> bool {
    uri.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips")
    })
}

/// The request is addressed to the Contact URI valid inside its dialog only.
fn is_dialog_only(request: &SipMessage) -> bool {
    request
        .request_uri()
        .and_then(|uri| uri.split_once('@'))
        .is_some_and(|(user, _)| user.trim_start_matches("sip:") == DIALOG_ONLY_USER)
}
