//! The notifier for `presence` (RFC 6665 §4.2, RFC 3856) and `presence.winfo` (RFC 3857):
//! SUBSCRIBE processing with authorization (pres-rules, see `authz`), the subscriber's dialog
//! (RFC 3261 §12.1.1, UAS side), the watcher information fed by every watcher's transition
//! (see `winfo`), and what each subscription is told when states, rules or lists change.
//! List subscriptions (RFC 4662) share all of this; their list side and bodies come from
//! `rls`. Module `delivery` builds and sends the queued NOTIFYs, at most one outstanding per
//! dialog, so CSeq order and delivery order agree.

mod challenge;
mod delivery;
mod partial;

pub(super) use delivery::{pump, NotifyBody};
use delivery::{Body, Pending, Phase};
use partial::{Partial, PIDF_DIFF_MEDIA_TYPE};

use super::authz::{self, Decision, Handling, Watcher};
use super::deadlines::{DeadlineKey, Deadlines};
use super::dispatch::{other_scheme, response, Handled};
use super::esc::{self, after, requested_expires, Store, DEFAULT_EXPIRES};
use super::pidf::PIDF_MEDIA_TYPE;
use super::presentity::Presentity;
use super::rls::{self, ListSubscription};
use super::shared::{lock, Shared, State};
use super::transport::Transport;
use super::winfo::{self, Change, Entry, Scope, Snapshot, Status, WINFO_MEDIA_TYPE};
use super::xcap::XcapStore;
use super::Fault;
use crate::sip::typed::uri_of;
use crate::sip::SipMessage;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The event packages this notifier serves, for `Allow-Events`.
pub(super) const ALLOW_EVENTS: &str = "presence, presence.winfo";

/// True when a SUBSCRIBE's Accept lists the partial presence format (RFC 5263 §4.2).
fn accepts_partial(request: &SipMessage) -> bool {
    request
        .tokens("Accept")
        .iter()
        .any(|t| t.eq_ignore_ascii_case(PIDF_DIFF_MEDIA_TYPE))
}

/// Seconds a subscriber refused for want of room is asked to wait (`Retry-After`).
const FULL_RETRY_AFTER: u64 = 30;

/// What a subscription is to.
enum Kind {
    /// The presentity's presence, as the pres-rules let this watcher see it.
    Presence {
        watcher: Watcher,
        decision: Decision,
        /// The event of the watcher's last watcherinfo transition.
        change: Change,
    },
    /// The presentity's watcher information, with the version of the next document.
    Winfo { version: u64 },
    /// A resource list (RFC 4662, event package `presence`): its members replace the
    /// subscription's presentity, which is only the list's URI.
    List(ListSubscription),
}

/// One subscription and its dialog.
struct Subscription {
    presentity: Presentity,
    kind: Kind,
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
    /// Its place among the subscriptions' deadlines.
    deadline: Option<DeadlineKey>,
    /// Partial notification, for a watcher that accepts `application/pidf-diff+xml` (RFC 5263).
    partial: Option<Partial>,
}

impl Subscription {
    /// Queues a NOTIFY; true when no delivery task is running for this subscription yet.
    fn enqueue(&mut self, body: Body, phase: Phase) -> bool {
        if self.terminated {
            return false;
        }
        self.terminated = matches!(phase, Phase::Terminated(_));
        self.queue.push_back(Pending { body, phase });
        !std::mem::replace(&mut self.in_flight, true)
    }

    /// The body and state a presence watcher is shown, given the presentity's composed
    /// document: nothing while pending, the neutral document when politely blocked, else the
    /// document as the transformations allow. `None` for a watcherinfo subscription.
    fn view(&self, composed: &str, reveal: bool) -> Option<(Body, Phase)> {
        let Kind::Presence { decision, .. } = &self.kind else {
            return None;
        };
        Some(match decision.handling {
            Handling::Block => (Body::Empty, Phase::Terminated("rejected")),
            Handling::Confirm => (Body::Empty, Phase::Pending),
            Handling::PoliteBlock if !reveal => (
                Body::Ready(NotifyBody::pidf(authz::neutral(&self.presentity.entity()))),
                Phase::Active,
            ),
            _ => (
                Body::Ready(NotifyBody::pidf(authz::filter(
                    composed,
                    decision.transformations.as_ref(),
                ))),
                Phase::Active,
            ),
        })
    }

    /// The full current state the subscriber is shown and the phase it is in: a presence
    /// watcher's view of the composed document, a list's full-state RLMI body (RFC 4662 §5.2;
    /// it takes the next version; each member as its pres-rules in `xcap` allow), or for
    /// watcher information `watchers`, the full watcher list (RFC 3857 §4.3).
    fn full_state(
        &mut self,
        esc: &Store,
        xcap: &XcapStore,
        shared: &Shared,
        watchers: Option<Body>,
    ) -> (Body, Phase) {
        match &mut self.kind {
            Kind::List(list) => (Body::Ready(list.full_state(esc, xcap)), Phase::Active),
            Kind::Winfo { .. } => (watchers.unwrap_or(Body::Empty), Phase::Active),
            Kind::Presence { .. } => {
                let composed = esc.compose(&self.presentity, esc::compose_faults(shared));
                self.view(&composed, shared.fault(Fault::PoliteBlockReveals))
                    .unwrap_or((Body::Empty, Phase::Active))
            }
        }
    }

    /// The watcherinfo entry of a presence subscription with internal id `id`.
    fn entry(&self, id: u64) -> Option<Entry> {
        let Kind::Presence {
            watcher,
            decision,
            change,
        } = &self.kind
        else {
            return None;
        };
        let status = match decision.handling {
            _ if self.terminated => Status::Terminated,
            Handling::Block => Status::Terminated,
            Handling::Confirm => Status::Pending,
            Handling::PoliteBlock | Handling::Allow => Status::Active,
        };
        Some(Entry {
            id: format!("w{id}"),
            uri: watcher.uri.clone(),
            status,
            event: *change,
        })
    }
}

/// All current subscriptions by internal id, indexed by presentity and by dialog so that no
/// request has to look at every subscription.
#[derive(Default)]
pub(super) struct Subscriptions {
    by_id: HashMap<u64, Subscription>,
    by_presentity: HashMap<Presentity, BTreeSet<u64>>,
    by_dialog: HashMap<DialogKey, u64>,
    next_id: u64,
    /// When each subscription expires.
    pub deadlines: Deadlines<u64>,
    /// The list subscriptions (RFC 4662), which any presentity's change may concern.
    lists: BTreeSet<u64>,
}

/// A dialog: Call-ID, our tag, the subscriber's tag.
type DialogKey = (String, String, String);

impl Subscription {
    fn dialog_key(&self) -> DialogKey {
        (
            self.call_id.clone(),
            self.local_tag.clone(),
            self.remote_tag.clone(),
        )
    }
}

impl Subscriptions {
    /// How many subscriptions there are.
    fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Adds a subscription under `id`, in the indexes too.
    fn insert(&mut self, id: u64, sub: Subscription) {
        self.by_presentity
            .entry(sub.presentity.clone())
            .or_default()
            .insert(id);
        self.by_dialog.insert(sub.dialog_key(), id);
        if matches!(sub.kind, Kind::List(_)) {
            self.lists.insert(id);
        }
        self.by_id.insert(id, sub);
    }

    /// Removes a subscription, from the indexes too.
    fn remove(&mut self, id: u64) -> Option<Subscription> {
        let sub = self.by_id.remove(&id)?;
        if let Some(ids) = self.by_presentity.get_mut(&sub.presentity) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_presentity.remove(&sub.presentity);
            }
        }
        self.by_dialog.remove(&sub.dialog_key());
        self.lists.remove(&id);
        self.deadlines.cancel(sub.deadline);
        Some(sub)
    }

    /// The ids of the subscriptions to `who`, in order.
    fn ids_of(&self, who: &Presentity) -> Vec<u64> {
        self.by_presentity
            .get(who)
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The current watchers of `who` (pending or active presence subscriptions).
    fn watchers(&self, who: &Presentity) -> Vec<Entry> {
        self.ids_of(who)
            .into_iter()
            .filter_map(|id| {
                let sub = self.by_id.get(&id)?;
                (!sub.terminated).then(|| sub.entry(id)).flatten()
            })
            .collect()
    }

    /// A watcher of `who` changed: queues a partial watcherinfo NOTIFY with its entry on every
    /// watcherinfo subscription to `who`. Returns the subscriptions needing a delivery task.
    fn tell_watchers(&mut self, who: &Presentity, entry: Option<Entry>) -> Vec<u64> {
        let Some(entry) = entry else {
            return Vec::new();
        };
        let mut pump = Vec::new();
        for id in self.ids_of(who) {
            let Some(s) = self.by_id.get_mut(&id) else {
                continue;
            };
            if !matches!(s.kind, Kind::Winfo { .. }) {
                continue;
            }
            let snapshot = Snapshot {
                resource: who.entity(),
                scope: Scope::Partial,
                entries: vec![entry.clone()],
            };
            if s.enqueue(Body::Winfo(snapshot), Phase::Active) {
                pump.push(id);
            }
        }
        pump
    }

    /// For a watcherinfo subscription, the full watcherinfo document of its presentity.
    fn watchers_of(&self, id: u64) -> Option<Body> {
        let sub = self.by_id.get(&id)?;
        matches!(sub.kind, Kind::Winfo { .. }).then(|| self.full(&sub.presentity))
    }

    /// The full watcherinfo document of `who`.
    fn full(&self, who: &Presentity) -> Body {
        Body::Winfo(Snapshot {
            resource: who.entity(),
            scope: Scope::Full,
            entries: self.watchers(who),
        })
    }

    fn find_dialog(&self, call_id: &str, local_tag: &str, remote_tag: &str) -> Option<u64> {
        let key = (
            call_id.to_string(),
            local_tag.to_string(),
            remote_tag.to_string(),
        );
        self.by_dialog.get(&key).copied()
    }
}

/// The presentity's state changed to the document `body` composes (called only when a
/// subscription may be told: the presentity's own and the list subscriptions are looked at,
/// not all of them): queues a NOTIFY with each allowed presence watcher's view of it, and a
/// partial RLMI notification for each list subscription it is a member of. The rules are
/// decided again first, since the presentity's sphere, a condition of its rules, comes from
/// its publications (RFC 5025 §3.1.2); a subscription whose decision changed is told as in
/// [`rules_changed`] and not twice. Returns the subscriptions that need a delivery task
/// ([`pump`]).
pub(super) fn state_changed(
    shared: &Shared,
    state: &mut State,
    who: &Presentity,
    body: impl FnOnce(&Store) -> String,
) -> Vec<u64> {
    let mut ids: BTreeSet<u64> = state.subs.ids_of(who).into_iter().collect();
    ids.extend(state.subs.lists.iter().copied());
    if ids.is_empty() {
        return Vec::new();
    }
    let body = body(&state.esc);
    let Redecided { mut pump, told } = redecide(shared, state, who);
    pump.extend(
        ids.into_iter()
            .filter(|id| !told.contains(id))
            .filter_map(|id| {
                let s = state.subs.by_id.get_mut(&id).filter(|s| !s.terminated)?;
                let (body, phase) = match &mut s.kind {
                    Kind::List(list) => {
                        (Body::Ready(list.member_changed(who, &body)?), Phase::Active)
                    }
                    Kind::Presence { decision, .. }
                        if &s.presentity == who && decision.handling == Handling::Allow =>
                    {
                        s.view(&body, false)?
                    }
                    _ => return None,
                };
                s.enqueue(body, phase).then_some(id)
            }),
    );
    pump
}

/// The XCAP documents of user `xui` changed: each of their list subscriptions whose members
/// changed gets a full-state notification (RFC 4662 §5.2).
pub(super) fn lists_changed(shared: &Arc<Shared>, xui: &str) {
    let mut guard = lock(&shared.state);
    let state = &mut *guard;
    let mut ids = Vec::new();
    for (id, sub) in state.subs.by_id.iter_mut().filter(|(_, s)| !s.terminated) {
        let Kind::List(list) = &mut sub.kind else {
            continue;
        };
        if list.xui() != xui || !list.reresolve(&state.xcap, &state.esc) {
            continue;
        }
        let body = Body::Ready(list.full_state(&state.esc, &state.xcap));
        if sub.enqueue(body, Phase::Active) {
            ids.push(*id);
        }
    }
    drop(guard);
    pump(shared, ids);
}

/// Fault switch RlsNestedLoop: a list subscription whose NOTIFY was just answered, and whose
/// members lead back to the subscriber's own services, gets another full-state NOTIFY, as an
/// RLS whose back-end subscriptions chase each other round the loop would send.
pub(super) fn next_loop_turn(shared: &Shared, id: u64) {
    let mut guard = lock(&shared.state);
    let state = &mut *guard;
    let Some(sub) = state.subs.by_id.get_mut(&id) else {
        return;
    };
    let Kind::List(list) = &mut sub.kind else {
        return;
    };
    if sub.queue.is_empty() && list.loops_again(&state.xcap) {
        let body = Body::Ready(list.full_state(&state.esc, &state.xcap));
        sub.enqueue(body, Phase::Active);
    }
}

/// The presentity `who`'s pres-rules changed: its subscriptions are decided again
/// ([`redecide`]) and told.
pub(super) fn rules_changed(shared: &Arc<Shared>, who: &Presentity) {
    let mut guard = lock(&shared.state);
    let Redecided { pump: ids, .. } = redecide(shared, &mut guard, who);
    drop(guard);
    pump(shared, ids);
}

/// What deciding a presentity's subscriptions again did.
struct Redecided {
    /// The subscriptions that need a delivery task.
    pump: Vec<u64>,
    /// The subscriptions told of their new decision.
    told: BTreeSet<u64>,
}

/// Every presence subscription to `who` is decided again, and each one whose decision changed
/// is told (RFC 5025 §3.2.1, RFC 3857 §4.7.1): pending to active (approved), active to a new
/// view, to block (terminated, rejected), back to confirm (terminated, deactivated: the
/// watcher may subscribe again and wait). List subscriptions with `who` as a member get a
/// partial notification when `who`'s decision for their subscriber changed.
fn redecide(shared: &Shared, state: &mut State, who: &Presentity) -> Redecided {
    let composed = state.esc.compose(who, esc::compose_faults(shared));
    let mut pump_ids = Vec::new();
    let mut told = BTreeSet::new();
    for id in state.subs.ids_of(who) {
        let Some(sub) = state.subs.by_id.get_mut(&id).filter(|s| !s.terminated) else {
            continue;
        };
        let before = sub.entry(id);
        let Kind::Presence {
            watcher,
            decision,
            change,
        } = &mut sub.kind
        else {
            continue;
        };
        let new = decide(shared, &state.xcap, &state.esc, who, watcher);
        let old = std::mem::replace(decision, new.clone());
        let (body, phase) = match (old.handling, new.handling) {
            _ if old == new => continue,
            (Handling::Confirm, Handling::Confirm) => continue,
            (_, Handling::Block) => {
                *change = Change::Rejected;
                (Body::Empty, Phase::Terminated("rejected"))
            }
            (_, Handling::Confirm) => {
                *change = Change::Deactivated;
                (Body::Empty, Phase::Terminated("deactivated"))
            }
            (old_handling, _) => {
                if old_handling == Handling::Confirm {
                    *change = Change::Approved;
                }
                let reveal = shared.fault(Fault::PoliteBlockReveals);
                let Some(view) = sub.view(&composed, reveal) else {
                    continue;
                };
                view
            }
        };
        told.insert(id);
        if sub.enqueue(body, phase) {
            pump_ids.push(id);
        }
        let after = sub.entry(id);
        if after != before {
            pump_ids.extend(state.subs.tell_watchers(who, after));
        }
    }
    // Lists with `who` as a member now show it as its rules allow (RFC 4662 §7.2).
    for (id, sub) in state.subs.by_id.iter_mut().filter(|(_, s)| !s.terminated) {
        let Kind::List(list) = &mut sub.kind else {
            continue;
        };
        let Some(body) = list.rules_changed(who, &state.esc, &state.xcap) else {
            continue;
        };
        told.insert(*id);
        if sub.enqueue(Body::Ready(body), Phase::Active) {
            pump_ids.push(*id);
        }
    }
    Redecided {
        pump: pump_ids,
        told,
    }
}

/// The pres-rules decision for `watcher` of `who` (everyone allowed under `IgnorePresRules`,
/// nothing filtered under `IgnoreTransformations`, and the faults on conditions and
/// transformations of RFC 5025 §5).
fn decide(
    shared: &Shared,
    xcap: &XcapStore,
    esc: &Store,
    who: &Presentity,
    watcher: &Watcher,
) -> Decision {
    if shared.fault(Fault::IgnorePresRules) {
        return Decision::OPEN;
    }
    let faults = authz::ConditionFaults {
        except_ignored: shared.fault(Fault::IdentityExceptIgnored),
        sphere_ignored: shared.fault(Fault::SphereConditionIgnored),
    };
    let mut decision = authz::decide(xcap, esc, who, watcher, faults);
    if shared.fault(Fault::IgnoreTransformations) {
        decision.transformations = None;
    }
    if let Some(granted) = decision.transformations.as_mut() {
        if shared.fault(Fault::OccurrenceSelectorsIgnored) {
            granted.ignore_members();
        }
        if shared.fault(Fault::AttributesUnfiltered) {
            granted.grant_all_attributes();
        }
    }
    decision
}

/// Handles a SUBSCRIBE for `presence` (RFC 6665 §4.2.1, RFC 3856 §6, RFC 5025), for
/// `presence` of a resource list (RFC 4662 §4) or for `presence.winfo` (RFC 3857 §4).
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
    if request.header("Event").is_none() && shared.fault(Fault::NoEvent400) {
        return reject(400);
    }
    let to_other = request
        .header("To")
        .is_some_and(|to| other_scheme(&uri_of(to)));
    if to_other && shared.fault(Fault::ToTelRejected) {
        return reject(403);
    }
    let (winfo, media_type) = match request.event().map(|e| e.package).as_deref() {
        Some("presence") => (false, PIDF_MEDIA_TYPE),
        Some("presence.winfo") if !shared.fault(Fault::WinfoUnsupported) => {
            (true, WINFO_MEDIA_TYPE)
        }
        _ => {
            let bad_event = response(request, 489, tag);
            return Handled::only(if shared.fault(Fault::BadEventNoAllowEvents) {
                bad_event
            } else if shared.fault(Fault::AllowEventsNotCommaList) {
                bad_event.header("Allow-Events", ALLOW_EVENTS.replace(',', ""))
            } else if shared.fault(Fault::AllowEventsIncomplete) {
                bad_event.header("Allow-Events", "presence")
            } else {
                bad_event.header("Allow-Events", ALLOW_EVENTS)
            });
        }
    };
    let event_id = raw_event_id(request.header("Event").unwrap_or_default());
    if request.header("Accept").is_some() {
        let acceptable = [media_type, "application/*", "*/*"];
        if !request
            .tokens("Accept")
            .iter()
            .any(|t| acceptable.contains(&t.as_str()))
        {
            return Handled::only(response(request, 406, tag).header("Accept", media_type));
        }
    }
    let Ok(requested) = requested_expires(request) else {
        return reject(400);
    };
    let granted = requested
        .unwrap_or(DEFAULT_EXPIRES)
        .min(shared.config.max_expires);
    // A From without a tag makes the remote tag null (RFC 3261 §12.1.1).
    let remote_tag = request.from_tag().unwrap_or_default();
    if remote_tag.is_empty() && shared.fault(Fault::NullFromTagRejected) {
        return reject(400);
    }
    let (Some(call_id), Some((cseq, _))) = (request.call_id(), request.cseq()) else {
        return reject(400);
    };
    let contact = request
        .name_addrs("Contact")
        .into_iter()
        .next()
        .map(|c| c.uri);
    let mut guard = lock(&shared.state);
    let state = &mut *guard;
    let mut pump = Vec::new();
    let is_list;
    match request.to_tag() {
        Some(local_tag) => {
            // A refresh or unsubscribe inside an existing dialog (RFC 6665 §4.2.1.2, §4.2.1.4).
            let Some(id) = state.subs.find_dialog(call_id, &local_tag, &remote_tag) else {
                let unknown = if shared.fault(Fault::UnknownDialog404) {
                    404
                } else {
                    481
                };
                return reject(unknown);
            };
            // A watcherinfo refresh carries the full watcher list (RFC 3857 §4.3).
            let watchers = state.subs.watchers_of(id);
            let Some(sub) = state.subs.by_id.get_mut(&id) else {
                return reject(481);
            };
            if sub.terminated
                || sub.event_id != event_id
                || winfo != matches!(sub.kind, Kind::Winfo { .. })
            {
                return reject(481);
            }
            // Before the body: building a list's body takes an RLMI version.
            if cseq < sub.remote_cseq && !shared.fault(Fault::AcceptOutOfOrderCseq) {
                return reject(500);
            }
            if cseq > sub.remote_cseq.saturating_add(1) && shared.fault(Fault::RejectCseqGap) {
                return reject(500);
            }
            is_list = matches!(sub.kind, Kind::List(_));
            let (body, phase) = sub.full_state(&state.esc, &state.xcap, shared, watchers);
            if !shared.fault(Fault::KeepFirstRemoteCseq) {
                sub.remote_cseq = cseq;
            }
            if let Some(target) = contact.filter(|_| !shared.fault(Fault::KeepOldTarget)) {
                sub.remote_target = target;
            }
            // Each SUBSCRIBE states the formats anew (RFC 6665 §3.2.1); partial notification
            // goes on with its version, from full state (RFC 5263 §4.4).
            match (&mut sub.partial, accepts_partial(request)) {
                (Some(partial), true) => partial.refreshed(),
                (None, true) if matches!(sub.kind, Kind::Presence { .. }) => {
                    sub.partial = Some(Partial::new());
                }
                (_, _) => sub.partial = None,
            }
            if granted == 0 && shared.fault(Fault::NoFinalNotify) {
                state.subs.remove(id);
            } else if granted == 0 {
                let who = sub.presentity.clone();
                if sub.enqueue(body, Phase::Terminated("timeout")) {
                    pump.push(id);
                }
                pump.extend(watcher_left(state, &who, id, Change::Timeout));
            } else {
                sub.granted = granted;
                sub.expires_at = after(Duration::from_secs(granted));
                sub.last_expires = None;
                if sub.enqueue(body, phase) {
                    pump.push(id);
                }
                arm_deadline(shared, state, id);
            }
        }
        None => {
            // A new subscription, or a fetch with Expires: 0 (RFC 6665 §4.2.1, §4.4.3).
            let (Some(remote_target), Some(who)) = (contact, who) else {
                return reject(400);
            };
            if state.subs.len() >= shared.config.max_subscriptions {
                // Full: the server cannot take the request now (RFC 3261 §21.5.4).
                return Handled::only(
                    response(request, 503, tag).header("Retry-After", FULL_RETRY_AFTER.to_string()),
                );
            }
            let watcher = Watcher::of_request(request);
            // A list the subscriber defined (RFC 4826 §4) needs eventlist (RFC 4662 §4.1).
            let list = (!winfo)
                .then(|| ListSubscription::for_request(shared, &state.xcap, &state.esc, request))
                .flatten();
            let kind = if winfo {
                if !winfo::authorized(&who, &watcher) && !shared.fault(Fault::WinfoOpenToAll) {
                    return reject(403);
                }
                Kind::Winfo { version: 0 }
            } else if let Some(list) = list {
                if !rls::supports_eventlist(request) {
                    return Handled::only(
                        response(request, 421, tag).header("Require", rls::EVENTLIST),
                    );
                }
                Kind::List(list)
            } else {
                let decision = decide(shared, &state.xcap, &state.esc, &who, &watcher);
                if decision.handling == Handling::Block {
                    // RFC 6665 §4.2.1.3: a refused subscription SHOULD get 403 or 603.
                    return reject(403);
                }
                Kind::Presence {
                    watcher,
                    decision,
                    change: Change::Subscribe,
                }
            };
            is_list = matches!(kind, Kind::List(_));
            let kind_is_presence = matches!(kind, Kind::Presence { .. });
            let id = state.subs.next_id;
            state.subs.next_id += 1;
            let mut sub = Subscription {
                presentity: who.clone(),
                kind,
                call_id: call_id.to_string(),
                local_tag: tag.to_string(),
                remote_tag: remote_tag.to_string(),
                event_id,
                local_uri: if shared.fault(Fault::NotifyFromOtherUri) {
                    format!("<sip:someone-else@example.com>;tag={tag}")
                } else {
                    format!("{};tag={tag}", request.header("To").unwrap_or_default())
                },
                remote_uri: match request.header("From").unwrap_or_default() {
                    from if remote_tag.is_empty() && shared.fault(Fault::NullTagInvented) => {
                        format!("{from};tag=null")
                    }
                    from => from.to_string(),
                },
                route_set: request.header_values("Record-Route"),
                remote_target,
                remote_cseq: cseq,
                transport,
                granted,
                expires_at: after(Duration::from_secs(granted)),
                last_expires: None,
                // The first NOTIFY adds one.
                cseq: if shared.fault(Fault::NotifyCseqHigh) {
                    1 << 31
                } else {
                    0
                },
                queue: VecDeque::new(),
                in_flight: false,
                terminated: false,
                deadline: None,
                partial: (kind_is_presence && accepts_partial(request)).then(Partial::new),
            };
            let watchers = matches!(sub.kind, Kind::Winfo { .. }).then(|| {
                if granted == 0 && shared.fault(Fault::WinfoFetchEmpty) {
                    // A fetch shown no watcher (WinfoFetchEmpty).
                    Body::Winfo(Snapshot {
                        resource: who.entity(),
                        scope: Scope::Full,
                        entries: Vec::new(),
                    })
                } else {
                    state.subs.full(&who)
                }
            });
            let (body, phase) = sub.full_state(&state.esc, &state.xcap, shared, watchers);
            let phase = if granted == 0 {
                Phase::Terminated("timeout")
            } else {
                phase
            };
            if sub.enqueue(body, phase) {
                pump.push(id);
            }
            // A fetch is over at once; only lasting subscriptions are watchers.
            let entry = (granted > 0).then(|| sub.entry(id)).flatten();
            state.subs.insert(id, sub);
            pump.extend(state.subs.tell_watchers(&who, entry));
            if granted > 0 {
                arm_deadline(shared, state, id);
            }
        }
    }
    drop(guard);
    let mut ok = response(request, 200, tag);
    if !shared.fault(Fault::SubscribeNoRecordRoute) {
        for record_route in request.header_lines("Record-Route") {
            ok.push_header("Record-Route", record_route);
        }
    }
    if shared.fault(Fault::SubscribeContactNotSip) {
        let address = shared.local_addr(transport);
        ok.push_header("Contact", format!("<http://{address}/presence>"));
    } else if shared.fault(Fault::AnswerContactDialogOnly) {
        ok.push_header("Contact", shared.dialog_only_contact(transport));
    } else if !shared.fault(Fault::SubscribeNoContact) {
        ok.push_header("Contact", shared.contact(transport));
    }
    if is_list && !shared.fault(Fault::RlsNoRequire) {
        ok.push_header("Require", rls::EVENTLIST);
    }
    if !shared.fault(Fault::NoExpiresIn2xx) {
        ok.push_header("Expires", granted.to_string());
    }
    if shared.fault(Fault::SubscribeResponseEvent) {
        ok.push_header("Event", request.header("Event").unwrap_or("presence"));
    }
    if shared.fault(Fault::SubscribeResponseSubscriptionState) {
        ok.push_header("Subscription-State", format!("active;expires={granted}"));
    }
    Handled {
        response: ok.build(),
        pump,
    }
}

/// A presence subscription ended by its subscriber or by expiry (its final NOTIFY is queued):
/// its watcherinfo entry turns terminated with `change`.
fn watcher_left(state: &mut State, who: &Presentity, id: u64, change: Change) -> Vec<u64> {
    let Some(sub) = state.subs.by_id.get_mut(&id) else {
        return Vec::new();
    };
    if let Kind::Presence { change: last, .. } = &mut sub.kind {
        *last = change;
    }
    let entry = sub.entry(id);
    state.subs.tell_watchers(who, entry)
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

/// (Re)sets the expiry deadline of a subscription to its `expires_at`.
fn arm_deadline(shared: &Arc<Shared>, state: &mut State, id: u64) {
    let subs = &mut state.subs;
    let Some(sub) = subs.by_id.get_mut(&id) else {
        return;
    };
    if subs.deadlines.set(&mut sub.deadline, sub.expires_at, id) {
        shared.deadline_moved.notify_one();
    }
}

/// Forgets the subscriptions of a dialog without a word (fault `CancelEndsSubscription`, a
/// CANCEL taken as the end of the SUBSCRIBE it names).
pub(super) fn drop_dialog(shared: &Arc<Shared>, call_id: &str) {
    let mut state = lock(&shared.state);
    let ids: Vec<u64> = state
        .subs
        .by_dialog
        .iter()
        .filter(|((dialog_call_id, _, _), _)| dialog_call_id == call_id)
        .map(|(_, id)| *id)
        .collect();
    for id in ids {
        state.subs.remove(id);
    }
}

/// A subscription's lifetime ran out: final NOTIFY with `terminated;reason=timeout`.
pub(super) fn expire(shared: &Arc<Shared>, id: u64) {
    let mut guard = lock(&shared.state);
    let state = &mut *guard;
    let Some(who) = state
        .subs
        .by_id
        .get(&id)
        .filter(|s| s.expires_at <= Instant::now() && !s.terminated)
        .map(|s| s.presentity.clone())
    else {
        return;
    };
    let watchers = state.subs.watchers_of(id);
    let mut pump_ids = Vec::new();
    if let Some(sub) = state.subs.by_id.get_mut(&id) {
        sub.deadline = None;
        let (body, _) = sub.full_state(&state.esc, &state.xcap, shared, watchers);
        let reason = if shared.fault(Fault::ExpiryReasonNotTimeout) {
            "noresource"
        } else {
            "timeout"
        };
        if sub.enqueue(body, Phase::Terminated(reason)) {
            pump_ids.push(id);
        }
    }
    pump_ids.extend(watcher_left(state, &who, id, Change::Timeout));
    drop(guard);
    pump(shared, pump_ids);
}
