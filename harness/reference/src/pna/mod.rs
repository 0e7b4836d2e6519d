//! The Presence Network Agent (3GPP TS 24.141 §5.3.5, Annex A.7): it takes the S-CSCF's
//! third-party REGISTER, subscribes to the `reg` event of the registered public identity at the
//! S-CSCF (the TS 24.229 AS procedure, RFC 3680) as a subscriber (RFC 6665 §4.1), keeps the
//! registration state the reg NOTIFYs report (`reginfo`), and publishes it into the co-located
//! PS as its own publication in the event state compositor (no SIP PUBLISH): an address-of-record
//! with an active contact gets an `open` tuple, one without loses the PNA's publication. The
//! presentity's watchers then get NOTIFYs through the notifier's usual state-change path.

mod reginfo;

use super::deadlines::{DeadlineKey, Deadlines};
use super::dispatch::{response, Handled};
use super::esc::{self, after, requested_expires};
use super::notifier;
use super::pidf::{self, PIDF_NS};
use super::presentity::Presentity;
use super::shared::{lock, Shared, State};
use super::transaction::run_client_response;
use super::transport::Transport;
use super::variation::http_date;
use super::{Fault, Variation};
use crate::sip::typed::{uri_of, uri_socket_addr};
use crate::sip::{MessageBuilder, SipMessage};
use quick_xml::escape::escape;
use reginfo::{is_reginfo_media_type, RegState, REGINFO_MEDIA_TYPE};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::{sleep, Instant};

/// Longest third-party registration lifetime granted (seconds); longer requests are lowered.
const MAX_REGISTRATION: u64 = 600_000;
/// Lifetime of a third-party registration that asks for none (RFC 3261 §10.2.1.1).
const DEFAULT_REGISTRATION: u64 = 3600;
/// The id of the tuple the PNA publishes.
const TUPLE_ID: &str = "pna-reg";

/// The S-CSCF's third-party registration of one public identity.
struct ThirdParty {
    /// The registered public identity (the REGISTER's To URI).
    identity: String,
    /// The S-CSCF's Contact URI.
    scscf: String,
    /// The transport the REGISTER came on.
    transport: Transport,
    /// The lifetime granted (seconds), also asked for the reg subscription.
    lifetime: u64,
    expires_at: Instant,
    /// Its place among the registrations' deadlines.
    deadline: Option<DeadlineKey>,
    /// Answered but not yet subscribed: the reg SUBSCRIBE goes out after the 200.
    subscribe_pending: bool,
    /// The reg subscription of this registration, once started.
    dialog: Option<u64>,
}

/// One reg subscription and its dialog, subscriber side (RFC 3261 §12.1.2, RFC 6665 §4.1).
struct RegDialog {
    call_id: String,
    local_tag: String,
    /// The notifier's tag: from the 2xx, or from a NOTIFY that came first (RFC 6665 §4.1.2.4).
    remote_tag: Option<String>,
    /// From of our requests, with our tag.
    local_uri: String,
    /// To of our requests, without tag: the public identity.
    remote_uri: String,
    /// Request-URI of in-dialog requests: the 2xx's Contact (initially the public identity).
    remote_target: String,
    /// Route set: the 2xx's Record-Route values reversed.
    route_set: Vec<String>,
    /// Where the initial SUBSCRIBE went: the S-CSCF.
    first_hop: SocketAddr,
    transport: Transport,
    cseq: u32,
    remote_cseq: Option<u32>,
    /// The registration state the NOTIFYs reported.
    reg: RegState,
    /// Unsubscribed: no further SUBSCRIBE; NOTIFYs are still answered until it goes.
    ending: bool,
}

/// The PNA's state: third-party registrations, reg subscriptions, and the entity-tag of its
/// publication per presentity.
#[derive(Default)]
pub(super) struct Pna {
    registrations: HashMap<Presentity, ThirdParty>,
    dialogs: HashMap<u64, RegDialog>,
    next_id: u64,
    publications: HashMap<Presentity, String>,
    /// When each registration expires.
    pub deadlines: Deadlines<Presentity>,
}

/// Handles a REGISTER as the S-CSCF's third-party registration (TS 24.229,
/// TS 24.141 A.7 steps 23 to 25; RFC 3261 §10.3 for the binding itself).
pub(super) fn handle_register(
    shared: &Arc<Shared>,
    request: &SipMessage,
    tag: &str,
    transport: Transport,
) -> Handled {
    let reject = |code: u16| Handled::only(response(request, code, tag));
    let Some(identity) = request.name_addrs("To").into_iter().next().map(|t| t.uri) else {
        return reject(400);
    };
    let Some(who) = Presentity::from_uri(&identity) else {
        return reject(404);
    };
    let Ok(header_expires) = requested_expires(request) else {
        return reject(400);
    };
    let contacts = request.name_addrs("Contact");
    let star = contacts.iter().any(|c| c.uri == "*");
    let contact = contacts.into_iter().find(|c| c.uri != "*");
    let contact_expires = match contact
        .as_ref()
        .and_then(|c| c.params.param("expires").flatten().map(str::to_string))
    {
        Some(value) => match value.trim().parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => return reject(400),
        },
        None => None,
    };
    let lifetime = contact_expires
        .or(header_expires)
        .unwrap_or(DEFAULT_REGISTRATION)
        .min(MAX_REGISTRATION);
    // RFC 3261 §10.3 step 6: "*" only alone and only with Expires 0.
    if star && (contact.is_some() || header_expires != Some(0)) {
        return reject(400);
    }
    let mut guard = lock(&shared.state);
    let state = &mut *guard;
    let Some(contact) = contact.filter(|_| lifetime > 0) else {
        if star || lifetime == 0 {
            let pump = deregister(shared, state, &who);
            drop(guard);
            return Handled {
                response: response(request, 200, tag).build(),
                pump,
            };
        }
        // No Contact: a query for the current binding (RFC 3261 §10.3 step 6).
        let mut ok = response(request, 200, tag);
        if let Some(current) = state.pna.registrations.get(&who) {
            let left = current
                .expires_at
                .saturating_duration_since(Instant::now())
                .as_secs();
            ok.push_header("Contact", format!("<{}>;expires={left}", current.scscf));
        }
        return Handled::only(ok);
    };
    let transport = uri_transport(&contact.uri, transport);
    let expires_at = after(Duration::from_secs(lifetime));
    let registration = state
        .pna
        .registrations
        .entry(who.clone())
        .or_insert_with(|| ThirdParty {
            identity: identity.clone(),
            scscf: contact.uri.clone(),
            transport,
            lifetime,
            expires_at,
            deadline: None,
            subscribe_pending: false,
            dialog: None,
        });
    registration.scscf = contact.uri.clone();
    registration.transport = transport;
    registration.lifetime = lifetime;
    registration.expires_at = expires_at;
    // A new registration, or one whose reg subscription is gone: subscribe (again).
    registration.subscribe_pending = registration.dialog.is_none();
    if state
        .pna
        .deadlines
        .set(&mut registration.deadline, expires_at, who.clone())
    {
        shared.deadline_moved.notify_one();
    }
    drop(guard);
    let mut ok = response(request, 200, tag);
    // RFC 3261 §10.3 step 8: the 200 SHOULD carry a Date.
    if !shared.fault(Fault::PnaRegisterNoDate) {
        ok.push_header("Date", http_date(SystemTime::now()));
    }
    if shared.fault(Fault::PnaRegisterNoContact) {
        return Handled::only(ok);
    }
    Handled::only(ok.header("Contact", format!("<{}>;expires={lifetime}", contact.uri)))
}

/// Reads a URI parameter (lowercased value), e.g. `transport` of `sip:h;transport=TCP`.
fn uri_param(uri: &str, name: &str) -> Option<String> {
    let without_headers = uri.split('?').next().unwrap_or_default();
    without_headers.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_ascii_lowercase())
    })
}

/// The transport a URI asks for with its `transport` parameter, else `default`.
fn uri_transport(uri: &str, default: Transport) -> Transport {
    match uri_param(uri, "transport").as_deref() {
        Some("tcp") => Transport::Tcp,
        Some("udp") => Transport::Udp,
        Some("tls") => Transport::Tls,
        _ if crate::sip::typed::is_sips(uri) => Transport::Tls,
        _ => default,
    }
}

/// The registration's lifetime ran out: as a deregistration.
pub(super) fn expire(shared: &Arc<Shared>, who: &Presentity) {
    let mut guard = lock(&shared.state);
    let due = guard
        .pna
        .registrations
        .get(who)
        .is_some_and(|r| r.expires_at <= Instant::now());
    if !due {
        return;
    }
    let pump = deregister(shared, &mut guard, who);
    drop(guard);
    notifier::pump(shared, pump);
}

/// Ends the third-party registration of `who`: its reg subscription is ended (SUBSCRIBE with
/// Expires 0, RFC 6665 §4.1.2.3) and what it reported is forgotten. Returns the watcher
/// subscriptions to pump.
fn deregister(shared: &Arc<Shared>, state: &mut State, who: &Presentity) -> Vec<u64> {
    let Some(registration) = state.pna.registrations.remove(who) else {
        return Vec::new();
    };
    state.pna.deadlines.cancel(registration.deadline);
    if let Some(dialog) = registration
        .dialog
        .and_then(|id| state.pna.dialogs.get_mut(&id).map(|d| (id, d)))
    {
        let (id, dialog) = dialog;
        dialog.reg.clear();
        // Not yet established: the SUBSCRIBE's task unsubscribes when its 2xx comes.
        if dialog.remote_tag.is_some() && !dialog.ending {
            shared.spawn(run_subscribe(shared.clone(), id, 0));
        }
        dialog.ending = true;
    }
    publish(shared, state)
}

/// Called once the response to a REGISTER is sent: a new third-party registration gets its
/// reg subscription (TS 24.141 A.7 step 26; TS 24.229).
pub(super) fn after_reply(shared: &Arc<Shared>, request: &SipMessage) {
    let Some(who) = request
        .name_addrs("To")
        .into_iter()
        .next()
        .and_then(|t| Presentity::from_uri(&t.uri))
    else {
        return;
    };
    let mut guard = lock(&shared.state);
    let pna = &mut guard.pna;
    let Some(registration) = pna
        .registrations
        .get_mut(&who)
        .filter(|r| r.subscribe_pending)
    else {
        return;
    };
    registration.subscribe_pending = false;
    if shared.fault(Fault::PnaNoSubscribe) {
        return;
    }
    let Some(first_hop) = uri_socket_addr(&registration.scscf) else {
        return;
    };
    let transport = registration.transport;
    let local = shared.local_addr(transport);
    let local_tag = shared.token();
    let id = pna.next_id;
    pna.next_id += 1;
    let dialog = RegDialog {
        call_id: format!("{}@{}", shared.token(), local.ip()),
        local_uri: format!("<sip:pna@{local}>;tag={local_tag}"),
        local_tag,
        remote_tag: None,
        remote_uri: format!("<{}>", registration.identity),
        remote_target: registration.identity.clone(),
        route_set: Vec::new(),
        first_hop,
        transport,
        cseq: 0,
        remote_cseq: None,
        reg: RegState::default(),
        ending: false,
    };
    registration.dialog = Some(id);
    let lifetime = registration.lifetime;
    pna.dialogs.insert(id, dialog);
    drop(guard);
    shared.spawn(run_subscribe(shared.clone(), id, lifetime));
}

/// A SUBSCRIBE ready to go.
struct Prepared {
    bytes: Vec<u8>,
    branch: String,
    to: SocketAddr,
    transport: Transport,
}

/// Builds the next SUBSCRIBE of a reg dialog: the initial one to the S-CSCF, or an in-dialog
/// one to the remote target through the route set (RFC 3261 §12.2.1.1).
fn build_subscribe(shared: &Shared, dialog: &mut RegDialog, expires: u64) -> Prepared {
    dialog.cseq += 1;
    let branch = format!("z9hG4bK{}", shared.token());
    let local = shared.local_addr(dialog.transport);
    let to = match (&dialog.remote_tag, dialog.route_set.first()) {
        (None, _) => None,
        (Some(_), Some(route)) => uri_socket_addr(&uri_of(route)),
        (Some(_), None) => uri_socket_addr(&dialog.remote_target),
    }
    .unwrap_or(dialog.first_hop);
    let mut request = MessageBuilder::request("SUBSCRIBE", &dialog.remote_target)
        .header(
            "Via",
            format!(
                "SIP/2.0/{} {local};branch={branch}",
                dialog.transport.via_name()
            ),
        )
        .header("Max-Forwards", "70");
    for route in &dialog.route_set {
        request.push_header("Route", route.as_str());
    }
    let to_header = match &dialog.remote_tag {
        Some(tag) => format!("{};tag={tag}", dialog.remote_uri),
        None => dialog.remote_uri.clone(),
    };
    let mut request = request
        .header("From", dialog.local_uri.as_str())
        .header("To", to_header)
        .header("Call-ID", dialog.call_id.as_str())
        .header("CSeq", format!("{} SUBSCRIBE", dialog.cseq));
    if !shared.fault(Fault::PnaNoContact) {
        // Over TLS a SIPS URI (RFC 3261 §8.1.1.8: a SIPS Request-URI needs a SIPS Contact).
        let contact = match dialog.transport {
            Transport::Tls if !shared.fault(Fault::SipsContactPlain) => {
                format!("<sips:pna@{local}>")
            }
            transport => format!("<sip:pna@{local};transport={}>", transport.uri_param()),
        };
        request.push_header("Contact", contact);
    }
    let mut request = request.header("Event", "reg");
    // RFC 3680 §4.5: an absent Accept stands for application/reginfo+xml.
    if shared.fault(Fault::PnaWrongAccept) {
        request.push_header("Accept", "application/pidf+xml");
    } else if !shared.variation(Variation::PnaNoAccept) {
        request.push_header("Accept", REGINFO_MEDIA_TYPE);
    }
    Prepared {
        bytes: request.header("Expires", expires.to_string()).build(),
        branch,
        to,
        transport: dialog.transport,
    }
}

/// Runs the reg SUBSCRIBE transactions of one dialog: the initial one (or a refresh) with
/// `expires`, and the unsubscribe (0) when the registration ended meanwhile. A failed initial
/// SUBSCRIBE ends the dialog; after an unsubscribe the dialog stays for 64*T1 so the final
/// NOTIFY is still answered 200.
async fn run_subscribe(shared: Arc<Shared>, id: u64, mut expires: u64) {
    loop {
        let prepared = {
            let mut state = lock(&shared.state);
            let Some(dialog) = state.pna.dialogs.get_mut(&id) else {
                return;
            };
            build_subscribe(&shared, dialog, expires)
        };
        let answer = run_client_response(
            &shared,
            prepared.transport,
            prepared.to,
            &prepared.branch,
            prepared.bytes,
        )
        .await;
        let ok = answer.filter(|r| r.status().is_some_and(|c| (200..300).contains(&c)));
        let mut pump = Vec::new();
        let mut unsubscribe = false;
        {
            let mut guard = lock(&shared.state);
            let state = &mut *guard;
            match (ok, state.pna.dialogs.get_mut(&id)) {
                (_, None) => return,
                (Some(ok), Some(dialog)) if expires > 0 => {
                    // The dialog as the 2xx establishes it (RFC 3261 §12.1.2); a refresh's
                    // 2xx changes the remote target only (§12.2.1.2).
                    if dialog.remote_tag.is_none() {
                        dialog.remote_tag = ok.to_tag().map(Cow::into_owned);
                        dialog.route_set =
                            ok.header_values("Record-Route").into_iter().rev().collect();
                    }
                    if let Some(contact) = ok.name_addrs("Contact").into_iter().next() {
                        dialog.remote_target = contact.uri;
                    }
                    unsubscribe = dialog.ending;
                }
                (None, Some(_)) if expires > 0 => pump = remove_dialog(&shared, state, id),
                (_, Some(_)) => {}
            }
        }
        notifier::pump(&shared, pump);
        if unsubscribe {
            expires = 0;
            continue;
        }
        if expires == 0 {
            sleep(shared.config.t1.saturating_mul(64)).await;
            let pump = {
                let mut guard = lock(&shared.state);
                remove_dialog(&shared, &mut guard, id)
            };
            notifier::pump(&shared, pump);
        }
        return;
    }
}

/// Removes a reg dialog and what it reported; returns the watcher subscriptions to pump.
fn remove_dialog(shared: &Arc<Shared>, state: &mut State, id: u64) -> Vec<u64> {
    if state.pna.dialogs.remove(&id).is_none() {
        return Vec::new();
    }
    for registration in state.pna.registrations.values_mut() {
        if registration.dialog == Some(id) {
            registration.dialog = None;
        }
    }
    publish(shared, state)
}

/// Handles a NOTIFY: one in a reg dialog is accepted with 200 (RFC 6665 §4.1.3) and its
/// registration information applied; any other gets 481 (no such subscription).
pub(super) fn handle_notify(shared: &Arc<Shared>, request: &SipMessage, tag: &str) -> Handled {
    let reject = |code: u16| Handled::only(response(request, code, tag));
    let (Some(call_id), Some(to_tag), Some(from_tag)) =
        (request.call_id(), request.to_tag(), request.from_tag())
    else {
        return reject(481);
    };
    let mut guard = lock(&shared.state);
    let state = &mut *guard;
    let Some((&id, dialog)) = state.pna.dialogs.iter_mut().find(|(_, d)| {
        d.call_id == call_id
            && d.local_tag == to_tag
            && (d.remote_tag.as_ref().is_none_or(|t| *t == from_tag)
                || shared.fault(Fault::PnaAcceptsForks))
    }) else {
        return reject(481);
    };
    if request.event().is_none_or(|e| e.package != "reg") {
        return reject(481);
    }
    if shared.fault(Fault::PnaRejectsNotify) {
        return reject(500);
    }
    let Some((cseq, _)) = request.cseq() else {
        return reject(400);
    };
    if dialog.remote_cseq.is_some_and(|last| cseq < last) {
        return reject(500);
    }
    let doc = if request.body.is_empty() {
        None
    } else {
        let content_type = request.header("Content-Type").unwrap_or_default();
        if !is_reginfo_media_type(content_type) {
            return Handled::only(response(request, 415, tag).header("Accept", REGINFO_MEDIA_TYPE));
        }
        match reginfo::parse(&request.body) {
            Ok(doc) if doc.extended && shared.fault(Fault::PnaRejectsExtensions) => {
                return reject(400)
            }
            Ok(doc) => Some(doc),
            Err(_) => return reject(400),
        }
    };
    dialog.remote_cseq = Some(cseq);
    dialog.remote_tag.get_or_insert(from_tag.into_owned());
    if let Some(contact) = request.name_addrs("Contact").into_iter().next() {
        dialog.remote_target = contact.uri;
    }
    // After an unsubscribe, what the S-CSCF still reports no longer counts.
    let mut refresh = false;
    if let Some(doc) = doc.as_ref().filter(|_| !dialog.ending) {
        let first = dialog.reg.uninitialized();
        refresh = dialog.reg.skips_versions(doc) && !shared.fault(Fault::PnaNoRefreshOnGap);
        dialog.reg.apply(doc);
        if first && shared.fault(Fault::PnaVersionNotInitialized) {
            dialog.reg.forget_version();
        }
    }
    let terminated = request
        .subscription_state()
        .is_some_and(|s| s.state == "terminated");
    let pump = if terminated {
        remove_dialog(shared, state, id)
    } else {
        publish(shared, state)
    };
    // Missed documents: a refresh makes the S-CSCF send full state (RFC 3680 §5.2).
    let lifetime = state
        .pna
        .registrations
        .values()
        .find(|r| r.dialog == Some(id))
        .map(|r| r.lifetime)
        .filter(|_| refresh && !terminated);
    drop(guard);
    if let Some(lifetime) = lifetime {
        shared.spawn(run_subscribe(shared.clone(), id, lifetime));
    }
    Handled {
        response: response(request, 200, tag).build(),
        pump,
    }
}

/// The PNA's publication for an address-of-record with active contacts: one open tuple whose
/// contact is the first active contact.
fn open_tuple(who: &Presentity, contact: Option<&String>) -> Option<Vec<pidf::Element>> {
    let contact = contact
        .map(|uri| format!("<contact>{}</contact>", escape(uri.as_str())))
        .unwrap_or_default();
    let doc = format!(
        "<presence xmlns=\"{PIDF_NS}\" entity=\"{}\"><tuple id=\"{TUPLE_ID}\"><status><basic>open</basic></status>{contact}</tuple></presence>",
        escape(who.entity().as_str())
    );
    pidf::parse(doc.as_bytes()).ok()
}

/// Brings the PNA's publications in the ESC in line with the registration state of every reg
/// dialog (TS 24.141 §5.3.5: the PNA as an EPA). Each presentity whose composed state changes
/// gets NOTIFYs queued for its watchers; returns the subscriptions to pump.
fn publish(shared: &Arc<Shared>, state: &mut State) -> Vec<u64> {
    let mut active: BTreeMap<Presentity, Vec<String>> = BTreeMap::new();
    for dialog in state.pna.dialogs.values() {
        for (aor, uris) in dialog.reg.active() {
            if let Some(who) = Presentity::from_uri(&aor) {
                active.entry(who).or_default().extend(uris);
            }
        }
    }
    let mut everyone: Vec<Presentity> = active.keys().cloned().collect();
    everyone.extend(
        state
            .pna
            .publications
            .keys()
            .filter(|who| !active.contains_key(*who))
            .cloned(),
    );
    let faults = esc::compose_faults(shared);
    let mut pump = Vec::new();
    for who in everyone {
        let elements = active
            .get(&who)
            .and_then(|uris| open_tuple(&who, uris.first()));
        let etag = match (&elements, state.pna.publications.get(&who)) {
            (_, Some(etag)) => etag.clone(),
            (Some(_), None) => shared.token(),
            (None, None) => continue,
        };
        let present = elements.is_some();
        let changed = state.esc.set_agent_publication(&who, &etag, elements);
        if present {
            state.pna.publications.insert(who.clone(), etag);
        } else {
            state.pna.publications.remove(&who);
        }
        if changed {
            pump.extend(notifier::state_changed(shared, state, &who, |esc| {
                esc.compose(&who, faults)
            }));
        }
    }
    pump
}

#[cfg(test)]
mod tests;
