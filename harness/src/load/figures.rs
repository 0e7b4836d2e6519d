//! Counters of a load run: requests sent, retransmitted, timed out and answered (by status),
//! NOTIFYs received, and what became of the published states.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which counters a transaction counts into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PUBLISH of the workload.
    Publish,
    /// SUBSCRIBE of the workload.
    Subscribe,
    /// Unsubscribes and removals at the end.
    Teardown,
}

/// Counters of one kind of request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RequestFigures {
    /// Requests sent (first transmissions).
    pub sent: u64,
    /// Retransmissions (timer E).
    pub retransmissions: u64,
    /// Transactions that got no final response (timer F).
    pub timeouts: u64,
    /// Final responses by status code.
    pub by_status: BTreeMap<u16, u64>,
    /// PUBLISHes due while the presentity's previous one was outstanding, sent when it was
    /// answered (their latency still counts from when they were due).
    pub deferred: u64,
    /// PUBLISHes due while one was already deferred: folded into it.
    pub coalesced: u64,
}

impl RequestFigures {
    /// Final responses outside 2xx.
    pub fn errors(&self) -> u64 {
        self.by_status
            .iter()
            .filter(|(code, _)| !(200..300).contains(*code))
            .map(|(_, n)| n)
            .sum()
    }

    fn add(&mut self, other: &RequestFigures) {
        self.sent += other.sent;
        self.retransmissions += other.retransmissions;
        self.timeouts += other.timeouts;
        for (code, n) in &other.by_status {
            *self.by_status.entry(*code).or_default() += n;
        }
        self.deferred += other.deferred;
        self.coalesced += other.coalesced;
    }
}

/// Counters of the NOTIFYs the watchers received.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NotifyFigures {
    /// NOTIFYs of the watchers' subscriptions (retransmissions included).
    pub received: u64,
    /// Retransmitted NOTIFYs (a CSeq already seen), answered again.
    pub duplicates: u64,
    /// NOTIFYs with Subscription-State terminated.
    pub terminated: u64,
    /// Requests of no subscription of this run (answered 481, or 501 for other methods).
    pub stray: u64,
    /// NOTIFYs that brought a watcher a newer published state.
    pub states_delivered: u64,
    /// Published states a watcher never saw because a NOTIFY brought a newer one (allowed:
    /// a notifier may rate-limit, RFC 6665 §4.2.2; their latency counts until the newer one).
    pub states_superseded: u64,
    /// States whose send time was no longer remembered (more than 64 behind).
    pub states_forgotten: u64,
    /// NOTIFYs carrying a state number this run never published (not timed).
    pub states_unknown: u64,
    /// States the server accepted that an active watcher had not been notified of when the
    /// run ended.
    pub states_missing: u64,
    /// Watchers that a watcher-information NOTIFY listed to their presentity.
    #[serde(default)]
    pub watchers_listed: u64,
    /// Active watchers that their presentity's watcher-information subscription had not
    /// seen listed when the run ended.
    #[serde(default)]
    pub watchers_unlisted: u64,
}

impl NotifyFigures {
    fn add(&mut self, other: &NotifyFigures) {
        self.received += other.received;
        self.duplicates += other.duplicates;
        self.terminated += other.terminated;
        self.stray += other.stray;
        self.states_delivered += other.states_delivered;
        self.states_superseded += other.states_superseded;
        self.states_forgotten += other.states_forgotten;
        self.states_unknown += other.states_unknown;
        self.states_missing += other.states_missing;
        self.watchers_listed += other.watchers_listed;
        self.watchers_unlisted += other.watchers_unlisted;
    }
}

/// Every counter of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Figures {
    /// PUBLISH.
    pub publish: RequestFigures,
    /// SUBSCRIBE.
    pub subscribe: RequestFigures,
    /// Unsubscribes and removals.
    pub teardown: RequestFigures,
    /// NOTIFYs.
    pub notify: NotifyFigures,
    /// Responses that match no outstanding transaction (late answers after a timeout).
    pub stray_responses: u64,
    /// Datagrams that were not SIP.
    pub malformed: u64,
    /// Resource lists the teardown could not delete from the XCAP server.
    #[serde(default)]
    pub lists_left: u64,
}

impl Figures {
    /// The counters of one kind of request.
    pub fn counts_for(&mut self, kind: Kind) -> &mut RequestFigures {
        match kind {
            Kind::Publish => &mut self.publish,
            Kind::Subscribe => &mut self.subscribe,
            Kind::Teardown => &mut self.teardown,
        }
    }

    /// Adds another run's counters (a shard's).
    pub fn add(&mut self, other: &Figures) {
        self.publish.add(&other.publish);
        self.subscribe.add(&other.subscribe);
        self.teardown.add(&other.teardown);
        self.notify.add(&other.notify);
        self.stray_responses += other.stray_responses;
        self.malformed += other.malformed;
        self.lists_left += other.lists_left;
    }
}
