//! The subscriber's view of one subscription (RFC 6665 §4.1.2), driven by the NOTIFYs received.

use crate::sip::SubscriptionState;

/// Subscriber-side state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriberState {
    /// SUBSCRIBE sent, nothing heard yet.
    Initiated,
    /// Last NOTIFY said pending.
    Pending,
    /// Last NOTIFY said active.
    Active,
    /// Last NOTIFY said terminated.
    Terminated,
}

/// Tracks state and expiry as NOTIFYs arrive.
#[derive(Debug, Clone)]
pub struct SubscriptionTracker {
    /// Current state.
    pub state: SubscriberState,
    /// The expires of the most recent active/pending NOTIFY, to detect a lengthening.
    pub last_expires: Option<u64>,
    /// Number of NOTIFYs seen.
    pub notifies: usize,
}

impl Default for SubscriptionTracker {
    fn default() -> Self {
        SubscriptionTracker {
            state: SubscriberState::Initiated,
            last_expires: None,
            notifies: 0,
        }
    }
}

impl SubscriptionTracker {
    /// Applies a NOTIFY's Subscription-State. A refresh (we sent a SUBSCRIBE) allows the
    /// expiry to grow again; otherwise it may only shrink.
    pub fn on_notify(&mut self, state: &SubscriptionState) {
        self.notifies += 1;
        self.state = match state.state.as_str() {
            "active" => SubscriberState::Active,
            "pending" => SubscriberState::Pending,
            "terminated" => SubscriberState::Terminated,
            _ => self.state,
        };
        if self.state != SubscriberState::Terminated {
            self.last_expires = state.expires;
        }
    }

    /// Forgets the previous expiry after a refresh SUBSCRIBE, which may lengthen it.
    pub fn on_refresh(&mut self) {
        self.last_expires = None;
    }
}
