//! The load engine, sans IO: the users' small state machines (publishers, watchers, list
//! subscribers and watcher-information subscribers) and their client transactions, driven by
//! bytes and time from outside. It queues the datagrams to send and records the figures,
//! latencies and message checks.

use super::conformance::{Counter, Phase};
use super::figures::Figures;
use super::messages::{self, Envelope, Package, LIST, PRESENCE, WINFO};
use super::metrics::{Recorder, Series};
use super::provision::ListDocument;
use super::workload::Workload;
use crate::check::rules::{self, SentRequest, Subscribed};
use crate::core::transaction::{
    response_target, ClientEvent, ClientTransaction, ResponseDisposition,
};
use crate::core::Timers;
use crate::net::Transport;
use crate::sip::typed::uri_of;
use crate::sip::SipMessage;
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

/// How many recent published states a presentity remembers for end-to-end latency.
const STATES_KEPT: usize = 64;

/// Where the engine talks from and to, and how.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// The harness's socket.
    pub local: SocketAddr,
    /// The SUT.
    pub sut: SocketAddr,
    /// RFC 3261 T1 and T2 for retransmissions (timers E and F).
    pub timers: Timers,
    /// Which phase the messages count into.
    pub phase: Phase,
}

/// A publisher.
#[derive(Debug)]
struct Presentity {
    uri: String,
    call_id: String,
    tag: String,
    cseq: u32,
    etag: Option<String>,
    busy: bool,
    /// A PUBLISH due while one was outstanding, with its intended time.
    deferred: Option<Instant>,
    publishes: u32,
    /// Intended send times of the newest states, up to `STATES_KEPT`: the last is that of
    /// `sent_state` (grown as states are sent, so a presentity that publishes once keeps one).
    states: VecDeque<Instant>,
    /// The newest state number sent, and the newest a 2xx accepted.
    sent_state: u32,
    accepted_state: u32,
    removed: bool,
}

/// Where a watcher's subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Idle,
    Subscribing,
    Active,
    Ended,
    Failed,
}

/// What a subscription watches.
#[derive(Debug)]
enum Target {
    /// One presentity's presence, and the newest state a NOTIFY brought.
    Presence { presentity: usize, last_seen: u32 },
    /// The resource list `uri` of the presentities `first..first + last_seen.len()`, through
    /// the RLS, and the newest state of each that a NOTIFY brought.
    List {
        first: usize,
        uri: String,
        last_seen: Box<[u32]>,
    },
    /// A presentity's own watcher information, and which of its watchers a NOTIFY listed.
    Winfo {
        presentity: usize,
        listed: Box<[bool]>,
    },
}

impl Target {
    /// The URI subscribed to: the presentity's, or the list's.
    fn uri<'a>(&'a self, presentities: &'a [Presentity]) -> &'a str {
        match self {
            Target::Presence { presentity, .. } | Target::Winfo { presentity, .. } => {
                &presentities[*presentity].uri
            }
            Target::List { uri, .. } => uri,
        }
    }

    fn package(&self) -> &'static Package {
        match self {
            Target::Presence { .. } => &PRESENCE,
            Target::List { .. } => &LIST,
            Target::Winfo { .. } => &WINFO,
        }
    }
}

/// A subscriber: a watcher of one presentity, a list subscriber or a presentity watching its
/// watcher information.
#[derive(Debug)]
struct Watcher {
    target: Target,
    user: String,
    uri: String,
    call_id: String,
    tag: String,
    cseq: u32,
    to_tag: Option<String>,
    remote_target: Option<String>,
    status: Status,
    notified: bool,
    last_notify_cseq: Option<u32>,
    /// The intended send time of its initial SUBSCRIBE.
    subscribed_at: Option<Instant>,
}

/// What an outstanding transaction is for.
#[derive(Debug, Clone, Copy)]
enum Purpose {
    Publish {
        presentity: usize,
        state: Option<u32>,
    },
    Unpublish {
        presentity: usize,
    },
    Subscribe {
        watcher: usize,
    },
    Unsubscribe {
        watcher: usize,
    },
}

#[derive(Debug)]
struct Pending {
    txn: ClientTransaction,
    purpose: Purpose,
    intended: Instant,
    cseq: u32,
}

/// The engine of one load run (or of its idle probe).
#[derive(Debug)]
pub struct Engine {
    workload: Workload,
    config: EngineConfig,
    presentities: Vec<Presentity>,
    /// Watcher-information subscribers first (one per presentity, when asked for), then the
    /// watchers (`workload.watchers` per presentity, from `first_watcher`), then the list
    /// subscribers: the order they subscribe in.
    watchers: Vec<Watcher>,
    first_watcher: usize,
    /// The number of the first presentity (over all shards).
    first_presentity: u64,
    pending: HashMap<u64, Pending>,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    dialogs: HashMap<String, usize>,
    branch_prefix: String,
    /// `config.local` as text, for the Via and Contact of every request.
    local: String,
    next_transaction: u64,
    outbox: Vec<(Vec<u8>, SocketAddr)>,
    /// Counters of the run.
    pub figures: Figures,
    /// Latencies of the run.
    pub recorder: Recorder,
    /// Message checks of the run.
    pub conformance: Counter,
    messages_seen: u64,
}

impl Engine {
    /// An engine for the presentities `first..first + count` of `workload` and their watchers.
    pub fn new(workload: &Workload, first: u64, count: u64, config: EngineConfig) -> Engine {
        let domain = &workload.domain;
        let presentities: Vec<Presentity> = (first..first + count)
            .map(|global| {
                let user = workload.presentity(global);
                Presentity {
                    uri: ["sip:", &user, "@", domain].concat(),
                    call_id: [&user, "-publish"].concat(),
                    tag: [&user, "-p"].concat(),
                    cseq: 0,
                    etag: None,
                    busy: false,
                    deferred: None,
                    publishes: 0,
                    states: VecDeque::new(),
                    sent_state: 0,
                    accepted_state: 0,
                    removed: false,
                }
            })
            .collect();
        let mut watchers = Vec::new();
        let mut dialogs = HashMap::new();
        let mut add = |user: String, call_id: String, target: Target| {
            dialogs.insert(call_id.clone(), watchers.len());
            watchers.push(Watcher {
                target,
                uri: ["sip:", &user, "@", domain].concat(),
                call_id,
                tag: [&user, "-w"].concat(),
                user,
                cseq: 0,
                to_tag: None,
                remote_target: None,
                status: Status::Idle,
                notified: false,
                last_notify_cseq: None,
                subscribed_at: None,
            });
        };
        if workload.winfo {
            for (local, global) in (first..first + count).enumerate() {
                let user = workload.presentity(global);
                let call_id = [&user, "-winfo"].concat();
                let listed = vec![false; workload.watchers as usize].into_boxed_slice();
                let target = Target::Winfo {
                    presentity: local,
                    listed,
                };
                add(user, call_id, target);
            }
        }
        let first_watcher = if workload.winfo { count as usize } else { 0 };
        for (local, global) in (first..first + count).enumerate() {
            for j in 0..workload.watchers {
                let user = workload.watcher(global, j);
                let call_id = [&user, "-subscribe"].concat();
                let target = Target::Presence {
                    presentity: local,
                    last_seen: 0,
                };
                add(user, call_id, target);
            }
        }
        for (list_first, len) in workload.lists(count as usize) {
            for j in 0..workload.list_watchers {
                let user = workload.list_watcher(first + list_first as u64, j);
                let call_id = [&user, "-subscribe"].concat();
                let target = Target::List {
                    first: list_first,
                    uri: ["sip:", &user, "-list@", domain].concat(),
                    last_seen: vec![0; len].into_boxed_slice(),
                };
                add(user, call_id, target);
            }
        }
        Engine {
            branch_prefix: format!("z9hG4bKld{}x", workload.run),
            local: config.local.to_string(),
            workload: workload.clone(),
            config,
            presentities,
            watchers,
            first_watcher,
            first_presentity: first,
            pending: HashMap::new(),
            timers: BinaryHeap::new(),
            dialogs,
            next_transaction: 0,
            outbox: Vec::new(),
            figures: Figures::default(),
            recorder: Recorder::default(),
            conformance: Counter::default(),
            messages_seen: 0,
        }
    }

    /// Number of presentities.
    pub fn presentities(&self) -> usize {
        self.presentities.len()
    }

    /// Number of subscribers (watchers, list subscribers and watcher-information
    /// subscribers), in the order they subscribe.
    pub fn watchers(&self) -> usize {
        self.watchers.len()
    }

    /// The rls-services document of each list subscriber, to store before they subscribe.
    pub fn list_documents(&self) -> Vec<ListDocument> {
        self.watchers
            .iter()
            .filter_map(|w| match &w.target {
                Target::List {
                    first,
                    uri,
                    last_seen,
                } => {
                    let members: Vec<String> = (*first..first + last_seen.len())
                        .map(|p| self.presentities[p].uri.clone())
                        .collect();
                    Some(ListDocument {
                        owner: w.uri.clone(),
                        user: w.user.clone(),
                        body: messages::rls_services(uri, &members),
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// The datagrams to send, with their destinations; the caller empties it.
    pub fn outbox(&mut self) -> &mut Vec<(Vec<u8>, SocketAddr)> {
        &mut self.outbox
    }

    /// No transaction is outstanding.
    pub fn quiet(&self) -> bool {
        self.pending.is_empty()
    }

    /// Every watcher that subscribed has had its first NOTIFY, or failed or ended.
    pub fn subscribed(&self) -> bool {
        self.quiet()
            && self
                .watchers
                .iter()
                .all(|w| w.notified || !matches!(w.status, Status::Active | Status::Subscribing))
    }

    /// Published states accepted by the server that an active watcher or list subscriber
    /// has not been notified of (yet).
    pub fn states_behind(&self) -> u64 {
        let behind = |p: usize, seen: u32| {
            u64::from(self.presentities[p].accepted_state.saturating_sub(seen))
        };
        self.watchers
            .iter()
            .filter(|w| w.status == Status::Active)
            .map(|w| match &w.target {
                Target::Presence {
                    presentity,
                    last_seen,
                } => behind(*presentity, *last_seen),
                Target::List {
                    first, last_seen, ..
                } => last_seen
                    .iter()
                    .enumerate()
                    .map(|(i, seen)| behind(first + i, *seen))
                    .sum(),
                Target::Winfo { .. } => 0,
            })
            .sum()
    }

    /// Active watchers that their presentity's active watcher-information subscription has
    /// not seen listed (yet).
    pub fn watchers_unlisted(&self) -> u64 {
        self.watchers
            .iter()
            .filter(|w| w.status == Status::Active)
            .map(|w| match &w.target {
                Target::Winfo { presentity, listed } => listed
                    .iter()
                    .enumerate()
                    .filter(|(j, seen)| {
                        !**seen
                            && self.watchers[self.watcher_of(*presentity, *j)].status
                                == Status::Active
                    })
                    .count() as u64,
                _ => 0,
            })
            .sum()
    }

    /// The index in `watchers` of watcher `j` of presentity `presentity`.
    fn watcher_of(&self, presentity: usize, j: usize) -> usize {
        self.first_watcher + presentity * self.workload.watchers as usize + j
    }

    /// Nothing outstanding and every accepted state reached every active watcher and list
    /// subscriber.
    pub fn settled(&self) -> bool {
        self.quiet() && self.states_behind() == 0
    }

    /// Settled, and every active watcher was listed to its presentity's watcher-information
    /// subscription (which RFC 3857 §4.7.2 leaves to the server's policy: a MAY).
    pub fn drained(&self) -> bool {
        self.settled() && self.watchers_unlisted() == 0
    }

    /// Nothing is outstanding and subscriber `w`'s subscription is not (or no longer) active.
    pub fn ended(&self, w: usize) -> bool {
        self.quiet()
            && !matches!(
                self.watchers[w].status,
                Status::Active | Status::Subscribing
            )
    }

    /// Every watcher's subscription has ended (after the teardown).
    pub fn all_ended(&self) -> bool {
        self.quiet()
            && self
                .watchers
                .iter()
                .all(|w| !matches!(w.status, Status::Active | Status::Subscribing))
    }

    /// When a timer next needs [`Engine::on_timers`]. Timers of transactions that have
    /// ended are dropped here rather than waited for (nearly every one is: its answer came).
    pub fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if self.pending.contains_key(&id) {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }

    fn start(
        &mut self,
        purpose: Purpose,
        intended: Instant,
        now: Instant,
        build: impl FnOnce(&str, &Self) -> (Vec<u8>, &'static str, u32),
    ) {
        let id = self.next_transaction;
        self.next_transaction += 1;
        let branch = [&self.branch_prefix, itoa::Buffer::new().format(id)].concat();
        let (bytes, method, cseq) = build(&branch, self);
        let txn = ClientTransaction::new(
            &branch,
            method,
            bytes.clone(),
            false,
            self.config.timers,
            now,
        );
        if let Some(at) = txn.next_deadline() {
            self.timers.push(Reverse((at, id)));
        }
        self.pending.insert(
            id,
            Pending {
                txn,
                purpose,
                intended,
                cseq,
            },
        );
        self.outbox.push((bytes, self.config.sut));
    }

    fn envelope<'a>(
        &'a self,
        uri: &'a str,
        from: (&'a str, &'a str),
        to: (&'a str, Option<&'a str>),
        call_id: &'a str,
        cseq: u32,
        branch: &'a str,
    ) -> Envelope<'a> {
        Envelope {
            uri,
            from: from.0,
            from_tag: from.1,
            to: to.0,
            to_tag: to.1,
            call_id,
            cseq,
            branch,
            local: &self.local,
        }
    }

    /// A PUBLISH of presentity `p` is due (intended at `intended`): initial, modify or
    /// refresh as its state says; deferred while one of its PUBLISHes is outstanding.
    pub fn publish(&mut self, p: usize, intended: Instant, now: Instant) {
        let presentity = &mut self.presentities[p];
        if presentity.removed {
            return;
        }
        if presentity.busy {
            match presentity.deferred {
                Some(_) => self.figures.publish.coalesced += 1,
                None => {
                    presentity.deferred = Some(intended);
                    self.figures.publish.deferred += 1;
                }
            }
            return;
        }
        presentity.busy = true;
        presentity.cseq += 1;
        presentity.publishes += 1;
        let every = self.workload.refresh_every;
        let refresh = presentity.etag.is_some()
            && every > 0
            && (presentity.publishes - 1).is_multiple_of(every);
        let state = (!refresh).then(|| {
            presentity.sent_state += 1;
            if presentity.states.len() == STATES_KEPT {
                presentity.states.pop_front();
            }
            presentity.states.push_back(intended);
            presentity.sent_state
        });
        self.figures.publish.sent += 1;
        let expires = self.workload.expires;
        self.start(
            Purpose::Publish {
                presentity: p,
                state,
            },
            intended,
            now,
            |branch, engine| {
                let body = state
                    .map(|n| messages::pidf(&engine.presentities[p].uri, &engine.workload.run, n));
                engine.publish_request(p, branch, expires, body.as_deref())
            },
        );
    }

    /// Removes presentity `p`'s publication (PUBLISH with Expires 0), if it has one.
    pub fn unpublish(&mut self, p: usize, now: Instant) {
        let presentity = &mut self.presentities[p];
        if presentity.etag.is_none() || presentity.busy || presentity.removed {
            return;
        }
        presentity.removed = true;
        presentity.busy = true;
        presentity.cseq += 1;
        self.figures.teardown.sent += 1;
        self.start(
            Purpose::Unpublish { presentity: p },
            now,
            now,
            |branch, engine| engine.publish_request(p, branch, 0, None),
        );
    }

    /// Presentity `p`'s next PUBLISH (its current entity-tag, if any, in SIP-If-Match), with
    /// its method and CSeq number.
    fn publish_request(
        &self,
        p: usize,
        branch: &str,
        expires: u32,
        body: Option<&str>,
    ) -> (Vec<u8>, &'static str, u32) {
        let pr = &self.presentities[p];
        let e = self.envelope(
            &pr.uri,
            (&pr.uri, &pr.tag),
            (&pr.uri, None),
            &pr.call_id,
            pr.cseq,
            branch,
        );
        (
            messages::publish(&e, expires, pr.etag.as_deref(), body),
            "PUBLISH",
            pr.cseq,
        )
    }

    /// Watcher `w` subscribes (intended at `intended`).
    pub fn subscribe(&mut self, w: usize, intended: Instant, now: Instant) {
        let watcher = &mut self.watchers[w];
        if watcher.status != Status::Idle {
            return;
        }
        watcher.status = Status::Subscribing;
        watcher.subscribed_at = Some(intended);
        watcher.cseq += 1;
        self.figures.subscribe.sent += 1;
        let expires = self.workload.expires;
        self.start(
            Purpose::Subscribe { watcher: w },
            intended,
            now,
            |branch, engine| engine.subscribe_request(w, branch, expires),
        );
    }

    /// Watcher `w` unsubscribes (SUBSCRIBE with Expires 0 in its dialog), if it is active.
    pub fn unsubscribe(&mut self, w: usize, now: Instant) {
        let watcher = &mut self.watchers[w];
        if watcher.status != Status::Active {
            return;
        }
        watcher.cseq += 1;
        self.figures.teardown.sent += 1;
        self.start(
            Purpose::Unsubscribe { watcher: w },
            now,
            now,
            |branch, engine| engine.subscribe_request(w, branch, 0),
        );
    }

    /// Subscriber `w`'s next SUBSCRIBE: to the presentity or list before its dialog exists,
    /// then in the dialog (to the notifier's Contact, with its To tag); with its method and
    /// CSeq number.
    fn subscribe_request(
        &self,
        w: usize,
        branch: &str,
        expires: u32,
    ) -> (Vec<u8>, &'static str, u32) {
        let wa = &self.watchers[w];
        let target = wa.target.uri(&self.presentities);
        let uri = wa.remote_target.as_deref().unwrap_or(target);
        let e = self.envelope(
            uri,
            (&wa.uri, &wa.tag),
            (target, wa.to_tag.as_deref()),
            &wa.call_id,
            wa.cseq,
            branch,
        );
        (
            messages::subscribe(&e, wa.target.package(), expires, &wa.user),
            "SUBSCRIBE",
            wa.cseq,
        )
    }

    /// Retransmits and times out transactions whose timers are due.
    pub fn on_timers(&mut self, now: Instant) {
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(pending) = self.pending.get_mut(&id) else {
                continue;
            };
            match pending.txn.on_timer(now) {
                Some(ClientEvent::Retransmit(bytes)) => {
                    self.figures
                        .counts_for(pending.purpose_kind())
                        .retransmissions += 1;
                    self.outbox.push((bytes, self.config.sut));
                }
                Some(ClientEvent::TimedOut) => {
                    if let Some(pending) = self.pending.remove(&id) {
                        self.figures.counts_for(pending.purpose_kind()).timeouts += 1;
                        self.finish(pending.purpose, None, now);
                    }
                    continue;
                }
                None => {}
            }
            if let Some(next) = self.pending.get(&id).and_then(|p| p.txn.next_deadline()) {
                self.timers.push(Reverse((next, id)));
            }
        }
    }

    fn sampled(&mut self) -> bool {
        self.messages_seen += 1;
        (self.messages_seen - 1).is_multiple_of(u64::from(self.workload.check_every))
    }

    /// One datagram from the SUT.
    pub fn on_datagram(&mut self, bytes: &[u8], from: SocketAddr, now: Instant) {
        let checked = self.sampled();
        let msg = match SipMessage::parse(bytes) {
            Ok(msg) => msg,
            Err(e) => {
                self.figures.malformed += 1;
                let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
                let first_line = String::from_utf8_lossy(first_line);
                self.conformance
                    .malformed(self.config.phase, first_line.trim(), e.to_string());
                return;
            }
        };
        if msg.is_request() {
            self.on_request(&msg, from, now, checked);
        } else {
            self.on_response(&msg, now, checked);
        }
    }

    fn on_response(&mut self, msg: &SipMessage, now: Instant, checked: bool) {
        // The transaction number is in the branch; the CSeq method must match too (RFC 3261
        // §17.1.3), which `ClientTransaction::matches` would read the message again to see.
        let branch = msg.top_branch();
        let id = branch
            .as_deref()
            .and_then(|b| b.strip_prefix(&self.branch_prefix))
            .and_then(|n| n.parse::<u64>().ok());
        let cseq = msg.cseq();
        let Some(pending) = id.and_then(|id| self.pending.get_mut(&id)).filter(|p| {
            cseq.as_ref()
                .is_some_and(|(_, method)| *method == p.txn.method)
        }) else {
            self.figures.stray_responses += 1;
            return;
        };
        match pending.txn.on_response(msg) {
            ResponseDisposition::Provisional | ResponseDisposition::Duplicate => return,
            ResponseDisposition::Final => {}
        }
        let Some(pending) = id.and_then(|id| self.pending.remove(&id)) else {
            return;
        };
        let code = msg.status().unwrap_or(0);
        *self
            .figures
            .counts_for(pending.purpose_kind())
            .by_status
            .entry(code)
            .or_default() += 1;
        match pending.purpose {
            Purpose::Publish { .. } => self
                .recorder
                .record(Series::Publish, now - pending.intended),
            Purpose::Subscribe { .. } => self
                .recorder
                .record(Series::Subscribe, now - pending.intended),
            _ => {}
        }
        if checked {
            // To: the presentity, or what the watcher subscribes to; tagged only inside the
            // dialog (an unsubscribe).
            let (from_uri, from_tag, call_id, to_uri, to_tag) = match pending.purpose {
                Purpose::Publish { presentity, .. } | Purpose::Unpublish { presentity } => {
                    let p = &self.presentities[presentity];
                    (&p.uri, &p.tag, &p.call_id, p.uri.as_str(), None)
                }
                Purpose::Subscribe { watcher } => {
                    let w = &self.watchers[watcher];
                    let to = w.target.uri(&self.presentities);
                    (&w.uri, &w.tag, &w.call_id, to, None)
                }
                Purpose::Unsubscribe { watcher } => {
                    let w = &self.watchers[watcher];
                    let to = w.target.uri(&self.presentities);
                    (&w.uri, &w.tag, &w.call_id, to, w.to_tag.as_deref())
                }
            };
            let sent = SentRequest {
                method: &pending.txn.method,
                from_uri,
                from_tag,
                call_id,
                cseq: pending.cseq,
                branches: &[pending.txn.branch.as_str()],
                creates_dialog: matches!(pending.purpose, Purpose::Subscribe { .. }),
                // The load's requests go straight to the SUT, through no proxy.
                record_routes: &[],
                to_uri,
                to_tag,
            };
            rules::check_response(
                &sent,
                msg,
                &mut self.conformance.sink(self.config.phase, msg),
            );
        }
        self.finish(pending.purpose, Some(msg), now);
    }

    /// A transaction ended: with its final response, or timed out (`None`).
    fn finish(&mut self, purpose: Purpose, response: Option<&SipMessage>, now: Instant) {
        let code = response.and_then(SipMessage::status);
        let ok = code.is_some_and(|c| (200..300).contains(&c));
        match purpose {
            Purpose::Publish { presentity, state } => {
                let p = &mut self.presentities[presentity];
                p.busy = false;
                if ok {
                    if let Some(etag) = response.and_then(|r| r.header("SIP-ETag")) {
                        p.etag = Some(etag.to_string());
                    }
                    if let Some(state) = state {
                        p.accepted_state = p.accepted_state.max(state);
                    }
                } else if code == Some(412) {
                    // The publication is gone (RFC 3903 §4.4): start a new one.
                    p.etag = None;
                }
                if let Some(intended) = p.deferred.take() {
                    self.publish(presentity, intended, now);
                }
            }
            Purpose::Unpublish { presentity } => {
                self.presentities[presentity].busy = false;
            }
            Purpose::Subscribe { watcher } => {
                let w = &mut self.watchers[watcher];
                if ok {
                    let r = response.expect("a 2xx is a response");
                    w.to_tag = r.to_tag().map(Cow::into_owned);
                    w.remote_target = r.header("Contact").map(uri_of);
                    if w.status == Status::Subscribing {
                        w.status = Status::Active;
                    }
                } else if w.status == Status::Subscribing {
                    w.status = Status::Failed;
                }
            }
            Purpose::Unsubscribe { .. } => {}
        }
    }

    fn on_request(&mut self, msg: &SipMessage, from: SocketAddr, now: Instant, checked: bool) {
        let method = msg.method().unwrap_or_default();
        // Over UDP, to the source address and the sent-by port (RFC 3261 §18.2.2).
        let reply_to = response_target(msg, from, Transport::Udp);
        let watcher = msg.call_id().and_then(|c| self.dialogs.get(c)).copied();
        let (Some(w), "NOTIFY") = (watcher, method.as_str()) else {
            self.figures.notify.stray += 1;
            let code = if method == "NOTIFY" { 481 } else { 501 };
            self.outbox.push((messages::answer(msg, code), reply_to));
            return;
        };
        self.outbox.push((messages::answer(msg, 200), reply_to));
        self.figures.notify.received += 1;
        let cseq = msg.cseq().map(|(n, _)| n);
        let watcher = &mut self.watchers[w];
        if cseq.is_some() && cseq <= watcher.last_notify_cseq {
            self.figures.notify.duplicates += 1;
            return;
        }
        watcher.last_notify_cseq = cseq;
        let first_notify = !watcher.notified;
        watcher.notified = true;
        if watcher.to_tag.is_none() {
            // The NOTIFY came before the 200 (RFC 6665 §4.1.2.4): its From tag is the dialog's.
            watcher.to_tag = msg.from_tag().map(Cow::into_owned);
        }
        let state = msg.subscription_state();
        if state.is_some_and(|s| s.state == "terminated") {
            watcher.status = Status::Ended;
            self.figures.notify.terminated += 1;
        } else if watcher.status == Status::Subscribing {
            watcher.status = Status::Active;
        }
        if checked {
            let watcher = &self.watchers[w];
            let package = watcher.target.package();
            let subscribed = Subscribed {
                event: package.event,
                accept: package.accept,
                first_notify,
                subscriber: &watcher.uri,
                resource: watcher.target.uri(&self.presentities),
                subscriber_tagged: true,
            };
            let mut sink = self.conformance.sink(self.config.phase, msg);
            rules::check_request(msg, &mut sink);
            // The load's sockets are UDP.
            rules::check_request_transport(msg, "UDP", &mut sink);
            rules::check_notify(&subscribed, msg, &mut sink);
        }
        let run = &self.workload.run;
        let mut delivery = Delivery {
            figures: &mut self.figures,
            recorder: &mut self.recorder,
            now,
        };
        match &mut self.watchers[w].target {
            Target::Presence {
                presentity,
                last_seen,
            } => {
                if let Some(seen) = messages::state_token(&msg.body, run) {
                    let p = &self.presentities[*presentity];
                    delivery.state(p, last_seen, seen, Series::Presence);
                }
            }
            Target::List {
                first, last_seen, ..
            } => {
                for (global, seen) in messages::list_states(&msg.body, run) {
                    let member = global
                        .checked_sub(self.first_presentity)
                        .and_then(|local| (local as usize).checked_sub(*first))
                        .filter(|i| *i < last_seen.len());
                    match member {
                        Some(i) => {
                            let p = &self.presentities[*first + i];
                            delivery.state(p, &mut last_seen[i], seen, Series::List);
                        }
                        // A presentity the list does not hold.
                        None => delivery.figures.notify.states_unknown += 1,
                    }
                }
            }
            Target::Winfo { presentity, listed } => {
                let global = self.first_presentity + *presentity as u64;
                let per = listed.len();
                let first = self.first_watcher + *presentity * per;
                let newly: Vec<usize> = messages::winfo_watchers(&msg.body, run, global)
                    .into_iter()
                    .map(|j| j as usize)
                    .filter(|j| *j < per && !listed[*j])
                    .collect();
                for j in &newly {
                    listed[*j] = true;
                }
                for j in newly {
                    delivery.figures.notify.watchers_listed += 1;
                    if let Some(at) = self.watchers[first + j].subscribed_at {
                        delivery.recorder.record(Series::Winfo, now - at);
                    }
                }
            }
        }
    }
}

/// Where a NOTIFY's news is counted and timed.
struct Delivery<'a> {
    figures: &'a mut Figures,
    recorder: &'a mut Recorder,
    now: Instant,
}

impl Delivery<'_> {
    /// A NOTIFY brought state `seen` of `presentity` to a subscriber that had seen
    /// `last_seen`: times every newer state into `series` (a state a newer one superseded
    /// counts until now) and moves `last_seen` on.
    fn state(&mut self, presentity: &Presentity, last_seen: &mut u32, seen: u32, series: Series) {
        if seen <= *last_seen {
            return;
        }
        let notify = &mut self.figures.notify;
        if seen > presentity.sent_state {
            // A state this run never published: the document is not one of ours to time.
            notify.states_unknown += 1;
            return;
        }
        // Only the last `STATES_KEPT` states have their send times; older ones are counted.
        let oldest_kept = seen
            .saturating_sub(STATES_KEPT as u32 - 1)
            .max(*last_seen + 1);
        notify.states_forgotten += u64::from(oldest_kept - (*last_seen + 1));
        let first_kept = presentity.sent_state + 1 - presentity.states.len() as u32;
        for n in oldest_kept..=seen {
            match n
                .checked_sub(first_kept)
                .and_then(|i| presentity.states.get(i as usize))
            {
                Some(intended) => self.recorder.record(series, self.now - *intended),
                None => notify.states_forgotten += 1,
            }
        }
        notify.states_superseded += u64::from(seen - *last_seen - 1);
        notify.states_delivered += 1;
        *last_seen = seen;
    }
}

impl Pending {
    fn purpose_kind(&self) -> super::figures::Kind {
        use super::figures::Kind;
        match self.purpose {
            Purpose::Publish { .. } => Kind::Publish,
            Purpose::Subscribe { .. } => Kind::Subscribe,
            Purpose::Unpublish { .. } | Purpose::Unsubscribe { .. } => Kind::Teardown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notify(cseq: u32, body: &str) -> Vec<u8> {
        format!(
            "NOTIFY sip:ldrp0w0@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn{cseq}\r\nMax-Forwards: 70\r\nFrom: <sip:ldrp0@home1.net>;tag=s1\r\nTo: <sip:ldrp0w0@home1.net>;tag=ldrp0w0-w\r\nCall-ID: ldrp0w0-subscribe\r\nCSeq: {cseq} NOTIFY\r\nContact: <sip:127.0.0.1:5060>\r\nEvent: presence\r\nSubscription-State: active;expires=60\r\nContent-Type: application/pidf+xml\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    /// A NOTIFY claiming a state the run never published is counted, not timed, and does
    /// not make the engine walk billions of states; a real one is timed.
    #[test]
    fn a_state_never_published_is_not_timed() {
        let workload = Workload {
            watchers: 1,
            ..crate::load::testing::workload()
        };
        let config = EngineConfig {
            local: "127.0.0.1:5070".parse().unwrap(),
            sut: "127.0.0.1:5060".parse().unwrap(),
            timers: Timers::default(),
            phase: Phase::Load,
        };
        let mut engine = Engine::new(&workload, 0, 1, config);
        let sut = config.sut;
        let now = Instant::now();
        engine.subscribe(0, now, now);
        engine.publish(0, now, now);
        let bogus = messages::pidf("sip:ldrp0@home1.net", "r", 4_000_000_000);
        engine.on_datagram(&notify(1, &bogus), sut, Instant::now());
        assert_eq!(engine.figures.notify.states_unknown, 1);
        let real = messages::pidf("sip:ldrp0@home1.net", "r", 1);
        engine.on_datagram(&notify(2, &real), sut, Instant::now());
        assert_eq!(engine.figures.notify.states_delivered, 1);
        assert_eq!(engine.recorder.current(Series::Presence).len(), 1);
        assert_eq!(engine.figures.notify.received, 2);
    }
}
