//! NOTIFY building and delivery (RFC 6665 §4.2.2, RFC 3261 §12.2.1.1): the queued bodies and
//! Subscription-State phases, and one delivery task per subscription that sends its queued
//! NOTIFYs one at a time, so CSeq order and delivery order agree.

use super::challenge::notify_transaction;
use super::partial::{PartialFaults, PIDF_DIFF_MEDIA_TYPE};
use super::{Kind, Subscription};
use crate::pidf::PIDF_MEDIA_TYPE;
use crate::rls;
use crate::shared::{lock, Shared};
use crate::sip::text::param_of;
use crate::sip::typed::{uri_of, uri_socket_addr};
use crate::sip::MessageBuilder;
use crate::transaction::run_client;
use crate::transport::Transport;
use crate::winfo::{Change, RenderFaults, Snapshot, WINFO_MEDIA_TYPE};
use crate::Fault;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// A NOTIFY body and its Content-Type.
pub(crate) struct NotifyBody {
    /// The Content-Type header value.
    pub content_type: String,
    /// The body.
    pub text: String,
}

impl NotifyBody {
    /// A presence document.
    pub(super) fn pidf(text: String) -> NotifyBody {
        NotifyBody {
            content_type: PIDF_MEDIA_TYPE.to_string(),
            text,
        }
    }
}

/// The body of a queued NOTIFY.
pub(super) enum Body {
    /// No body (a pending subscription, or one ended by the presentity).
    Empty,
    /// A finished body, taken when the state changed: a presence document, or a list's
    /// multipart RLMI body.
    Ready(NotifyBody),
    /// A watcherinfo document; its version is given when the NOTIFY is built.
    Winfo(Snapshot),
}

/// The Subscription-State a queued NOTIFY carries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// `active;expires=N`.
    Active,
    /// `pending;expires=N` (awaiting the presentity's decision).
    Pending,
    /// The final NOTIFY, with this reason.
    Terminated(&'static str),
}

/// A NOTIFY waiting to be sent.
pub(super) struct Pending {
    pub body: Body,
    pub phase: Phase,
}

/// Starts delivery tasks for subscriptions with newly queued NOTIFYs.
pub(crate) fn pump(shared: &Arc<Shared>, ids: Vec<u64>) {
    for id in ids {
        shared.spawn(deliver(shared.clone(), id));
    }
}

/// A NOTIFY ready to go.
struct Prepared {
    bytes: Vec<u8>,
    branch: String,
    to: Option<SocketAddr>,
    transport: Transport,
    last: bool,
    /// It carries a partial notification (RFC 5263).
    partial: bool,
}

/// Builds the next NOTIFY of a subscription (RFC 6665 §4.2.2, RFC 3261 §12.2.1.1).
fn build_notify(shared: &Shared, sub: &mut Subscription, pending: Pending) -> Prepared {
    sub.cseq += if shared.fault(Fault::NotifyCseqGap) {
        2
    } else {
        1
    };
    let branch = if shared.fault(Fault::NotifyBranchReused) {
        let stable: String = sub
            .call_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        format!("z9hG4bK{stable}")
    } else {
        format!("z9hG4bK{}", shared.token())
    };
    // Fault TlsNotifyOverTcp: a subscription made over TLS is notified over plain TCP.
    let transport = match sub.transport {
        Transport::Tls if shared.fault(Fault::TlsNotifyOverTcp) => Transport::Tcp,
        transport => transport,
    };
    let local = shared.local_addr(transport);
    let routes: &[String] = if shared.fault(Fault::NotifyIgnoresRouteSet) {
        &[]
    } else {
        &sub.route_set
    };
    // Loose routing: to the first route entry, else straight to the remote target. A first
    // entry without lr is a strict router (RFC 3261 §12.2.1.1): it becomes the Request-URI and
    // the remote target the last Route value.
    let to = match routes.first() {
        Some(first) => uri_socket_addr(&uri_of(first)),
        None => uri_socket_addr(&sub.remote_target),
    };
    let strict = routes
        .first()
        .filter(|first| !loose(first) && !shared.fault(Fault::StrictAsLoose));
    let (request_uri, routes): (String, Vec<String>) = match strict {
        Some(first) => (
            uri_of(first),
            routes[1..]
                .iter()
                .cloned()
                .chain(std::iter::once(format!("<{}>", sub.remote_target)))
                .collect(),
        ),
        None => (sub.remote_target.clone(), routes.to_vec()),
    };
    let state = match pending.phase {
        Phase::Terminated(_) if shared.fault(Fault::TerminatedWithoutReason) => {
            "terminated".to_string()
        }
        Phase::Terminated(reason) if shared.fault(Fault::TerminatedWithExpires) => {
            format!("terminated;reason={reason};expires=0")
        }
        Phase::Terminated(reason) => format!("terminated;reason={reason}"),
        Phase::Active if shared.fault(Fault::SubscriptionStateWithoutExpires) => {
            "active".to_string()
        }
        phase => {
            let left = sub.expires_at.saturating_duration_since(Instant::now())
                + Duration::from_millis(500);
            let mut expires = left.as_secs().min(sub.granted);
            if let Some(previous) = sub.last_expires {
                expires = if shared.fault(Fault::NotifyExpiresGrows) {
                    previous + 60
                } else {
                    expires.min(previous)
                };
            }
            sub.last_expires = Some(expires);
            let name = if phase == Phase::Pending {
                "pending"
            } else {
                "active"
            };
            format!("{name};expires={expires}")
        }
    };
    let package = match sub.kind {
        Kind::Presence { .. } | Kind::List(_) => "presence",
        Kind::Winfo { .. } => "presence.winfo",
    };
    let event = match &sub.event_id {
        _ if shared.fault(Fault::NotifyWrongEventId) => {
            format!("{package};id=not-the-subscription")
        }
        Some(_) if shared.fault(Fault::NotifyDropsEventId) => package.to_string(),
        Some(id) => format!("{package};id={id}"),
        None => package.to_string(),
    };
    let via_branch = if shared.fault(Fault::NotifyBranchWithoutCookie) {
        branch.trim_start_matches("z9hG4bK").to_string()
    } else {
        branch.clone()
    };
    let protocol = if shared.fault(Fault::NotifyViaWrongProtocol) {
        "SIP/3.0"
    } else {
        "SIP/2.0"
    };
    let branch_param = if shared.fault(Fault::NotifyViaWithoutBranch) {
        String::new()
    } else {
        format!(";branch={via_branch}")
    };
    let via_transport = match (shared.fault(Fault::NotifyViaOtherTransport), transport) {
        (true, Transport::Udp) => Transport::Tcp,
        (true, Transport::Tcp | Transport::Tls) => Transport::Udp,
        (false, transport) => transport,
    };
    let sent_by = if shared.fault(Fault::NotifyViaNoSentBy) {
        String::new()
    } else {
        local.to_string()
    };
    let mut notify = MessageBuilder::request("NOTIFY", &request_uri).header(
        "Via",
        format!(
            "{protocol}/{} {sent_by}{branch_param}",
            via_transport.via_name()
        ),
    );
    if shared.fault(Fault::NotifyPrivateOptionTag) {
        notify.push_header("Supported", "x-reference-private");
    }
    if !shared.fault(Fault::NotifyNoMaxForwards) {
        notify.push_header("Max-Forwards", "70");
    }
    for route in &routes {
        notify.push_header("Route", route.as_str());
    }
    if routes.is_empty() && shared.fault(Fault::RouteWithoutRouteSet) {
        // The remote target as a loose route: the NOTIFY still goes there (RouteWithoutRouteSet).
        notify.push_header("Route", format!("<{};lr>", sub.remote_target));
    }
    let from = if shared.fault(Fault::NotifyNoFromTag) {
        sub.local_uri
            .split_once(";tag=")
            .map_or(sub.local_uri.as_str(), |(uri, _)| uri)
    } else {
        sub.local_uri.as_str()
    };
    let cseq_method = if shared.fault(Fault::NotifyCseqMethod) {
        "SUBSCRIBE"
    } else {
        "NOTIFY"
    };
    let mut notify = notify
        .header("From", from)
        .header("To", sub.remote_uri.as_str())
        .header("Call-ID", sub.call_id.as_str())
        .header("CSeq", format!("{} {cseq_method}", sub.cseq));
    if shared.fault(Fault::NotifyContactDialogOnly) {
        notify.push_header("Contact", shared.dialog_only_contact(sub.transport));
    } else if !shared.fault(Fault::NotifyNoContact) {
        notify.push_header("Contact", shared.contact(sub.transport));
    }
    let mut notify = notify.header("Event", event);
    if !shared.fault(Fault::NoSubscriptionState) {
        notify.push_header("Subscription-State", state);
    }
    if shared.fault(Fault::MalformedNotify) {
        notify.push_header("Broken header line without a colon", "");
    }
    if matches!(sub.kind, Kind::List(_)) && !shared.fault(Fault::RlsNotifyNoRequire) {
        notify.push_header("Require", rls::EVENTLIST);
    }
    if matches!(sub.kind, Kind::List(_)) && shared.fault(Fault::RlsNotifySupportedEventlist) {
        notify.push_header("Supported", rls::EVENTLIST);
    }
    let final_list_bare = matches!(sub.kind, Kind::List(_))
        && matches!(pending.phase, Phase::Terminated(_))
        && shared.fault(Fault::RlsFinalNotifyWithoutRlmi);
    let body = match (pending.body, &mut sub.kind) {
        _ if final_list_bare => None,
        (Body::Empty, _) => None,
        (Body::Ready(body), _) => match &mut sub.partial {
            Some(partial) if body.content_type == PIDF_MEDIA_TYPE => {
                let faults = PartialFaults {
                    version_skip: shared.fault(Fault::PartialVersionSkip),
                    diff_first: shared.fault(Fault::PartialDiffFirst),
                    stale_diff: shared.fault(Fault::PartialStaleDiff),
                    no_full_after_subscribe: shared.fault(Fault::PartialNoFullAfterSubscribe),
                };
                let document = partial.next(&body.text, faults);
                Some((PIDF_DIFF_MEDIA_TYPE.to_string(), document))
            }
            _ => Some((body.content_type, body.text)),
        },
        (Body::Winfo(snapshot), Kind::Winfo { version }) => {
            let number = if shared.fault(Fault::WinfoVersionStuck) {
                0
            } else {
                *version
            };
            *version += 1;
            let faults = RenderFaults {
                no_package: shared.fault(Fault::WinfoNoPackage),
                no_watcher_id: shared.fault(Fault::WinfoWatcherNoId),
                watcher_id_not_token: shared.fault(Fault::WinfoWatcherIdNotToken),
                watcher_id_shared: shared.fault(Fault::WinfoWatcherIdShared),
            };
            let media_type = if shared.fault(Fault::WinfoGenericContentType) {
                "application/xml"
            } else {
                WINFO_MEDIA_TYPE
            };
            Some((media_type.to_string(), snapshot.render(number, faults)))
        }
        (Body::Winfo(_), Kind::Presence { .. } | Kind::List(_)) => None,
    };
    let partial = body
        .as_ref()
        .is_some_and(|(media_type, _)| media_type == PIDF_DIFF_MEDIA_TYPE);
    if let Some((media_type, document)) = body {
        let media_type = if shared.fault(Fault::NotifyUnacceptedType) {
            "application/xml".to_string()
        } else {
            media_type
        };
        if !shared.fault(Fault::NotifyNoContentType) {
            notify.push_header("Content-Type", media_type);
        }
        notify = notify.body(document);
    }
    let mut bytes = notify.build();
    if transport == Transport::Udp && shared.fault(Fault::UdpNotifyNoContentLength) {
        bytes = without_content_length(&bytes);
    }
    Prepared {
        bytes,
        branch,
        to,
        transport,
        last: matches!(pending.phase, Phase::Terminated(_)),
        partial,
    }
}

/// Sends the queued NOTIFYs of one subscription, one at a time, each after the previous one
/// got its final response. A failure (no 2xx: error response, Timer F, unreachable target)
/// deletes the subscription (RFC 6665 §4.2.2); so does the 2xx to the final NOTIFY. Under
/// `KeepSubscriptionAfter481` a 481 counts as delivered.
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
            let first = sub.cseq == 0;
            let call_id = sub.call_id.clone();
            let prepared = build_notify(&shared, sub, pending);
            if first && shared.fault(Fault::NotifyUnsolicited) {
                send_unsolicited(&shared, &prepared, &call_id);
            }
            prepared
        };
        let outcome = match prepared.to {
            // Fault: the next partial NOTIFY goes out without waiting for this one's answer.
            Some(to)
                if prepared.partial && !prepared.last && shared.fault(Fault::PartialNotWaiting) =>
            {
                let (shared, branch) = (shared.clone(), prepared.branch.clone());
                tokio::spawn(async move {
                    run_client(&shared, prepared.transport, to, &branch, prepared.bytes).await;
                });
                Some(200)
            }
            Some(to) => {
                let (transport, branch) = (prepared.transport, &prepared.branch);
                notify_transaction(&shared, id, transport, to, branch, prepared.bytes).await
            }
            None => None,
        };
        let delivered = outcome.is_some_and(|code| (200..300).contains(&code))
            || (outcome == Some(481) && shared.fault(Fault::KeepSubscriptionAfter481))
            || (outcome.is_none() && shared.fault(Fault::KeepSubscriptionAfterTimeout));
        if delivered && !prepared.last && shared.fault(Fault::RlsNestedLoop) {
            super::next_loop_turn(&shared, id);
        }
        if !delivered || prepared.last {
            let mut guard = lock(&shared.state);
            let state = &mut *guard;
            let Some(mut gone) = state.subs.remove(id) else {
                return;
            };
            // A watcher whose NOTIFY failed is gone without having ended itself (RFC 3857
            // §4.7.1: deactivated).
            if !gone.terminated {
                gone.terminated = true;
                if let Kind::Presence { change, .. } = &mut gone.kind {
                    *change = Change::Deactivated;
                }
                let tell = state.subs.tell_watchers(&gone.presentity, gone.entry(id));
                drop(guard);
                pump(&shared, tell);
            }
            return;
        }
    }
}

/// Fault NotifyUnsolicited: `prepared` sent again in a dialog no SUBSCRIBE made (another
/// Call-ID, another branch), on a transaction of its own.
fn send_unsolicited(shared: &Arc<Shared>, prepared: &Prepared, call_id: &str) {
    let Some(to) = prepared.to else {
        return;
    };
    let branch = format!("z9hG4bK{}", shared.token());
    let text = String::from_utf8_lossy(&prepared.bytes)
        .replacen(
            &format!("\r\nCall-ID: {call_id}\r\n"),
            &format!("\r\nCall-ID: unsolicited-{call_id}\r\n"),
            1,
        )
        .replacen(&prepared.branch, &branch, 1);
    let (shared, transport) = (shared.clone(), prepared.transport);
    tokio::spawn(async move {
        run_client(&shared, transport, to, &branch, text.into_bytes()).await;
    });
}

/// True when a Record-Route entry names a loose router: its URI has the lr parameter.
fn loose(entry: &str) -> bool {
    param_of(&uri_of(entry), "lr").is_some()
}

/// The message without its Content-Length header line (fault UdpNotifyNoContentLength).
fn without_content_length(message: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(message);
    let Some(start) = text.find("\r\nContent-Length:") else {
        return message.to_vec();
    };
    let end = text[start + 2..]
        .find("\r\n")
        .map_or(text.len(), |at| start + 2 + at);
    let mut out = text[..start].to_string();
    out.push_str(&text[end..]);
    out.into_bytes()
}
