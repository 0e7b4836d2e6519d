//! The presence notifier (RFC 6665 §4.2, RFC 3856): SUBSCRIBE processing, the subscriber's
//! dialog (RFC 3261 §12.1.1, UAS side), and NOTIFY delivery with at most one NOTIFY outstanding
//! per dialog, so CSeq order and delivery order agree. List subscriptions (RFC 4662) share
//! all of this; their list side and bodies come from `rls`.

use super::dispatch::{response, Handled};
use super::esc::{after, requested_expires, Store, DEFAULT_EXPIRES};
use super::pidf::PIDF_MEDIA_TYPE;
use super::presentity::Presentity;
use super::rls::{self, ListSubscription};
use super::shared::{lock, Shared, State};
use super::transaction::run_client;
use super::transport::Transport;
use super::Fault;
use crate::sip::typed::{uri_of, uri_socket_addr};
use crate::sip::{MessageBuilder, SipMessage};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::AbortHandle;
use tokio::time::{sleep_until, Instant};

/// The body of a NOTIFY and its Content-Type.
pub(super) struct NotifyBody {
    /// The Content-Type header value.
    pub content_type: String,
    /// The body.
    pub text: String,
}

impl NotifyBody {
    /// A composed presence document.
    fn pidf(text: String) -> NotifyBody {
        NotifyBody {
            content_type: PIDF_MEDIA_TYPE.to_string(),
            text,
        }
    }
}

/// A NOTIFY waiting to be sent: the body (taken when the state changed) and whether it ends
/// the subscription.
struct Pending {
    body: NotifyBody,
    last: bool,
}

/// One presence subscription and its dialog.
struct Subscription {
    presentity: Presentity,
    /// For a subscription to a resource list: the list (its members replace `presentity`).
    list: Option<ListSubscription>,
    call_id: String,
    local_tag: String,
    remote_tag: String,
    /// The `id` parameter of the SUBSCRIBE's Event header, as written.
    event_id: Option<String>,
    /// From of our NOTIFYs: the SUBSCRIBE's To with our tag.
    local_uri: String,
    /// To of our NOTIFYs: the SUBSCRIBE's From.
    remote_uri: String,
    /// The SUBSCRIBE's Record-Route values, in order.
    route_set: Vec<String>,
    /// The subscriber's Contact URI.
    remote_target: String,
    /// Highest CSeq number seen from the subscriber.
    remote_cseq: u32,
    /// The transport the SUBSCRIBE came on.
    transport: Transport,
    granted: u64,
    expires_at: Instant,
    /// The `expires` of the last active NOTIFY since the last (re)subscription.
    last_expires: Option<u64>,
    cseq: u32,
    queue: VecDeque<Pending>,
    in_flight: bool,
    /// A final NOTIFY is queued or sent: no further NOTIFY and no refresh.
    terminated: bool,
    timer: Option<AbortHandle>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.take() {
            timer.abort();
        }
    }
}

impl Subscription {
    /// Queues a NOTIFY; true when no delivery task is running for this subscription yet.
    fn enqueue(&mut self, body: NotifyBody, last: bool) -> bool {
        if self.terminated {
            return false;
        }
        self.terminated = last;
        self.queue.push_back(Pending { body, last });
        !std::mem::replace(&mut self.in_flight, true)
    }

    /// The full current state: the presentity's composed document, or for a list every
    /// member's (RFC 4662 §5.2: a new full-state RLMI version).
    fn full_state(&mut self, esc: &Store, wrong_namespace: bool) -> NotifyBody {
        match &mut self.list {
            Some(list) => list.full_state(esc),
            None => NotifyBody::pidf(esc.compose(&self.presentity, wrong_namespace)),
        }
    }
}

/// All current subscriptions by internal id.
#[derive(Default)]
pub(super) struct Subscriptions {
    by_id: HashMap<u64, Subscription>,
    next_id: u64,
}

impl Subscriptions {
    fn find_dialog(&self, call_id: &str, local_tag: &str, remote_tag: &str) -> Option<u64> {
        self.by_id
            .iter()
            .find(|(_, s)| {
                s.call_id == call_id && s.local_tag == local_tag && s.remote_tag == remote_tag
            })
            .map(|(id, _)| *id)
    }
}

/// The presentity's state changed: queues a NOTIFY carrying `body` for each of its live
/// subscriptions, and a partial RLMI notification for each list subscription it is a member
/// of. Returns the subscriptions that need a delivery task ([`pump`]).
pub(super) fn state_changed(state: &mut State, who: &Presentity, body: &str) -> Vec<u64> {
    state
        .subs
        .by_id
        .iter_mut()
        .filter(|(_, s)| !s.terminated)
        .filter_map(|(id, s)| {
            let notify = match &mut s.list {
                Some(list) => list.member_changed(who, body)?,
                None if &s.presentity == who => NotifyBody::pidf(body.to_string()),
                None => return None,
            };
            s.enqueue(notify, false).then_some(*id)
        })
        .collect()
}

/// The XCAP documents of user `xui` changed: each of their list subscriptions whose members
/// changed gets a full-state notification (RFC 4662 §5.2).
pub(super) fn lists_changed(shared: &Arc<Shared>, xui: &str) {
    let mut guard = lock(&shared.state);
    let state = &mut *guard;
    let mut ids = Vec::new();
    for (id, sub) in state.subs.by_id.iter_mut().filter(|(_, s)| !s.terminated) {
        let Some(list) = sub.list.as_mut().filter(|l| l.xui() == xui) else {
            continue;
        };
        if list.reresolve(&state.xcap) {
            let body = list.full_state(&state.esc);
            if sub.enqueue(body, false) {
                ids.push(*id);
            }
        }
    }
    drop(guard);
    pump(shared, ids);
}

/// Starts delivery tasks for subscriptions with newly queued NOTIFYs.
pub(super) fn pump(shared: &Arc<Shared>, ids: Vec<u64>) {
    for id in ids {
        shared.spawn(deliver(shared.clone(), id));
    }
}

/// Handles a SUBSCRIBE for `presence` (RFC 6665 §4.2.1, RFC 3856 §6).
pub(super) fn handle_subscribe(
    shared: &Arc<Shared>,
    request: &SipMessage,
    tag: &str,
    transport: Transport,
) -> Handled {
    let reject = |code: u16| Handled::only(response(request, code, tag));
    // Outside a dialog the Request-URI names the presentity; inside one it is our Contact and
    // the dialog names the subscription.
    let who = request.request_uri().and_then(Presentity::from_uri);
    if request.to_tag().is_none() && who.is_none() {
        return reject(404);
    }
    if request.event().is_none_or(|e| e.package != "presence") {
        return Handled::only(response(request, 489, tag).header("Allow-Events", "presence"));
    }
    let event_id = raw_event_id(request.header("Event").unwrap_or_default());
    if request.header("Accept").is_some() {
        let acceptable = ["application/pidf+xml", "application/*", "*/*"];
        if !request
            .tokens("Accept")
            .iter()
            .any(|t| acceptable.contains(&t.as_str()))
        {
            return Handled::only(response(request, 406, tag).header("Accept", PIDF_MEDIA_TYPE));
        }
    }
    let Ok(requested) = requested_expires(request) else {
        return reject(400);
    };
    let granted = requested
        .unwrap_or(DEFAULT_EXPIRES)
        .min(shared.config.max_expires);
    let (Some(call_id), Some(remote_tag), Some((cseq, _))) =
        (request.call_id(), request.from_tag(), request.cseq())
    else {
        return reject(400);
    };
    let contact = request
        .name_addrs("Contact")
        .into_iter()
        .next()
        .map(|c| c.uri);
    let wrong_ns = shared.fault(Fault::WrongPidfNamespace);
    let mut guard = lock(&shared.state);
    let state = &mut *guard;
    let mut pump = Vec::new();
    let is_list;
    match request.to_tag() {
        Some(local_tag) => {
            // A refresh or unsubscribe inside an existing dialog (RFC 6665 §4.2.1.2, §4.2.1.4).
            let Some(id) = state.subs.find_dialog(call_id, &local_tag, &remote_tag) else {
                return reject(481);
            };
            let Some(sub) = state.subs.by_id.get_mut(&id) else {
                return reject(481);
            };
            if sub.terminated || sub.event_id != event_id {
                return reject(481);
            }
            if cseq < sub.remote_cseq {
                return reject(500);
            }
            is_list = sub.list.is_some();
            let body = sub.full_state(&state.esc, wrong_ns);
            sub.remote_cseq = cseq;
            if let Some(target) = contact {
                sub.remote_target = target;
            }
            if granted == 0 && shared.fault(Fault::NoFinalNotify) {
                state.subs.by_id.remove(&id);
            } else if granted == 0 {
                if sub.enqueue(body, true) {
                    pump.push(id);
                }
            } else {
                sub.granted = granted;
                sub.expires_at = after(Duration::from_secs(granted));
                sub.last_expires = None;
                if sub.enqueue(body, false) {
                    pump.push(id);
                }
                arm_timer(shared, state, id);
            }
        }
        None => {
            // A new subscription, or a fetch with Expires: 0 (RFC 6665 §4.2.1, §4.4.3).
            let (Some(remote_target), Some(who)) = (contact, who) else {
                return reject(400);
            };
            // A list the subscriber defined (RFC 4826 §4) needs eventlist (RFC 4662 §4.1).
            let list = ListSubscription::for_request(shared, &state.xcap, request);
            if list.is_some() && !rls::supports_eventlist(request) {
                return Handled::only(
                    response(request, 421, tag).header("Require", rls::EVENTLIST),
                );
            }
            is_list = list.is_some();
            let id = state.subs.next_id;
            state.subs.next_id += 1;
            let mut sub = Subscription {
                presentity: who,
                list,
                call_id: call_id.to_string(),
                local_tag: tag.to_string(),
                remote_tag,
                event_id,
                local_uri: format!("{};tag={tag}", request.header("To").unwrap_or_default()),
                remote_uri: request.header("From").unwrap_or_default().to_string(),
                route_set: request.header_values("Record-Route"),
                remote_target,
                remote_cseq: cseq,
                transport,
                granted,
                expires_at: after(Duration::from_secs(granted)),
                last_expires: None,
                cseq: 0,
                queue: VecDeque::new(),
                in_flight: false,
                terminated: false,
                timer: None,
            };
            let body = sub.full_state(&state.esc, wrong_ns);
            if sub.enqueue(body, granted == 0) {
                pump.push(id);
            }
            state.subs.by_id.insert(id, sub);
            if granted > 0 {
                arm_timer(shared, state, id);
            }
        }
    }
    drop(guard);
    let mut ok = response(request, 200, tag);
    for record_route in request.header_lines("Record-Route") {
        ok.push_header("Record-Route", record_route);
    }
    ok.push_header("Contact", shared.contact(transport));
    if is_list && !shared.fault(Fault::RlsNoRequire) {
        ok.push_header("Require", rls::EVENTLIST);
    }
    if !shared.fault(Fault::NoExpiresIn2xx) {
        ok.push_header("Expires", granted.to_string());
    }
    Handled {
        response: ok.build(),
        pump,
    }
}

/// The `id` parameter of an Event header value exactly as written (quotes kept), so NOTIFYs
/// repeat it byte for byte (RFC 6665 §8.2.1).
fn raw_event_id(event: &str) -> Option<String> {
    event.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("id")
            .then(|| value.trim().to_string())
    })
}

/// (Re)starts the expiry timer of a subscription; the old timer, if any, is cancelled.
fn arm_timer(shared: &Arc<Shared>, state: &mut State, id: u64) {
    let Some(sub) = state.subs.by_id.get_mut(&id) else {
        return;
    };
    if let Some(old) = sub.timer.take() {
        old.abort();
    }
    let at = sub.expires_at;
    let task_shared = shared.clone();
    sub.timer = shared.spawn(async move {
        sleep_until(at).await;
        expire(&task_shared, id);
    });
}

/// A subscription's lifetime ran out: final NOTIFY with `terminated;reason=timeout`.
fn expire(shared: &Arc<Shared>, id: u64) {
    let mut guard = lock(&shared.state);
    let state = &mut *guard;
    let mut pump_ids = Vec::new();
    if let Some(sub) = state
        .subs
        .by_id
        .get_mut(&id)
        .filter(|s| s.expires_at <= Instant::now() && !s.terminated)
    {
        // This very task is the timer: do not abort it from inside.
        sub.timer = None;
        let body = sub.full_state(&state.esc, shared.fault(Fault::WrongPidfNamespace));
        if sub.enqueue(body, true) {
            pump_ids.push(id);
        }
    }
    drop(guard);
    pump(shared, pump_ids);
}

/// A NOTIFY ready to go.
struct Prepared {
    bytes: Vec<u8>,
    branch: String,
    to: Option<SocketAddr>,
    transport: Transport,
    last: bool,
}

/// Builds the next NOTIFY of a subscription (RFC 6665 §4.2.2, RFC 3261 §12.2.1.1).
fn build_notify(shared: &Shared, sub: &mut Subscription, pending: Pending) -> Prepared {
    sub.cseq += if shared.fault(Fault::NotifyCseqGap) {
        2
    } else {
        1
    };
    let branch = format!("z9hG4bK{}", shared.token());
    let local = shared.local_addr(sub.transport);
    let routes: &[String] = if shared.fault(Fault::NotifyIgnoresRouteSet) {
        &[]
    } else {
        &sub.route_set
    };
    // Loose routing: to the first route entry, else straight to the remote target.
    let to = match routes.first() {
        Some(first) => uri_socket_addr(&uri_of(first)),
        None => uri_socket_addr(&sub.remote_target),
    };
    let state = if pending.last {
        "terminated;reason=timeout".to_string()
    } else if shared.fault(Fault::SubscriptionStateWithoutExpires) {
        "active".to_string()
    } else {
        let left =
            sub.expires_at.saturating_duration_since(Instant::now()) + Duration::from_millis(500);
        let mut expires = left.as_secs().min(sub.granted);
        if let Some(previous) = sub.last_expires {
            expires = if shared.fault(Fault::NotifyExpiresGrows) {
                previous + 60
            } else {
                expires.min(previous)
            };
        }
        sub.last_expires = Some(expires);
        format!("active;expires={expires}")
    };
    let event = match &sub.event_id {
        _ if shared.fault(Fault::NotifyWrongEventId) => {
            "presence;id=not-the-subscription".to_string()
        }
        Some(id) => format!("presence;id={id}"),
        None => "presence".to_string(),
    };
    let mut notify = MessageBuilder::request("NOTIFY", &sub.remote_target)
        .header(
            "Via",
            format!(
                "SIP/2.0/{} {local};branch={branch}",
                sub.transport.via_name()
            ),
        )
        .header("Max-Forwards", "70");
    for route in routes {
        notify.push_header("Route", route.as_str());
    }
    let mut notify = notify
        .header("From", sub.local_uri.as_str())
        .header("To", sub.remote_uri.as_str())
        .header("Call-ID", sub.call_id.as_str())
        .header("CSeq", format!("{} NOTIFY", sub.cseq))
        .header("Contact", shared.contact(sub.transport))
        .header("Event", event);
    if !shared.fault(Fault::NoSubscriptionState) {
        notify.push_header("Subscription-State", state);
    }
    if shared.fault(Fault::MalformedNotify) {
        notify.push_header("Broken header line without a colon", "");
    }
    if sub.list.is_some() {
        notify.push_header("Require", rls::EVENTLIST);
    }
    let bytes = notify
        .header("Content-Type", pending.body.content_type)
        .body(pending.body.text)
        .build();
    Prepared {
        bytes,
        branch,
        to,
        transport: sub.transport,
        last: pending.last,
    }
}

/// Sends the queued NOTIFYs of one subscription, one at a time, each after the previous one
/// got its final response. A failure (no 2xx: error response, Timer F, unreachable target)
/// deletes the subscription (RFC 6665 §4.2.2); so does the 2xx to the final NOTIFY.
async fn deliver(shared: Arc<Shared>, id: u64) {
    loop {
        let prepared = {
            let mut state = lock(&shared.state);
            let Some(sub) = state.subs.by_id.get_mut(&id) else {
                return;
            };
            let Some(pending) = sub.queue.pop_front() else {
                sub.in_flight = false;
                return;
            };
            build_notify(&shared, sub, pending)
        };
        let outcome = match prepared.to {
            Some(to) => {
                run_client(
                    &shared,
                    prepared.transport,
                    to,
                    &prepared.branch,
                    prepared.bytes,
                )
                .await
            }
            None => None,
        };
        let delivered = outcome.is_some_and(|code| (200..300).contains(&code))
            || (outcome == Some(481) && shared.fault(Fault::KeepSubscriptionAfter481));
        if !delivered || prepared.last {
            lock(&shared.state).subs.by_id.remove(&id);
            return;
        }
    }
}
